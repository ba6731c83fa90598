"""Reproducible performance comparisons (make bench); each writes its numbers as JSON too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(".mlstack/bench")


def save_result(name: str, result: Any) -> Path:
    """Write a benchmark's result to .mlstack/bench/<name>.json and return the path."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    out = BENCH_DIR / f"{name}.json"
    out.write_text(json.dumps(result, indent=2))
    return out


def venv_python(venv: Path, *pip_arguments: str) -> Path:
    """The Python of a tool's own virtual environment (a comparison whose dependencies clash with the project's),
    created with `pip install <pip_arguments>` on first use."""
    python = venv / "bin" / "python"
    if not python.is_file():
        print(f"  creating {venv} with {' '.join(pip_arguments)} (first run only)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",  # noqa: S603
                        *pip_arguments], check=True)
    return python

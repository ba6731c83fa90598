"""The pipeline's code bundle: pipelines/ + mlstack/ as a deterministic sourcedir.tar.gz.

The same bytes for the same sources (sorted entries, fixed mtimes/owners), so the CDK asset
hash, and the S3 key the definition points at, only change when the code does.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipelines", "mlstack")
_SKIP = ("__pycache__", ".pyc", "definition.json")


def _files() -> list[Path]:
    files = []
    for package in PACKAGES:
        files += [p for p in (REPO_ROOT / package).rglob("*")
                  if p.is_file() and not any(part in str(p) for part in _SKIP)]
    return sorted(files)


def build_code_bundle() -> bytes:
    """tar.gz bytes of the code the steps need, reproducible byte for byte."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in _files():
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(REPO_ROOT)))
            info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", 0o644
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()


IMAGE_DIR = REPO_ROOT / "pipelines" / "image"


def image_tag() -> str:
    """The job image's tag: a hash of what builds it (Dockerfile, requirements, train command).

    Tags are immutable in the repository: a changed image gets a new tag, and the pipeline
    definition names exactly the image its jobs were rehearsed with (`make image` pushes this tag)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in IMAGE_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(IMAGE_DIR)).encode() + b"\0" + path.read_bytes())
    return f"img-{digest.hexdigest()[:12]}"


def write_code_bundle(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_code_bundle())
    return path

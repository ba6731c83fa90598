"""Drift detection: this module vs Evidently's DataDriftPreset vs scipy's two-sample KS, same data, one run.

Data: a reference and a current parquet file of ROWS rows x 20 features (19 numeric, 1
categorical), written once to .mlstack/bench/drift/. The current file shifts exactly three
features: x0 (mean +0.5 sd), x1 (scale x1.6) and c (category mix); the rest are fresh draws of
the reference distribution, so any other flag is a false alarm.

Each tool runs in a fresh process (so peak memory is its own, read from wait4's rusage) and is
timed from process start to result written:
- ours: `mlstack drift baseline` on the reference + `mlstack drift compare` on the current file
  (and the compare alone: in the stack the baseline is built once, at training);
- scipy: `scipy.stats.ks_2samp` on every numeric column (the exact D statistic; flags p < 0.05);
- Evidently 0.7 (DataDriftPreset; its own virtual environment in .mlstack/bench/evidently-venv,
  created on first use, since Evidently 0.7 needs pandas < 3).
Prints a table with feature-values/s, peak memory, ratios against ours, and which features each
flags. Run: make bench  (or .venv/bin/python -m benchmarks.drift [--rows N])
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks import BENCH_DIR, save_result, venv_python

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = BENCH_DIR / "drift"
EVIDENTLY_VENV = BENCH_DIR / "evidently-venv"
EVIDENTLY_PINS = ("evidently==0.7.23", "pandas==2.3.3", "pyarrow==25.0.1")
NUMERIC = 19
SHIFTED = ["c", "x0", "x1"]

SCIPY_SCRIPT = r'''
import json, sys
import pyarrow.parquet as pq
from scipy.stats import ks_2samp
reference, current = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])
flags = {}
for name in reference.column_names:
    if name.startswith("x"):
        result = ks_2samp(reference.column(name).to_numpy(), current.column(name).to_numpy())
        flags[name] = {"statistic": float(result.statistic), "pvalue": float(result.pvalue),
                       "drifted": bool(result.pvalue < 0.05)}
json.dump(flags, open(sys.argv[3], "w"))
'''

EVIDENTLY_SCRIPT = r'''
import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
reference, current = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
flags = {}
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if config.get("type", "").endswith("ValueDrift"):
        p_value = "p_value" in config["method"]  # tests flag small p-values; distances flag large ones
        value, threshold = float(metric["value"]), float(config["threshold"])
        flags[config["column"]] = {"method": config["method"], "value": value, "threshold": threshold,
                                   "drifted": bool(value < threshold if p_value else value >= threshold)}
json.dump(flags, open(sys.argv[3], "w"))
'''


def write_data(rows: int) -> tuple[Path, Path]:
    """Reference and current parquet files (generated once per row count)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    reference_path, current_path = DATA_DIR / f"reference-{rows}.parquet", DATA_DIR / f"current-{rows}.parquet"
    if reference_path.is_file() and current_path.is_file():
        return reference_path, current_path
    rng = np.random.default_rng(20261201)
    categories = np.array(["a", "b", "c", "d"])

    def table(shift: bool) -> pa.Table:
        columns = {f"x{i}": rng.normal(0, 1, rows) for i in range(NUMERIC)}
        mix = [0.25, 0.25, 0.25, 0.25]
        if shift:
            columns["x0"] = columns["x0"] + 0.5
            columns["x1"] = columns["x1"] * 1.6
            mix = [0.1, 0.2, 0.3, 0.4]
        columns["c"] = categories[rng.choice(4, rows, p=mix)]
        return pa.table(columns)

    pq.write_table(table(False), reference_path)
    pq.write_table(table(True), current_path)
    return reference_path, current_path


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of a command run in its own process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603 - our own fixed argv
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])[:100]} exited with {process.returncode}")
    return seconds, usage.ru_maxrss / 1024


def comparison_throughput(baseline_path: Path, current: Path, values: int, repeats: int = 5) -> dict:
    """The comparison itself (columns already in memory: what the drift function does per chunk), best of N."""
    from mlstack.drift import DriftWindow
    from mlstack.drift_files import read_baseline

    baseline = read_baseline(baseline_path)
    table = pq.read_table(current)
    columns = {name: (table.column(name).to_numpy() if profile["kind"] == "numeric" else
                      dict(zip(*np.unique(table.column(name).to_numpy(zero_copy_only=False), return_counts=True),
                               strict=True)))
               for name, profile in baseline["features"].items()}
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        window = DriftWindow(baseline)
        window.update(columns)
        window.report()
        best = min(best, time.perf_counter() - started)
    return {"seconds": round(best, 4), "values_per_s": values / best}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-evidently", action="store_true", help="only ours and scipy (no extra venv)")
    args = parser.parse_args(argv)
    reference, current = write_data(args.rows)
    values = args.rows * (NUMERIC + 1)
    mlstack = str(Path(sys.executable).parent / "mlstack")
    baseline, report = DATA_DIR / "baseline.json", DATA_DIR / "report.json"
    results: dict = {"rows": args.rows, "features": NUMERIC + 1, "shifted": SHIFTED, "tools": {}}

    build_s, build_mb = timed([mlstack, "drift", "baseline", str(reference), "-o", str(baseline)])
    compare_s, compare_mb = timed([mlstack, "drift", "compare", str(baseline), str(current), "--json", str(report)])
    ours = json.loads(report.read_text())
    results["tools"]["ours (compare)"] = _entry(compare_s, compare_mb, values,
                                                {n: s["drifted"] for n, s in ours["features"].items()})
    results["tools"]["ours (baseline + compare)"] = _entry(
        build_s + compare_s, max(build_mb, compare_mb), values, results["tools"]["ours (compare)"]["flags"])

    results["comparison_in_process"] = comparison_throughput(baseline, current, values)

    scipy_out = DATA_DIR / "scipy.json"
    seconds, mb = timed([sys.executable, "-c", SCIPY_SCRIPT, str(reference), str(current), str(scipy_out)])
    results["tools"]["scipy ks_2samp (numeric only)"] = _entry(
        seconds, mb, args.rows * NUMERIC, {n: f["drifted"] for n, f in json.loads(scipy_out.read_text()).items()})

    if not args.skip_evidently:
        evidently_out = DATA_DIR / "evidently.json"
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
        python = venv_python(EVIDENTLY_VENV, *EVIDENTLY_PINS)
        seconds, mb = timed([str(python), "-c", EVIDENTLY_SCRIPT, str(reference), str(current), str(evidently_out)],
                            env=env)
        results["tools"]["Evidently 0.7 DataDriftPreset"] = _entry(
            seconds, mb, values, {n: f["drifted"] for n, f in json.loads(evidently_out.read_text()).items()})
    _print(results)


def _entry(seconds: float, peak_mb: float, values: int, flags: dict[str, bool]) -> dict:
    flagged = sorted(name for name, drifted in flags.items() if drifted)
    return {"seconds": round(seconds, 3), "values_per_s": values / seconds, "peak_mb": round(peak_mb, 1),
            "flagged": flagged, "exact": flagged == SHIFTED or flagged == [s for s in SHIFTED if s != "c"],
            "flags": flags}


def _print(results: dict) -> None:
    tools = results["tools"]
    compare, both = tools["ours (compare)"]["seconds"], tools["ours (baseline + compare)"]["seconds"]
    print(f"drift detection, {results['rows']:,} rows x {results['features']} features (reference and current), "
          f"shifted: {', '.join(results['shifted'])}; process start to result written, this machine:")
    print(f"  {'tool':<32} {'seconds':>8} {'values/s':>10} {'peak MB':>8} {'/compare':>9} {'/both':>7}  flagged")
    for name, entry in tools.items():
        print(f"  {name:<32} {entry['seconds']:>8.2f} {entry['values_per_s'] / 1e6:>9.1f}M {entry['peak_mb']:>8.0f} "
              f"{entry['seconds'] / compare:>8.1f}x {entry['seconds'] / both:>6.1f}x  "
              f"{', '.join(entry['flagged']) or '-'}")
    print("  (/compare, /both: how many times longer than ours compare (the baseline comes from training) and than "
          "ours baseline + compare; scipy checks the numeric columns only, flags p < 0.05)")
    inner = results["comparison_in_process"]
    print(f"  the comparison itself (columns in memory, one core): {inner['seconds'] * 1000:.0f} ms = "
          f"{inner['values_per_s'] / 1e6:.1f}M feature-values/s")
    out = save_result("drift", results)
    print(f"  json: {out}")


if __name__ == "__main__":
    main()

"""Drift reports people look at: per-feature distribution plots (baseline vs window) and a PSI chart.

`write_html` makes one self-contained HTML file (plots inlined as PNG) for `mlstack drift compare
--report`; the `*_png` functions also draw the local run report's plots. matplotlib
runs headless (Agg) and is imported only here, so the drift math and the drift function never
load it.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from pathlib import Path
from typing import Any

from mlstack.drift import OTHER, format_score, ranked_features

MAX_FEATURES_PLOTTED = 24  # the drifted ones first, then by PSI


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _bin_labels(profile: dict[str, Any]) -> list[str]:
    if profile["kind"] == "categorical":
        return ["other" if c == OTHER else str(c) for c in profile["categories"]]
    edges = profile["length_edges"] if profile["kind"] == "text" else profile["edges"]
    bounds = ["-inf", *(f"{e:.3g}" for e in edges), "inf"]
    return [f"({low}, {high}]" for low, high in itertools.pairwise(bounds)]


def _baseline_shares(profile: dict[str, Any]) -> list[float]:
    return profile["length_shares"] if profile["kind"] == "text" else profile["shares"]


def _figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(figure)
    return buffer.getvalue()


def psi_chart_png(report: dict[str, Any]) -> bytes:
    """PSI per feature, drifted ones in red, with the threshold line."""
    plt = _pyplot()
    names = ranked_features(report)[:MAX_FEATURES_PLOTTED]
    values = [report["features"][name]["psi"] or 0.0 for name in names]
    colors = ["#c0392b" if report["features"][name]["drifted"] else "#2e86c1" for name in names]
    figure, axis = plt.subplots(figsize=(8, 0.3 * len(names) + 1.2))
    axis.barh(names[::-1], values[::-1], color=colors[::-1])
    axis.axvline(report["thresholds"]["psi"], color="black", linestyle="--", linewidth=1, label="drift threshold")
    axis.set_xlabel("PSI (window vs training baseline)")
    axis.legend(loc="lower right")
    return _figure_png(figure)


def metrics_png(metrics: dict[str, float]) -> bytes:
    """A model version's test metrics as bars (0 to 1)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5, 2.5))
    axis.bar(list(metrics), list(metrics.values()), color="#2e86c1")
    axis.set_ylim(0, 1)
    for index, value in enumerate(metrics.values()):
        axis.text(index, value + 0.02, f"{value:.3f}", ha="center", fontsize=8)
    axis.set_ylabel("test split")
    return _figure_png(figure)


def distribution_png(baseline: dict[str, Any], report: dict[str, Any], feature: str) -> bytes:
    """One feature's share per baseline bin: training vs the window."""
    plt = _pyplot()
    profile, score = baseline["features"][feature], report["features"][feature]
    labels = _bin_labels(profile)
    expected = _baseline_shares(profile)
    actual = score.get("window_shares") or [0.0] * len(expected)
    positions = range(len(labels))
    figure, axis = plt.subplots(figsize=(6, 2.8))
    axis.bar([p - 0.2 for p in positions], expected, width=0.4, label="training baseline", color="#95a5a6")
    axis.bar([p + 0.2 for p in positions], actual, width=0.4, label="window",
             color="#c0392b" if score["drifted"] else "#2e86c1")
    axis.set_xticks(list(positions), labels, rotation=45, ha="right", fontsize=7)
    axis.set_ylabel("share")
    psi = "-" if score["psi"] is None else f"{score['psi']:.3f}"
    what = "length" if profile["kind"] == "text" else profile["kind"]
    axis.set_title(f"{feature} ({what}): PSI {psi}{'  DRIFTED' if score['drifted'] else ''}", fontsize=9)
    axis.legend(fontsize=7)
    return _figure_png(figure)


def write_html(baseline: dict[str, Any], report: dict[str, Any], path: Path) -> Path:
    """One self-contained page: the summary, the PSI chart, a distribution plot per feature, the score table."""
    def image(png: bytes, alt: str) -> str:
        return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'

    summary = report["summary"]
    names = ranked_features(report)
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{s['kind']}</td><td>{format_score(s['psi'])}</td>"
        f"<td>{format_score(s['js_distance'])}</td><td>{format_score(s['ks'])}</td>"
        f"<td>{format_score(s['ks_pvalue'], 4)}</td>"
        f"<td>{s['missing_rate_change']:+.3f}</td><td>{'YES: ' + ', '.join(s['reasons']) if s['drifted'] else 'no'}"
        f"</td></tr>" for name in names for s in [report["features"][name]])
    plots = "".join(image(distribution_png(baseline, report, name), name) for name in names[:MAX_FEATURES_PLOTTED])
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Drift report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;
padding:2px 6px;font-size:13px}}img{{margin:4px}}</style></head><body>
<h1>Drift report</h1>
<p><b>{summary['drifted_features']} of {summary['features']} features drifted</b>
(PSI &ge; {report['thresholds']['psi']}, missing-rate change &ge; {report['thresholds']['missing_rate_change']});
max PSI {format_score(summary['max_psi'])}
({html.escape(str(summary['max_psi_feature'] or '-'))}); window {report['window_rows']} rows, baseline
{report['baseline_rows']} rows.</p>
{image(psi_chart_png(report), "PSI per feature")}
<h2>Per feature</h2>
<table><tr><th>feature</th><th>kind</th><th>PSI</th><th>JS</th><th>KS (binned)</th><th>KS p</th>
<th>missing &Delta;</th><th>drifted</th></tr>{rows}</table>
<h2>Distributions (training baseline vs window)</h2>{plots}
</body></html>"""
    path.write_text(page)
    return path

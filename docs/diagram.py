"""Draws docs/architecture.svg from the component list below: `python docs/diagram.py`.

Each box names the construct (stacks/) that deploys it, so the picture and the stacks can be
checked against each other (tests/unit/test_docs.py does: every construct the stage composes is
drawn, and the committed SVG is what this script makes).
"""

from __future__ import annotations

import io
from pathlib import Path

OUT = Path(__file__).resolve().parent / "architecture.svg"

# (key, label, construct, column, row): columns 0-5 left to right, rows 0-3 top to bottom.
BOXES = [
    ("raw", "S3 raw/\n(producers land files)", "DataLake", 0, 0),
    ("ingest", "ingest function\nvalidate, de-identify PHI", "Ingestion", 1, 0),
    ("curated", "S3 curated/ (parquet)\nquarantine/, manifests", "DataLake", 2, 0),
    ("catalog", "Glue catalog + Athena\ncurated & capture tables", "DataLake", 3, 0),
    ("kms", "KMS key (rotation)\nencrypts every zone", "DataLake", 5, 0),
    ("pipeline", "SageMaker Pipeline\npreprocess-train-evaluate\n-gate-register", "Training", 2, 1),
    ("registry", "Model Registry\nPendingManualApproval", "RegistryStore", 3, 1),
    ("studio", "a person approves\nin SageMaker Studio", "", 4, 1),
    ("deployer", "deployer function\ncanary, rollback, promote;\naudit (Object Lock), model cards",
     "ModelRegistry", 5, 1),
    ("api", "API Gateway per stage\nIAM / API keys, throttling,\nvalidation, WAF (prod)",
     "ServingApi + ServingFirewall", 3, 2),
    ("inference", "inference function\nthe ONNX model, canary share", "ServingApi", 4, 2),
    ("pointer", "SSM serving pointer\nserving/<stage>/v<N>/", "ModelRegistry", 5, 2),
    ("capture", "S3 capture/\nsampled, de-identified", "DataLake", 4, 3),
    ("network", "VPC (prod): isolated subnets,\nS3 gateway + interface endpoints", "PrivateNetwork", 0, 3),
    ("drift", "drift function (schedule)\ncapture vs training baseline", "Monitoring", 3, 3),
    ("metrics", "CloudWatch metrics,\nalarms, dashboard", "Monitoring", 2, 3),
    ("sns", "SNS ops topic\n(on-call, runbooks)", "OpsAlerts", 1, 3),
    ("retrain", "retrain function\nin-flight guard, cooldown", "Monitoring", 2, 2),
]
EDGES = [("raw", "ingest"), ("ingest", "curated"), ("curated", "catalog"), ("curated", "pipeline"),
         ("pipeline", "registry"), ("registry", "studio"), ("studio", "deployer"), ("deployer", "pointer"),
         ("api", "inference"), ("pointer", "inference"), ("inference", "capture"), ("capture", "drift"),
         ("drift", "metrics"), ("metrics", "sns"), ("metrics", "retrain"), ("retrain", "pipeline")]
WIDTH, HEIGHT = 2.6, 0.9
# The stack (stacks/stage.py, `<prefix>-<suffix>`) that holds each construct.
STACK_OF = {"DataLake": "data", "RegistryStore": "data", "OpsAlerts": "shared", "PrivateNetwork": "shared",
            "ServingFirewall": "shared", "Ingestion": "ingestion", "Training": "training", "ModelRegistry": "deployer",
            "ServingApi": "serving-<stage>", "Monitoring": "monitoring"}


def constructs() -> set[str]:
    """The constructs (stacks/) the picture draws."""
    return {name for box in BOXES if box[2] for name in box[2].split(" + ")}


def _anchors(source: tuple[float, float], target: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    """Arrow ends on the facing sides of two boxes (so arrows never cross the labels)."""
    (sx, sy), (tx, ty) = source, target
    if abs(tx - sx) >= abs(ty - sy):  # mostly sideways: right/left edges
        if tx > sx:
            return (sx + WIDTH, sy + HEIGHT / 2), (tx, ty + HEIGHT / 2)
        return (sx, sy + HEIGHT / 2), (tx + WIDTH, ty + HEIGHT / 2)
    if ty < sy:  # below: bottom to top
        return (sx + WIDTH / 2, sy), (tx + WIDTH / 2, ty + HEIGHT)
    return (sx + WIDTH / 2, sy + HEIGHT), (tx + WIDTH / 2, ty)


def draw() -> str:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "mlstack"  # stable ids: the same picture gives the same bytes
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    figure, axis = plt.subplots(figsize=(19, 8.2))
    corners = {}
    for key, label, construct, column, row in BOXES:
        x, y = column * 3.1, -row * 1.9
        corners[key] = (x, y)
        color = "#fdebd0" if not construct else "#d6eaf8"
        axis.add_patch(FancyBboxPatch((x, y), WIDTH, HEIGHT, boxstyle="round,pad=0.05", facecolor=color,
                                      edgecolor="#34495e"))
        axis.text(x + WIDTH / 2, y + HEIGHT / 2 + 0.08, label, ha="center", va="center", fontsize=8.5)
        if construct:
            stacks = " + ".join(dict.fromkeys(STACK_OF[name] for name in construct.split(" + ")))
            axis.text(x + WIDTH / 2, y - 0.02, f"{construct} ({stacks} stack)", ha="center", va="top",
                      fontsize=7, color="#7f8c8d")
    for source, target in EDGES:
        start, end = _anchors(corners[source], corners[target])
        axis.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, shrinkA=2, shrinkB=2,
                                       color="#2c3e50", connectionstyle="arc3,rad=0.05"))
    axis.set_xlim(-0.3, 6 * 3.1)
    axis.set_ylim(-3 * 1.9 - 0.4, HEIGHT + 0.4)
    axis.axis("off")
    axis.set_title("mlstack: data lake -> training -> approval -> serving -> drift -> guarded retraining",
                   fontsize=12)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return buffer.getvalue()


if __name__ == "__main__":
    OUT.write_text(draw())
    print(f"wrote {OUT}")

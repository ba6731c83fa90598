"""Preprocess: curated parquet -> train / validation / test splits (stratified by label for classifiers).

SageMaker Processing: input /opt/ml/processing/input/data, outputs /opt/ml/processing/output/<split>.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mlstack.lake import TRAINING_INPUTS_FILE
from pipelines.recipes import Recipe, get_recipe
from pipelines.steps.tables import container_path, read_tables, write_table


def split(table: pa.Table, recipe: Recipe, *, validation: float, test: float,
          seed: int) -> dict[str, pa.Table]:
    """Seeded split of the distinct, complete rows (duplicates would leak across splits), stratified by label
    for classifiers. NER rows are distinct by text (one text labelled twice must not be in two splits)."""
    from sklearn.model_selection import train_test_split

    columns = [*recipe.feature_columns, recipe.label]
    table = table.select(columns).drop_null()
    if recipe.kind == "ner":
        texts = table.column(recipe.feature_columns[0]).to_pylist()
        first = {text: index for index, text in reversed(list(enumerate(texts)))}
        table, labels = table.take(pa.array(sorted(first.values()))), None
    else:
        table = table.group_by(columns, use_threads=False).aggregate([])
        labels = recipe.labels(table)
    indices = np.arange(table.num_rows)
    rest, test_idx = train_test_split(indices, test_size=test, stratify=labels, random_state=seed)
    train_idx, val_idx = train_test_split(rest, test_size=validation / (1 - test),
                                          stratify=None if labels is None else labels[rest], random_state=seed)
    return {name: table.take(pa.array(np.sort(idx))) for name, idx in
            (("train", train_idx), ("validation", val_idx), ("test", test_idx))}



def data_inputs(input_dir: str | Path) -> list[dict[str, object]]:
    """Every curated file read: its partition path, rows, SHA-256, and the raw object version it came from."""
    inputs = []
    for path in sorted(Path(input_dir).rglob("*.parquet")):
        metadata = pq.read_metadata(path)
        custom = {key.decode(): value.decode() for key, value in (metadata.metadata or {}).items()
                  if key.startswith(b"mlstack.")}
        inputs.append({"file": str(path.relative_to(input_dir)), "rows": metadata.num_rows,
                       "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "source": custom.get("mlstack.source"),
                       "source_version_id": custom.get("mlstack.source_version_id")})
    return inputs


def main(argv: list[str] | None = None) -> dict[str, int]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--input-dir", default=container_path("/opt/ml/processing/input/data"))
    parser.add_argument("--output-dir", default=container_path("/opt/ml/processing/output"))
    args = parser.parse_args(argv)
    recipe = get_recipe(args.recipe)
    table = read_tables(args.input_dir)
    splits = split(table, recipe, validation=args.validation_fraction, test=args.test_fraction, seed=args.seed)
    for name, part in splits.items():
        write_table(part, f"{args.output_dir}/{name}", f"{name}.parquet")
    (Path(args.output_dir) / TRAINING_INPUTS_FILE).write_text(json.dumps(data_inputs(args.input_dir), indent=1))
    used = sum(part.num_rows for part in splits.values())
    counts = {"input_rows": table.num_rows, "dropped_duplicate_or_incomplete": table.num_rows - used,
              **{name: part.num_rows for name, part in splits.items()}}
    print(json.dumps({"step": "preprocess", "recipe": recipe.name, **counts}))
    return counts


if __name__ == "__main__":
    main()

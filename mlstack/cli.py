"""The `mlstack` command line: one entry point for local mode and tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlstack.pointer import MODEL_STAGES


def _demo(args: argparse.Namespace) -> int:
    from local import demo

    return demo.main(Path(args.out), args.env, args.stop_after, args.recipe)


def _serve(args: argparse.Namespace) -> int:
    from local.serve import serve

    return serve(port=args.port, api_key=args.api_key, env_name=args.env, stage=args.stage,
                 demo_dir=Path(args.demo_dir))


def _ingest(args: argparse.Namespace) -> int:
    from local.ingest_file import main

    return main(args.file, args.dataset, args.key, args.json, args.env)


def _sample_data(args: argparse.Namespace) -> int:
    from mlstack.datasets.samples import write_samples

    for path in write_samples(Path(args.out)):
        print(path)
    return 0


def _promote(args: argparse.Namespace) -> int:
    import boto3

    from lambdas.deploy.deployer import Deployer, PromotionRefusedError
    from mlstack.config import load_environments

    config = load_environments()[args.env]
    session = boto3.session.Session(region_name=config.region)
    identity = session.client("sts").get_caller_identity()
    deployer = Deployer.from_config(config, account=identity["Account"], region=config.region, session=session)
    try:
        record = deployer.promote(Deployer.policy_for(config), identity["Arn"], session.client("cloudwatch"))
    except PromotionRefusedError as error:
        print(f"mlstack promote: {error}", file=sys.stderr)
        return 2
    print(f"{record.stage}: {record.outcome} ({record.detail}); audit record {record.key()}")
    return 0


def _drift_baseline(args: argparse.Namespace) -> int:
    import json

    from mlstack.drift_files import build_file_baseline

    baseline = build_file_baseline(Path(args.data), bins=args.bins, max_categories=args.max_categories)
    Path(args.output).write_text(json.dumps(baseline))
    kinds = [profile["kind"] for profile in baseline["features"].values()]
    print(f"baseline of {baseline['rows']} rows, {len(kinds)} features "
          f"({', '.join(f'{kinds.count(k)} {k}' for k in sorted(set(kinds)))}) -> {args.output}")
    return 0


def _drift_compare(args: argparse.Namespace) -> int:
    import json

    from mlstack.drift_files import compare_file, format_table, read_baseline

    baseline = read_baseline(Path(args.baseline))
    report = compare_file(baseline, Path(args.data), psi_threshold=args.psi_threshold)
    print(format_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
        print(f"json: {args.json}")
    if args.report:
        from mlstack.drift_report import write_html

        print(f"report: {write_html(baseline, report, Path(args.report))}")
    return 0


def _drift_athena_sql(args: argparse.Namespace) -> int:
    from datetime import datetime

    from mlstack.drift import DriftInputError
    from mlstack.drift_athena import bin_count_query
    from mlstack.drift_files import read_baseline

    try:
        start, end = (datetime.fromisoformat(value) for value in (args.start, args.end))
    except ValueError as error:
        raise DriftInputError(f"--start/--end: {error}") from None
    print(bin_count_query(read_baseline(Path(args.baseline)), database=args.database,
                          model_version=args.model_version, start=start, end=end))
    return 0


def _drift_commands(commands: argparse._SubParsersAction) -> None:
    from mlstack.drift import PSI_THRESHOLD

    drift = commands.add_parser("drift", help="data drift: build a baseline from a file, compare another file to it")
    actions = drift.add_subparsers(dest="drift_command", required=True)
    baseline = actions.add_parser("baseline", help="profile DATA (parquet or CSV) into a baseline JSON")
    baseline.add_argument("data", help="a .parquet or .csv file")
    baseline.add_argument("-o", "--output", required=True, help="where to write the baseline JSON")
    baseline.add_argument("--bins", type=int, default=10, help="quantile bins per numeric feature (default: 10)")
    baseline.add_argument("--max-categories", type=int, default=50,
                          help="categories kept per string feature, the rest is __other__ (default: 50)")
    baseline.set_defaults(func=_drift_baseline)
    compare = actions.add_parser("compare", help="compare DATA with BASELINE: a table per feature (exit 0 whether "
                                                 "or not anything drifted), optionally JSON")
    compare.add_argument("baseline", help="a baseline JSON from `mlstack drift baseline` or a training run")
    compare.add_argument("data", help="a .parquet or .csv file with the baseline's columns")
    compare.add_argument("--json", help="also write the full report (every feature, scores, drifted flag) here")
    compare.add_argument("--report", help="also write an HTML page with per-feature distribution plots here")
    compare.add_argument("--psi-threshold", type=float, default=PSI_THRESHOLD,
                         help="PSI at or above which a feature counts as drifted (default: %(default)s)")
    compare.set_defaults(func=_drift_compare)
    athena = actions.add_parser("athena-sql", help="print the Athena query that counts a capture window in "
                                                   "BASELINE's bins (windows too large for the drift function)")
    athena.add_argument("baseline", help="the served version's baseline JSON (serving/<stage>/v<N>/baseline.json)")
    athena.add_argument("--database", required=True, help="the environment's Glue database, e.g. mlstack_prod")
    athena.add_argument("--model-version", required=True, help="the captured version, e.g. v3")
    athena.add_argument("--start", required=True, help="window start, ISO 8601 with time zone")
    athena.add_argument("--end", required=True, help="window end (exclusive), ISO 8601 with time zone")
    athena.set_defaults(func=_drift_athena_sql)


DEID_KEY_VARIABLE = "MLSTACK_DEID_KEY"


def _deid(args: argparse.Namespace) -> int:
    import json
    import os

    from mlstack.deid import Deidentifier, Policy

    try:
        policy = Policy(mode=args.mode, keep_year=args.keep_year, key=os.environ.get(DEID_KEY_VARIABLE, "").encode())
    except ValueError as error:
        print(f"mlstack deid: {error} (set {DEID_KEY_VARIABLE})", file=sys.stderr)
        return 2
    if args.train_model:
        return _deid_train_model(args)
    try:
        deidentifier = Deidentifier(policy, _deid_backend(args.model) if args.model else None)
    except (OSError, ValueError, RuntimeError) as error:  # onnxruntime's load errors are RuntimeErrors
        print(f"mlstack deid: {args.model}: {error}", file=sys.stderr)
        return 2
    if args.evaluate:
        from mlstack.deid.evaluate import report

        path = None if args.evaluate == "-" else Path(args.evaluate)
        if path and not path.is_file():
            print(f"mlstack deid: {path}: no such corpus file", file=sys.stderr)
            return 2
        text, result = report(deidentifier, path)
        print(text)
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(result, indent=1))
        return 0
    result = deidentifier.deidentify(sys.stdin.read())
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        sys.stdout.write(result.text)
    return 0


def _deid_train_model(args: argparse.Namespace) -> int:
    from mlstack.deid.corpus import load_corpus
    from mlstack.deid.model_backend import train_model

    if not args.model:
        print("mlstack deid: --train-model needs --model, the file to write", file=sys.stderr)
        return 2
    try:
        documents = load_corpus(Path(args.train_model))
        model = train_model(documents)
    except (OSError, ValueError) as error:
        print(f"mlstack deid: {args.train_model}: {error}", file=sys.stderr)
        return 2
    Path(args.model).write_bytes(model)
    print(f"trained on {len(documents)} documents -> {args.model} ({len(model) / 1e6:.1f} MB)")
    return 0


def _deid_backend(model: str) -> object:
    from mlstack.deid import PatternBackend
    from mlstack.deid.model_backend import EntityModelTagger

    return PatternBackend(EntityModelTagger(Path(model).read_bytes()))


def _rehearse(args: argparse.Namespace) -> int:
    from local.rehearsal.run import main as rehearse

    return rehearse([item for env in args.env or [] for item in ("--env", env)] +
                    (["--no-synth"] if args.no_synth else []))


def build_parser() -> argparse.ArgumentParser:
    from local.stages import STAGES

    parser = argparse.ArgumentParser(prog="mlstack", description="Serverless ML platform for AWS: local tools.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the lifecycle locally on an embedded AWS (moto on 127.0.0.1)")
    demo.add_argument("--out", default=".mlstack/demo", help="folder for the run report (default: %(default)s)")
    demo.add_argument("--env", default="dev", help="environment config from cdk.json to emulate (default: dev)")
    demo.add_argument("--stop-after", choices=STAGES, help="stop after this stage")
    demo.add_argument("--recipe", choices=("tabular", "text", "ner"), default="tabular",
                      help="model recipe to train (default: %(default)s)")
    demo.set_defaults(func=_demo)

    promote = commands.add_parser(
        "promote", help="promote the version live in staging to prod (refused unless soaked, no staging alarm "
                        "in ALARM, and, if configured, a second person); audited")
    promote.add_argument("--env", default="prod", help="environment config from cdk.json (default: %(default)s)")
    promote.set_defaults(func=_promote)

    serve = commands.add_parser(
        "serve", help="serve the inference API on 127.0.0.1 with the model of the last local run (trains and "
                      "deploys the sample model first on a fresh checkout)")
    serve.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default: %(default)s; 0: any)")
    serve.add_argument("--api-key", help="require this value in the x-api-key header")
    serve.add_argument("--env", default="dev", help="environment config from cdk.json (default: %(default)s)")
    serve.add_argument("--stage", choices=MODEL_STAGES, default="prod", help="model stage (default: prod)")
    serve.add_argument("--demo-dir", default=".mlstack/demo", help="the local run's folder (default: %(default)s)")
    serve.set_defaults(func=_serve)

    rehearse = commands.add_parser(
        "rehearse", help="synthesize with bundling, build the embedded AWS from the template and run every Lambda "
                         "package and pipeline job as deployed, each AWS call checked against its role (offline)")
    rehearse.add_argument("--env", action="append", help="environment to rehearse, repeatable (default: all)")
    rehearse.add_argument("--no-synth", action="store_true", help="reuse the last rehearsal's cloud assembly")
    rehearse.set_defaults(func=_rehearse)

    ingest = commands.add_parser(
        "ingest", help="check a data file before uploading it: the real ingest handler on an embedded AWS, as an "
                       "upload to raw/<DATASET>/ would run it; prints the manifest (exit 0 whenever the file was "
                       "handled, accepted, partial or rejected; 1 if the handler failed)")
    ingest.add_argument("file", help="the CSV or JSON Lines file (optionally .gz)")
    ingest.add_argument("--dataset", required=True, help="the data set (its schema validates the file)")
    ingest.add_argument("--key", help="object key under raw/<DATASET>/ (default: the file's name; its suffix "
                                      "decides the format)")
    ingest.add_argument("--json", action="store_true", help="print the manifest as one JSON object")
    ingest.add_argument("--env", default="dev", help="environment config from cdk.json (default: %(default)s)")
    ingest.set_defaults(func=_ingest)

    samples = commands.add_parser("sample-data", help="write the sample data sets (clean and corrupted) to a folder")
    samples.add_argument("--out", default=".mlstack/sample-data", help="output folder (default: %(default)s)")
    samples.set_defaults(func=_sample_data)
    _drift_commands(commands)
    deid = commands.add_parser("deid", help="de-identify text from stdin (HIPAA Safe Harbor identifiers), or score "
                                            "the de-identifier on the labelled corpus")
    deid.add_argument("--json", action="store_true",
                      help='write {"text": ..., "spans": [{"type", "start", "end"}]}; offsets refer to the input')
    deid.add_argument("--mode", choices=("redact", "pseudonymize", "remove"), default="redact",
                      help=f"[TYPE] tags (default), [TYPE-hash] pseudonyms keyed by ${DEID_KEY_VARIABLE}, or removal")
    deid.add_argument("--keep-year", action="store_true", help="dates keep their year (Safe Harbor allows it)")
    deid.add_argument("--evaluate", nargs="?", const="-", metavar="CORPUS",
                      help="precision/recall/F1 per identifier type on a labelled JSONL corpus (default: the shipped "
                           "one, mlstack/deid/data/eval_corpus.jsonl)")
    deid.add_argument("--json-out", help="with --evaluate: also write the scores as JSON here")
    deid.add_argument("--model", metavar="MODEL_ONNX",
                      help="the learned half: this entity model (the ner recipe's model.onnx, or --train-model's) "
                           "instead of the shipped tagger, beside the patterns")
    deid.add_argument("--train-model", metavar="CORPUS",
                      help="train the ner recipe's entity tagger on a labelled JSONL corpus of identifiers and write "
                           "it to --model (docs/deid.md)")
    deid.set_defaults(func=_deid)
    return parser


def main(argv: list[str] | None = None) -> int:
    from mlstack.drift import DriftInputError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DriftInputError as error:
        print(f"mlstack {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

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
        record = deployer.promote(Deployer.policy_for(config), args.principal or identity["Arn"],
                                  session.client("cloudwatch"))
    except PromotionRefusedError as error:
        print(f"mlstack promote: {error}", file=sys.stderr)
        return 2
    print(f"{record.stage}: {record.outcome} ({record.detail}); audit record {record.key()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from local.demo import STAGES

    parser = argparse.ArgumentParser(prog="mlstack", description="Serverless ML platform for AWS: local tools.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the lifecycle locally on an embedded AWS (moto on 127.0.0.1)")
    demo.add_argument("--out", default=".mlstack/demo", help="folder for the run report (default: %(default)s)")
    demo.add_argument("--env", default="dev", help="environment config from cdk.json to emulate (default: dev)")
    demo.add_argument("--stop-after", choices=STAGES, help="stop after this stage")
    demo.add_argument("--recipe", choices=("tabular", "text"), default="tabular",
                      help="model recipe to train (default: %(default)s)")
    demo.set_defaults(func=_demo)

    promote = commands.add_parser(
        "promote", help="promote the version live in staging to prod (refused unless soaked, no staging alarm "
                        "in ALARM, and, if configured, a second person); audited")
    promote.add_argument("--env", default="prod", help="environment config from cdk.json (default: %(default)s)")
    promote.add_argument("--principal", help="who promotes (default: your AWS caller identity ARN)")
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

    samples = commands.add_parser("sample-data", help="write the sample data sets (clean and corrupted) to a folder")
    samples.add_argument("--out", default=".mlstack/sample-data", help="output folder (default: %(default)s)")
    samples.set_defaults(func=_sample_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

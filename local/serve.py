"""`mlstack serve`: the inference API on 127.0.0.1, serving the model deployed by the last local run.

A fresh embedded AWS is started (moto keeps no state between processes), the last demo run's
served model (its ONNX file and signature, saved by the deploy stage) is published to the stage
the way the deployer does, and the real handler answers behind the emulated API Gateway. On a
fresh checkout with no saved model, the demo runs first (ingest, train, approve, deploy).
"""

from __future__ import annotations

import threading
from pathlib import Path

import boto3

from local.api import LocalApi, http_server, publish_model
from local.embedded_aws import moto_server, provision_lake
from mlstack.config import load_environments
from mlstack.signature import SIGNATURE_FILE

SERVED_MODEL_DIR = "serving"  # under the demo's output folder


def save_served_model(s3: object, bucket: str, model_uri: str, out_dir: Path) -> Path:
    """Keep a copy of the model a local run deployed, so `mlstack serve` can serve it later."""
    target = out_dir / SERVED_MODEL_DIR
    target.mkdir(parents=True, exist_ok=True)
    prefix = model_uri.removeprefix(f"s3://{bucket}/").rsplit("/", 1)[0]
    for name in ("model.onnx", SIGNATURE_FILE):
        s3.download_file(bucket, f"{prefix}/{name}", str(target / name))
    (target / "version").write_text(prefix.rsplit("/v", 1)[-1])
    return target


def serve(*, port: int, api_key: str | None, env_name: str, stage: str, demo_dir: Path,
          stop: threading.Event | None = None) -> int:
    model_dir = demo_dir / SERVED_MODEL_DIR
    if not (model_dir / "model.onnx").is_file():
        from local.demo import run_demo

        print(f"no locally deployed model in {model_dir}: running the demo up to deployment first", flush=True)
        run_demo(demo_dir, env_name, stop_after="deploy")
    config = load_environments()[env_name]
    with moto_server() as endpoint:
        lake = provision_lake(config)
        version = int((model_dir / "version").read_text())
        publish_model(config, lake, stage=stage, version=version, onnx_bytes=(model_dir / "model.onnx").read_bytes(),
                      signature_json=(model_dir / SIGNATURE_FILE).read_text(),
                      s3=boto3.client("s3", region_name=config.region),
                      ssm=boto3.client("ssm", region_name=config.region))
        api = LocalApi(config, lake, stage=stage, api_key=api_key)
        with http_server(api, port) as url:
            print(f"embedded AWS at {endpoint}; serving {stage} v{version} from {model_dir}")
            print("auth: x-api-key required" if api_key else "auth: none (local; IAM/API keys apply on AWS)")
            print(f"try: curl -s {url}/v1/schema")
            print(f"listening on {url}", flush=True)
            try:
                (stop or threading.Event()).wait()
            except KeyboardInterrupt:
                print("stopped")
    return 0

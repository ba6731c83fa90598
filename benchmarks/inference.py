"""Inference handler: this function vs. a straightforward scikit-learn + pandas handler, side by side.

Same model (the tabular recipe on the breast cancer sample), same API Gateway proxy events. Ours
runs the production path: Powertools resolver, bulk validation, the ONNX model found through the
SSM pointer and loaded from S3 (a moto server on 127.0.0.1 stands in for both). The alternative
imports pandas and scikit-learn at module level, loads a joblib model, and builds a DataFrame per
request. Cold start = a fresh process: imports + model load + first response. Warm = p50/p99 of
the handler call in one process. Capture sampling is off for both (it is not on the response path).
Run: make bench  (or .venv/bin/python -m benchmarks.inference)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import joblib
import orjson

from benchmarks import save_result
from local.api import proxy_event, publish_model
from local.embedded_aws import moto_server, provision_lake
from local.lambda_runtime import LocalLambdaContext, cold_start
from mlstack.config import load_environments
from mlstack.pointer import pointer_name
from pipelines.sample_model import train_sample_model

REPO_ROOT = Path(__file__).resolve().parent.parent
COLD_RUNS = 5
WARM_RUNS = {1: 3000, 100: 500}

BASELINE_HANDLER = '''
import json, os, time
started = time.perf_counter()
import joblib
import pandas as pd
import sklearn  # noqa: F401
MODEL = joblib.load(os.environ["BENCH_MODEL"])
FEATURES = json.loads(os.environ["BENCH_FEATURES"])

def handler(event, context):
    instances = json.loads(event["body"])["instances"]
    frame = pd.DataFrame(instances)[FEATURES]
    probabilities = MODEL.predict_proba(frame.to_numpy(dtype="float32"))
    labels = MODEL.classes_[probabilities.argmax(axis=1)]
    predictions = [{"label": str(label), "probabilities": dict(zip(MODEL.classes_.tolist(), row))}
                   for label, row in zip(labels, probabilities.tolist())]
    return {"statusCode": 200, "body": json.dumps({"model_version": "v1", "predictions": predictions})}
'''

_COLD_OURS = '''
import json, os, sys, time
started = time.perf_counter()
from lambdas.inference.handler import handler
from local.lambda_runtime import LocalLambdaContext
response = handler(json.loads(os.environ["BENCH_EVENT"]), LocalLambdaContext("inference"))
assert response["statusCode"] == 200, response
print(time.perf_counter() - started)
'''

_COLD_BASELINE = BASELINE_HANDLER + '''
response = handler(json.loads(os.environ["BENCH_EVENT"]), None)
assert response["statusCode"] == 200
print(time.perf_counter() - started)
'''


def _event(instances: list[dict]) -> dict:
    return proxy_event("POST", "/v1/predict", {"Content-Type": "application/json"},
                       orjson.dumps({"instances": instances}))


def _cold(script: str, env: dict[str, str]) -> float:
    times = []
    for _ in range(COLD_RUNS):
        result = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO_ROOT,  # noqa: S603
                                capture_output=True, text=True, check=True)
        times.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _warm(call, event: dict, runs: int) -> tuple[float, float]:
    for _ in range(50):
        call(event)
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        call(event)
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    return samples[len(samples) // 2] / 1000, samples[int(len(samples) * 0.99)] / 1000


def main() -> None:
    sample = train_sample_model("tabular")
    config = load_environments()["dev"]
    results: dict[str, dict] = {"ours": {}, "sklearn_pandas": {}}
    with tempfile.TemporaryDirectory() as tmp, moto_server() as endpoint:
        model_path = Path(tmp) / "model.joblib"
        joblib.dump(sample.sklearn_model, model_path)
        lake = provision_lake(config)
        publish_model(config, lake, stage="prod", version=1, onnx_bytes=sample.onnx_bytes,
                      signature_json=sample.signature.model_dump_json(), s3=boto3.client("s3"),
                      ssm=boto3.client("ssm"))
        function_env = {"STAGE": "prod", "SERVING_PARAMETER": pointer_name(config.serving_parameter_prefix(), "prod"),
                        "CAPTURE_BUCKET": lake.buckets["capture"], "CAPTURE_SAMPLE_RATE": "0",
                        "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_TRACE_DISABLED": "true",
                        "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "inference",
                        "POWERTOOLS_METRICS_NAMESPACE": "mlstack-bench",
                        # What the Lambda runtime sets; the X-Ray SDK then skips its centralized-sampling
                        # client (~100 ms of import) as it does in Lambda.
                        "LAMBDA_TASK_ROOT": str(REPO_ROOT), "AWS_LAMBDA_FUNCTION_NAME": "inference"}
        events = {rows: _event(sample.instances[:rows]) for rows in WARM_RUNS}
        env = {**os.environ, **function_env, "PYTHONPATH": str(REPO_ROOT), "BENCH_EVENT": json.dumps(events[1]),
               "BENCH_MODEL": str(model_path), "BENCH_FEATURES": json.dumps(list(sample.signature.features))}
        results["ours"]["cold_s"] = _cold(_COLD_OURS, env)
        results["sklearn_pandas"]["cold_s"] = _cold(_COLD_BASELINE, env)

        ours = cold_start("inference", function_env, config.region, quiet=True)
        context = LocalLambdaContext("inference")
        namespace: dict = {}
        os.environ.update(BENCH_MODEL=str(model_path), BENCH_FEATURES=env["BENCH_FEATURES"])
        exec(compile(BASELINE_HANDLER, "baseline_handler", "exec"), namespace)  # noqa: S102 - our own fixed code
        for rows, runs in WARM_RUNS.items():
            ours_response = ours.handler(events[rows], context)
            base_response = namespace["handler"](events[rows], None)
            agree = ([p["label"] for p in json.loads(ours_response["body"])["predictions"]] ==
                     [p["label"] for p in json.loads(base_response["body"])["predictions"]])
            results["ours"][f"{rows}_row"] = _warm(lambda e: ours.handler(e, context), events[rows], runs)
            results["sklearn_pandas"][f"{rows}_row"] = _warm(lambda e: namespace["handler"](e, None), events[rows],
                                                             runs)
            results[f"labels_agree_{rows}_row"] = agree
        results["moto_endpoint"] = endpoint
    _print(results)


def _print(results: dict) -> None:
    ours, base = results["ours"], results["sklearn_pandas"]
    print("inference handler (proxy event in -> JSON out), tabular model, this machine:")
    print(f"  {'':<22} {'ours (onnx)':>14} {'sklearn+pandas':>15} {'ratio':>8}")
    print(f"  {'cold start':<22} {ours['cold_s'] * 1000:>11.0f} ms {base['cold_s'] * 1000:>12.0f} ms "
          f"{base['cold_s'] / ours['cold_s']:>7.1f}x")
    for rows in WARM_RUNS:
        for index, name in enumerate(("p50", "p99")):
            mine, theirs = ours[f"{rows}_row"][index], base[f"{rows}_row"][index]
            print(f"  {f'warm {rows} row(s) {name}':<22} {mine:>11.0f} us {theirs:>12.0f} us {theirs / mine:>7.1f}x")
    print(f"  labels agree: 1 row {results['labels_agree_1_row']}, 100 rows {results['labels_agree_100_row']}")
    out = save_result("inference", results)
    print(f"  json: {out}")


if __name__ == "__main__":
    main()

"""The Lambda runtime's part, in a clean interpreter: `python3.12 -I bootstrap.py SPEC.json`.

Run with -I (no PYTHONPATH, no user site, no current directory on the path). The path is what
Lambda gives a function: the package (/var/task) and the runtime's own boto3 (/var/runtime),
nothing of the development virtualenv. Every AWS call is checked first against the function
role's policies (iam.py, loaded by file path so it cannot shadow or supply anything); a denied
call raises AccessDenied naming the action and resource, as AWS does. Writes the results as JSON
to the spec's result path: stdout and stderr are the function's log.
"""

import importlib
import importlib.util
import json
import sys
import time
import traceback
import uuid

STARTED = time.perf_counter()


class Context:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    def __init__(self, spec: dict) -> None:
        self.function_name = spec["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec["function_arn"]
        self.memory_limit_in_mb = spec["memory_mb"]
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = spec.get("log_group", "")
        self.log_stream_name = "rehearsal"
        self._deadline = time.monotonic() + spec["timeout_seconds"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _guard_aws_calls(spec: dict):
    """Every botocore call is authorized against the role before it is sent; returns the checker."""
    module_spec = importlib.util.spec_from_file_location("_rehearsal_iam", spec["iam_module"])
    iam = importlib.util.module_from_spec(module_spec)
    sys.modules["_rehearsal_iam"] = iam  # dataclasses resolve annotations through sys.modules
    module_spec.loader.exec_module(iam)
    checker = iam.CallChecker(spec["principal_arn"], spec["policies"], iam.Facts(**spec["facts"]))
    iam.install_call_guard(lambda: checker)
    return checker


def main() -> None:
    with open(sys.argv[1]) as spec_file:
        spec = json.load(spec_file)
    sys.path[:0] = [spec["package"], spec["runtime"]]
    checker = _guard_aws_calls(spec)
    result = {"import_error": None, "invocations": []}
    module_name, _, function_name = spec["handler"].rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception:  # the finding is the import error itself
        result["import_error"] = traceback.format_exc()[-3000:]
        handler = None
    result["cold_start_ms"] = round((time.perf_counter() - STARTED) * 1000, 1)
    for event in spec["events"] if handler else []:
        started = time.perf_counter()
        try:
            response, error = handler(event, Context(spec)), None
        except Exception as exception:  # recorded: the rehearsal checks each outcome
            response, error = None, f"{type(exception).__name__}: {exception}"
        result["invocations"].append({"response": response, "error": error,
                                      "ms": round((time.perf_counter() - started) * 1000, 1)})
    result["checked"] = checker.checked
    result["modules"] = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())
                                if getattr(m, "__file__", None)})
    with open(spec["result"], "w") as out:
        json.dump(result, out, default=str)


if __name__ == "__main__":
    main()

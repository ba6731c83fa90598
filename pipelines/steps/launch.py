"""Processing-job entry point: unpack the code bundle, then run one step module.

`python3 launch.py preprocess --recipe tabular` in a SageMaker processing job (the bundle
arrives as an input under MLSTACK_CODE_ARCHIVE_DIR) and in the local runner alike.
"""

import os
import runpy
import sys
import tarfile
import tempfile
from pathlib import Path

STEPS = ("preprocess", "evaluate")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in STEPS:
        sys.exit(f"usage: launch.py {{{','.join(STEPS)}}} [step arguments]")
    archives = Path(os.environ.get("MLSTACK_CODE_ARCHIVE_DIR", "/opt/ml/processing/input/bundle"))
    root = Path(tempfile.mkdtemp(prefix="mlstack-code-"))
    # By content, not name: a CDK file asset keeps only the last extension (sourcedir.tar.gz -> <hash>.gz).
    for archive in sorted(path for path in archives.iterdir() if path.is_file() and tarfile.is_tarfile(path)):
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
    sys.path.insert(0, str(root))
    step = sys.argv.pop(1)
    runpy.run_module(f"pipelines.steps.{step}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

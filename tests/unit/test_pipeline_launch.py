"""The processing entry point finds the code bundle under the key CDK gives it (`<hash>.gz`)."""

from __future__ import annotations

import io
import subprocess
import tarfile

from stacks.lambda_code import REPO_ROOT, runtime_interpreter

LAUNCHER = REPO_ROOT / "pipelines" / "steps" / "launch.py"
STEP = "import pathlib, sys\npathlib.Path(sys.argv[1]).write_text('ran ' + ' '.join(sys.argv[2:]))\n"


def _bundle() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in {"pipelines/__init__.py": "", "pipelines/steps/__init__.py": "",
                           "pipelines/steps/preprocess.py": STEP}.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def test_a_bundle_named_as_a_cdk_file_asset_is_unpacked_and_its_step_runs(tmp_path):
    bundle_dir = tmp_path / "bundle"
    bundle_dir.mkdir()
    (bundle_dir / "8df9de169aa4b473cb826c5177fe7dff40374c6542ba3fae105230dd38189970.gz").write_bytes(_bundle())
    marker = tmp_path / "marker"
    # -I: nothing of this checkout on the path, as in the job container; only the bundle provides `pipelines`.
    completed = subprocess.run([str(runtime_interpreter()), "-I", str(LAUNCHER), "preprocess", str(marker), "--x", "1"],
                               env={"MLSTACK_CODE_ARCHIVE_DIR": str(bundle_dir)}, capture_output=True, text=True,
                               check=False)
    assert completed.returncode == 0, completed.stderr
    assert marker.read_text() == "ran --x 1"

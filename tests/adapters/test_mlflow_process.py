"""The MLflow logging process imports what logging needs, and no more: pyarrow (HDFS artifact stores only) is left
out of the local store's path and given back to a job for a tracking server."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

CHECK = """
import json, sys
import guardrail.adapters.mlflow_process as process
process._import_mlflow()
seen = {"after_import": "pyarrow" in sys.modules}
hdfs = sys.modules[process._HDFS]
seen["hdfs_ready_before"] = hasattr(hdfs, "HadoopFileSystem")
registered = hdfs.HdfsArtifactRepository
process._with_hdfs()
seen["hdfs_ready_after"] = hasattr(hdfs, "HadoopFileSystem")
seen["same_class_reads_it"] = "HadoopFileSystem" in registered.__init__.__globals__
print(json.dumps(seen))
"""


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow is not installed here")
def test_pyarrow_stays_out_of_the_logging_process_until_a_tracking_server_may_need_it() -> None:
    proc = subprocess.run([sys.executable, "-P", "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {
        "after_import": False,
        "hdfs_ready_before": False,
        "hdfs_ready_after": True,
        "same_class_reads_it": True,
    }

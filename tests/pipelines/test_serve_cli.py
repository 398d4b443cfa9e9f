"""`flrisk serve` as `make run` uses it: a plain block once ready, a plain refusal when twice."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.serve_cli import RULE, ready_block


def test_the_ready_block_says_where_what_key_and_how_to_get_another(tmp_path):
    keys = tmp_path / "keys.json"
    ready = {"status": "ready", "model": {"name": "flrisk", "version": "3", "alias": "champion"}}
    block = ready_block("http://127.0.0.1:8000", ready, "flr_abc", keys, ".venv/bin/flrisk")
    assert "serving models:/flrisk/3 (@champion)" in block
    assert "open      http://127.0.0.1:8000" in block and "flr_abc" in block
    assert "Sign in" in block and ".venv/bin/flrisk keys create" in block
    assert len(block.strip().splitlines()) <= 14
    # Later runs: the key cannot be shown again; the block says where it came from.
    keys.write_text('{"keys": []}')
    later = ready_block("http://127.0.0.1:8000", ready, None, keys, "flrisk")
    assert "flr_" not in later and "never shown again" in later and "keys create" in later
    down = ready_block("http://127.0.0.1:8000", {"status": "not ready", "detail": "no model"},
                       None, keys, "flrisk")  # fmt: skip
    assert "not ready: no model" in down


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.integration
def test_serve_ends_with_the_block_then_refuses_a_second_start(registered_model, tmp_path):
    port = _free_port()
    env = {**os.environ, "FLRISK_DATA_DIR": str(tmp_path), "MLFLOW_TRACKING_URI":
           registered_model.settings.tracking_uri()}  # fmt: skip
    flrisk = str(Path(sys.executable).parent / "flrisk")
    cmd = [flrisk, "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 600
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, "the server stopped:\n" + "".join(lines)
            lines.append(line)
            if lines.count(RULE + "\n") == 2:
                break
        out = "".join(lines)
        block = out[out.index(RULE) :]
        assert "Uvicorn running on" in out[: out.index(RULE)]  # the block comes after
        assert "flrisk is ready, serving models:/flrisk/" in block and "(@champion)" in block
        key = next(w for w in block.split() if w.startswith("flr_"))
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/model", headers={"Authorization": f"Bearer {key}"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert json.loads(resp.read())["version"]
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode != 0
        assert "Traceback" not in second.stderr
        assert f"port {port} on 127.0.0.1 is already in use" in second.stderr
        assert "flrisk is already running there" in second.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=60)

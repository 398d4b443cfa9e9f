"""A reference update reaches a running server: the very next response matches the new
entity and names the new version, without a restart or a retrain (issue #17 item 4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pandas as pd
import pytest
from reltools import add_keys, app_settings, auth, lines_json, server_process, settings_env

# A server start and a flrisk subprocess: past the suite's 600 s on a loaded machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

NEW_ENTITY = (
    "entity_id,name,aliases,list,sector,region,country,effective_date,citation,source\n"
    "UFLPA-9001,Zebra Quantum Widget Manufacturing Co. Ltd,Zebra Quantum Widgets,UFLPA,"
    "apparel,Xinjiang,CN,2020-01-01,99 FR 12345 (2020-01-01),test publication\n"
)


def flrisk(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """``flrisk ARGS`` in its own process, with the server's settings."""
    exe = Path(sys.executable).parent / "flrisk"
    return subprocess.run(
        [str(exe), *args], env=settings_env(settings), capture_output=True, text=True,
        timeout=900, check=False,
    )  # fmt: skip


def _matched(result: dict[str, Any], entity_id: str) -> bool:
    return any(r["evidence"].get("entity_id") == entity_id for r in result["reasons"])


def test_reference_update_reaches_the_next_response(
    tmp_path: Path, shared_registry: SimpleNamespace, lines: pd.DataFrame
) -> None:
    settings = app_settings(tmp_path / "app", shared_registry)
    keys = add_keys(settings)
    line = lines_json(lines.head(1))[0]
    line["manufacturer_name"] = "ZEBRA QUANTUM WIDGET MFG CO LTD"
    body = {"lines": [line], "reasons": 10}
    source = tmp_path / "new_entities.csv"
    source.write_text(NEW_ENTITY)
    with server_process(settings) as srv, httpx.Client(base_url=srv.url, timeout=60) as client:
        before = client.post("/v1/score", json=body, headers=auth(keys["scorer"])).json()
        assert before["model"]["reference_versions"]["snapshot"] == "shipped"
        assert not _matched(before["results"][0], "UFLPA-9001")
        done = flrisk(settings, "reference", "update", "--entities", str(source))
        assert done.returncode == 0, done.stderr
        version = done.stdout.strip().rsplit(" ", 1)[-1]
        after = client.post("/v1/score", json=body, headers=auth(keys["scorer"])).json()
    used = after["model"]["reference_versions"]
    assert used["snapshot"] == version != "shipped"
    assert used["entities"] != before["model"]["reference_versions"]["entities"]
    # The model's own (training) versions stay reported apart, unchanged.
    trained = after["model"]["model_reference_versions"]
    assert trained == before["model"]["model_reference_versions"]
    assert "snapshot" not in trained
    assert _matched(after["results"][0], "UFLPA-9001"), after["results"][0]["reasons"]
    # The law, not the model's learned weight: the new listing presumes the line.
    assert "uflpa_entity" in after["results"][0]["presumption"].split(";")
    assert before["results"][0]["presumption"] == ""

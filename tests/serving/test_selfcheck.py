"""The command, the API and the page give the same self-check answer for one supplier list."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from checktools import CHAIN_CSV, page_token, post_list, report_of, write_chain
from typer.testing import CliRunner

from serving.auth import create_key


def test_api_cli_and_page_agree(api: SimpleNamespace, tmp_path: Path) -> None:
    key = create_key(api.settings.keys_path(), "importer", ["check"])
    files = {"file": ("suppliers.csv", CHAIN_CSV.encode(), "text/csv")}
    via_api = api.client.post("/v1/check", files=files, headers={"X-API-Key": key}).json()
    page = post_list(api.client, {"api_key": key, "csrf_token": page_token(api.client)})
    via_page = report_of(page.text)
    from pipelines.cli import app

    out = tmp_path / "report.csv"
    result = CliRunner().invoke(
        app, ["check", "--suppliers", str(write_chain(tmp_path / "s.csv")), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = pd.read_csv(out, dtype=str, keep_default_na=False)
    via_cli = {r.supplier_id: (r.name, json.loads(str(r.findings))) for r in report.itertuples()}
    assert via_page == via_api
    assert via_cli == {s["supplier_id"]: (s["name"], s["findings"]) for s in via_api["suppliers"]}
    tiers = pd.read_csv(tmp_path / "report.tiers.csv", dtype={"tier": str})
    assert tiers.to_dict("records") == via_api["tiers"]
    bad = pd.read_csv(tmp_path / "report.quarantine.csv", dtype={"value": str},
                      keep_default_na=False)  # fmt: skip
    assert bad.to_dict("records") == via_api["bad_rows"]
    assert any(f["code"] == "upstream" for f in via_cli["T1"][1])

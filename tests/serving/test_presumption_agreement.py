"""Every front end says the same ``presumption`` for the same lines, and ranks it first.

The JSON API, the file upload, ``flrisk score`` (pandas and Spark engines) and the workbench
worklist and its export all score one day whose lines name a UFLPA-listed firm under an
alias, a Xinjiang address, a firm listed only after the line's entry date, and nothing at
all. The presumption is law, not a statistic: it must not depend on the door a line came in.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from servetools import auth, lines_json
from workbench.test_workbench import sign_in, upload

from models.contract.reader import read_entry_lines
from models.reference.tables import load_entities
from models.scoring.scorer import Scorer
from pipelines.score import score_files


@pytest.fixture
def day(model_source: SimpleNamespace) -> pd.DataFrame:
    """40 single-day lines: 5 listed alias, 5 Xinjiang address, 5 listed later, 25 plain."""
    ent = load_entities()
    listed = ent[(ent["list"] == "UFLPA") & (ent["aliases"].str.len() > 0)].iloc[0]
    later = ent[(ent["list"] == "UFLPA") & (ent["effective_date"] > "2024-06-01")].iloc[0]
    raw = pd.DataFrame(lines_json(model_source.lines)).head(40).copy()
    # One line per entry: an entry's rank is then its line's.
    raw["entry_id"] = [f"E{i:03d}" for i in range(len(raw))]
    raw["line_no"] = 1
    raw["entry_date"] = str(pd.Timestamp(later["effective_date"]) - pd.Timedelta(days=1))[:10]
    raw.loc[0:4, "manufacturer_name"] = listed["aliases"].split("|")[0].upper()
    raw.loc[5:9, "manufacturer_address"] = "No. 12 Jiefang North Road, Kashi, 844000, China"
    raw.loc[10:14, "manufacturer_name"] = later["name"]
    return raw


def _expected(day: pd.DataFrame, bundle: Any, tmp_path: Path) -> dict[str, str]:
    """The core's presumption of each line, checked against what was planted."""
    src = tmp_path / "core.csv"
    day.to_csv(src, index=False)
    scored = Scorer(bundle).score(read_entry_lines(src).lines, reasons=0)
    out = dict(zip(scored.entry_id, scored.presumption, strict=True))
    for i in range(5):
        assert "uflpa_entity" in out[f"E{i:03d}"].split(";")
        assert "xinjiang" in out[f"E{i + 5:03d}"].split(";")
        assert "uflpa_entity" not in out[f"E{i + 10:03d}"].split(";")
    assert not all(out.values()), "some lines must stay unpresumed"
    return out


def _first_presumed(order: list[str], presumed: dict[str, str]) -> None:
    flags = [bool(presumed[e]) for e in order]
    assert flags == sorted(flags, reverse=True), "a presumed line ranks below an unpresumed one"


def test_api_files_cli_spark_and_workbench_agree_on_presumption(
    api: SimpleNamespace, make_client: Any, model_source: SimpleNamespace, day: pd.DataFrame,
    tmp_path: Path,
) -> None:  # fmt: skip
    want = _expected(day, model_source.bundle, tmp_path)

    h = auth(api.keys["scorer"])
    records = [{k: v for k, v in r.items() if pd.notna(v)} for r in day.to_dict("records")]
    r = api.client.post("/v1/score", json={"lines": records, "reasons": 3}, headers=h)
    assert r.status_code == 200, r.text
    got_api = {x["entry_id"]: x["presumption"] for x in r.json()["results"]}
    assert got_api == want
    for x in r.json()["results"]:
        if x["presumption"]:
            assert x["reasons"][0]["direction"] == "presumes"
        elif x["entry_id"] in {f"E{i:03d}" for i in range(10, 15)}:
            assert "listed_later" in {reason["code"] for reason in x["reasons"]}

    body = day.to_csv(index=False).encode()
    r = api.client.post(
        "/v1/score/file", files={"file": ("day.csv", body, "text/csv")},
        headers=auth(api.keys["batcher"]),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    entries = r.json()["entries"]
    assert {e["entry_id"]: e["presumption"] for e in entries} == want
    _first_presumed([e["entry_id"] for e in entries], want)

    src = tmp_path / "day.csv"
    day.to_csv(src, index=False)
    scorer = Scorer(model_source.bundle)
    out = tmp_path / "scores.csv"
    score_files(scorer, [src], out, None, 3, 1.0, False)
    cli = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert dict(zip(cli["entry_id"], cli["presumption"], strict=True)) == want

    from pipelines.score_output import rank_file

    rank_file(out)
    _first_presumed(pd.read_csv(out, dtype=str)["entry_id"].tolist(), want)

    client, keys, _ = make_client()
    csrf = sign_in(client, keys["admin"])
    r = upload(client, csrf, body)
    assert r.status_code == 200, r.text
    wl_id = str(r.url).rstrip("/").rsplit("/", 1)[-1]
    presumed = sum(bool(v) for v in want.values())
    # No random checks in this capacity (explore=0): it is the ranking's top alone.
    r = client.get(f"/worklists/{wl_id}/export.csv?capacity={presumed}&explore=0")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["entry_id"]: row["presumption"] for row in rows} == want
    _first_presumed([row["entry_id"] for row in sorted(rows, key=lambda x: int(x["rank"]))], want)
    # A capacity of as many entries as are presumed takes exactly those.
    assert {row["entry_id"] for row in rows if row["within_capacity"] == "yes"} == {
        e for e, v in want.items() if v
    }


def test_spark_engine_agrees_on_presumption(
    model_source: SimpleNamespace, day: pd.DataFrame, tmp_path: Path
) -> None:
    pytest.importorskip("pyspark")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pipelines.spark_score import read_lines, score_frame, spark_session

    src = tmp_path / "day.csv"
    day.to_csv(src, index=False)
    spark = spark_session("local[1]", app="flrisk-presumption")
    try:
        scored = score_frame(read_lines(spark, [src]), model_source.bundle, "test", reasons=3)
        got = {r["entry_id"]: r["presumption"] for r in scored.collect()}
    finally:
        spark.stop()
    assert got == _expected(day, model_source.bundle, tmp_path)

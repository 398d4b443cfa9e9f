"""Every bad input is a 4xx that names the problem, never the input (issue #16 rows 1, 2, 7,
8, 14; issue #15's 1,001-line 422), through the API and the workbench's upload.

The same files against a real server process, with time and memory: tests/reliability/
test_upload_limits.py.
"""

from __future__ import annotations

import io
import json
import logging
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from servetools import HEADER, auth, expanding_parquet, lines_json, no_paths, wide_csv

SECRET = "SECRET-CELL-9f31"  # a submitted value no answer or log may carry


def post_file(api: SimpleNamespace, name: str, body: bytes) -> Any:
    return api.client.post("/v1/score/file", files={"file": (name, body)},
                           headers=auth(api.keys["batcher"]))  # fmt: skip


def post_json(api: SimpleNamespace, body: bytes, path: str = "/v1/score") -> Any:
    key = api.keys["officer"] if path == "/v1/feedback" else api.keys["scorer"]
    return api.client.post(
        path, content=body, headers={**auth(key), "content-type": "application/json"}
    )


# --- Row 1: a Parquet file that expands; row 2: a CSV with a million columns ----------------


def test_a_4m_row_parquet_is_a_413_naming_the_row_limit(api: SimpleNamespace) -> None:
    data = expanding_parquet(4_000_000)
    assert len(data) < 100_000
    r = post_file(api, "day.parquet", data)
    assert r.status_code == 413, r.text
    assert "4,000,000 rows" in r.json()["detail"] and "1,000,000" in r.json()["detail"]
    assert api.client.app.state.store.audit_rows() == []


def test_parquet_text_past_the_limit_is_a_413(make_client: Any) -> None:
    client, keys, _ = make_client(max_upload_text_bytes=10 * 2**20)
    data = expanding_parquet(5_000, goods_description="x" * 4_000)  # 20 MB once expanded
    r = client.post("/v1/score/file", files={"file": ("d.parquet", data)},
                    headers=auth(keys["batcher"]))  # fmt: skip
    assert r.status_code == 413, r.text
    assert "bytes of text" in r.json()["detail"] and "10,485,760" in r.json()["detail"]


def test_a_million_column_csv_is_a_413_naming_the_column_limit(api: SimpleNamespace) -> None:
    r = post_file(api, "day.csv", wide_csv(1_000_000))
    assert r.status_code == 413, r.text
    assert "more than 256 columns" in r.json()["detail"]
    assert api.client.app.state.store.audit_rows() == []


# --- Row 7: zero good rows is a 422 with the bad-row report ---------------------------------


def test_zero_good_rows_is_a_422_with_the_report(api: SimpleNamespace) -> None:
    r = post_file(api, "d.csv", f"{HEADER}\n".encode())
    assert r.status_code == 422, r.text
    assert r.json() == {"detail": r.json()["detail"], "n_read": 0, "bad_rows": [],
                        "bad_rows_total": 0}  # fmt: skip
    bad = f"{HEADER}\nE1,1,{SECRET},6109100012,CN\nE2,1,2024-03-14,12,CN\n".encode()
    r = post_file(api, "d.csv", bad)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["n_read"] == 2 and body["bad_rows_total"] == 2
    assert [(b["row"], b["column"]) for b in body["bad_rows"]] == [
        (2, "entry_date"), (3, "hts_code"),
    ]  # fmt: skip
    empty = io.BytesIO()
    pd.DataFrame({c: pd.Series(dtype="str") for c in HEADER.split(",")}).to_parquet(empty)
    r = post_file(api, "d.parquet", empty.getvalue())
    assert r.status_code == 422 and r.json()["n_read"] == 0, r.text
    assert api.client.app.state.store.audit_rows() == []


# --- Row 14: refusals never show the server's paths -----------------------------------------


@pytest.mark.parametrize(
    ("name", "body"),
    [("d.parquet", b"garbage"), ("d.parquet", b"x" * 20 + b"PAR1"), ("d.csv", b"a,b\n\xff,2\n"),
     ("d.csv", b"entry_id,entry_id\n1,2\n"), ("d.csv", b'a,"b\n1,2\n')],
)  # fmt: skip
def test_refusals_do_not_reveal_server_paths(api: SimpleNamespace, name: str, body: bytes) -> None:
    r = post_file(api, name, body)
    assert r.status_code == 422, r.text
    no_paths(api.settings, r.text)


# --- Row 8: a lone surrogate, any undecodable value: 422, the value never echoed ------------


@pytest.mark.parametrize("where", ["value", "key", "extra"])
def test_a_lone_surrogate_is_a_422_that_does_not_echo_it(
    api: SimpleNamespace, model_source: SimpleNamespace, caplog: pytest.LogCaptureFixture,
    where: str,
) -> None:  # fmt: skip
    line = lines_json(model_source.lines.head(1))[0]
    if where == "value":
        line["manufacturer_name"] = f"{SECRET}\ud800"
    elif where == "key":
        line[f"{SECRET}\ud800"] = "x"
    else:
        line["manufacturer_name"] = SECRET
        line["colour\udfff"] = SECRET
    body = json.dumps({"lines": [line]}, ensure_ascii=True).encode()
    assert b"\\ud8" in body or b"\\udf" in body  # the escape is valid JSON, the string is not
    with caplog.at_level(logging.DEBUG):
        r = post_json(api, body)
    assert r.status_code == 422, r.text
    assert SECRET not in r.text
    assert all(e.keys() == {"type", "loc", "msg"} for e in r.json()["detail"])
    assert SECRET not in caplog.text and "Traceback" not in caplog.text
    assert api.client.app.state.store.audit_rows() == []


def test_undecodable_bodies_are_4xx(api: SimpleNamespace) -> None:
    assert post_json(api, b'{"lines": [{"entry_id": "\xff\xfe"}]}').status_code == 400
    assert post_json(api, b'{"lines": [{"entry_id": "\\ud800"}]}').status_code == 422
    r = post_json(api, b'{"entry_id": "\\udc00", "line_no": 1, "inspected": true}', "/v1/feedback")
    assert r.status_code == 422, r.text
    form = {"reasons": b"\xff\xfe"}
    r = api.client.post("/v1/score/file", files={"file": ("d.csv", b"a\n1\n")}, data=form,
                        headers=auth(api.keys["batcher"]))  # fmt: skip
    assert 400 <= r.status_code < 500, r.text


# --- Issue #15: the 1,001-line 422 names the limit, not the request -------------------------


def test_over_the_line_limit_names_the_limit_without_echoing_the_lines(
    api: SimpleNamespace, model_source: SimpleNamespace
) -> None:
    line = {**lines_json(model_source.lines.head(1))[0], "manufacturer_name": SECRET}
    body = json.dumps({"lines": [{**line, "line_no": i + 1} for i in range(1001)]}).encode()
    assert len(body) > 100_000
    r = post_json(api, body)
    assert r.status_code == 422
    assert len(r.content) < 1000 and SECRET not in r.text
    assert r.json()["detail"] == [{"type": "too_long", "loc": ["body", "lines"],
                                   "msg": "List should have at most 1000 items after validation, "
                                          "not 1001"}]  # fmt: skip
    assert r.json()["errors_total"] == 1


def test_contract_422s_name_line_and_field_without_the_value(
    api: SimpleNamespace, model_source: SimpleNamespace
) -> None:
    line = lines_json(model_source.lines.head(1))[0]
    # 200 lines whose HTS code breaks the contract: every line bad.
    lines = [{**line, "line_no": i + 1, "hts_code": "1" * 12} for i in range(200)]
    r = post_json(api, json.dumps({"lines": lines}).encode())
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["errors_total"] == 200 and len(body["detail"]) == 100  # the first 100 listed
    first = body["detail"][0]
    assert first["loc"] == ["body", "lines", 0, "hts_code"] and "HTS" in first["msg"]
    assert "input" not in first and "1" * 12 not in r.text  # the rule, not the value


# --- An unexpected error: a plain 500, logged without the message ---------------------------


def test_an_unexpected_error_is_a_plain_500_logged_without_values(
    api: SimpleNamespace, model_source: SimpleNamespace, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import serving.api.routes.score as score_route

    def broken(**kw: Any) -> Any:
        raise ValueError(f"cannot score '{kw['lines']['entry_id'][0]}' at {api.settings.data_dir}")

    monkeypatch.setattr(score_route, "score_lines", broken)
    line = {**lines_json(model_source.lines.head(1))[0], "entry_id": SECRET}
    with caplog.at_level(logging.DEBUG):
        r = api.client.post("/v1/score", json={"lines": [line]}, headers=auth(api.keys["scorer"]))
    assert r.status_code == 500
    assert r.json()["detail"].startswith("internal error (reference ")
    assert SECRET not in r.text and SECRET not in caplog.text
    no_paths(api.settings, caplog.text + r.text)
    assert "ValueError at test_bad_input.py" in caplog.text and "Traceback" not in caplog.text
    assert api.client.get("/metrics").text.count('status="500"') >= 1

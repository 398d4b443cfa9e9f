"""POST /v1/score/file (ranked result, bad rows) and background jobs for large files."""

from __future__ import annotations

import io
import json
import time
from types import SimpleNamespace

import pandas as pd
from servetools import auth, lines_json


def _csv(frame: pd.DataFrame, bad: dict[int, dict[str, str]] | None = None) -> bytes:
    rows = lines_json(frame)
    for i, change in (bad or {}).items():
        rows[i].update(change)
    return pd.DataFrame(rows).to_csv(index=False).encode()


def test_small_csv_is_ranked_with_bad_rows_reported(api: SimpleNamespace, model_source) -> None:
    frame = model_source.lines.head(40)
    data = _csv(frame, {3: {"hts_code": "12AB"}, 7: {"entry_date": "yesterday"}})
    r = api.client.post("/v1/score/file", files={"file": ("day.csv", data, "text/csv")},
                        data={"reasons": "2"}, headers=auth(api.keys["batcher"]))  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["n_read"] == 40 and body["n_scored"] == 38
    assert body["bad_rows_total"] == 2
    # CSV rows are numbered as in an editor: header is line 1, so the 4th line is row 5.
    assert [(b["row"], b["column"]) for b in body["bad_rows"]] == [
        (5, "hts_code"),
        (9, "entry_date"),
    ]
    entries = body["entries"]
    tops = [e["risk_score"] for e in entries]
    assert tops == sorted(tops, reverse=True)
    for e in entries:
        assert e["risk_score"] == max(x["risk_score"] for x in e["lines"])
        assert [x["line_no"] for x in e["lines"]] == sorted(x["line_no"] for x in e["lines"])
        # reasons=2: up to 2 that raise the risk, then up to 2 that lower it.
        for x in e["lines"]:
            dirs = [r["direction"] for r in x["reasons"]]
            assert dirs.count("raises") <= 2 and dirs.count("lowers") <= 2
    assert sum(len(e["lines"]) for e in entries) == 38
    rows = api.client.app.state.store.audit_rows(body["request_id"])
    assert len(rows) == 38 and {r["action"] for r in rows} == {"score_file"}
    # Each line names its decision, the hash of its audited content, for its feedback.
    decided = {(x["entry_id"], x["line_no"]): x["decision_id"] for e in entries for x in e["lines"]}
    assert decided == {(r["entry_id"], r["line_no"]): r["input_hash"] for r in rows}


def test_parquet_upload_equals_csv_upload(api: SimpleNamespace, model_source) -> None:
    frame = model_source.lines.head(20)
    buf = io.BytesIO()
    pd.DataFrame(lines_json(frame)).astype(str).to_parquet(buf, index=False)
    h = auth(api.keys["batcher"])
    rp = api.client.post("/v1/score/file", files={"file": ("d.parquet", buf.getvalue())}, headers=h)
    rc = api.client.post("/v1/score/file", files={"file": ("d.csv", _csv(frame))}, headers=h)
    assert rp.status_code == rc.status_code == 200, rp.text
    assert rp.json()["entries"] == rc.json()["entries"]


def test_upload_errors(api: SimpleNamespace, model_source) -> None:
    c, h = api.client, auth(api.keys["batcher"])
    data = _csv(model_source.lines.head(3))
    assert c.post("/v1/score/file", files={"file": ("d.csv", data)}).status_code == 401
    assert c.post("/v1/score/file", files={"file": ("d.csv", data)},
                  headers=auth(api.keys["scorer"])).status_code == 403  # fmt: skip
    r = c.post(
        "/v1/score/file", files={"file": ("d.xlsx", data, "application/octet-stream")}, headers=h
    )
    assert r.status_code == 415
    no_origin = pd.DataFrame(lines_json(model_source.lines.head(3))).drop(
        columns="country_of_origin"
    )
    r = c.post(
        "/v1/score/file", files={"file": ("d.csv", no_origin.to_csv(index=False))}, headers=h
    )
    assert r.status_code == 422 and "country_of_origin" in r.text
    assert c.post("/v1/score/file", data={"reasons": "1"}, headers=h).status_code == 422
    r = c.post("/v1/score/file", files={"file": ("d.csv", data)}, data={"reasons": "99"}, headers=h)
    assert r.status_code == 422


def test_upload_over_limit_is_413(make_client, model_source) -> None:
    client, keys, _ = make_client(max_upload_bytes=2048)
    data = _csv(model_source.lines.head(50))
    assert len(data) > 2048
    r = client.post(
        "/v1/score/file", files={"file": ("d.csv", data)}, headers=auth(keys["batcher"])
    )
    assert r.status_code == 413


def _wait(client, url: str, headers: dict[str, str]) -> dict:
    for _ in range(600):
        body = client.get(url, headers=headers).json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_large_file_becomes_a_job_that_survives_restart(
    make_client, model_source, tmp_path
) -> None:
    client, keys, settings = make_client(sync_file_lines=10)
    frame = model_source.lines.head(30)
    h = auth(keys["batcher"])
    data = _csv(frame, {0: {"hts_code": "x"}})
    r = client.post("/v1/score/file", files={"file": ("big.csv", data)}, headers=h)
    assert r.status_code == 202, r.text
    acc = r.json()
    assert acc["n_lines"] == 29 and acc["bad_rows_total"] == 1
    assert r.headers["Location"] == acc["location"] == f"/v1/jobs/{acc['job_id']}"
    done = _wait(client, acc["location"], h)
    assert done["status"] == "done", done
    result = done["result"]
    assert result["n_scored"] == 29 and sum(len(e["lines"]) for e in result["entries"]) == 29
    tops = [e["risk_score"] for e in result["entries"]]
    assert tops == sorted(tops, reverse=True)
    assert (settings.data_dir / "jobs" / f"{acc['job_id']}.parquet").is_file()
    rows = client.app.state.store.audit_rows(acc["job_id"])
    assert len(rows) == 29
    decided = {(x["entry_id"], x["line_no"]): x["decision_id"]
               for e in result["entries"] for x in e["lines"]}  # fmt: skip
    assert decided == {(r["entry_id"], r["line_no"]): r["input_hash"] for r in rows}
    page = client.get(acc["location"] + "?offset=1&limit=2", headers=h).json()["result"]["entries"]
    assert page == result["entries"][1:3]
    # Only the key that uploaded (or an admin) sees the job; unknown ids are 404.
    other = create_other_key(settings)
    assert client.get(acc["location"], headers=auth(other)).status_code == 404
    assert client.get(acc["location"], headers=auth(keys["admin"])).status_code == 200
    assert client.get("/v1/jobs/" + "0" * 32, headers=h).status_code == 404
    assert client.get("/v1/jobs/..%2Fapi_keys", headers=h).status_code == 404
    # A restarted server (new app, same data dir) still reports the finished job...
    client2, _, _ = make_client(settings)
    again = client2.get(acc["location"], headers=h).json()
    assert again["status"] == "done" and again["result"]["entries"] == result["entries"]
    # ...and reports a job it was running when it stopped as interrupted.
    meta = json.loads((settings.data_dir / "jobs" / f"{acc['job_id']}.json").read_text())
    ghost = "f" * 32
    (settings.data_dir / "jobs" / f"{ghost}.json").write_text(
        json.dumps({**meta, "job_id": ghost, "status": "running"})
    )
    assert client2.get(f"/v1/jobs/{ghost}", headers=h).json()["status"] == "interrupted"


def create_other_key(settings) -> str:
    from serving.auth import create_key

    return create_key(settings.keys_path(), "other-batcher", ["batch"])


def test_a_file_scored_with_no_share_explained_has_no_reasons(
    api: SimpleNamespace, model_source
) -> None:
    # explain_share 0 explained no line by handing LightGBM an empty matrix: a 500.
    data = _csv(model_source.lines.head(5))
    r = api.client.post("/v1/score/file", files={"file": ("d.csv", data, "text/csv")},
                        data={"explain_share": "0"}, headers=auth(api.keys["batcher"]))  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["n_scored"] == 5
    assert all(ln["reasons"] == [] for e in r.json()["entries"] for ln in e["lines"])

"""A three-tier supplier list shared by the self-check's tests (core, CLI, API, page, browser).

T3 is a listed alias ("Luopu Meixin Hair", an alias of UFLPA-0003) in Xinjiang; it supplies
T2, which supplies the importer's direct supplier T1. X1's address is in Kashgar; CLEAN
supplies no one and nothing about it is on any list.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient

CHAIN_CSV = """supplier_id,name,address,country,hts_code,goods,tier,supplies_to
T1,Acme Apparel Manufacturing Ltd,"12 Harbour Road, Kowloon, Hong Kong",HK,6109100012,t-shirts,1,
T2,Blue River Weaving Co,"88 Jiangnan Avenue, Wuxi, Jiangsu, China",CN,,woven labels,2,T1
T3,Luopu Meixin Hair,"Industrial Park, Lop County, Hotan, Xinjiang",CN,,hair,3,T2
X1,Tianshan Fabric Works,"No 9 Renmin Road, Kashgar",CN,,fabric,2,T1
CLEAN,Nordic Buttons AB,"Storgatan 5, Malmo",SE,960621,buttons,1,
BAD,,"nowhere",XX,12,x,0,NOPE
"""


def write_chain(path: Path) -> Path:
    """Write the chain as CSV (``.csv``) or Parquet (``.parquet``) and return the path."""
    if path.suffix == ".parquet":
        frame = pd.read_csv(io.StringIO(CHAIN_CSV), dtype=str, keep_default_na=False)
        frame.to_parquet(path)
    else:
        path.write_text(CHAIN_CSV)
    return path


def by_id(results: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Findings by supplier id."""
    return {r["supplier_id"]: r["findings"] for r in results}


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
DATA = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


def page_token(client: TestClient) -> str:
    page = client.get("/check")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    m = TOKEN.search(page.text)
    assert m
    return m.group(1)


def post_list(client: TestClient, data: dict[str, str], headers: dict[str, str] | None = None,
              body: str = CHAIN_CSV) -> Any:  # fmt: skip
    files = {"file": ("suppliers.csv", body.encode(), "text/csv")}
    return client.post("/check", data=data, files=files, headers=headers or {})


def report_of(text: str) -> dict[str, Any]:
    m = DATA.search(text)
    assert m, "no report on the page"
    return json.loads(m.group(1))  # type: ignore[no-any-return]

"""Port names beside codes: a sourced table of CBP port codes that names every port the
simulator emits, each row with its source, the sources cited in the file and the docs."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from models.reference.names import port_name, ports
from models.reference.tables import shipped_dir
from pipelines.simulate.countries import (
    US_PORTS_AIR,
    US_PORTS_ATLANTIC,
    US_PORTS_LAND,
    US_PORTS_PACIFIC,
)

SOURCES = {
    "census_schedule_d_2025-04": "https://www.census.gov/foreign-trade/schedules/d/dist.txt",
    "census_trade_api_2025-12": "https://api.census.gov/data/timeseries/intltrade/imports/porths",
    "cbp_ace_appendix_e_2026-02": "https://www.cbp.gov/sites/default/files/2026-02/"
    "ace_appendix_e_schedule_d_feb_3_2026_508c_0.pdf",
}
DOCS = Path(__file__).parents[2] / "docs" / "reference-data.md"


def _table() -> tuple[str, list[dict[str, str]]]:
    text = (shipped_dir() / "ports.csv").read_text(encoding="utf-8")
    header = "\n".join(ln for ln in text.splitlines() if ln.startswith("#"))
    body = [ln for ln in text.splitlines() if not ln.startswith("#")]
    return header, list(csv.DictReader(body))


def test_every_port_the_simulator_emits_has_a_name(sim_dir: Path) -> None:
    declared = {*US_PORTS_PACIFIC, *US_PORTS_ATLANTIC, *US_PORTS_AIR}
    declared |= {p for land in US_PORTS_LAND.values() for p in land}
    emitted = set()
    for name in ("train.csv", "score.csv"):
        emitted |= set(pd.read_csv(sim_dir / name, dtype=str, usecols=["port_of_entry"])
                       ["port_of_entry"])  # fmt: skip
    assert emitted <= declared  # the simulator's lists are all it draws from
    assert {p: port_name(p) for p in sorted(declared) if not port_name(p)} == {}
    assert port_name("2704") == "LOS ANGELES, CA"
    assert port_name(" 4701 ") == "John F. Kennedy Airport, Jamaica, New York"
    assert port_name("9999") == ""


def test_every_row_is_a_sourced_four_digit_code_and_the_sources_are_cited() -> None:
    header, rows = _table()
    codes = [r["port_code"] for r in rows]
    assert len(codes) == len(set(codes)) > 400
    assert all(re.fullmatch(r"\d{4}", c) for c in codes)
    assert all(r["name"].strip() for r in rows)
    assert {r["source"] for r in rows} == set(SOURCES)
    assert ports() == {r["port_code"]: r["name"] for r in rows}
    docs = DOCS.read_text()
    for url in SOURCES.values():
        assert url in header and url in docs
    assert "2026-12-03" in header and "2026-12-03" in docs  # when they were read

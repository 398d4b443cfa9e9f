"""The UFLPA presumption and WRO detentions, judged on each line's entry date."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from models.features.cache import SignalCache
from models.features.signals import derive_signals
from models.scoring.presumption import presumed_first, presumptions


@pytest.fixture(scope="module")
def cache():
    return SignalCache()


def _presumed(make_lines, cache, names, dates, addresses=None, goods=None, hts=None):
    n = len(names)
    cols = {
        "entry_id": [f"E{i}" for i in range(n)],
        "line_no": ["1"] * n,
        "entry_date": dates,
        "hts_code": hts or ["6109100012"] * n,
        "country_of_origin": ["CN"] * n,
        "manufacturer_name": names,
        "manufacturer_address": addresses or ["5 Road, Ningbo, Zhejiang, China"] * n,
        "goods_description": goods or ["T-SHIRTS"] * n,
        "quantity": ["10"] * n,
        "declared_value_usd": ["100"] * n,
        "gross_weight_kg": ["20"] * n,
    }
    lines = make_lines(**cols)
    return presumptions(derive_signals(lines, cache), lines["entry_date"]).tolist()


def test_each_legal_basis_on_its_own(make_lines, cache):
    got = _presumed(
        make_lines,
        cache,
        names=["HOSHINE SILICON IND SHANSHAN CO LTD", "ACME APPAREL CO", "ACME APPAREL CO",
               "SUPERMAX CORPORATION BHD", "ACME APPAREL CO"],
        dates=["2023-01-05", "2024-03-01", "2024-03-01", "2024-03-01", "2024-03-01"],
        addresses=["Shanshan Industrial Park, Turpan, Xinjiang, China",
                   "88 Beijing Rd, Urumqi, Xinjiang, China", "5 Road, Ningbo, Zhejiang, China",
                   "Lot 1, Klang, Selangor, Malaysia", "5 Road, Ningbo, Zhejiang, China"],
        goods=["SILICON METAL", "T-SHIRTS", "T-SHIRTS", "NITRILE GLOVES",
               "T-SHIRTS OF XINJIANG COTTON"],
        hts=["2804690000", "6109100012", "6109100012", "4015190510", "6109100012"],
    )  # fmt: skip
    assert got == ["uflpa_entity;xinjiang;wro", "xinjiang", "", "wro", "xinjiang"]


def test_a_wro_presumes_only_the_goods_in_its_scope(make_lines, cache):
    """Supermax's WRO covers gloves (HS 4015); Hoshine's covers silicon (2804, 3818, 8541)."""
    got = _presumed(
        make_lines,
        cache,
        names=["SUPERMAX CORPORATION BHD", "SUPERMAX CORPORATION BHD",
               "HOSHINE SILICON INDUSTRY CO LTD", "HOSHINE SILICON INDUSTRY CO LTD"],
        dates=["2024-03-01"] * 4,
        addresses=["Lot 1, Klang, Selangor, Malaysia"] * 2
        + ["5 Road, Ningbo, Zhejiang, China"] * 2,
        goods=["NITRILE GLOVES", "T-SHIRTS", "SOLAR CELLS", "T-SHIRTS"],
        hts=["4015190510", "6109100012", "8541420010", "6109100012"],
    )  # fmt: skip
    # The UFLPA listing covers every good; a WRO only its own.
    assert got == ["wro", "", "uflpa_entity;wro", "uflpa_entity"]


def test_a_line_is_judged_against_the_lists_of_its_entry_date(make_lines, cache):
    """Western Gold listed 2024-11-25; Top Glove's Finding in force 2021-03-29..2021-09-08."""
    got = _presumed(
        make_lines,
        cache,
        names=["WESTERN GOLD CO LTD", "WESTERN GOLD CO LTD", "TOP GLOVE CORPORATION BHD",
               "TOP GLOVE CORPORATION BHD"],
        dates=["2024-11-24", "2024-11-25", "2021-05-01", "2021-09-09"],
        hts=["7108120000", "7108120000", "4015190510", "4015190510"],
    )  # fmt: skip
    assert got == ["", "uflpa_entity", "wro", ""]


def test_presumed_lines_rank_first_by_score_within():
    presumption = np.array(["", "xinjiang", "", "uflpa_entity", "wro"], dtype=object)
    score = np.array([0.99, 0.01, 0.50, 0.30, 0.30])
    order = presumed_first(presumption, score)
    assert order.tolist() == [3, 4, 1, 0, 2]  # ties keep the input order


def _entry(make_lines, names, mids, addresses, entries=("E1", "E1", "E1", "E2"), dates=None):
    n = len(names)
    return make_lines(
        entry_id=list(entries)[:n],
        line_no=[str(i + 1) for i in range(n)],
        entry_date=dates or ["2025-03-03"] * n,
        hts_code=["0811909000"] * n,
        country_of_origin=["CN"] * n,
        manufacturer_name=names,
        manufacturer_id=mids,
        manufacturer_address=addresses,
        goods_description=["FROZEN FRUIT"] * n,
        quantity=["10"] * n,
        declared_value_usd=["100"] * n,
        gross_weight_kg=["20"] * n,
    )


def test_a_spelling_is_resolved_through_the_mid_or_address_of_another_line_of_its_entry(
    make_lines,
):
    """ "DALIAN SHENGCHI TRADE" is the listed "Dalian Shengchi International Trade" when the
    same entry names that spelling with the same MID or address; never across entries."""
    addr = "No. 8 Jinma Road, Dalian Economic Zone, Liaoning, China"
    lines = _entry(
        make_lines,
        names=["DALIAN SHENGCHI INTERNATIONAL TRADE CO LTD", "DALIAN SHENGCHI TRADE",
               "DALIAN SHENGCHI TRADE", "DALIAN SHENGCHI TRADE"],
        mids=["CNDALSHE8DAL", "CNDALSHE8DAL", None, "CNDALSHE8DAL"],
        addresses=[addr, "Dalian, China", addr, addr],
    )  # fmt: skip
    signals = derive_signals(lines, SignalCache())
    got = presumptions(signals, lines["entry_date"]).tolist()
    # Line 2 by MID, line 3 by address; line 4 is another entry: no link.
    assert got == ["uflpa_entity", "uflpa_entity", "uflpa_entity", ""]
    assert list(signals["ev_mfr_entity_via"]) == ["", "manufacturer_id CNDALSHE8DAL", "address", ""]
    assert signals["ev_mfr_entity_id"][1] == signals["ev_mfr_entity_id"][0] == "UFLPA-0068"


def test_unrelated_lines_of_an_entry_are_not_linked(make_lines):
    lines = _entry(
        make_lines,
        names=["DALIAN SHENGCHI INTERNATIONAL TRADE CO LTD", "NINGBO APPAREL CO",
               "GLOBAL LOGISTICS AGENT CO"],
        mids=["CNDALSHE8DAL", "CNNINAPP5NIN", None],
        # Line 3 shares line 1's address (an agent's office) under an unrelated name.
        addresses=["No. 8 Jinma Road, Dalian, China", "5 Road, Ningbo, China",
                   "No. 8 Jinma Road, Dalian, China"],
        entries=("E1", "E1", "E1"),
    )  # fmt: skip
    got = presumptions(derive_signals(lines, SignalCache()), lines["entry_date"]).tolist()
    assert got == ["uflpa_entity", "", ""]


def test_an_affiliate_is_judged_by_its_parents_listing_and_says_so(make_lines):
    """A subsidiary row (parent_entity_id, with its source) resolves to the parent's listing:
    presumed from the parent's effective date, never before, and the evidence names the
    affiliation."""
    from models.reference.snapshot import current_snapshot
    from models.reference.tables import load_entities

    table = load_entities().copy()
    parent = table[table["entity_id"] == "UFLPA-0068"].iloc[0]  # listed 2024-11-25
    child = parent.copy()
    child["entity_id"], child["name"], child["aliases"] = (
        "AFF-0001",
        "Liaoning Frostfield Foods",
        "",
    )
    child["parent_entity_id"], child["parent_source"] = "UFLPA-0068", "test: annual report 2024"
    snapshot = dataclasses.replace(
        current_snapshot(), entities=pd.concat([table, child.to_frame().T], ignore_index=True)
    )
    cache = SignalCache(reference=snapshot)
    lines = _entry(
        make_lines,
        names=["LIAONING FROSTFIELD FOODS CO LTD"] * 2 + ["LIAONING FROSTFIELD FOODS"],
        mids=[None] * 3,
        addresses=[None] * 3,
        entries=("E1", "E2", "E3"),
        dates=["2025-03-03", "2024-11-24", "2024-11-25"],
    )
    signals = derive_signals(lines, cache)
    assert presumptions(signals, lines["entry_date"]).tolist() == [
        "uflpa_entity",
        "",
        "uflpa_entity",
    ]
    via = list(signals["ev_mfr_entity_via"])
    assert via[0].startswith("affiliate of Dalian Sunspeed Foods") and "annual report" in via[0]
    assert via[1] == "" and signals["ev_mfr_entity_later"][1] == "2024-11-25"
    assert signals["ev_mfr_entity_id"][0] == "UFLPA-0068"

"""The UFLPA presumption and WRO detentions, judged on each line's entry date."""

import numpy as np
import pytest

from models.features.cache import SignalCache
from models.features.signals import derive_signals
from models.scoring.presumption import presumed_first, presumptions


@pytest.fixture(scope="module")
def cache():
    return SignalCache()


def _presumed(make_lines, cache, names, dates, addresses=None, goods=None):
    n = len(names)
    cols = {
        "entry_id": [f"E{i}" for i in range(n)],
        "line_no": ["1"] * n,
        "entry_date": dates,
        "hts_code": ["6109100012"] * n,
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
    )  # fmt: skip
    assert got == ["uflpa_entity;xinjiang;wro", "xinjiang", "", "wro", "xinjiang"]


def test_a_line_is_judged_against_the_lists_of_its_entry_date(make_lines, cache):
    """Western Gold listed 2024-11-25; Top Glove's Finding in force 2021-03-29..2021-09-08."""
    got = _presumed(
        make_lines,
        cache,
        names=["WESTERN GOLD CO LTD", "WESTERN GOLD CO LTD", "TOP GLOVE CORPORATION BHD",
               "TOP GLOVE CORPORATION BHD"],
        dates=["2024-11-24", "2024-11-25", "2021-05-01", "2021-09-09"],
    )  # fmt: skip
    assert got == ["", "uflpa_entity", "wro", ""]


def test_presumed_lines_rank_first_by_score_within():
    presumption = np.array(["", "xinjiang", "", "uflpa_entity", "wro"], dtype=object)
    score = np.array([0.99, 0.01, 0.50, 0.30, 0.30])
    order = presumed_first(presumption, score)
    assert order.tolist() == [3, 4, 1, 0, 2]  # ties keep the input order

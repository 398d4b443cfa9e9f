"""Lists in time: a line is judged against the listings in force on its entry date."""

import numpy as np
import pandas as pd
import pytest

from models.reference.entities import EntityMatcher, normalize_name
from models.reference.listings import Listings


def _table(rows):
    cols = ["entity_id", "name", "aliases", "list", "effective_date", "end_date", "citation"]
    return pd.DataFrame(rows, columns=cols)


@pytest.fixture()
def listings():
    return Listings(
        _table(
            [
                ("W-1", "Blue Lotus (WRO)", "Blue Lotus Weaving", "WRO", "2021-06-24", "", "WRO"),
                ("U-1", "Blue Lotus Weaving Co", "", "UFLPA", "2023-06-01", "", "FR U"),
                ("F-1", "Red Crane Gloves", "", "FINDING", "2020-07-15", "2021-09-09", "Finding F"),
                ("U-2", "Green Hill Cotton", "", "UFLPA", "", "", "FR G"),
            ]
        ),
        normalize_name,
    )  # fmt: skip


def _days(*values):
    return np.array(values, dtype="datetime64[D]")


def test_the_listing_in_force_on_the_date_is_chosen_uflpa_first(listings):
    ids = np.array(["U-1", "U-1", "U-1", "W-1"], dtype=object)
    got = listings.in_force(ids, _days("2020-01-01", "2022-01-01", "2024-01-01", "2024-01-01"))
    assert [listings.ids[r] if r >= 0 else None for r in got.row] == [None, "W-1", "U-1", "U-1"]
    # Before any listing of the firm: the date of the first one, for a note.
    assert got.later[0] == np.datetime64("2021-06-24")
    assert np.isnat(got.later[1:]).all()


def test_a_listing_is_in_force_from_its_date_until_its_end(listings):
    ids = np.array(["F-1"] * 4, dtype=object)
    got = listings.in_force(ids, _days("2020-07-14", "2020-07-15", "2021-09-08", "2021-09-09"))
    assert got.row.tolist() == [-1, 2, 2, -1]
    assert got.later[0] == np.datetime64("2020-07-15")
    assert np.isnat(got.later[3])  # removed: nothing later to note


def test_unmatched_lines_and_undated_listings(listings):
    ids = np.array([None, pd.NA, "U-2"], dtype=object)
    got = listings.in_force(ids, _days("2024-01-01", "2024-01-01", "1990-01-01"))
    assert got.row.tolist() == [-1, -1, 3]


def test_shipped_table_dates_parse_and_the_matcher_carries_them():
    m = EntityMatcher()
    lst = m.listings
    assert len(lst.ids) == len(set(lst.ids)) > 100
    assert (lst.start < np.datetime64("2030-01-01")).all()
    assert (lst.end > lst.start).all()
    # Hoshine: one firm on the UFLPA Entity List (2022-06-21) and under a WRO (2021-06-24).
    (hit,) = m.match(["HOSHINE SILICON INDUSTRY SHANSHAN CO LTD"])
    row = lst.in_force(np.array([hit.entity_id], dtype=object), _days("2021-12-01")).row[0]
    assert lst.ids[row] == "CBP-0001" and lst.lists[row] == "WRO"
    row = lst.in_force(np.array([hit.entity_id], dtype=object), _days("2023-01-01")).row[0]
    assert lst.lists[row] == "UFLPA"

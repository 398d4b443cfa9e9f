"""Focused tests of the contract checks, quarantine report and duplicate keys (issue 22).

Each test names the rule it pins, so a mutant (or a real bug) in that rule fails here and
the failure points at its cause.
"""

from __future__ import annotations

from models.contract.duplicates import _first_seen


def test_a_first_occurrence_names_its_file_only_when_it_is_another_file():
    assert _first_seen(("a.csv", 7), "a.csv") == "row 7"
    assert _first_seen(("a.csv", 7), "b.csv") == "row 7 of a.csv"

"""Random checks in the worklist: marked, kept in the store, and their outcomes stored as random."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from test_workbench import _worklist_id, day_csv, sign_in, upload

from models.selection import seed_of
from models.store import ExplorationPicks


@pytest.fixture
def wb(make_client: Callable[..., Any], model_source: SimpleNamespace) -> SimpleNamespace:
    client, keys, settings = make_client()
    return SimpleNamespace(client=client, keys=keys, settings=settings, lines=model_source.lines)


def _outcome(signed_in: SimpleNamespace, wl_id: str, entry_id: str, line_no: int) -> None:
    r = signed_in.client.post(
        f"/worklists/{wl_id}/outcome",
        data={"csrf_token": signed_in.csrf, "entry_id": entry_id, "line_no": str(line_no),
              "outcome": "released", "inspection_reason": "targeted"},
    )  # fmt: skip
    assert r.status_code == 200 and "Outcome recorded" in r.text


def test_random_checks_are_marked_kept_and_their_outcomes_stored_as_random(
    wb: SimpleNamespace,
) -> None:
    wb.csrf = sign_in(wb.client, wb.keys["admin"])
    c = wb.client
    r = upload(c, wb.csrf, day_csv(wb.lines))
    wl_id = _worklist_id(r.url)
    wl = c.app.state.workbench.worklists.get(wl_id)
    page = c.get(f"/worklists/{wl_id}?capacity=20&explore=10&size=200")
    assert page.status_code == 200
    marked = re.findall(r'data-selection="random_check"', page.text)
    assert len(marked) == 2 and page.text.count("⚄ random check") == 2
    assert f'<code id="seed">{seed_of(wl_id)}</code>' in page.text
    assert 'id="explore-cost"' in page.text
    picks = ExplorationPicks(c.app.state.store).current(wl_id)
    drawn = sorted({p["entry_id"] for p in picks})
    assert len(drawn) == 2
    # The draws are never among the riskiest 18 entries.
    assert not set(drawn) & set(wl.entries["entry_id"].head(18).astype(str))
    # The same view again draws the same entries, and writes no second audit row.
    store = c.app.state.store

    def changes() -> int:
        return sum(row["action"] == "workbench_selection" for row in store.audit_rows())

    before = changes()
    c.get(f"/worklists/{wl_id}?capacity=20&explore=10&size=200&page=1")
    assert changes() == before and ExplorationPicks(store).current(wl_id) == picks
    entry = c.get(f"/worklists/{wl_id}/entries/{drawn[0]}")
    assert 'id="random-check"' in entry.text
    line_no = int(next(p["line_no"] for p in picks if p["entry_id"] == drawn[0]))
    # The form says "targeted": the server knows better.
    _outcome(wb, wl_id, drawn[0], line_no)
    (fb,) = [f for f in store.feedback_for(drawn[0]) if f["line_no"] == line_no]
    assert fb["inspection_reason"] == "random"
    # An entry taken for its risk keeps the reason it was given.
    top = str(wl.entries["entry_id"].iloc[0])
    _outcome(wb, wl_id, top, int(wl.entries["top_line_no"].iloc[0]))
    assert store.feedback_for(top)[0]["inspection_reason"] == "targeted"


def test_zero_explore_draws_nothing_and_clears_the_picks(wb: SimpleNamespace) -> None:
    wb.csrf = sign_in(wb.client, wb.keys["admin"])
    c = wb.client
    wl_id = _worklist_id(upload(c, wb.csrf, day_csv(wb.lines)).url)
    c.get(f"/worklists/{wl_id}?capacity=20&explore=10")
    assert ExplorationPicks(c.app.state.store).current(wl_id)
    page = c.get(f"/worklists/{wl_id}?capacity=20&explore=0")
    assert 'data-selection="random_check"' not in page.text and "No random checks" in page.text
    assert ExplorationPicks(c.app.state.store).current(wl_id) == []
    # All of the capacity at random: no cut-off, five random checks.
    page = c.get(f"/worklists/{wl_id}?capacity=5&explore=100&size=200")
    assert "all of them random checks" in page.text and 'id="cutoff"' not in page.text
    assert page.text.count('data-selection="random_check"') == 5

"""Allegations about the simulated world: ``tips.csv``, as ``flrisk train --tips`` reads it.

The layout is ``pipelines/tips_file.py``'s.
Most tips name a manufacturer whose goods are truly made with forced labour (a true
violation rate of at least ``tips.violator_rate`` over its lines); some name a clean one.
Each is received on a day within the manufacturer's trading history, from an NGO, the
public, a partner agency or an anonymous source; triage later corroborates or dismisses
some (true tips are mostly corroborated, false ones mostly dismissed), dated. Some tips
also name the manufacturer's main importer, some are reported again by another source.

Tips are drawn from their own generator, seeded from the run's seed: the lines and truth
of a seed are the same with or without them. Once an allegation is corroborated, officers
examine a share of the manufacturer's later lines (reason ``tip``): the labels gain those
exams, as a real border's would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.simulate.exposure import MECHANISM_NAMES
from pipelines.simulate.makers import LISTED
from pipelines.simulate.scenario import Scenario

COLUMNS = (
    "tip_id",
    "received_date",
    "source_type",
    "role",
    "party_name",
    "party_id",
    "corroborated_date",
    "dismissed_date",
    "duplicate_of",
)
_STREAM = 19  # the tips' own generator: (seed, 19)


def simulate_tips(
    seed: int,
    sc: Scenario,
    lines: pd.DataFrame,
    makers: pd.DataFrame,
    violation: np.ndarray,
    mechanism: np.ndarray,
    reason: np.ndarray,
    found: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The world's tips, one row per party named (``COLUMNS``), and the exams they led to.

    Once an allegation is corroborated, officers examine a share (``tips.follow_up``) of
    the manufacturer's later lines that nothing else sent to exam (reason ``tip``).

    Args:
        seed: The run's seed.
        sc: Scenario (``[tips]``).
        lines: Every simulated line with ``maker`` (index into ``makers``), ``day``,
            ``importer_id`` and ``importer_name``.
        makers: The manufacturers (``name``, ``mid``).
        violation: Each line's true violation.
        mechanism: Each line's mechanism code (``exposure.MECHANISM_NAMES``).
        reason: Each line's inspection reason (``inspections.REASONS``: 3 is a tip).
        found: Whether each line's inspection found a violation.

    Returns:
        The tips, and ``reason`` and ``found`` with the follow-up exams.
    """
    cfg = sc.tips
    rng = np.random.default_rng([seed, _STREAM])
    name, mid = makers["name"].to_numpy(dtype=object), makers["mid"].to_numpy(dtype=object)
    behind = _behind_inspections(rng, sc, lines, reason, found, name, mid)
    by = pd.DataFrame(
        {"maker": lines["maker"].to_numpy(), "day": lines["day"].to_numpy(), "v": violation}
    ).groupby("maker")
    stats = pd.DataFrame(
        {"rate": by["v"].mean(), "first": by["day"].min(), "last": by["day"].max()}
    )
    # Allegations are about what the lists do not already say: listed entities are known.
    unlisted = makers["kind"].to_numpy()[stats.index.to_numpy()] != LISTED
    true_makers = stats.index[(stats["rate"] >= cfg.violator_rate).to_numpy() & unlisted].to_numpy()
    clean = stats.index[stats["rate"] == 0].to_numpy()
    n_true = round(cfg.violator_share * len(true_makers))
    n_false = min(round(cfg.false_per_true * n_true), len(clean))
    named = np.concatenate([
        np.sort(rng.choice(true_makers, n_true, replace=False)),
        np.sort(rng.choice(clean, n_false, replace=False)),
    ])  # fmt: skip
    is_true = np.arange(len(named)) < n_true
    main_importer = (
        lines.groupby(["maker", "importer_id", "importer_name"], dropna=False)
        .size()
        .reset_index(name="n")
        .sort_values(["maker", "n", "importer_id"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("maker")
        .set_index("maker")
    )
    sources = list(cfg.sources)
    weights = np.array([cfg.sources[s] for s in sources])
    start = np.datetime64(sc.time.start, "D")
    first_day, last_day = stats["first"].to_dict(), stats["last"].to_dict()
    rows: list[dict[str, object]] = []
    leads: list[tuple[int, int]] = []  # (maker, day corroborated)
    for k, (maker, true) in enumerate(zip(named.tolist(), is_true.tolist(), strict=True)):
        tip_id = f"A{k + 1:05d}"
        first, last = int(first_day[maker]), int(last_day[maker])
        received = int(rng.integers(first, max(first + 1, last)))
        source = sources[int(rng.choice(len(sources), p=weights / weights.sum()))]
        ok, no = (
            (cfg.corroborated_true, cfg.dismissed_true)
            if true
            else (cfg.corroborated_false, cfg.dismissed_false)
        )
        fate = rng.random()
        later = received + int(rng.integers(7, max(8, cfg.triage_days + 1)))
        corroborated = _day(start, later) if fate < ok else ""
        if fate < ok:
            leads.append((maker, later))
        dismissed = _day(start, later) if ok <= fate < ok + no else ""
        give_id = source == "partner_agency" or rng.random() < cfg.party_id_share
        tip = {"tip_id": tip_id, "received_date": _day(start, received), "source_type": source,
               "corroborated_date": corroborated, "dismissed_date": dismissed,
               "duplicate_of": ""}  # fmt: skip
        rows.append({**tip, "role": "manufacturer", "party_name": name[maker],
                     "party_id": mid[maker] if give_id else ""})  # fmt: skip
        if rng.random() < cfg.importer_share and maker in main_importer.index:
            imp = main_importer.loc[maker]
            rows.append({**tip, "role": "importer", "party_name": imp["importer_name"],
                         "party_id": imp["importer_id"]})  # fmt: skip
        if rng.random() < cfg.duplicate_share:
            again = received + int(rng.integers(1, 60))
            other = sources[int(rng.integers(len(sources)))]
            rows.append({"tip_id": f"{tip_id}-D", "received_date": _day(start, again),
                         "source_type": other, "corroborated_date": "", "dismissed_date": "",
                         "duplicate_of": tip_id, "role": "manufacturer",
                         "party_name": name[maker], "party_id": ""})  # fmt: skip
    reason, found = _follow_up(rng, sc, lines, leads, mechanism, violation, reason, found)
    return pd.DataFrame(behind + rows, columns=list(COLUMNS)), reason, found


def _follow_up(
    rng: np.random.Generator,
    sc: Scenario,
    lines: pd.DataFrame,
    leads: list[tuple[int, int]],
    mechanism: np.ndarray,
    violation: np.ndarray,
    reason: np.ndarray,
    found: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Exams of the lines of manufacturers named by a corroborated allegation, after it."""
    reason, found = reason.copy(), found.copy()
    det = sc.inspections.detection
    p_find = np.array([0.0] + [det[m] for m in MECHANISM_NAMES[1:]])[mechanism]
    day, maker = lines["day"].to_numpy(), lines["maker"].to_numpy()
    for m, since in leads:
        rows = np.flatnonzero((maker == m) & (day > since) & (reason == 0))
        pick = rows[rng.random(len(rows)) < sc.tips.follow_up]
        reason[pick] = 3
        found[pick] = violation[pick] & (rng.random(len(pick)) < p_find[pick])
    return reason, found


def _behind_inspections(
    rng: np.random.Generator,
    sc: Scenario,
    lines: pd.DataFrame,
    reason: np.ndarray,
    found: np.ndarray,
    name: np.ndarray,
    mid: np.ndarray,
) -> list[dict[str, object]]:
    """The allegations behind the inspections made on a tip (reason ``tip``).

    Each was received up to 45 days before its line's entry and names the line's
    manufacturer; after the inspection it is corroborated (a violation found) or, mostly,
    dismissed (none found), dated after the line's entry: the line's own features never
    see that status. A tip naming a manufacturer already named within 90 days is filed as
    a duplicate of that one.
    """
    cfg = sc.tips
    start = np.datetime64(sc.time.start, "D")
    sources = list(cfg.sources)
    rows: list[dict[str, object]] = []
    last: dict[int, tuple[str, int]] = {}
    day, maker = lines["day"].to_numpy(), lines["maker"].to_numpy()
    for k, i in enumerate(np.flatnonzero(reason == 3).tolist()):
        received = max(0, int(day[i]) - int(rng.integers(1, 46)))
        triaged = int(day[i]) + int(rng.integers(7, max(8, cfg.triage_days + 1)))
        m = int(maker[i])
        dismiss = not found[i] and rng.random() < cfg.dismissed_false
        earlier = last.get(m)
        duplicate = earlier is not None and received - earlier[1] <= 90
        tip_id = f"I{k + 1:05d}"
        rows.append({
            "tip_id": tip_id, "received_date": _day(start, received),
            "source_type": sources[int(rng.integers(len(sources)))],
            "corroborated_date": _day(start, triaged) if found[i] and not duplicate else "",
            "dismissed_date": _day(start, triaged) if dismiss and not duplicate else "",
            "duplicate_of": earlier[0] if duplicate and earlier else "", "role": "manufacturer",
            "party_name": name[m], "party_id": mid[m] if rng.random() < cfg.party_id_share else "",
        })  # fmt: skip
        if not duplicate:
            last[m] = (tip_id, received)
    return rows


def _day(start: np.datetime64, day: int) -> str:
    return str(start + np.timedelta64(day, "D"))


def tip_counts(tips: pd.DataFrame) -> dict[str, int]:
    """Tips by status (originals) and duplicates, for the run summary."""
    originals = tips[tips["duplicate_of"] == ""].drop_duplicates("tip_id")
    dismissed = originals["dismissed_date"] != ""
    corroborated = (originals["corroborated_date"] != "") & ~dismissed
    return {
        "tips": len(originals),
        "corroborated": int(corroborated.sum()),
        "dismissed": int(dismissed.sum()),
        "duplicates": int((tips["duplicate_of"] != "").sum()),
    }


__all__ = ["COLUMNS", "simulate_tips", "tip_counts"]

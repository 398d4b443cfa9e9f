"""Allegations about the simulated world: ``tips.csv``, as ``flrisk train --tips`` reads it.

The layout is ``pipelines/tips_file.py``'s.
Most tips name a manufacturer whose goods are truly made with forced labour (a true
violation rate of at least ``tips.violator_rate`` over its lines); some name a clean one.
Each is received on a day within the manufacturer's trading history, from an NGO, the
public, a partner agency or an anonymous source; triage later corroborates or dismisses
some (true tips are mostly corroborated, false ones mostly dismissed), dated. Some tips
also name the manufacturer's main importer, some are reported again by another source.

Tips are drawn from their own generator, seeded from the run's seed: the lines, labels and
truth of a seed are the same with or without them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    seed: int, sc: Scenario, lines: pd.DataFrame, makers: pd.DataFrame, violation: np.ndarray
) -> pd.DataFrame:
    """The world's tips, one row per party named (``COLUMNS``).

    Args:
        seed: The run's seed.
        sc: Scenario (``[tips]``).
        lines: Every simulated line with ``maker`` (index into ``makers``), ``day``,
            ``importer_id`` and ``importer_name``.
        makers: The manufacturers (``name``, ``mid``).
        violation: Each line's true violation.
    """
    cfg = sc.tips
    rng = np.random.default_rng([seed, _STREAM])
    by = pd.DataFrame(
        {"maker": lines["maker"].to_numpy(), "day": lines["day"].to_numpy(), "v": violation}
    ).groupby("maker")
    stats = pd.DataFrame(
        {"rate": by["v"].mean(), "first": by["day"].min(), "last": by["day"].max()}
    )
    true_makers = stats.index[stats["rate"] >= cfg.violator_rate].to_numpy()
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
    name, mid = makers["name"].to_numpy(dtype=object), makers["mid"].to_numpy(dtype=object)
    first_day, last_day = stats["first"].to_dict(), stats["last"].to_dict()
    rows: list[dict[str, object]] = []
    for k, (maker, true) in enumerate(zip(named.tolist(), is_true.tolist(), strict=True)):
        tip_id = f"T{k + 1:05d}"
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
    return pd.DataFrame(rows, columns=list(COLUMNS))


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

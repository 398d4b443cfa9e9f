"""The simulation steps in order: world, lines, spellings, truth, goods, inspections, files.

The tips (``tips.csv``) are drawn from a generator of their own, after the inspections: the
lines and truth of a seed do not depend on them; the labels gain the exams that corroborated
allegations led to.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from models.reference.tables import load_entities, load_xinjiang_places
from pipelines.simulate.actors import build_world
from pipelines.simulate.defects import inject
from pipelines.simulate.entries import build_lines
from pipelines.simulate.exposure import MECHANISM_NAMES, assign_truth
from pipelines.simulate.goods import line_goods
from pipelines.simulate.inspections import REASONS, inspect
from pipelines.simulate.makers import KINDS
from pipelines.simulate.scenario import Scenario, load_scenario
from pipelines.simulate.tips import simulate_tips
from pipelines.simulate.writer import (
    CONTRACT_COLUMNS,
    TRUTH_COLUMNS,
    SimulationSummary,
    quarter_shares,
    write_csv,
)

_STEPS = ("world", "entries", "names", "truth", "goods", "inspections", "write")


def simulate(
    out: Path, lines: int, seed: int, scenario_path: Path | None, bad_rows: float
) -> SimulationSummary:
    """Run every step and write the files; see ``pipelines.simulate.run``."""
    if lines < 1:
        raise ValueError("lines must be positive")
    if not 0.0 <= bad_rows <= 0.5:
        raise ValueError("bad_rows must be in [0, 0.5]")
    sc = load_scenario(scenario_path)
    rng = np.random.default_rng(seed)
    bar = tqdm(total=len(_STEPS), desc="simulate", disable=lines < 200_000, leave=False)

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    world = build_world(rng, sc, lines, load_entities(), load_xinjiang_places())
    step("world")
    df = build_lines(rng, sc, world, lines)
    step("entries")
    ex, parties = sc.exposure, world.parties
    maker_party = df["maker_party"].to_numpy()
    shipper_party = df["shipper_party"].to_numpy()
    df["manufacturer_name"], m_day = parties.names(rng, maker_party, ex.listed_exact_name)
    df["shipper_name"], s_day = parties.names(rng, shipper_party, ex.listed_exact_name)
    same_party = shipper_party == maker_party
    # A factory shipping its own goods usually writes its name the same way twice.
    echo = same_party & (rng.random(len(df)) < 0.8)
    df["shipper_name"] = np.where(echo, df["manufacturer_name"], df["shipper_name"])
    s_day = np.where(echo, m_day, s_day)
    df["list_day"] = np.minimum(m_day, s_day)
    m_addr, m_xj = parties.addresses(rng, maker_party, ex.region_named, ex.region_variant)
    s_addr, s_xj = parties.addresses(rng, shipper_party, ex.region_named, ex.region_variant)
    s_addr = np.where(same_party, m_addr, s_addr)
    df["manufacturer_address"], df["shipper_address"] = m_addr, s_addr
    df["xinjiang_address"] = m_xj | np.where(same_party, m_xj, s_xj)
    step("names")
    kind = world.makers["kind"].to_numpy()[df["maker"].to_numpy()]
    origin = df["country_of_origin"].to_numpy(dtype=object)
    mech, violation, factor = assign_truth(rng, sc, kind, df["product"].to_numpy(), origin)
    step("truth")
    goods = line_goods(rng, df["product"].to_numpy(), factor, sc.entries.dotted_hts_share)
    for col in goods.columns:
        df[col] = goods[col].to_numpy()
    step("goods")
    reason, found = inspect(rng, sc, df, mech, violation)
    tips, reason, found = simulate_tips(seed, sc, df, world.makers, violation, mech, reason, found)
    step("inspections")

    out.mkdir(parents=True, exist_ok=True)
    score_day = (sc.score_start - sc.time.start).days
    is_train = df["day"].to_numpy() < score_day
    contract = df[list(CONTRACT_COLUMNS)]
    train = contract[is_train].reset_index(drop=True)
    inspected = reason[is_train] > 0
    train["inspected"] = inspected
    train["inspection_reason"] = np.array(REASONS, dtype=object)[reason[is_train]]
    verdict = np.where(found[is_train], "1", "0").astype(object)
    verdict[~inspected] = None
    train["violation"] = verdict
    defects = inject(rng, sc, train, bad_rows)
    write_csv(train, out / "train.csv")
    write_csv(contract[~is_train].reset_index(drop=True), out / "score.csv")
    truth = pd.DataFrame(
        {
            "entry_id": df["entry_id"],
            "line_no": df["line_no"],
            "true_violation": violation.astype(np.int8),
            "mechanism": np.array(MECHANISM_NAMES, dtype=object)[mech],
        }
    )[list(TRUTH_COLUMNS)]
    write_csv(truth, out / "truth.csv")
    if bad_rows > 0:
        write_csv(defects, out / "defects.csv")
    write_csv(_actors_table(world.makers, sc.time.start), out / "actors.csv")
    write_csv(tips, out / "tips.csv")
    step("write")
    bar.close()
    return _summary(sc, seed, df, mech, violation, reason, found, is_train, len(defects))


def _actors_table(makers: pd.DataFrame, start: dt.date) -> pd.DataFrame:
    base = np.datetime64(start, "D")

    def dates(days: pd.Series, lo: int, hi: int) -> np.ndarray:
        d = days.to_numpy()
        text = np.datetime_as_string(base + np.clip(d, lo, hi), unit="D").astype(object)
        text[(d <= lo) | (d >= hi)] = None
        return text

    return pd.DataFrame(
        {
            "manufacturer_id": makers["mid"],
            "name": makers["name"],
            "kind": np.array(KINDS, dtype=object)[makers["kind"].to_numpy()],
            "country": makers["country"].astype(str),
            "sector": makers["sector"],
            "entity_id": makers["entity_id"].replace("", None),
            "listed_from": dates(makers["listed_day"], -(10**5), 10**6),
            "trading_from": dates(makers["start_day"], 0, 10**5),
        }
    )


def _summary(
    sc: Scenario,
    seed: int,
    df: pd.DataFrame,
    mech: np.ndarray,
    violation: np.ndarray,
    reason: np.ndarray,
    found: np.ndarray,
    is_train: np.ndarray,
    bad: int,
) -> SimulationSummary:
    n = len(df)
    names = np.array(MECHANISM_NAMES, dtype=object)
    pos = pd.Series(names[mech[violation]]).value_counts()
    all_ = pd.Series(names[mech]).value_counts()
    tr_reason = reason[is_train]
    n_tr = max(int(is_train.sum()), 1)
    insp = tr_reason > 0
    return SimulationSummary(
        seed=seed,
        lines=n,
        entries=int(df["entry_id"].nunique()),
        months=sc.time.months,
        start=sc.time.start.isoformat(),
        end=sc.end.isoformat(),
        score_start=sc.score_start.isoformat(),
        train_lines=int(is_train.sum()),
        score_lines=int((~is_train).sum()),
        violation_rate=round(float(violation.mean()), 5),
        inspected_share=round(float(insp.sum() / n_tr), 5),
        random_share=round(float((tr_reason == 1).sum() / n_tr), 5),
        targeted_share=round(float((tr_reason == 2).sum() / n_tr), 5),
        tip_share=round(float((tr_reason == 3).sum() / n_tr), 5),
        found_rate_inspected=round(float(found[is_train][insp].mean()) if insp.any() else 0.0, 5),
        positives_by_mechanism={str(k): int(pos.get(k, 0)) for k in names[1:]},
        lines_by_mechanism={str(k): int(all_.get(k, 0)) for k in names},
        transshipment_share_by_quarter=quarter_shares(
            df["entry_date"], violation & (mech == 4), violation
        ),
        bad_rows=bad,
    )

"""Statistical and contract tests of the border simulator (fixed seeds, modest sizes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.contract.reader import read_entry_lines
from pipelines.simulate import run
from pipelines.simulate.names import manifest_spellings, mid, normalize
from pipelines.simulate.scenario import ScenarioError, load_scenario
from pipelines.simulate.writer import CONTRACT_COLUMNS, LABEL_COLUMNS, TRUTH_COLUMNS

N_LINES = 60_000
SEED = 11


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("sim")
    summary = run(out, N_LINES, SEED)
    train, score, truth = (
        _read(out / "train.csv"),
        _read(out / "score.csv"),
        _read(out / "truth.csv"),
    )
    truth["true_violation"] = truth["true_violation"].astype(int)
    merged = train.merge(truth, on=["entry_id", "line_no"], how="left", validate="one_to_one")
    return {
        "out": out,
        "summary": summary,
        "train": train,
        "score": score,
        "truth": truth,
        "merged": merged,
        "actors": _read(out / "actors.csv"),
    }


def _ci_ok(k: int, n: int, p: float, z: float = 4.0) -> bool:
    return abs(k / n - p) <= z * np.sqrt(p * (1 - p) / n)


def test_files_and_columns(sim: dict) -> None:
    train, score, truth = sim["train"], sim["score"], sim["truth"]
    assert list(train.columns) == [*CONTRACT_COLUMNS, *LABEL_COLUMNS]
    assert list(score.columns) == list(CONTRACT_COLUMNS)
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    assert len(train) + len(score) == len(truth) == N_LINES
    assert not truth.duplicated(["entry_id", "line_no"]).any()
    assert set(truth["true_violation"]) <= {0, 1}
    assert {
        "listed_entity",
        "xinjiang_direct",
        "xinjiang_inputs",
        "transshipment",
        "ilab_goods",
        "none",
    } <= set(truth["mechanism"])
    assert (sim["out"] / "summary.json").exists()


def test_dates_and_split(sim: dict) -> None:
    train_dates = pd.to_datetime(sim["train"]["entry_date"])
    score_dates = pd.to_datetime(sim["score"]["entry_date"])
    assert train_dates.min() == pd.Timestamp("2024-01-01")
    assert score_dates.max() <= pd.Timestamp("2025-12-31")
    assert (score_dates.max() - train_dates.min()).days >= 18 * 30
    assert train_dates.max() < pd.Timestamp("2025-10-01") <= score_dates.min()


def test_every_file_passes_the_contract_reader(sim: dict) -> None:
    train = read_entry_lines([sim["out"] / "train.csv"], require_labels=True)
    score = read_entry_lines([sim["out"] / "score.csv"])
    assert len(train.bad_rows) == 0 and len(train.frame) == len(sim["train"])
    assert len(score.bad_rows) == 0 and len(score.frame) == len(sim["score"])


def test_realistic_base_rates(sim: dict) -> None:
    s = sim["summary"]
    assert 0.02 <= s.violation_rate <= 0.045
    assert 0.035 <= s.inspected_share <= 0.09
    assert 0.012 <= s.random_share <= 0.018


def test_entry_structure(sim: dict) -> None:
    t = sim["train"]
    per_entry = t.groupby("entry_id")
    assert per_entry["importer_id"].nunique().max() == 1
    assert per_entry["port_of_lading"].nunique().max() == 1
    assert (
        per_entry["line_no"]
        .apply(lambda s: sorted(map(int, s)) == list(range(1, len(s) + 1)))
        .all()
    )
    assert per_entry.size().max() > 3
    codes = t["hts_code"]
    assert codes.str.contains(".", regex=False).any() and codes.str.fullmatch(r"\d{10}").any()
    assert t["manufacturer_id"].str.fullmatch(r"[A-Z]{2}[A-Z]{1,6}\d{0,4}[A-Z]{0,3}").all()
    # Importers buy repeatedly from a small set of suppliers.
    sup = t.groupby("importer_id")["manufacturer_id"].agg(["size", "nunique"])
    big = sup[sup["size"] >= 200]
    assert (big["nunique"] < big["size"] / 5).mean() > 0.9


def test_listed_entities_far_above_base(sim: dict) -> None:
    m, actors = sim["merged"], sim["actors"]
    listed = m["manufacturer_id"].isin(actors.loc[actors["kind"] == "listed", "manufacturer_id"])
    base = m["true_violation"].mean()
    assert listed.sum() > 200
    assert m.loc[listed, "true_violation"].mean() > 8 * base


def test_xinjiang_address_far_above_base(sim: dict) -> None:
    m = sim["merged"]
    xj = m["manufacturer_address"].str.upper().str.contains("XINJIANG")
    assert xj.sum() > 100
    assert m.loc[xj, "true_violation"].mean() > 8 * m["true_violation"].mean()
    # Some Xinjiang-linked lines are not violations, and some violations show no sign.
    assert m.loc[xj, "true_violation"].mean() < 0.95
    assert (m["mechanism"] == "undisclosed").sum() > 0


def test_random_inspections_are_unbiased(sim: dict) -> None:
    m = sim["merged"]
    rand = m[m["inspection_reason"] == "random"]
    targeted = m[m["inspection_reason"] == "targeted"]
    truth_rate = m["true_violation"].mean()
    assert len(rand) > 500
    assert _ci_ok(int(rand["true_violation"].sum()), len(rand), truth_rate)
    found = (targeted["violation"] == "1").mean()
    assert found > 3 * (rand["violation"] == "1").mean()
    # Tips concentrate on violators but some are false.
    tips = m[m["inspection_reason"] == "tip"]
    assert tips["true_violation"].mean() > 5 * truth_rate and tips["true_violation"].mean() < 1


def test_detection_is_imperfect(sim: dict) -> None:
    m = sim["merged"]
    inspected_true = m[(m["inspected"] == "true") & (m["true_violation"] == 1)]
    found = (inspected_true["violation"] == "1").mean()
    assert 0.5 < found < 1.0
    assert (m.loc[m["true_violation"] == 0, "violation"] != "1").all()


def test_labels_only_where_inspected(sim: dict) -> None:
    t = sim["train"]
    inspected = t["inspected"] == "true"
    assert set(t["inspected"]) == {"true", "false"}
    assert (t.loc[~inspected, "violation"] == "").all()
    assert (t.loc[~inspected, "inspection_reason"] == "").all()
    assert set(t.loc[inspected, "violation"]) == {"0", "1"}
    assert set(t.loc[inspected, "inspection_reason"]) == {"random", "targeted", "tip"}


def test_transshipment_share_rises(sim: dict) -> None:
    m = pd.concat(
        [
            sim["merged"][["entry_date", "true_violation", "mechanism"]],
            sim["score"][["entry_id", "line_no", "entry_date"]].merge(
                sim["truth"], on=["entry_id", "line_no"]
            ),
        ],
        ignore_index=True,
    )
    v = m[m["true_violation"] == 1]
    quarter = pd.PeriodIndex(pd.to_datetime(v["entry_date"]), freq="Q")
    share = (v["mechanism"] == "transshipment").groupby(quarter).mean()
    assert share.iloc[-1] > share.iloc[0] + 0.15
    assert share.iloc[-4:].mean() > share.iloc[:4].mean()
    q = list(sim["summary"].transshipment_share_by_quarter.values())
    assert q[-1] > q[0]


def test_fronts_look_like_transshipment(sim: dict) -> None:
    m = sim["merged"]
    ts = m[m["mechanism"] == "transshipment"]
    assert set(ts["country_of_origin"]) <= {"VN", "MY", "TH", "KH", "ID"}
    assert (ts["country_of_export"] != ts["country_of_origin"]).mean() > 0.2
    assert (
        ts["shipper_name"].str.contains("LOGISTICS|FORWARDING|SUPPLY CHAIN", case=False).mean()
        > 0.3
    )


@pytest.fixture(scope="module")
def additions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    # A what-if world where most trade goes to listed or Xinjiang suppliers directly, so each
    # entity added part-way through has enough lines before and after its listing.
    out = tmp_path_factory.mktemp("additions")
    what_if = out / "what_if.toml"
    what_if.write_text(
        "[exposure]\nrisky_importer_share = 0.5\nrisky_entry_share = 0.4\n"
        "transshipment_share_start = 0.0\ntransshipment_share_end = 0.0\n"
        "xinjiang_producers = 0\nensure_list_additions = 4\n"
    )
    run(out, 30_000, 5, scenario_path=what_if)
    return {"train": _read(out / "train.csv"), "actors": _read(out / "actors.csv")}


def test_list_additions_take_effect(additions: dict) -> None:
    t, actors = additions["train"], additions["actors"]
    added = actors[(actors["kind"] == "listed") & (actors["listed_from"] > "2024-01-01")]
    assert len(added) >= 4
    lines = t.merge(added[["manufacturer_id", "name", "listed_from"]], on="manufacturer_id")
    exact = lines["manufacturer_name"].map(normalize) == lines["name"].map(normalize)
    plain = ~lines["manufacturer_address"].str.upper().str.contains("XINJIANG")
    sel = lines[exact & plain & (lines["inspection_reason"] != "random")]
    before = sel[sel["entry_date"] < sel["listed_from"]]
    after = sel[sel["entry_date"] >= sel["listed_from"]]
    assert len(before) > 30 and len(after) > 30
    before_rate = (before["inspection_reason"] == "targeted").mean()
    after_rate = (after["inspection_reason"] == "targeted").mean()
    assert before_rate < 0.4
    assert after_rate > 0.85


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    run(a, 3_000, 3, bad_rows=0.02)
    run(b, 3_000, 3, bad_rows=0.02)
    run(c, 3_000, 4, bad_rows=0.02)
    for name in (
        "train.csv",
        "score.csv",
        "truth.csv",
        "defects.csv",
        "actors.csv",
        "summary.json",
    ):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "train.csv").read_bytes() != (c / "train.csv").read_bytes()


def test_bad_rows_match_defects(tmp_path: Path) -> None:
    run(tmp_path, 20_000, 9, bad_rows=0.01)
    defects = _read(tmp_path / "defects.csv")
    n_train = len(_read(tmp_path / "train.csv"))
    assert len(defects) == round(0.01 * n_train)
    assert defects["kind"].nunique() >= 6
    result = read_entry_lines([tmp_path / "train.csv"], allow_bad_rows=True, require_labels=True)
    assert set(result.bad_rows["row"].astype(int)) == set(defects["row"].astype(int))
    assert len(result.frame) == n_train - len(defects)


def test_scenario_validation(tmp_path: Path) -> None:
    sc = load_scenario()
    assert sc.time.months >= 18 and abs(sum(sc.actors.country_shares.values()) - 1) < 0.05
    bad_key = tmp_path / "bad_key.toml"
    bad_key.write_text("[exposure]\nmill_shares = 0.3\n")
    with pytest.raises(ScenarioError, match="mill_shares"):
        load_scenario(bad_key)
    bad_share = tmp_path / "bad_share.toml"
    bad_share.write_text("[inspections]\nrandom_share = 1.5\n")
    with pytest.raises(ScenarioError, match="random_share"):
        load_scenario(bad_share)
    override = tmp_path / "ok.toml"
    override.write_text("[inspections]\nrandom_share = 0.03\n[actors.country_shares]\nCN = 0.5\n")
    sc2 = load_scenario(override)
    assert sc2.inspections.random_share == 0.03 and sc2.actors.country_shares["CN"] == 0.5
    assert sc2.exposure == sc.exposure


def test_mid_rule() -> None:
    assert (
        mid("CN", "Hoshine Silicon Industry (Shanshan) Co. Ltd", "No. 88 Tianshan Road", "Shanshan")
        == "CNHOSSIL88SHA"
    )
    assert mid("VN", "The Saigon Garment Co", "12345 Le Loi Street", "Ho Chi Minh City") == (
        "VNSAIGAR1234HOC"
    )


def test_manifest_spellings() -> None:
    rng = np.random.default_rng(0)
    name = "Hoshine Silicon Industry (Shanshan) Co. Ltd"
    aliases = ["Hoshine Silicon Industry Shanshan", "合盛硅业（鄯善）有限公司"]
    exact, fuzzy = manifest_spellings(rng, name, aliases)
    listed = {normalize(name), normalize(aliases[0])}
    assert {normalize(s) for s in exact} <= listed
    assert len(fuzzy) >= 5 and not {normalize(s) for s in fuzzy} & listed
    assert all(s.isascii() and s == s.upper() for s in fuzzy)

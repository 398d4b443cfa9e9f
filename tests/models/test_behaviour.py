"""Behavioural tests of the trained model: evidence that should move the score does, and
fields that should not, don't."""

import numpy as np
import pandas as pd
import pytest

from models.reference.tables import load_entities
from models.scoring.lookup import fetch_bundle, resolve
from models.scoring.scorer import Scorer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scorer(registered_model):
    s = registered_model.settings
    r = resolve(registered_model.uri, s)
    return Scorer(fetch_bundle(r, s), version=r.uri)


@pytest.fixture(scope="module")
def ordinary(registered_model, scorer):
    """Low-risk lines with a declared manufacturer: the baseline to perturb."""
    lines = registered_model.all_score_lines
    scored = scorer.score(lines, reasons=0)
    keep = (scored["risk_band"] == "low").to_numpy() & lines["manufacturer_name"].notna().to_numpy()
    return lines[keep].head(200).reset_index(drop=True)


def _scores(scorer, lines):
    return scorer.score(lines, reasons=0)["risk_score"].to_numpy()


def test_a_listed_entity_under_an_alias_raises_the_score(scorer, ordinary):
    ent = load_entities()
    row = ent[ent["aliases"].str.len() > 0].iloc[0]
    alias = row["aliases"].split("|")[0].upper() + " CO LTD"
    changed = ordinary.copy()
    changed["manufacturer_name"] = alias
    before, after = _scores(scorer, ordinary), _scores(scorer, changed)
    assert np.mean(after > before) > 0.9
    assert np.median(after / before) > 1.5


def test_a_xinjiang_address_raises_the_score(scorer, ordinary):
    changed = ordinary.copy()
    changed["manufacturer_address"] = "No. 12 Jiefang North Road, Kashi, 844000, China"
    before, after = _scores(scorer, ordinary), _scores(scorer, changed)
    assert np.mean(after > before) > 0.8
    assert np.median(after - before) > 0


def test_changing_entry_ids_changes_nothing(scorer, ordinary):
    renamed = ordinary.copy()
    renamed["entry_id"] = "X-" + renamed["entry_id"].astype(str)
    np.testing.assert_array_equal(_scores(scorer, ordinary), _scores(scorer, renamed))


def test_irrelevant_fields_change_nothing(scorer, ordinary):
    changed = ordinary.copy()
    changed["port_of_entry"] = "2704"
    changed["quantity_unit"] = "NO"
    np.testing.assert_array_equal(_scores(scorer, ordinary), _scores(scorer, changed))


def test_missing_optional_fields_still_score_and_are_named(scorer, ordinary):
    sparse = ordinary.head(5).copy()
    for col in ("manufacturer_name", "manufacturer_address", "shipper_name", "declared_value_usd"):
        sparse[col] = pd.NA if sparse[col].dtype == object else np.nan
    out = scorer.score(sparse, reasons=13)
    assert out["risk_score"].between(0, 1).all()
    texts = " ".join(r["text"] for rs in out["reasons"] for r in rs)
    assert "manufacturer_name" in texts or "not possible" in texts


def test_reasons_carry_evidence_and_signed_shares(scorer, registered_model):
    lines = registered_model.all_score_lines
    out = scorer.score(lines.head(2000), reasons=3, explain_share=0.01)
    explained = out[out["reasons"].map(len) > 0]
    assert len(explained) == 20
    assert (
        out.loc[out["reasons"].map(len) == 0, "risk_score"].max() <= explained["risk_score"].min()
    )
    for reasons in explained["reasons"]:
        assert len(reasons) == 3
        assert all(-1 <= r["share"] <= 1 and r["text"] for r in reasons)
        assert sum(abs(r["share"]) for r in reasons) <= 1 + 1e-9

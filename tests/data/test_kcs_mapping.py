"""The KCS benchmark read through pipelines/mappings/kcs.toml alone."""

import os
from pathlib import Path

import pandas as pd
import pytest

from models.contract.mapping import load_mapping, passthrough_name
from models.contract.reader import read_entry_lines

REPO = Path(__file__).resolve().parents[2]
MAPPING = REPO / "pipelines" / "mappings" / "kcs.toml"
# In CI shared/ sits beside the repo clone; FLRISK_SHARED_DIR overrides.
SHARED = Path(os.environ.get("FLRISK_SHARED_DIR", REPO.parent / "shared"))
KCS = SHARED / "benchmarks" / "kcs"
TRAIN, VALID = KCS / "df_syn_train_eng.csv", KCS / "df_syn_valid_eng.csv"

needs_kcs = pytest.mark.skipif(not TRAIN.exists(), reason=f"KCS benchmark not found in {KCS}")

# Rows whose 'Country of Origin' is 'ZZ' (user-assigned "unknown"): accepted as an explicit
# unknown origin, so they are scored rather than quarantined.
ZZ_ORIGIN_ROWS = {"df_syn_train_eng.csv": 17, "df_syn_valid_eng.csv": 7}


def test_critical_fraud_is_never_a_feature():
    m = load_mapping(MAPPING)
    sources = set(m.passthrough_sources) | {c.source for c in m.columns.values() if c.source}
    assert "Critical Fraud" not in sources
    assert passthrough_name("Critical Fraud") not in m.passthrough_kinds


def test_mapping_covers_the_brief():
    m = load_mapping(MAPPING)
    assert m.columns["entry_id"].source == "Declaration ID"
    assert m.columns["hts_code"].zero_pad == 6
    assert m.labels["violation"].source == "Fraud"
    assert m.passthrough.numeric == ("Tax Rate",)
    assert len(m.passthrough.categorical) == 10


@needs_kcs
@pytest.mark.parametrize(("path", "n"), [(TRAIN, 37_385), (VALID, 8_134)])
def test_kcs_files_read_through_the_mapping(tmp_path, path, n):
    result = read_entry_lines(
        path, MAPPING, require_labels=True, allow_bad_rows=True, quarantine_path=tmp_path / "q.csv"
    )
    assert result.n_read == n
    assert len(result.bad_rows) == 0
    frame = result.frame
    assert len(frame) == n
    assert (frame["country_of_origin"] == "ZZ").sum() == ZZ_ORIGIN_ROWS[path.name]
    assert frame["entry_id"].dtype == "str" and frame["entry_id"].str.len().eq(8).all()
    assert frame["entry_id"].is_unique
    assert frame["hts_code"].str.fullmatch(r"\d{6}").all()
    assert frame["inspected"].all() and (frame["inspection_reason"] == "random").all()
    assert frame["violation"].notna().all()
    assert frame["violation"].mean() == pytest.approx(0.215, abs=0.008)  # 21.7% / 20.9%
    assert "x_critical_fraud" not in frame.columns
    assert set(result.passthrough) <= set(frame.columns)
    assert result.passthrough["x_tax_rate"] == "numeric"


@needs_kcs
def test_kcs_reads_without_allow_bad_rows(tmp_path):
    result = read_entry_lines(
        VALID, MAPPING, require_labels=True, quarantine_path=tmp_path / "q.csv"
    )
    assert result.quarantine_path is None and not (tmp_path / "q.csv").exists()


@needs_kcs
def test_kcs_unlabelled_file_reads_for_scoring(tmp_path):
    raw = pd.read_csv(VALID, dtype=str, keep_default_na=False, nrows=200)
    path = tmp_path / "score.csv"
    raw.drop(columns=["Fraud", "Critical Fraud"]).to_csv(path, index=False)
    frame = read_entry_lines(path, MAPPING, allow_bad_rows=True).frame
    assert not frame["inspected"].any() and frame["violation"].isna().all()

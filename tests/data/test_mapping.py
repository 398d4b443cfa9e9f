import textwrap

import numpy as np
import pandas as pd
import pytest

from models.contract.columns import ContractError, MissingColumnError
from models.contract.mapping import ColumnMapping, load_mapping, passthrough_name
from models.contract.reader import read_entry_lines

FOREIGN_TOML = """
name = "acme"
description = "ACME broker export"
[columns]
entry_id = "Entry No"
line_no = { constant = 1 }
entry_date = "Filed"
hts_code = { source = "Tariff", zero_pad = 6 }
country_of_origin = "Origin"
country_of_export = { source = "Export", na_values = ["??", "ZZ"] }
[labels]
inspected = { constant = true }
inspection_reason = { constant = "random" }
violation = "Seized"
[passthrough]
categorical = ["Broker Office"]
numeric = ["Duty %"]
"""

FOREIGN_CSV = """Entry No,Filed,Tariff,Origin,Export,Seized,Broker Office,Duty %,Ignored
00123,2024-03-14,610910,cn,??,1,North,2.5,x
00124,2024-03-15,90111,VN,vn,0,South,,y
00125,2024-03-16,6109.1,VN,VN,0,South,7,z
"""


@pytest.fixture
def mapping_path(tmp_path):
    path = tmp_path / "acme.toml"
    path.write_text(FOREIGN_TOML)
    return path


def test_mapping_turns_a_foreign_layout_into_the_contract(tmp_path, mapping_path):
    src = tmp_path / "acme.csv"
    src.write_text(FOREIGN_CSV)
    result = read_entry_lines(src, mapping_path, allow_bad_rows=True, require_labels=True)
    frame = result.frame
    assert frame["entry_id"].tolist() == ["00123", "00124"]  # leading zeros kept: text
    assert frame["line_no"].tolist() == [1, 1]
    assert frame["hts_code"].tolist() == ["610910", "090111"]  # zero_pad restored the 0
    assert frame["country_of_origin"].tolist() == ["CN", "VN"]
    assert frame["country_of_export"].isna().tolist() == [True, False]  # '??' means unknown
    assert frame["inspected"].tolist() == [True, True]
    assert frame["inspection_reason"].tolist() == ["random", "random"]
    assert frame["violation"].tolist() == [1.0, 0.0]
    assert result.passthrough == {"x_broker_office": "categorical", "x_duty": "numeric"}
    assert frame["x_duty"].iloc[0] == 2.5 and np.isnan(frame["x_duty"].iloc[1])
    assert "Ignored" not in frame.columns and "Entry No" not in frame.columns
    # zero_pad touches all-digit values only: '6109.1' is still 5 digits, so a bad row.
    assert result.bad_rows[["row", "column", "value"]].values.tolist() == [
        [4, "hts_code", "6109.1"]
    ]


def test_zero_pad_only_pads_short_digit_strings():
    m = ColumnMapping.model_validate(
        {"name": "t", "columns": {"hts_code": {"source": "h", "zero_pad": 6}}}
    )
    raw = pd.DataFrame({"h": ["90111", "610910", "6109.10", "", "12345678"]})
    assert m.apply(raw)["hts_code"].tolist() == ["090111", "610910", "6109.10", "", "12345678"]


def test_quarantine_keeps_the_original_layout(tmp_path, mapping_path):
    src = tmp_path / "acme.csv"
    src.write_text(FOREIGN_CSV.replace("2024-03-15", "15.03.2024"))
    result = read_entry_lines(src, mapping_path, allow_bad_rows=True)
    q = pd.read_csv(result.quarantine_path, dtype=str, keep_default_na=False)
    assert q["Filed"].tolist() == ["15.03.2024", "2024-03-16"]
    assert q["Tariff"].tolist() == ["90111", "6109.1"]  # original value, not the padded one
    assert q["_row"].tolist() == ["3", "4"]
    assert q["_column"].tolist() == ["entry_date", "hts_code"]


def test_missing_source_column_names_both_columns(tmp_path, mapping_path):
    src = tmp_path / "acme.csv"
    src.write_text(FOREIGN_CSV.replace("Tariff", "HS"))
    with pytest.raises(MissingColumnError, match=r"'hts_code' \(source column 'Tariff'\)"):
        read_entry_lines(src, mapping_path)


def test_labels_are_skipped_when_their_source_is_absent(mapping_path):
    raw = pd.read_csv(pd.io.common.StringIO(FOREIGN_CSV), dtype=str).drop(columns="Seized")
    m = load_mapping(mapping_path)
    out = m.apply(raw)
    assert not {"inspected", "inspection_reason", "violation"} & set(out.columns)
    with pytest.raises(MissingColumnError, match="'violation' \\(source column 'Seized'\\)"):
        m.apply(raw, require_labels=True)


def test_missing_passthrough_column_is_refused(mapping_path):
    raw = pd.read_csv(pd.io.common.StringIO(FOREIGN_CSV), dtype=str).drop(columns="Duty %")
    with pytest.raises(MissingColumnError, match="Duty %"):
        load_mapping(mapping_path).apply(raw)


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('name = "x"\n[columns]\nhts = "H"\n', "unknown contract column"),
        ('name = "x"\n[columns]\nviolation = "V"\n', "unknown contract column"),
        ('name = "x"\n[columns]\n[labels]\nfraud = "F"\n', "unknown label column"),
        ('name = "x"\n[columns]\nline_no = { source = "a", constant = 1 }\n', "exactly one"),
        ('name = "x"\n[columns]\nline_no = { constant = 1, zero_pad = 2 }\n', "source column"),
        ('name = "x"\n[columns]\nline_no = { sourc = "a" }\n', "sourc"),
        ('name = "x"\n[columns]\n[passthrough]\ncategorical = ["A b", "a-b"]\n', "collide"),
        ('name = "x"\n[columns\n', "invalid TOML"),
    ],
)
def test_bad_mappings_are_refused_clearly(tmp_path, toml, words):
    path = tmp_path / "m.toml"
    path.write_text(textwrap.dedent(toml))
    with pytest.raises(ContractError, match=words):
        load_mapping(path)


def test_passthrough_names_never_collide_with_contract_columns():
    assert passthrough_name("Office ID") == "x_office_id"
    assert passthrough_name("hts_code") == "x_hts_code"
    assert passthrough_name("Duty %") == "x_duty"


def test_mapping_object_or_path_both_accepted(tmp_path, mapping_path):
    src = tmp_path / "acme.csv"
    src.write_text(FOREIGN_CSV)
    a = read_entry_lines(src, load_mapping(mapping_path), allow_bad_rows=True)
    b = read_entry_lines(src, str(mapping_path), allow_bad_rows=True)
    pd.testing.assert_frame_equal(a.frame, b.frame)

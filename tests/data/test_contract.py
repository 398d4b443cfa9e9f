import pandas as pd

from models.contract import columns as contract
from models.contract.columns import BadRowsError, MissingColumnError


def test_columns_partition_the_contract():
    assert contract.REQUIRED == (
        "entry_id",
        "line_no",
        "entry_date",
        "hts_code",
        "country_of_origin",
    )
    assert set(contract.LABELS) == {"inspected", "inspection_reason", "violation"}
    assert len(set(contract.ALL_COLUMNS)) == len(contract.ALL_COLUMNS) == 24
    assert set(contract.REQUIRED) | set(contract.OPTIONAL) | set(contract.LABELS) == set(
        contract.ALL_COLUMNS
    )


def test_country_codes_are_iso_assigned_only():
    codes = contract.country_codes()
    assert {"CN", "VN", "US", "NA"} <= codes  # NA is Namibia, not "missing"
    assert "ZZ" in codes  # explicit "unknown"
    assert "XK" not in codes and "UK" not in codes and "XX" not in codes
    assert contract.country_codes() is codes  # cached


def test_allowed_values():
    assert sorted(contract.TRANSPORT_MODES) == ["air", "rail", "truck", "vessel"]
    assert sorted(contract.INSPECTION_REASONS) == ["random", "targeted", "tip"]


def test_missing_column_message_names_columns():
    assert str(MissingColumnError("hts_code")) == "missing required column 'hts_code'"
    err = MissingColumnError(["hts_code", "entry_date"])
    assert "'hts_code', 'entry_date'" in str(err) and err.columns == ["hts_code", "entry_date"]


def test_bad_rows_error_lists_first_twenty_and_total():
    report = pd.DataFrame(
        {
            "row": range(2, 32),
            "column": "entry_date",
            "value": "2024-13-01",
            "reason": "unparseable date '2024-13-01'",
            "source": "a.csv",
        }
    )
    err = BadRowsError(report, "a.quarantine.csv")
    msg = str(err)
    assert "row 2, column 'entry_date': unparseable date '2024-13-01'" in msg
    assert "row 21," in msg and "row 22," not in msg
    assert "30 problem(s) in 30 bad row(s)" in msg and "... and 10 more" in msg
    assert err.bad_rows is report
    assert isinstance(err, ValueError)

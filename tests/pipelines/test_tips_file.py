"""``flrisk train --tips FILE``: the tips file read as the store's tips, mistakes said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.tips_file import TipsFileError, read_tips_file

HEADER = (
    "tip_id,received_date,source_type,role,party_name,party_id,corroborated_date,"
    "dismissed_date,duplicate_of"
)


def _write(path: Path, *rows: str) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_rows_of_one_tip_are_its_parties_and_dates_give_the_status(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "tips.csv",
        "A1,2025-01-02,ngo,manufacturer,Acme Textile Co,,2025-02-01,,",
        "A1,2025-01-02,ngo,importer,,IMP-9,2025-02-01,,",
        "B7,2025-03-01,public,shipper,Mueller GmbH,,,2025-03-09,",
        "C2,2025-03-05,anonymous,manufacturer,ACME TEXTILE,,,,A1",
    )
    tips = read_tips_file(path)
    assert [(t["id"], t["status"], t["duplicate_of"]) for t in tips] == [
        (1, "corroborated", None), (2, "dismissed", None), (3, "new", 1),
    ]  # fmt: skip
    assert [p["role"] for p in tips[0]["parties"]] == ["manufacturer", "importer"]
    assert tips[0]["parties"][0]["name_key"] == "ACME TEXTILE"
    assert tips[0]["corroborated_at"] == "2025-02-01" and tips[1]["dismissed_at"] == "2025-03-09"


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ("A1,2025-13-02,ngo,manufacturer,Acme,,,,", "row 2, column received_date: '2025-13-02'"),
        ("A1,2025-01-02,rumour,manufacturer,Acme,,,,", "row 2, column source_type: 'rumour'"),
        ("A1,2025-01-02,ngo,buyer,Acme,,,,", "row 2, column role: 'buyer'"),
        ("A1,2025-01-02,ngo,manufacturer,,,,,", "row 2, column party_name: empty"),
        ("A1,2025-01-02,ngo,manufacturer,Acme,,2024-12-01,,", "row 2, column corroborated_date"),
        ("A1,2025-01-02,ngo,manufacturer,Acme,,,,Z9", "row 2, column duplicate_of: no tip 'Z9'"),
    ],
)
def test_a_bad_value_names_its_row_and_column(tmp_path: Path, row: str, said: str) -> None:
    with pytest.raises(TipsFileError, match="tips.csv: " + said.replace("(", r"\(")):
        read_tips_file(_write(tmp_path / "tips.csv", row))


def test_flrisk_train_says_a_bad_tips_file_in_words_before_training(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("entry_id,line_no\nE1,1\n")  # never read: the tips are checked first
    bad = _write(
        tmp_path / "tips.csv",
        "A1,2025-01-02,ngo,manufacturer,Acme,,,,",
        "A2,02/03/2025,ngo,manufacturer,Acme,,,,",
    )
    res = CliRunner().invoke(app, ["train", "--data", str(data), "--tips", str(bad)])
    assert res.exit_code != 0 and "Traceback" not in res.output, res.output
    first = res.output.strip().splitlines()[0]
    assert first.startswith("flrisk: error: ") and "row 3, column received_date" in first
    missing = CliRunner().invoke(
        app, ["train", "--data", str(data), "--tips", str(tmp_path / "none.csv")]
    )
    assert "--tips" in missing.output and "no such file" in missing.output
    headless = tmp_path / "other.csv"
    headless.write_text("id,date\n1,2025-01-01\n")
    res = CliRunner().invoke(app, ["train", "--data", str(data), "--tips", str(headless)])
    assert "no column tip_id, received_date, source_type, role, party_name or party_id" in (
        res.output
    )

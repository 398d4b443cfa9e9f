"""Helpers for the data-contract tests: tiny entry-line files written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

GOOD = {
    "entry_id": "SMZ-0004417-3",
    "line_no": "1",
    "entry_date": "2024-03-14",
    "hts_code": "6109.10.0012",
    "country_of_origin": "VN",
    "country_of_export": "VN",
    "port_of_lading": "VNSGN",
    "port_of_entry": "2704",
    "transport_mode": "vessel",
    "quantity": "1200",
    "gross_weight_kg": "2652.6",
    "declared_value_usd": "23326.63",
    "inspected": "true",
    "inspection_reason": "random",
    "violation": "0",
}


def _lines(n: int, **overrides: dict[int, str]) -> list[dict[str, str]]:
    rows = [dict(GOOD, line_no=str(i + 1)) for i in range(n)]
    for column, changes in overrides.items():
        for i, value in changes.items():
            rows[i][column] = value
    return rows


@pytest.fixture
def lines():
    """``lines(n, column={index: value})``: n valid rows (distinct line_no), some overridden."""
    return _lines


@pytest.fixture
def write_csv(tmp_path: Path):
    def write(rows: list[dict[str, str]], name: str = "lines.csv", bom: bool = False) -> Path:
        path = tmp_path / name
        text = pd.DataFrame(rows).to_csv(index=False)
        path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
        return path

    return write

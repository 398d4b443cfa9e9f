"""Output files (train, score, truth, defects, actors) and the run summary."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

CONTRACT_COLUMNS = (
    "entry_id",
    "line_no",
    "entry_date",
    "hts_code",
    "country_of_origin",
    "importer_id",
    "importer_name",
    "manufacturer_id",
    "manufacturer_name",
    "manufacturer_address",
    "shipper_name",
    "shipper_address",
    "country_of_export",
    "port_of_lading",
    "port_of_entry",
    "transport_mode",
    "goods_description",
    "quantity",
    "quantity_unit",
    "gross_weight_kg",
    "declared_value_usd",
)
LABEL_COLUMNS = ("inspected", "inspection_reason", "violation")
TRUTH_COLUMNS = ("entry_id", "line_no", "true_violation", "mechanism")


@dataclass
class SimulationSummary:
    """Headline rates of one simulation run (also written as ``summary.json``)."""

    seed: int
    lines: int
    entries: int
    months: int
    start: str
    end: str
    score_start: str
    train_lines: int
    score_lines: int
    violation_rate: float
    inspected_share: float
    random_share: float
    targeted_share: float
    tip_share: float
    found_rate_inspected: float
    positives_by_mechanism: dict[str, int] = field(default_factory=dict)
    lines_by_mechanism: dict[str, int] = field(default_factory=dict)
    transshipment_share_by_quarter: dict[str, float] = field(default_factory=dict)
    bad_rows: int = 0
    seconds: float = 0.0

    def to_json(self) -> str:
        """The summary as indented JSON (without the timing, so that it is deterministic)."""
        return json.dumps({k: v for k, v in asdict(self).items() if k != "seconds"}, indent=2)

    def format(self) -> str:
        """A short human-readable block of the rates."""
        mech = ", ".join(f"{k} {v}" for k, v in self.positives_by_mechanism.items())
        quarters = ", ".join(f"{k} {v:.0%}" for k, v in self.transshipment_share_by_quarter.items())
        return "\n".join(
            [
                f"lines {self.lines:,} in {self.entries:,} entries over {self.months} months "
                f"({self.start} .. {self.end}); train {self.train_lines:,}, "
                f"score {self.score_lines:,} (from {self.score_start})",
                f"true violation rate {self.violation_rate:.2%}; inspected "
                f"{self.inspected_share:.2%} (random {self.random_share:.2%}, targeted "
                f"{self.targeted_share:.2%}, tip {self.tip_share:.2%}); found among "
                f"inspected {self.found_rate_inspected:.2%}",
                f"true positives by mechanism: {mech}",
                f"transshipment share of violations by quarter: {quarters}",
                f"bad rows injected: {self.bad_rows:,}; {self.seconds:.1f} s",
            ]
        )


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write with pyarrow (fast, byte-stable); missing values become empty cells."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def quarter_shares(
    dates: pd.Series, numerator: np.ndarray, denominator: np.ndarray
) -> dict[str, float]:
    """Share ``numerator / denominator`` per calendar quarter (``2024Q1``...)."""
    q = pd.PeriodIndex(pd.to_datetime(dates), freq="Q").astype(str)
    g = pd.DataFrame({"q": q, "num": numerator, "den": denominator}).groupby("q", sort=True).sum()
    return {str(k): round(float(r.num / r.den), 4) if r.den else 0.0 for k, r in g.iterrows()}

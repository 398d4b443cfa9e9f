"""The entry-line data contract as data: columns, their kinds, allowed values and errors.

The prose version is ``docs/data-contract.md``; :mod:`models.contract.reader` enforces what is here.
Nothing in this module does I/O at import time: the ISO country list is built on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

import pycountry

from models.errors import UserError

if TYPE_CHECKING:
    import pandas as pd


class Kind(StrEnum):
    """How a contract column is parsed and normalised."""

    ID = "id"  # non-empty string
    TEXT = "text"  # free string, empty = unknown
    INTEGER = "integer"  # integer >= 1
    DATE = "date"  # ISO 8601 date
    HTS = "hts"  # 6-10 digits, dots and spaces allowed on input
    COUNTRY = "country"  # ISO 3166-1 alpha-2
    LOCODE = "locode"  # UN/LOCODE: country + 3 characters
    PORT = "port"  # CBP port code, 4 digits
    TRANSPORT = "transport"  # one of TRANSPORT_MODES
    NUMBER = "number"  # finite float >= 0
    BOOLEAN = "boolean"  # true/false/1/0/yes/no
    REASON = "reason"  # one of INSPECTION_REASONS or empty
    VIOLATION = "violation"  # 1, 0 or empty


@dataclass(frozen=True)
class Column:
    """One contract column."""

    name: str
    kind: Kind
    required: bool = False
    label: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("entry_id", Kind.ID, required=True),
    Column("line_no", Kind.INTEGER, required=True),
    Column("entry_date", Kind.DATE, required=True),
    Column("hts_code", Kind.HTS, required=True),
    Column("country_of_origin", Kind.COUNTRY, required=True),
    Column("importer_id", Kind.TEXT),
    Column("importer_name", Kind.TEXT),
    Column("manufacturer_id", Kind.TEXT),
    Column("manufacturer_name", Kind.TEXT),
    Column("manufacturer_address", Kind.TEXT),
    Column("shipper_name", Kind.TEXT),
    Column("shipper_address", Kind.TEXT),
    Column("country_of_export", Kind.COUNTRY),
    Column("port_of_lading", Kind.LOCODE),
    Column("port_of_entry", Kind.PORT),
    Column("transport_mode", Kind.TRANSPORT),
    Column("goods_description", Kind.TEXT),
    Column("quantity", Kind.NUMBER),
    Column("quantity_unit", Kind.TEXT),
    Column("gross_weight_kg", Kind.NUMBER),
    Column("declared_value_usd", Kind.NUMBER),
    Column("inspected", Kind.BOOLEAN, label=True),
    Column("inspection_reason", Kind.REASON, label=True),
    Column("violation", Kind.VIOLATION, label=True),
)

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
REQUIRED: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required)
OPTIONAL: tuple[str, ...] = tuple(c.name for c in COLUMNS if not c.required and not c.label)
LABELS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.label)
# Label columns that must exist when training (``require_labels=True``); the reason may be absent.
REQUIRED_LABELS: tuple[str, ...] = ("inspected", "violation")
ALL_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS)
CONTRACT_COLUMNS = ALL_COLUMNS  # the name pipelines/registry.py imports

TRANSPORT_MODES: frozenset[str] = frozenset({"vessel", "air", "truck", "rail"})
INSPECTION_REASONS: frozenset[str] = frozenset({"targeted", "random", "tip"})
TRUE_VALUES: frozenset[str] = frozenset({"true", "1", "yes"})
FALSE_VALUES: frozenset[str] = frozenset({"false", "0", "no"})


UNKNOWN_COUNTRY = "ZZ"


@lru_cache(maxsize=1)
def country_codes() -> frozenset[str]:
    """Officially assigned ISO 3166-1 alpha-2 codes (from pycountry), plus ``ZZ``.

    ``ZZ`` is the user-assigned code that customs and UN/LOCODE data use for "unknown or
    unspecified country": it is accepted as an explicit unknown (the line is scored, ``ZZ``
    standing for a country the model knows nothing of; ``docs/data-contract.md`` says so).
    Any other unassigned code (``XK``, ``UK``, ``XX``, ``CHN``) is refused:
    a made-up code would silently defeat the country evidence.
    """
    return frozenset(c.alpha_2 for c in pycountry.countries) | {UNKNOWN_COUNTRY}


class ContractError(UserError, ValueError):
    """A file or frame is refused; the message names the column(s) and the reason."""

    hint = (
        "The columns and values an entry-line file must have are in docs/entry-lines.md; "
        "docs/data-contract.md says how files are read."
    )


class MissingColumnError(ContractError):
    """A required column (or a column a mapping names) is absent."""

    def __init__(self, columns: str | list[str], detail: str | None = None) -> None:
        self.columns = [columns] if isinstance(columns, str) else list(columns)
        if detail is None:
            names = ", ".join(f"'{c}'" for c in self.columns)
            plural = "s" if len(self.columns) > 1 else ""
            detail = f"missing required column{plural} {names}"
        if set(self.columns) <= set(LABELS):
            hint = (
                "Training and evaluation need labelled lines: the columns inspected, "
                "inspection_reason and violation (docs/entry-lines.md, 'Labels'); on simulated "
                "data, `flrisk evaluate --truth truth.csv` takes unlabelled lines."
            )
        else:
            hint = (
                "Name the columns as in docs/entry-lines.md, or describe your layout in a "
                "column mapping and pass --mapping FILE.toml (docs/data-contract.md)."
            )
        super().__init__(detail, hint)


class BadRowsError(ContractError):
    """Bad rows exist and the caller did not allow them.

    Attributes:
        bad_rows: The report (``row, column, value, reason, source``).
        quarantine_path: Where the bad rows were written.
    """

    MAX_LISTED = 20

    def __init__(self, bad_rows: pd.DataFrame, quarantine_path: object = None) -> None:
        self.bad_rows = bad_rows
        self.quarantine_path = quarantine_path
        several_sources = bad_rows["source"].nunique() > 1
        lines = []
        for rec in bad_rows.head(self.MAX_LISTED).itertuples(index=False):
            where = f" in {rec.source}" if several_sources else ""
            lines.append(f"row {rec.row}, column '{rec.column}': {rec.reason}{where}")
        n_rows = bad_rows[["source", "row"]].drop_duplicates().shape[0]
        head = f"{len(bad_rows)} problem(s) in {n_rows} bad row(s)"
        sources = ", ".join(sorted({str(s) for s in bad_rows["source"]}))
        self._headline = f"{head} of {sources}" + (f"; first: {lines[0]}" if lines else "")
        if quarantine_path is not None:
            head += f"; quarantined to {quarantine_path}"
        more = len(bad_rows) - len(lines)
        tail = [f"... and {more} more"] if more > 0 else []
        listed = (
            f"All {len(bad_rows)} are listed in {quarantine_path} (row, column, reason). "
            if quarantine_path is not None
            else ""
        )
        hint = f"{listed}Fix them, or pass --allow-bad-rows to go on with the good rows only."
        super().__init__("\n".join([head + ":", *lines, *tail]), hint)

    def headline(self) -> str:
        """How many problems, in which file, and the first of them."""
        return self._headline

"""Column mappings: bring another layout into the entry-line contract through a TOML file.

A mapping names, for each contract column, a source column or a constant, and lists extra
source columns to pass through as model features (prefixed ``x_`` so they never collide with
contract columns). See ``docs/data-contract.md`` for the format and an example.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.contract.columns import ALL_COLUMNS, LABELS, ContractError, MissingColumnError

PASSTHROUGH_PREFIX = "x_"


class ColumnSource(BaseModel):
    """Where one contract column comes from: a source column or a constant.

    Attributes:
        source: Name of the column in the foreign layout.
        constant: A value used for every row instead (written as text, then validated).
        zero_pad: Left-pad all-digit values shorter than this with zeros, for codes that lost
            their leading zeros when a spreadsheet or export wrote them as integers.
        na_values: Source values that mean "unknown" (become empty before validation).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    constant: str | int | float | bool | None = None
    zero_pad: int | None = Field(default=None, ge=1, le=10)
    na_values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_origin(self) -> ColumnSource:
        if (self.source is None) == (self.constant is None):
            raise ValueError("give exactly one of 'source' or 'constant'")
        if self.constant is not None and (self.zero_pad or self.na_values):
            raise ValueError("'zero_pad' and 'na_values' apply to a source column only")
        return self

    def series(self, raw: pd.DataFrame) -> pd.Series:
        """This column's values (as text) for every row of ``raw``."""
        if self.constant is not None:
            value = self.constant
            # TOML true/false must reach the reader as the contract's spelling, not "True".
            text = str(value).lower() if isinstance(value, bool) else str(value)
            return pd.Series(text, index=raw.index, dtype="str")
        s = raw[self.source].astype("str")
        if self.na_values:
            s = s.where(~s.str.strip().isin(self.na_values))
        if self.zero_pad:
            short = s.str.fullmatch(r"\d+", na=False) & (s.str.len() < self.zero_pad)
            s = s.where(~short, s.str.zfill(self.zero_pad))
        return s


def _as_source(value: Any) -> Any:
    # A bare string is shorthand for {source = "..."}.
    return {"source": value} if isinstance(value, str) else value


class Passthrough(BaseModel):
    """Extra source columns kept as model features."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()


def passthrough_name(source: str) -> str:
    """The frame column name of a pass-through source column, e.g. ``x_office_id``."""
    slug = re.sub(r"[^0-9a-z]+", "_", source.lower()).strip("_")
    return PASSTHROUGH_PREFIX + slug


class ColumnMapping(BaseModel):
    """A validated column mapping (load one with :func:`load_mapping`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    columns: dict[str, ColumnSource]
    labels: dict[str, ColumnSource] = Field(default_factory=dict)
    passthrough: Passthrough = Field(default_factory=Passthrough)

    @field_validator("columns", "labels", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _as_source(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _known_columns(self) -> ColumnMapping:
        non_labels = [c for c in ALL_COLUMNS if c not in LABELS]
        unknown = [c for c in self.columns if c not in non_labels]
        if unknown:
            raise ValueError(
                f"[columns] names unknown contract column(s) {unknown}; "
                f"known: {non_labels} (labels go in [labels])"
            )
        unknown = [c for c in self.labels if c not in LABELS]
        if unknown:
            raise ValueError(f"[labels] names unknown label column(s) {unknown}; known: {LABELS}")
        names = [passthrough_name(s) for s in self.passthrough_sources]
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise ValueError(f"pass-through columns collide after renaming: {clashes}")
        return self

    @property
    def passthrough_sources(self) -> list[str]:
        """Source names of all pass-through columns, categorical first."""
        return [*self.passthrough.categorical, *self.passthrough.numeric]

    @property
    def passthrough_kinds(self) -> dict[str, str]:
        """Frame column name -> ``"categorical"`` | ``"numeric"`` for the pass-through columns."""
        kinds = {passthrough_name(s): "categorical" for s in self.passthrough.categorical}
        kinds.update({passthrough_name(s): "numeric" for s in self.passthrough.numeric})
        return kinds

    def apply(self, raw: pd.DataFrame, *, require_labels: bool = False) -> pd.DataFrame:
        """Turn a frame in the foreign layout into contract column names (values still text).

        Rows keep their order and count, so row numbers stay those of the source file. Label
        entries are applied only when all their source columns exist: the same mapping then
        reads unlabelled files for scoring. Only mapped and pass-through columns are kept.

        Args:
            raw: The source frame, every column as text.
            require_labels: Refuse a frame whose label source columns are absent.

        Returns:
            A frame with the mapped contract columns and the ``x_`` pass-through columns.

        Raises:
            MissingColumnError: A mapped source column is absent (names both columns).
        """
        missing = [
            (col, src.source)
            for col, src in self.columns.items()
            if src.source is not None and src.source not in raw.columns
        ]
        missing += [(passthrough_name(s), s) for s in self.passthrough_sources if s not in raw]
        label_missing = [
            (col, src.source)
            for col, src in self.labels.items()
            if src.source is not None and src.source not in raw.columns
        ]
        if require_labels:
            missing += label_missing
        if missing:
            detail = ", ".join(f"'{c}' (source column '{s}')" for c, s in missing)
            raise MissingColumnError(
                [c for c, _ in missing], f"mapping '{self.name}': missing column(s) {detail}"
            )
        out = {col: src.series(raw) for col, src in self.columns.items()}
        if not label_missing:
            out.update({col: src.series(raw) for col, src in self.labels.items()})
        for s in self.passthrough_sources:
            out[passthrough_name(s)] = raw[s].astype("str")
        return pd.DataFrame(out, index=raw.index)


def load_mapping(path: Path | str) -> ColumnMapping:
    """Read and validate a TOML column mapping.

    Args:
        path: The ``.toml`` file.

    Returns:
        The validated mapping.

    Raises:
        ContractError: The file cannot be read, is not valid TOML, or names unknown columns
            or options.
    """
    path = Path(path)
    hint = (
        "docs/data-contract.md ('Column mappings') describes the file; "
        "pipelines/mappings/kcs.toml is a worked example."
    )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return ColumnMapping.model_validate(data)
    except OSError as exc:
        raise ContractError(f"cannot read the mapping {path}: {exc.strerror or exc}", hint) from exc
    except UnicodeDecodeError as exc:
        raise ContractError(f"mapping {path}: not UTF-8 text: {exc}", hint) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"mapping {path}: invalid TOML: {exc}", hint) from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ContractError(f"mapping {path}: {problems}", hint) from exc

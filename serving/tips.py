"""Tips: the record the API and the workbench accept, and the tips scoring reads.

``POST /v1/tips`` takes :class:`TipIn` as JSON, the workbench's tip form builds it from the
form; both file it through :func:`models.tips.file_tip`. Scoring reads the tips that count
as evidence through the app's :class:`~models.tips.TipBook` (:func:`tip_index`), so a tip
filed or triaged is evidence from the next scored line on, without a restart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import State

from models.scoring.tip_reasons import TipIndex
from models.tips import TipBook

Role = Literal["manufacturer", "shipper", "importer"]
SourceType = Literal["ngo", "public", "partner_agency", "anonymous"]
TipStatus = Literal["new", "corroborated", "dismissed"]


class TipParty(BaseModel):
    """A party a tip names: its role, and a name or an ID (or both)."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str | None = Field(default=None, max_length=512)
    address: str | None = Field(default=None, max_length=1024)
    party_id: str | None = Field(
        default=None, max_length=128, description="Importer number or MID, as declared"
    )


class TipGoods(BaseModel):
    """Goods a tip is about."""

    model_config = ConfigDict(extra="forbid")

    hs: str | None = Field(default=None, pattern=r"^[0-9.]{2,13}$")
    description: str | None = Field(default=None, max_length=512)


class TipIn(BaseModel):
    """A tip or allegation, as received."""

    model_config = ConfigDict(extra="forbid")

    parties: list[TipParty] = Field(min_length=1, max_length=20)
    goods: list[TipGoods] = Field(default_factory=list, max_length=50)
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    allegation: str = Field(min_length=1, max_length=20_000)
    source_type: SourceType
    received_date: dt.date


class TriageIn(BaseModel):
    """A triage decision: the tip's new status and why."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["corroborated", "dismissed"]
    note: str = Field(min_length=1, max_length=2000, description="Why (audited)")


def tip_record(tip: TipIn) -> dict[str, Any]:
    """The tip as :func:`models.tips.file_tip` takes it."""
    out = tip.model_dump()
    out["received_date"] = tip.received_date.isoformat()
    return out


def tip_index(state: State) -> TipIndex:
    """The tips that count as evidence now (re-read when any tip changed)."""
    book: TipBook = state.tips
    return book.index()

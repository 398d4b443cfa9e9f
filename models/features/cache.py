"""The memo of distinct-value checks that signals share across calls and file chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.reference.entities import EntityMatch, EntityMatcher


@dataclass
class SignalCache:
    """Per-process memo of the distinct-value checks, kept across calls (and file chunks).

    Every check below is a pure function of one value (a name, an address, a code), so a
    value seen in an earlier chunk costs one dictionary lookup: after the first chunks of a
    large file almost nothing is computed again.
    """

    matcher: EntityMatcher = field(default_factory=EntityMatcher)
    places: dict[str, tuple[bool, str, str, bool]] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)
    parties: dict[str, str | None] = field(default_factory=dict)
    entities: dict[str, EntityMatch] = field(default_factory=dict)
    goods: dict[tuple[str, str], tuple[object, ...]] = field(default_factory=dict)
    texts: dict[str, tuple[str, bool]] = field(default_factory=dict)
    upper: dict[str, str] = field(default_factory=dict)
    traders: dict[str, bool] = field(default_factory=dict)

"""The memo of distinct-value checks that signals share across calls and file chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.reference.entities import EntityMatch, EntityMatcher
from models.reference.snapshot import ReferenceSnapshot, current_snapshot

# Values per memo before a scorer starts a fresh cache (:meth:`SignalCache.full`): a
# server's memo is then bounded, and a run over millions of lines (a few tens of thousands
# of distinct names and addresses) never reaches it.
MEMO_LIMIT = 200_000


@dataclass
class SignalCache:
    """Per-process memo of the distinct-value checks, kept across calls (and file chunks).

    Every check below is a pure function of one value (a name, an address, a code), so a
    value seen in an earlier chunk costs one dictionary lookup: after the first chunks of a
    large file almost nothing is computed again. The checks against reference tables come
    from one reference snapshot (``reference``, default: the current one), so a memo never
    mixes two versions; a new version gets a new cache, and so does a cache grown past
    ``MEMO_LIMIT`` values in one memo (:meth:`full`): it is a cache, never a record.
    """

    reference: ReferenceSnapshot = field(default_factory=current_snapshot)
    matcher: EntityMatcher = field(init=False)
    places: dict[str, tuple[bool, str, str, bool]] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)
    parties: dict[str, str | None] = field(default_factory=dict)
    entities: dict[str, EntityMatch] = field(default_factory=dict)
    goods: dict[tuple[str, str], tuple[object, ...]] = field(default_factory=dict)
    texts: dict[str, tuple[str, bool]] = field(default_factory=dict)
    upper: dict[str, str] = field(default_factory=dict)
    traders: dict[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.matcher = self.reference.matcher

    def full(self, limit: int | None = None) -> bool:
        """Whether a memo holds more than ``limit`` values: time for a fresh cache.

        A full cache is replaced whole, never emptied in place: a batch holding it reads
        its memos right after filling them, and another thread may be in that batch.
        """
        memos = (self.places, self.countries, self.parties, self.entities, self.goods,
                 self.texts, self.upper, self.traders)  # fmt: skip
        most = MEMO_LIMIT if limit is None else limit
        return any(len(memo) > most for memo in memos)

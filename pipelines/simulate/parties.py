"""The party registry: every named actor with its manifest spellings and address variants.

A party is anyone whose name goes on a manifest: factories, trading companies, forwarders.
Spellings and addresses are stored ragged so that per-line choices are array lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipelines.simulate.names import normalize
from pipelines.simulate.ragged import Ragged

NEVER = np.iinfo(np.int32).max  # day index meaning "no list rule ever matches"


@dataclass
class PartyBuilder:
    """Collects parties one at a time (a few thousand), then freezes them into arrays."""

    exact: list[list[str]] = field(default_factory=list)
    fuzzy: list[list[str]] = field(default_factory=list)
    addresses: list[list[str]] = field(default_factory=list)
    xinjiang: list[bool] = field(default_factory=list)
    country: list[str] = field(default_factory=list)

    def add(
        self,
        exact: list[str],
        addresses: list[str],
        country: str,
        *,
        fuzzy: list[str] | None = None,
        xinjiang: bool = False,
    ) -> int:
        """Register a party; returns its id.

        Args:
            exact: Spellings of the registered name (case and punctuation variants).
            addresses: Address variants; for Xinjiang parties exactly three, in the order
                region named, region spelt another way, region omitted.
            country: ISO alpha-2 of the party's address.
            fuzzy: Altered spellings (listed entities only).
            xinjiang: The party is located in Xinjiang.
        """
        self.exact.append(exact)
        self.fuzzy.append(fuzzy or [])
        self.addresses.append(addresses)
        self.xinjiang.append(xinjiang)
        self.country.append(country)
        return len(self.exact) - 1

    def freeze(self, listed_names: dict[str, int]) -> Parties:
        """Arrays of all parties; ``listed_names`` maps a normalised name to its listing day."""
        exact = Ragged.build(self.exact)
        fuzzy = Ragged.build(self.fuzzy)
        addr = Ragged.build(self.addresses)

        def listed_day(flat: np.ndarray) -> np.ndarray:
            return np.array([listed_names.get(normalize(s), NEVER) for s in flat], dtype=np.int64)

        return Parties(
            exact=exact,
            fuzzy=fuzzy,
            exact_listed_day=listed_day(exact.flat),
            fuzzy_listed_day=listed_day(fuzzy.flat),
            addr=addr,
            addr_has_xinjiang=np.array(["XINJIANG" in a.upper() for a in addr.flat], dtype=bool),
            xinjiang=np.array(self.xinjiang, dtype=bool),
            country=np.array(self.country, dtype=object),
        )


@dataclass(frozen=True)
class Parties:
    """Frozen party registry."""

    exact: Ragged
    fuzzy: Ragged
    exact_listed_day: np.ndarray
    fuzzy_listed_day: np.ndarray
    addr: Ragged
    addr_has_xinjiang: np.ndarray
    xinjiang: np.ndarray
    country: np.ndarray

    def names(
        self, rng: np.random.Generator, party: np.ndarray, exact_share: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Declared name of each line's party, and the day a list rule starts matching it."""
        ex = self.exact.pick(rng, party)
        fz = self.fuzzy.pick(rng, party)
        use_fuzzy = (fz >= 0) & (rng.random(len(party)) >= exact_share)
        name = np.where(use_fuzzy, self.fuzzy.flat[np.maximum(fz, 0)], self.exact.flat[ex])
        day = np.where(
            use_fuzzy, self.fuzzy_listed_day[np.maximum(fz, 0)], self.exact_listed_day[ex]
        )
        return name, day

    def addresses(
        self, rng: np.random.Generator, party: np.ndarray, named: float, variant: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Declared address of each line's party, and whether it contains "XINJIANG"."""
        u = rng.random(len(party))
        category = np.where(u < named, 0, np.where(u < named + variant, 1, 2))
        plain = self.addr.pick(rng, party)
        pos = np.where(self.xinjiang[party], self.addr.off[party] + category, plain)
        return self.addr.flat[pos], self.addr_has_xinjiang[pos]

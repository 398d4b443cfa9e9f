"""Manufacturers: their kinds, the sectors each kind works in, and the registry that makes them.

Manufacturers come in five kinds: ordinary, eastern mills sourcing Xinjiang inputs, listed
entities, unlisted Xinjiang producers and new South-East Asian front companies. The registry
gives each one a name, an address, a port, a MID, its manifest spellings and the catalogue
products it ships; trading companies and forwarders are registered as plain parties.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pipelines.simulate.catalogue import catalogue
from pipelines.simulate.countries import COUNTRIES, EASTERN_CN_REGIONS, City
from pipelines.simulate.names import (
    address,
    company_name,
    manifest_spellings,
    mid,
    normalize,
    pick,
    postal_code,
    random_city,
    street,
)
from pipelines.simulate.parties import PartyBuilder
from pipelines.simulate.xinjiang import XinjiangPlaces

KINDS = ("normal", "mill", "listed", "xinjiang", "front")
NORMAL, MILL, LISTED, XINJIANG, FRONT = range(5)
MILL_SECTORS = ("cotton", "apparel", "home_textiles", "solar", "polysilicon", "pvc", "aluminium")
XJ_SECTORS = {
    "cotton": 4,
    "apparel": 3,
    "home_textiles": 1,
    "tomato": 2,
    "polysilicon": 1.5,
    "pvc": 1,
    "aluminium": 1,
    "hair": 1.5,
}
FRONT_COUNTRIES = {"VN": 0.4, "MY": 0.2, "TH": 0.2, "KH": 0.1, "ID": 0.1}
FRONT_SECTORS = {
    "apparel": 4,
    "solar": 3,
    "hair": 1.5,
    "aluminium": 1,
    "tomato": 1,
    "home_textiles": 1,
    "steel": 1,
    "pvc": 0.5,
}
_ENTITY_SECTOR_WORDS = (
    ("polysilicon", "polysilicon"),
    ("silicon", "polysilicon"),
    ("solar", "solar"),
    ("photovolt", "solar"),
    ("hair", "hair"),
    ("wig", "hair"),
    ("cotton", "cotton"),
    ("yarn", "cotton"),
    ("textile", "apparel"),
    ("apparel", "apparel"),
    ("garment", "apparel"),
    ("tomato", "tomato"),
    ("agricult", "tomato"),
    ("food", "tomato"),
    ("alumin", "aluminium"),
    ("pvc", "pvc"),
    ("chemical", "pvc"),
    ("seafood", "seafood"),
    ("fish", "seafood"),
    ("glove", "gloves"),
    ("steel", "steel"),
    ("batter", "batteries"),
    ("lithium", "batteries"),
    ("auto", "auto_parts"),
    ("electronic", "electronics"),
    ("shoe", "footwear"),
    ("footwear", "footwear"),
)


def weighted(rng: np.random.Generator, table: Mapping[str, float]) -> str:
    """One key of ``table``, drawn with probability proportional to its value."""
    keys = list(table)
    p = np.array([table[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def entity_sectors(text: str) -> list[str]:
    """Catalogue sectors named by an entity's free-text sector (all priority ones if vague)."""
    low = text.lower()
    found = list(dict.fromkeys(s for word, s in _ENTITY_SECTOR_WORDS if word in low))
    return found or ["cotton", "apparel", "tomato", "polysilicon", "pvc", "aluminium"]


class MakerRegistry:
    """Accumulates makers while parties are registered; one Python call per actor."""

    def __init__(self, rng: np.random.Generator, places: XinjiangPlaces) -> None:
        self.rng = rng
        self.places = places
        self.parties = PartyBuilder()
        self.rows: list[dict[str, object]] = []
        self.products: list[list[int]] = []
        self.traders: dict[str, list[int]] = {}

    def _products(self, sectors: list[str], country: str) -> list[int]:
        cat = catalogue()
        pool = np.unique(np.concatenate([cat.sector_products(s, country) for s in sectors]))
        if len(pool) == 0:  # e.g. a Mexican pasta maker: fall back to any origin
            pool = np.unique(np.concatenate([cat.sector_products(s, "CN") for s in sectors]))
        k = min(len(pool), int(self.rng.integers(1, 4)))
        return sorted(self.rng.choice(pool, size=k, replace=False).tolist())

    def plain_party(self, name: str, street_line: str, city: City, iso2: str) -> int:
        """Register a party that is not a maker (trader, forwarder); returns its party id."""
        prof = COUNTRIES[iso2]
        postal = postal_code(self.rng, city.postal, prof.postal_len)
        full = address(street_line, city.name, city.region, postal, prof.name)
        short = address(street_line, city.name, "", postal, prof.name)
        exact = list(dict.fromkeys([name.upper(), normalize(name), name]))
        return self.parties.add(exact, [full, short], iso2)

    def maker(
        self,
        kind: int,
        iso2: str,
        sectors: list[str],
        *,
        name: str | None = None,
        aliases: tuple[str, ...] = (),
        xinjiang: bool = False,
        regions: tuple[str, ...] = (),
        entity_id: str = "",
        listed_day: int | None = None,
        start_day: int = -(10**6),
    ) -> int:
        """Register a manufacturer and its party; returns its maker id (row in ``rows``).

        Args:
            kind: Maker kind (``KINDS`` index).
            iso2: Country of the maker.
            sectors: Catalogue sectors it works in; the first names it and is its sector.
            name: Its name (a listed entity's); made up when None.
            aliases: Other listed names, for manifest spellings of a listed entity.
            xinjiang: Located in Xinjiang (address from the Xinjiang places).
            regions: Regions of its country to place it in (any when empty).
            entity_id: Entity-list id of a listed entity.
            listed_day: Day from which it is listed (None: never).
            start_day: Day from which it trades (front companies start part-way).
        """
        rng = self.rng
        prof = COUNTRIES[iso2]
        industry = pick(rng, catalogue().sectors[sectors[0]].industry_words)
        street_line = street(rng, COUNTRIES["CN"] if xinjiang else prof)
        if xinjiang:
            known = self.places.city_in(name) if name else None
            ci = known if known is not None else int(rng.integers(len(self.places.cities)))
            city_name = self.places.cities[ci][0]
            if name is None:
                brand = pick(rng, prof.brands)
                name = (
                    f"{city_name} {brand} {industry} Co., Ltd."
                    if rng.random() < 0.5
                    else f"Xinjiang {brand} {industry} Co., Ltd."
                )
            addrs = self.places.addresses(rng, street_line, ci)
            port = "CNTSN" if rng.random() < 0.5 else "CNSHA"  # overland to an eastern port
        else:
            named = [c for c in prof.cities if name and c.name.upper() in name.upper()]
            city = named[0] if named else random_city(rng, prof, regions)
            city_name, port = city.name, city.port
            name = name or company_name(rng, prof, industry, city.name)
            postal = postal_code(rng, city.postal, prof.postal_len)
            addrs = [
                address(street_line, city.name, city.region, postal, prof.name),
                address(street_line, city.name, "", postal, prof.name),
            ]
        if kind == LISTED:
            exact, fuzzy = manifest_spellings(rng, name, aliases)
        else:
            exact, fuzzy = list(dict.fromkeys([name.upper(), normalize(name), name])), []
        party = self.parties.add(exact, addrs, iso2, fuzzy=fuzzy, xinjiang=xinjiang)
        self.rows.append(
            {
                "party": party,
                "kind": kind,
                "country": iso2,
                "sector": sectors[0],
                "name": name,
                "address": addrs[0],
                "port": port,
                "mid": mid(iso2, name, street_line, city_name),
                "entity_id": entity_id,
                "listed_day": listed_day if listed_day is not None else np.iinfo(np.int32).max,
                "start_day": start_day,
                "shipper": party,
                "forwarder": -1,
            }
        )
        self.products.append(self._products(sectors, iso2))
        return len(self.rows) - 1

    def trader(self, iso2: str, hint_city: str | None = None) -> int:
        """Register a new trading company of ``iso2`` (or Hong Kong); returns its party id."""
        rng = self.rng
        home = "HK" if iso2 == "CN" and rng.random() < 0.3 else iso2
        prof = COUNTRIES[home]
        city = random_city(rng, prof, EASTERN_CN_REGIONS if home == "CN" else ())
        word = pick(rng, ("Trading", "Import & Export", "International Trade"))
        if hint_city:  # a trader named after the Xinjiang place it buys from
            name = f"{hint_city} {pick(rng, prof.brands)} Cotton {word} Co., Ltd."
        else:
            name = company_name(rng, prof, word, city.name)
        return self.plain_party(name, street(rng, prof), city, home)

    def pooled_trader(self, iso2: str) -> int:
        """A trading company of ``iso2`` from a small pool shared by several makers."""
        pool = self.traders.setdefault(iso2, [])
        if len(pool) < 3 or self.rng.random() < 0.1:
            pool.append(self.trader(iso2))
        return pool[int(self.rng.integers(len(pool)))]

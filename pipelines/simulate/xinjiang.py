"""Xinjiang places and addresses, from the project's reference table of spellings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.simulate.names import address, pick, postal_code

# Spellings of the region that do not contain the literal word an address rule looks for.
_REGION_AKA = ("XUAR", "Sinkiang", "Uyghur Autonomous Region", "Xin Jiang", "Uygur A.R.")
# Used only while the reference table is still thin: a world with one city is not useful.
_FALLBACK = (
    ("Urumqi", ("Urumqi", "Wulumuqi", "Urumchi"), "830"),
    ("Shihezi", ("Shihezi", "Shihotzu"), "832"),
    ("Aksu", ("Aksu", "Akesu"), "843"),
    ("Hotan", ("Hotan", "Hetian", "Khotan"), "848"),
    ("Korla", ("Korla", "Kuerle"), "841"),
    ("Turpan", ("Turpan", "Tulufan", "Turfan"), "838"),
    ("Changji", ("Changji",), "831"),
)


@dataclass(frozen=True)
class XinjiangPlaces:
    """Cities (with spellings and postal prefixes) and region spellings."""

    cities: tuple[tuple[str, tuple[str, ...], str], ...]
    region_named: tuple[str, ...]
    region_other: tuple[str, ...]

    @classmethod
    def from_table(cls, table: pd.DataFrame) -> XinjiangPlaces:
        """Build from ``load_xinjiang_places()`` (columns place_id, canonical, variant, kind...)."""
        region = table[table["kind"] == "region"]["variant"].tolist()
        named = tuple(v for v in region if "XINJIANG" in v.upper()) or ("Xinjiang",)
        other = tuple(
            dict.fromkeys([v for v in region if "XINJIANG" not in v.upper()] + list(_REGION_AKA))
        )
        cities: list[tuple[str, tuple[str, ...], str]] = []
        for _, grp in table[table["kind"] != "region"].groupby("place_id", sort=True):
            canonical = str(grp["canonical"].iloc[0])
            variants = tuple(dict.fromkeys([canonical, *grp["variant"].astype(str)]))
            prefix = next((p for p in grp["postal_prefix"] if str(p).isdigit()), "83")
            cities.append((canonical, variants, str(prefix)))
        known = {c[0] for c in cities}
        if len(cities) < 5:
            cities += [c for c in _FALLBACK if c[0] not in known]
        return cls(tuple(cities), named, other)

    def city_in(self, name: str) -> int | None:
        """Index of a city whose spelling appears in ``name`` (e.g. Shanshan in a company name)."""
        upper = name.upper()
        for i, (_, variants, _) in enumerate(self.cities):
            if any(v.upper() in upper for v in variants):
                return i
        return None

    def addresses(self, rng: np.random.Generator, street_line: str, city: int) -> list[str]:
        """Three variants: region named, region spelt otherwise, region omitted."""
        _, variants, prefix = self.cities[city]
        postal = postal_code(rng, prefix, 6)
        out = []
        for region in (pick(rng, self.region_named), pick(rng, self.region_other), ""):
            town = pick(rng, variants)
            out.append(address(street_line, town, region, postal, "China"))
        return out

"""Actors: manufacturers, trading companies, forwarders and US importers with portfolios.

Manufacturers come in five kinds: ordinary, eastern mills sourcing Xinjiang inputs, listed
entities, unlisted Xinjiang producers and new South-East Asian front companies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.simulate.catalogue import catalogue
from pipelines.simulate.countries import COUNTRIES, EASTERN_CN_REGIONS, City
from pipelines.simulate.names import (
    address,
    company_name,
    manifest_name,
    manifest_spellings,
    mid,
    normalize,
    pick,
    postal_code,
    random_city,
    street,
)
from pipelines.simulate.parties import Parties, PartyBuilder
from pipelines.simulate.ragged import Ragged
from pipelines.simulate.scenario import Scenario
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
US_BRANDS = (
    "Pacific",
    "Summit",
    "Blue Ridge",
    "Atlas",
    "Oriental",
    "Liberty",
    "Keystone",
    "Harbor",
    "Evergreen",
    "Frontier",
    "Golden Gate",
    "Lakeshore",
    "Redwood",
    "Union",
    "Heritage",
    "Pioneer",
    "Coastal",
    "Midwest",
    "Silver Line",
    "Northstar",
)
US_TRADES = {
    "apparel": "Apparel",
    "solar": "Solar",
    "food": "Foods",
    "tomato": "Foods",
    "seafood": "Seafood",
    "electronics": "Electronics",
    "furniture": "Home Furnishings",
    "toys": "Toys",
    "auto_parts": "Auto Supply",
    "machinery": "Industrial Supply",
}
US_SUFFIX = ("Inc.", "LLC", "Co.", "Corp.", "Distribution Co.", "Trading LLC", "Group Inc.")


@dataclass(frozen=True)
class World:
    """Everyone who appears on an entry, and who buys from whom."""

    parties: Parties
    makers: pd.DataFrame
    products: Ragged
    importers: pd.DataFrame
    portfolio: Ragged  # normal suppliers (maker ids) per importer
    portfolio_w: np.ndarray  # weights aligned with portfolio.flat
    direct: Ragged  # listed / Xinjiang suppliers per risky importer
    fronts: Ragged  # front companies per risky importer


def _weighted(rng: np.random.Generator, table: Mapping[str, float]) -> str:
    keys = list(table)
    p = np.array([table[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def entity_sectors(text: str) -> list[str]:
    """Catalogue sectors named by an entity's free-text sector (all priority ones if vague)."""
    low = text.lower()
    found = list(dict.fromkeys(s for word, s in _ENTITY_SECTOR_WORDS if word in low))
    return found or ["cotton", "apparel", "tomato", "polysilicon", "pvc", "aluminium"]


class _Registry:
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
        pool = self.traders.setdefault(iso2, [])
        if len(pool) < 3 or self.rng.random() < 0.1:
            pool.append(self.trader(iso2))
        return pool[int(self.rng.integers(len(pool)))]


def _listed_day(value: str, start: dt.date) -> int:
    try:
        return (dt.date.fromisoformat(value.strip()) - start).days
    except ValueError:
        return -(10**6)  # undated rows are treated as listed long ago


def build_world(
    rng: np.random.Generator,
    sc: Scenario,
    lines: int,
    entities: pd.DataFrame,
    places: pd.DataFrame,
) -> World:
    """Create every actor and the importers' supplier portfolios.

    Args:
        rng: The simulation's generator.
        sc: Scenario.
        lines: Total lines to simulate (actor counts scale with it).
        entities: ``load_entities()`` table.
        places: ``load_xinjiang_places()`` table.

    Returns:
        The world.
    """
    a, ex = sc.actors, sc.exposure
    start, n_days = sc.time.start, (sc.score_start - sc.time.start).days
    reg = _Registry(rng, XinjiangPlaces.from_table(places))
    cat = catalogue()

    listed_names: dict[str, int] = {}
    added = 0
    for row in entities.itertuples(index=False):
        day = _listed_day(str(row.effective_date), start)
        aliases = tuple(s.strip() for s in str(row.aliases).split("|") if s.strip())
        for n in (str(row.name), *aliases):
            listed_names[normalize(n)] = min(day, listed_names.get(normalize(n), day))
        iso2 = str(row.country).strip().upper() or "CN"
        if iso2 not in COUNTRIES:
            continue  # no address profile for that country: the entity is listed, not simulated
        added += int(0 < day < n_days)
        reg.maker(
            LISTED,
            iso2,
            entity_sectors(f"{row.sector} {row.name}"),
            name=manifest_name(str(row.name)),
            aliases=aliases,
            xinjiang="xinjiang" in str(row.region).lower(),
            entity_id=str(row.entity_id),
            listed_day=day,
        )
    for k in range(max(ex.ensure_list_additions - added, 0)):
        # Fictional additions spread over the training window so list drift is always present.
        day = int(n_days * (k + 1) / (ex.ensure_list_additions - added + 1))
        sector = _weighted(rng, XJ_SECTORS)
        brand = pick(rng, COUNTRIES["CN"].brands)
        industry = pick(rng, cat.sectors[sector].industry_words)
        city = reg.places.cities[int(rng.integers(len(reg.places.cities)))][0]
        name = f"Xinjiang {city} {brand} {industry} Co., Ltd."
        alias = f"{brand} {industry} {city}"
        for n in (name, alias):
            listed_names[normalize(n)] = day
        reg.maker(
            LISTED,
            "CN",
            [sector],
            name=name,
            aliases=(alias,),
            xinjiang=True,
            entity_id=f"SIM-{k + 1:04d}",
            listed_day=day,
        )
    for _ in range(ex.xinjiang_producers):
        reg.maker(XINJIANG, "CN", [_weighted(rng, XJ_SECTORS)], xinjiang=True)

    forwarders = []
    for _ in range(max(ex.forwarders, 1)):
        iso2 = "HK" if rng.random() < 0.25 else "CN"
        prof = COUNTRIES[iso2]
        hub = random_city(rng, prof, ("Guangdong", "Shanghai", "Zhejiang", "Fujian", "Hong Kong"))
        word = pick(rng, ("International Logistics", "Freight Forwarding", "Supply Chain"))
        fname = company_name(rng, prof, word, hub.name)
        forwarders.append(reg.plain_party(fname, street(rng, prof), hub, iso2))
    spread = ex.front_start_spread_months * 30
    for _ in range(ex.front_companies):
        m = reg.maker(
            FRONT,
            _weighted(rng, FRONT_COUNTRIES),
            [_weighted(rng, FRONT_SECTORS)],
            start_day=int(rng.integers(-90, max(spread, 1))),
        )
        reg.rows[m]["forwarder"] = forwarders[int(rng.integers(len(forwarders)))]

    n_makers = int(
        np.clip(lines / a.lines_per_manufacturer, a.min_manufacturers, a.max_manufacturers)
    )
    shares = a.country_shares
    codes = sorted(shares)
    p = np.array([shares[c] for c in codes])
    for iso2 in rng.choice(codes, size=n_makers, p=p / p.sum()):
        sector = _weighted(rng, cat.country_sectors[iso2])
        is_mill = iso2 == "CN" and sector in MILL_SECTORS and rng.random() < ex.mill_share
        m = reg.maker(
            MILL if is_mill else NORMAL,
            iso2,
            [sector],
            regions=EASTERN_CN_REGIONS if is_mill else (),
        )
        if is_mill and rng.random() < ex.hint_share:
            hint = reg.places.cities[int(rng.integers(len(reg.places.cities)))][0]
            reg.rows[m]["shipper"] = reg.trader("CN", hint_city=hint)
        elif rng.random() < a.trader_shipper_share + (0.35 if is_mill else 0.0):
            reg.rows[m]["shipper"] = reg.pooled_trader(iso2)

    makers = pd.DataFrame(reg.rows)
    makers["popularity"] = rng.lognormal(0.0, a.supplier_popularity_sigma, len(makers))
    importers, portfolio, weights, direct, fronts = _importers(rng, sc, lines, makers)
    return World(
        reg.parties.freeze(listed_names),
        makers,
        Ragged.build(reg.products, np.int64),
        importers,
        portfolio,
        weights,
        direct,
        fronts,
    )


def _importer_name(rng: np.random.Generator, home_sector: str) -> str:
    trade = US_TRADES.get(home_sector) or pick(rng, ("Imports", "Trading", "Sourcing", "Brands"))
    return f"{pick(rng, US_BRANDS)} {trade} {pick(rng, US_SUFFIX)}"


def _importers(
    rng: np.random.Generator, sc: Scenario, lines: int, makers: pd.DataFrame
) -> tuple[pd.DataFrame, Ragged, np.ndarray, Ragged, Ragged]:
    a, ex = sc.actors, sc.exposure
    n = int(np.clip(lines / a.lines_per_importer, a.min_importers, a.max_importers))
    size = rng.pareto(a.importer_size_alpha, n) + 1.0
    kind = makers["kind"].to_numpy()
    sector = makers["sector"].to_numpy(dtype=object)
    normal = np.flatnonzero((kind == NORMAL) | (kind == MILL))
    pop = makers["popularity"].to_numpy()[normal]
    direct_pool = np.flatnonzero((kind == LISTED) | (kind == XINJIANG))
    front_pool = np.flatnonzero(kind == FRONT)
    # Giants have compliance departments: risky importers come from below the top 2%.
    eligible = np.flatnonzero(size < np.quantile(size, 0.98))
    n_risky = min(round(ex.risky_importer_share * n), len(eligible))
    risky = np.zeros(n, dtype=bool)
    if direct_pool.size and n_risky:
        risky[rng.choice(eligible, size=n_risky, replace=False)] = True
    ports, port_w, dirs, frs, homes = [], [], [], [], []
    for i in range(n):
        home = sector[normal[rng.choice(len(normal), p=pop / pop.sum())]]
        if risky[i]:
            home = _weighted(rng, FRONT_SECTORS)
        k = min(1 + rng.poisson(a.suppliers_per_importer_mean * (1 + np.log(size[i]))), 40)
        w = pop * np.where(sector[normal] == home, 20.0, 1.0)
        chosen = rng.choice(normal, size=min(k, len(normal)), replace=False, p=w / w.sum())
        ports.append(chosen.tolist())
        port_w.append(rng.lognormal(0.0, 1.0, len(chosen)).tolist())
        homes.append(home)
        d: list[int] = []
        f: list[int] = []
        if risky[i]:
            wd = np.where(sector[direct_pool] == home, 5.0, 1.0)
            d = rng.choice(
                direct_pool,
                size=min(int(rng.integers(1, 4)), len(direct_pool)),
                replace=False,
                p=wd / wd.sum(),
            ).tolist()
            if front_pool.size:
                wf = np.where(sector[front_pool] == home, 5.0, 1.0)
                f = rng.choice(
                    front_pool,
                    size=min(int(rng.integers(1, 3)), len(front_pool)),
                    replace=False,
                    p=wf / wf.sum(),
                ).tolist()
        dirs.append(d)
        frs.append(f)
    share = np.where(risky, rng.beta(2.0, 2.0, n), 0.0)
    # Calibrate so that risky entries are the scenario's share of all entries.
    scale = ex.risky_entry_share * size.sum() / max(float((size * share).sum()), 1e-12)
    share = np.minimum(share * scale, 0.95)
    importers = pd.DataFrame(
        {
            "importer_id": [
                f"{rng.integers(10, 99)}-{rng.integers(1_000_000, 9_999_999)}00" for _ in range(n)
            ],
            "importer_name": [_importer_name(rng, h) for h in homes],
            "weight": size,
            "risky": risky,
            "risky_share": share,
            "filer": rng.integers(0, 40, n),
        }
    )
    return (
        importers,
        Ragged.build(ports, np.int64),
        np.array([x for w in port_w for x in w]),
        Ragged.build(dirs, np.int64),
        Ragged.build(frs, np.int64),
    )

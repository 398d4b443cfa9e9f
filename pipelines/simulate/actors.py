"""Actors: the simulated world of manufacturers, traders, forwarders and US importers.

``build_world`` registers every manufacturer (listed entities first, then fictional list
additions, Xinjiang producers, forwarders, front companies and ordinary makers) through the
maker registry (``makers.py``), then the importers and their portfolios (``importers.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.simulate.catalogue import catalogue
from pipelines.simulate.countries import COUNTRIES, EASTERN_CN_REGIONS
from pipelines.simulate.importers import build_importers
from pipelines.simulate.makers import (
    FRONT,
    FRONT_COUNTRIES,
    FRONT_SECTORS,
    LISTED,
    MILL,
    MILL_SECTORS,
    NORMAL,
    XINJIANG,
    XJ_SECTORS,
    MakerRegistry,
    entity_sectors,
    weighted,
)
from pipelines.simulate.names import (
    company_name,
    manifest_name,
    normalize,
    pick,
    random_city,
    street,
)
from pipelines.simulate.parties import Parties
from pipelines.simulate.ragged import Ragged
from pipelines.simulate.scenario import Scenario
from pipelines.simulate.xinjiang import XinjiangPlaces


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
    reg = MakerRegistry(rng, XinjiangPlaces.from_table(places))
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
        sector = weighted(rng, XJ_SECTORS)
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
        reg.maker(XINJIANG, "CN", [weighted(rng, XJ_SECTORS)], xinjiang=True)

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
            weighted(rng, FRONT_COUNTRIES),
            [weighted(rng, FRONT_SECTORS)],
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
        sector = weighted(rng, cat.country_sectors[iso2])
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
    importers, portfolio, weights, direct, fronts = build_importers(rng, sc, lines, makers)
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

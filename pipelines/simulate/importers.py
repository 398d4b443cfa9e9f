"""US importers: their size, their risk, their names and the suppliers they buy from.

Importer volumes are Pareto-distributed; each buys repeatedly from a small portfolio of
ordinary suppliers, mostly in one home sector. A share of them (never the largest) also buy
from listed or Xinjiang suppliers directly and through front companies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.simulate.makers import FRONT, FRONT_SECTORS, LISTED, MILL, NORMAL, XINJIANG, weighted
from pipelines.simulate.names import pick
from pipelines.simulate.ragged import Ragged
from pipelines.simulate.scenario import Scenario

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


def _importer_name(rng: np.random.Generator, home_sector: str) -> str:
    trade = US_TRADES.get(home_sector) or pick(rng, ("Imports", "Trading", "Sourcing", "Brands"))
    return f"{pick(rng, US_BRANDS)} {trade} {pick(rng, US_SUFFIX)}"


def _some(rng: np.random.Generator, pool: np.ndarray, home: np.ndarray, most: int) -> list[int]:
    """1 to ``most`` distinct members of ``pool``, five times likelier where ``home`` holds."""
    w = np.where(home, 5.0, 1.0)
    k = min(int(rng.integers(1, most + 1)), len(pool))
    return rng.choice(pool, size=k, replace=False, p=w / w.sum()).tolist()


def build_importers(
    rng: np.random.Generator, sc: Scenario, lines: int, makers: pd.DataFrame
) -> tuple[pd.DataFrame, Ragged, np.ndarray, Ragged, Ragged]:
    """Create the US importers and the suppliers each buys from.

    Args:
        rng: The simulation's generator.
        sc: Scenario.
        lines: Total lines to simulate (the importer count scales with it).
        makers: The registered makers with their ``kind``, ``sector`` and ``popularity``.

    Returns:
        ``(importers, portfolio, portfolio_w, direct, fronts)`` as in ``actors.World``.
    """
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
            home = weighted(rng, FRONT_SECTORS)
        k = min(1 + rng.poisson(a.suppliers_per_importer_mean * (1 + np.log(size[i]))), 40)
        w = pop * np.where(sector[normal] == home, 20.0, 1.0)
        chosen = rng.choice(normal, size=min(k, len(normal)), replace=False, p=w / w.sum())
        ports.append(chosen.tolist())
        port_w.append(rng.lognormal(0.0, 1.0, len(chosen)).tolist())
        homes.append(home)
        d: list[int] = []
        f: list[int] = []
        if risky[i]:
            d = _some(rng, direct_pool, sector[direct_pool] == home, 3)
            if front_pool.size:
                f = _some(rng, front_pool, sector[front_pool] == home, 2)
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

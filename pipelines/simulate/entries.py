"""Entries and their lines: dates, importer, supplier choice (with drift) and conveyance.

Everything here is per entry or per line and vectorised; the only loop is over importers
(a few thousand), to draw from each one's own portfolio.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.simulate.actors import World
from pipelines.simulate.countries import (
    COUNTRIES,
    THIRD_COUNTRY_PORTS,
    US_PORTS_AIR,
    US_PORTS_ATLANTIC,
    US_PORTS_LAND,
    US_PORTS_PACIFIC,
)
from pipelines.simulate.makers import FRONT
from pipelines.simulate.scenario import Scenario

_ATLANTIC_ORIGINS = ("DE", "IT", "TR", "IN", "PK", "BD")


def _entry_days(rng: np.random.Generator, n: int, n_days: int, growth: float) -> np.ndarray:
    # Inverse CDF of a density rising linearly by `growth` over the period (trade growth).
    u = rng.random(n)
    t = u if growth <= 0 else (np.sqrt(1 + 2 * growth * u * (1 + growth / 2)) - 1) / growth
    return np.sort(np.minimum((t * n_days).astype(np.int64), n_days - 1))


def _suppliers(
    rng: np.random.Generator,
    sc: Scenario,
    world: World,
    imp: np.ndarray,
    day: np.ndarray,
    n_days: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ex = sc.exposure
    n = len(imp)
    main = np.empty(n, dtype=np.int64)
    alt = np.empty(n, dtype=np.int64)
    risky_entry = np.zeros(n, dtype=bool)
    start_day = world.makers["start_day"].to_numpy()
    share = world.importers["risky_share"].to_numpy()
    order = np.argsort(imp, kind="stable")
    bounds = np.flatnonzero(np.diff(imp[order])) + 1
    for rows in np.split(order, bounds):
        if rows.size == 0:
            continue
        i = int(imp[rows[0]])
        o, c = world.portfolio.off[i], world.portfolio.cnt[i]
        sup, w = world.portfolio.flat[o : o + c], world.portfolio_w[o : o + c]
        pair = rng.choice(sup, size=(rows.size, 2), p=w / w.sum())
        main[rows], alt[rows] = pair[:, 0], pair[:, 1]
        if share[i] <= 0:
            continue
        risky = rng.random(rows.size) < share[i]
        d = world.direct.flat[world.direct.off[i] : world.direct.off[i] + world.direct.cnt[i]]
        f = world.fronts.flat[world.fronts.off[i] : world.fronts.off[i] + world.fronts.cnt[i]]
        t = day[rows] / max(n_days - 1, 1)
        p_front = (
            ex.transshipment_share_start
            + (ex.transshipment_share_end - ex.transshipment_share_start) * t
        )
        pick_d = d[rng.integers(0, len(d), rows.size)] if len(d) else main[rows]
        if len(f):
            active = start_day[f][None, :] <= day[rows][:, None]
            cum = np.cumsum(active, axis=1)
            k = (rng.random(rows.size) * cum[:, -1]).astype(np.int64)
            slot = (cum <= k[:, None]).sum(axis=1)
            use_f = (cum[:, -1] > 0) & (rng.random(rows.size) < p_front)
            pick = np.where(use_f, f[np.minimum(slot, len(f) - 1)], pick_d)
        else:
            pick = pick_d
        main[rows] = np.where(risky, pick, main[rows])
        risky_entry[rows] = risky
    return main, alt, risky_entry


def _lines_per_entry(rng: np.random.Generator, sc: Scenario, lines: int) -> np.ndarray:
    e = sc.entries
    est = int(lines / e.lines_per_entry_mean * 1.1) + 16
    counts = np.minimum(1 + rng.poisson(e.lines_per_entry_mean - 1, est), e.max_lines_per_entry)
    while counts.sum() < lines:  # rare: top up until there are enough lines
        counts = np.concatenate([counts, np.minimum(1 + rng.poisson(1.4, est), 15)])
    cum = np.cumsum(counts)
    n_entries = int(np.searchsorted(cum, lines) + 1)
    counts = counts[:n_entries].copy()
    counts[-1] -= int(cum[n_entries - 1] - lines)
    return counts


def _entry_ids(rng: np.random.Generator, filer: np.ndarray) -> pd.Series:
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))
    codes = np.array(["".join(rng.choice(letters, 3)) for _ in range(40)], dtype=object)
    base = rng.integers(1_000, 900_000, 40)
    serial = base[filer] + pd.Series(filer).groupby(filer).cumcount().to_numpy() * 3
    digits = pd.Series(serial).astype(str).str.zfill(7)
    check = (serial * 7 + filer * 3) % 10  # stands in for CBP's check-digit algorithm
    return pd.Series(codes[filer]) + "-" + digits + "-" + pd.Series(check).astype(str)


def build_lines(rng: np.random.Generator, sc: Scenario, world: World, lines: int) -> pd.DataFrame:
    """The skeleton of every line: entry, date, importer, supplier, shipper and conveyance.

    Args:
        rng: The simulation's generator.
        sc: Scenario.
        world: Actors and portfolios.
        lines: Number of lines.

    Returns:
        One row per line with contract columns for entry and conveyance, plus helper
        columns (``day``, ``maker``, ``product``, ``shipper_party``, ``risky_entry``).
    """
    n_days = (sc.end - sc.time.start).days + 1
    counts = _lines_per_entry(rng, sc, lines)
    n_e = len(counts)
    day = _entry_days(rng, n_e, n_days, sc.time.volume_growth)
    w = world.importers["weight"].to_numpy()
    imp = rng.choice(len(w), size=n_e, p=w / w.sum())
    main, alt, risky_entry = _suppliers(rng, sc, world, imp, day, n_days)

    mk = world.makers
    country = mk["country"].to_numpy(dtype=object)[main]
    is_front = mk["kind"].to_numpy()[main] == FRONT
    land = np.isin(country, list(US_PORTS_LAND))
    u = rng.random(n_e)
    mode = np.where(
        land,
        np.where(u < 0.75, "truck", np.where(u < 0.95, "rail", "air")),
        np.where(u < sc.entries.air_share, "air", "vessel"),
    ).astype(object)
    lading = mk["port"].to_numpy(dtype=object)[main]
    third = np.array(THIRD_COUNTRY_PORTS, dtype=object)
    alt_port = third[rng.integers(0, len(third), n_e)]
    shifted = is_front & (rng.random(n_e) < sc.exposure.third_country_lading)
    shifted &= pd.Series(alt_port).str[:2].to_numpy() != country
    lading = np.where(shifted, alt_port, lading)
    poe = np.empty(n_e, dtype=object)
    for iso2, ports in US_PORTS_LAND.items():
        sel = country == iso2
        poe[sel] = np.array(ports, dtype=object)[rng.integers(0, len(ports), sel.sum())]
    pac = np.array(US_PORTS_PACIFIC, dtype=object)[rng.integers(0, len(US_PORTS_PACIFIC), n_e)]
    atl = np.array(US_PORTS_ATLANTIC, dtype=object)[rng.integers(0, len(US_PORTS_ATLANTIC), n_e)]
    airp = np.array(US_PORTS_AIR, dtype=object)[rng.integers(0, len(US_PORTS_AIR), n_e)]
    east = np.isin(country, _ATLANTIC_ORIGINS)
    sea = np.where(rng.random(n_e) < np.where(east, 0.2, 0.75), pac, atl)
    poe = np.where(mode == "air", airp, np.where(land & (mode != "air"), poe, sea))
    use_fwd = is_front & (rng.random(n_e) < sc.exposure.forwarder_shipper)
    entry_id = _entry_ids(rng, world.importers["filer"].to_numpy()[imp]).to_numpy(dtype=object)

    e = np.repeat(np.arange(n_e), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    line_no = np.arange(lines) - first + 1
    same = (line_no == 1) | (rng.random(lines) < sc.entries.same_supplier)
    maker = np.where(same, main[e], alt[e])
    product = world.products.flat[world.products.pick(rng, maker)]
    shipper = mk["shipper"].to_numpy()[maker]
    fwd = mk["forwarder"].to_numpy()[maker]
    shipper = np.where(use_fwd[e] & (fwd >= 0), fwd, shipper)
    dates = np.datetime_as_string(np.datetime64(sc.time.start, "D") + day, unit="D")
    return pd.DataFrame(
        {
            "entry_id": entry_id[e],
            "line_no": line_no,
            "entry_date": dates.astype(object)[e],
            "country_of_origin": country_of_origin(mk, maker),
            "importer_id": world.importers["importer_id"].to_numpy(dtype=object)[imp][e],
            "importer_name": world.importers["importer_name"].to_numpy(dtype=object)[imp][e],
            "manufacturer_id": mk["mid"].to_numpy(dtype=object)[maker],
            "country_of_export": pd.Series(lading[e]).str[:2].to_numpy(dtype=object),
            "port_of_lading": lading[e],
            "port_of_entry": poe[e],
            "transport_mode": mode[e],
            "day": day[e],
            "maker": maker,
            "product": product,
            "maker_party": mk["party"].to_numpy()[maker],
            "shipper_party": shipper,
            "risky_entry": risky_entry[e],
        }
    )


def country_of_origin(makers: pd.DataFrame, maker: np.ndarray) -> np.ndarray:
    """Declared origin: the maker's country (a front declares its own, not the real one)."""
    country = makers["country"].to_numpy(dtype=object)[maker]
    known = np.isin(country, list(COUNTRIES))
    return np.where(known, country, "CN")

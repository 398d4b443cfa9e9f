"""The product catalogue: products, sectors and each country's sector mix, read from data.

The catalogue is two TOML files beside this module: ``products.toml`` (one ``[[product]]``
block per 10-digit HTSUS code: sector, units, market value, weight, typical quantity,
manifest descriptions, ILAB origins) and ``sectors.toml`` (each sector's UFLPA priority flag
and company-name words, and the sector mix of each country's ordinary manufacturers).

Why TOML and not CSV. The people who should review and extend this catalogue are trade and
forced-labour analysts, not programmers. A product carries three lists (descriptions, ILAB
origins, the few origins that make it at all), one of them optional; in a CSV those become
delimiter conventions inside cells (``BD CN IN``, ``A|B|C``), columns are positional and a
missing value is an empty cell one miscount away from the wrong column. In TOML every value
is labelled (``unit_value = 30``), lists are lists, an optional key is simply absent, and
comments can carry the source of a figure (the ILAB 2022 list is quoted at the top of
``products.toml``). The country-by-sector weights are a sparse table whose key order is the
order of the draw: TOML keeps both the sparsity and the order, a CSV matrix would keep
neither. The scenario is TOML too (``scenario.toml``), so the simulator has one input format.

Both files are parsed and checked on first use (``catalogue()``), never at import time;
a bad value is refused with a :class:`CatalogueError` naming the product or sector.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from models.errors import UserError
from pipelines.simulate.countries import COUNTRIES

_HTS = re.compile(r"\d{4}\.\d{2}\.\d{4}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_UNIT = re.compile(r"[A-Z0-9]+")
_PRODUCT_KEYS = (
    "sector",
    "hts",
    "unit",
    "unit_value",
    "kg_per_unit",
    "quantity",
    "descriptions",
)
_PRODUCT_OPTIONAL = ("ilab_origins", "origins")
_SECTOR_KEYS = ("industry_words",)
_SECTOR_OPTIONAL = ("priority",)


class CatalogueError(UserError, ValueError):
    """A catalogue file is malformed: unknown or missing key, wrong type or bad value."""


@dataclass(frozen=True)
class Product:
    """One catalogue product (one 10-digit HTSUS code, so one HS6)."""

    sector: str
    hts: str  # dotted 10-digit
    unit: str
    unit_value: float  # market median, USD per unit of quantity
    kg_per_unit: float
    quantity: float  # median quantity per line
    descriptions: tuple[str, ...]
    ilab_origins: frozenset[str]  # origins on the ILAB forced-labour list for this good
    origins: frozenset[str] | None = None  # None: any country making the sector


@dataclass(frozen=True)
class Sector:
    """One sector: whether UFLPA enforcement prioritises it, and words for company names."""

    name: str
    priority: bool
    industry_words: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Catalogue:
    """Every product, every sector, and the sectors each country's manufacturers work in.

    A product's index in ``products`` is the product code used throughout the simulation.
    """

    products: tuple[Product, ...]
    sectors: Mapping[str, Sector]
    country_sectors: Mapping[str, Mapping[str, float]]  # key order is the order of the draw

    def sector_products(self, sector: str, country: str) -> np.ndarray:
        """Indices of the products a maker of ``sector`` in ``country`` may ship."""
        return np.array(
            [
                i
                for i, p in enumerate(self.products)
                if p.sector == sector and (p.origins is None or country in p.origins)
            ],
            dtype=np.int64,
        )

    def priority_products(self) -> np.ndarray:
        """Whether each product belongs to a UFLPA priority sector, by product index."""
        return np.array([self.sectors[p.sector].priority for p in self.products])


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The catalogue of ``products.toml`` and ``sectors.toml``, parsed and checked once."""
    here = resources.files("pipelines.simulate")
    return parse_catalogue(
        (here / "products.toml").read_text(encoding="utf-8"),
        (here / "sectors.toml").read_text(encoding="utf-8"),
    )


def parse_catalogue(products_text: str, sectors_text: str) -> Catalogue:
    """Build the typed catalogue from the text of the two TOML files.

    Args:
        products_text: Content of ``products.toml``.
        sectors_text: Content of ``sectors.toml``.

    Returns:
        The checked catalogue.

    Raises:
        CatalogueError: Invalid TOML, unknown or missing key, wrong type or bad value, a
            product or country mix naming an undefined sector, a sector without products, a
            country without an address profile, or a repeated HTS code.
    """
    raw_products = _toml(products_text, "products.toml")
    raw_sectors = _toml(sectors_text, "sectors.toml")
    _keys(raw_products, ("product",), (), "products.toml")
    _keys(raw_sectors, ("sector", "country_sectors"), (), "sectors.toml")
    sectors = {
        name: _sector(name, body, f"sectors.toml [sector.{name}]")
        for name, body in _table(raw_sectors["sector"], "sectors.toml [sector]").items()
    }
    blocks = raw_products["product"]
    if not isinstance(blocks, list) or not blocks:
        raise CatalogueError("products.toml: at least one [[product]] block is needed")
    products = tuple(
        _product(body, f"products.toml product {i + 1}") for i, body in enumerate(blocks)
    )
    mixes = {
        iso2: _mix(body, f"sectors.toml [country_sectors.{iso2}]")
        for iso2, body in _table(raw_sectors["country_sectors"], "sectors.toml").items()
    }
    _cross_check(products, sectors, mixes)
    return Catalogue(products, sectors, mixes)


def _toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{where}: {exc}") from exc


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise CatalogueError(f"{where} must be a non-empty table")
    return value


def _keys(raw: object, required: tuple[str, ...], optional: tuple[str, ...], where: str) -> None:
    body = _table(raw, where)
    unknown = sorted(set(body) - {*required, *optional})
    missing = [k for k in required if k not in body]
    if unknown:
        raise CatalogueError(f"{where}: unknown key(s) {unknown}")
    if missing:
        raise CatalogueError(f"{where}: missing key(s) {missing}")


def _positive(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise CatalogueError(f"{where} must be a positive number, not {value!r}")
    return float(value)


def _checked_text(value: object, pattern: re.Pattern[str] | None, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogueError(f"{where} must be a non-empty string, not {value!r}")
    if pattern is not None and not pattern.fullmatch(value):
        raise CatalogueError(f"{where}: {value!r} does not match {pattern.pattern}")
    return value


def _texts(value: object, pattern: re.Pattern[str] | None, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise CatalogueError(f"{where} must be a non-empty list")
    return tuple(_checked_text(v, pattern, where) for v in value)


def _product(body: object, where: str) -> Product:
    _keys(body, _PRODUCT_KEYS, _PRODUCT_OPTIONAL, where)
    assert isinstance(body, dict)  # checked by _keys
    hts = _checked_text(body["hts"], _HTS, f"{where} hts")
    where = f"{where} ({hts})"
    origins = body.get("origins")
    return Product(
        sector=_checked_text(body["sector"], None, f"{where} sector"),
        hts=hts,
        unit=_checked_text(body["unit"], _UNIT, f"{where} unit"),
        unit_value=_positive(body["unit_value"], f"{where} unit_value"),
        kg_per_unit=_positive(body["kg_per_unit"], f"{where} kg_per_unit"),
        quantity=_positive(body["quantity"], f"{where} quantity"),
        descriptions=_texts(body["descriptions"], None, f"{where} descriptions"),
        ilab_origins=frozenset(
            _texts(body["ilab_origins"], _COUNTRY, f"{where} ilab_origins")
            if "ilab_origins" in body
            else ()
        ),
        origins=None
        if origins is None
        else frozenset(_texts(origins, _COUNTRY, f"{where} origins")),
    )


def _sector(name: str, body: object, where: str) -> Sector:
    _keys(body, _SECTOR_KEYS, _SECTOR_OPTIONAL, where)
    assert isinstance(body, dict)  # checked by _keys
    priority = body.get("priority", False)
    if not isinstance(priority, bool):
        raise CatalogueError(f"{where} priority must be true or false")
    return Sector(name, priority, _texts(body["industry_words"], None, f"{where} industry_words"))


def _mix(body: object, where: str) -> dict[str, float]:
    return {str(k): _positive(v, f"{where} {k}") for k, v in _table(body, where).items()}


def _cross_check(
    products: tuple[Product, ...],
    sectors: Mapping[str, Sector],
    mixes: Mapping[str, Mapping[str, float]],
) -> None:
    for i, p in enumerate(products):
        if p.sector not in sectors:
            raise CatalogueError(f"products.toml product {i + 1} ({p.hts}): no sector {p.sector!r}")
    seen: set[str] = set()
    for p in products:
        if p.hts in seen:
            raise CatalogueError(f"products.toml: HTS code {p.hts} appears twice")
        seen.add(p.hts)
    empty = sorted(set(sectors) - {p.sector for p in products})
    if empty:
        raise CatalogueError(f"sectors.toml: sector(s) without products {empty}")
    for iso2, mix in mixes.items():
        if iso2 not in COUNTRIES:
            raise CatalogueError(f"sectors.toml [country_sectors.{iso2}]: no country profile")
        unknown = sorted(set(mix) - set(sectors))
        if unknown:
            raise CatalogueError(f"sectors.toml [country_sectors.{iso2}]: no sector {unknown}")

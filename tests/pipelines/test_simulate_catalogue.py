"""The simulator's product catalogue: the data files load into valid, consistent records."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import pytest

from models.reference.hs import hs_exists
from pipelines.simulate.catalogue import CatalogueError, catalogue, parse_catalogue
from pipelines.simulate.countries import COUNTRIES
from pipelines.simulate.importers import US_TRADES
from pipelines.simulate.makers import (
    _ENTITY_SECTOR_WORDS,
    FRONT_SECTORS,
    MILL_SECTORS,
    XJ_SECTORS,
    entity_sectors,
)
from pipelines.simulate.scenario import load_scenario

_FIRST_DESCRIPTIONS = """descriptions = [
    "MENS KNIT COTTON T-SHIRTS",
    "MEN'S 100% COTTON KNITTED T-SHIRT",
    "T-SHIRTS COTTON KNIT MENS",
]"""


def _texts() -> tuple[str, str]:
    here = resources.files("pipelines.simulate")
    return (
        (here / "products.toml").read_text(encoding="utf-8"),
        (here / "sectors.toml").read_text(encoding="utf-8"),
    )


def test_products_are_real_codes_with_positive_figures() -> None:
    products = catalogue().products
    assert len(products) >= 60
    assert len({p.hts for p in products}) == len(products)
    for p in products:
        digits = p.hts.replace(".", "")
        assert len(digits) == 10 and digits.isdigit(), p.hts
        assert hs_exists(digits[:6]), f"{p.hts}: {digits[:6]} is not an HS 2022 subheading"
        assert p.unit_value > 0 and p.kg_per_unit > 0 and p.quantity > 0, p.hts
        assert p.descriptions and all(d.strip() for d in p.descriptions), p.hts
        assert all(len(c) == 2 and c.isupper() for c in p.ilab_origins), p.hts
        assert p.origins is None or (p.origins and all(c in COUNTRIES for c in p.origins))


def test_sectors_and_country_mixes_are_consistent() -> None:
    cat = catalogue()
    assert {p.sector for p in cat.products} == set(cat.sectors)
    assert all(s.industry_words for s in cat.sectors.values())
    assert {"cotton", "polysilicon", "tomato"} <= {
        s.name for s in cat.sectors.values() if s.priority
    }
    # Every country the default scenario draws makers from has a sector mix, and every sector
    # of a mix has a product its makers can ship (from there, or the CN fallback).
    assert set(load_scenario().actors.country_shares) <= set(cat.country_sectors)
    for iso2, mix in cat.country_sectors.items():
        assert all(w > 0 for w in mix.values()), iso2
        for sector in mix:
            assert len(cat.sector_products(sector, iso2)) or len(cat.sector_products(sector, "CN"))


def test_sectors_named_in_code_exist_in_the_catalogue() -> None:
    named = {
        *MILL_SECTORS,
        *XJ_SECTORS,
        *FRONT_SECTORS,
        *US_TRADES,
        *(s for _, s in _ENTITY_SECTOR_WORDS),
        *entity_sectors("no sector word here"),
    }
    assert named <= set(catalogue().sectors)


def test_priority_products_follow_their_sector() -> None:
    cat = catalogue()
    flags = cat.priority_products()
    assert flags.dtype == bool and len(flags) == len(cat.products)
    assert [bool(f) for f in flags] == [cat.sectors[p.sector].priority for p in cat.products]
    assert flags.any() and not flags.all()


def test_the_shipped_files_parse_to_the_cached_catalogue() -> None:
    fresh = parse_catalogue(*_texts())
    cached = catalogue()
    assert fresh.products == cached.products
    assert dict(fresh.sectors) == dict(cached.sectors)
    assert {k: list(v.items()) for k, v in fresh.country_sectors.items()} == {
        k: list(v.items()) for k, v in cached.country_sectors.items()
    }


@pytest.mark.parametrize(
    ("products_edit", "sectors_edit", "message"),
    [
        (("unit_value = 30\n", "unit_value = -30\n"), None, "unit_value must be a positive"),
        (("unit_value = 30\n", "unit_value = true\n"), None, "unit_value must be a positive"),
        (("quantity = 800\n", "qty = 800\n"), None, r"unknown key\(s\) \['qty'\]"),
        (('hts = "6109.10.0012"', 'hts = "610910.0012"'), None, "does not match"),
        (('hts = "6110.20.2079"', 'hts = "6109.10.0012"'), None, "appears twice"),
        (('sector = "apparel"', 'sector = "apparell"'), None, "no sector 'apparell'"),
        (('ilab_origins = ["BD", "CN"', 'ilab_origins = ["Bd", "CN"'), None, "does not match"),
        ((_FIRST_DESCRIPTIONS, "descriptions = []"), None, "descriptions must be a non-empty"),
        (("unit_value = 30\n", "unit_value =\n"), None, "products.toml: Invalid value"),
        (None, ("[country_sectors.SG]", "[country_sectors.XX]"), "no country profile"),
        (None, ("[country_sectors.SG]\n", "[country_sectors.SG]\nsteal = 1\n"), "no sector"),
        (None, ("[sector.bricks]\n", "[sector.bricks]\npriority = 1\n"), "true or false"),
        (
            None,
            ("[sector.apparel]\n", "[sector.unused]\nindustry_words = ['X']\n\n[sector.apparel]\n"),
            "without products",
        ),
    ],
)
def test_bad_catalogues_are_refused(
    products_edit: tuple[str, str] | None, sectors_edit: tuple[str, str] | None, message: str
) -> None:
    products, sectors = _texts()
    if products_edit:
        assert products_edit[0] in products
        products = products.replace(products_edit[0], products_edit[1], 1)
    if sectors_edit:
        assert sectors_edit[0] in sectors
        sectors = sectors.replace(sectors_edit[0], sectors_edit[1], 1)
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(products, sectors)


def test_nothing_is_read_at_import_time() -> None:
    code = (
        "import pipelines.simulate.pipeline\n"
        "from pipelines.simulate.catalogue import catalogue\n"
        "print(catalogue.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"

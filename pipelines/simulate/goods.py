"""Goods: the per-line HTS code, description, units, weight and value of catalogue products.

Unit values are log-normal around a market median per product (one 10-digit code, so one
HS6); mechanisms scale the median through ``price_factor`` (forced labour undercuts prices).
The products themselves are data (``catalogue.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.simulate.catalogue import catalogue
from pipelines.simulate.ragged import Ragged


def line_goods(
    rng: np.random.Generator,
    product: np.ndarray,
    price_factor: np.ndarray,
    dotted_share: float,
) -> pd.DataFrame:
    """HTS code, description, quantity, unit, weight and value of each line.

    Args:
        rng: The simulation's generator.
        product: Catalogue index per line.
        price_factor: Multiplier of the market unit value per line (1 = market price).
        dotted_share: Share of codes written with dots (``6109.10.0012``).

    Returns:
        One row per line with the goods columns of the contract.
    """
    products = catalogue().products
    n = len(product)
    dotted = np.array([p.hts for p in products], dtype=object)
    plain = np.array([p.hts.replace(".", "") for p in products], dtype=object)
    hts = np.where(rng.random(n) < dotted_share, dotted[product], plain[product])
    descriptions = Ragged.build([p.descriptions for p in products])
    desc = descriptions.flat[descriptions.pick(rng, product)]
    unit = np.array([p.unit for p in products], dtype=object)[product]
    qty = np.array([p.quantity for p in products])[product] * rng.lognormal(0.0, 0.8, n)
    counted = unit != "KG"
    qty = np.where(counted, np.maximum(np.round(qty), 1.0), np.round(np.maximum(qty, 1.0), 1))
    kg_per_unit = np.array([p.kg_per_unit for p in products])[product]
    weight = np.round(qty * kg_per_unit * rng.lognormal(0.0, 0.12, n), 1)
    # Sigma 0.35: the spread of unit values within one HS6 seen in trade statistics.
    unit_value = np.array([p.unit_value for p in products])[product]
    value = qty * unit_value * price_factor * rng.lognormal(0.0, 0.35, n)
    return pd.DataFrame(
        {
            "hts_code": hts,
            "goods_description": desc,
            "quantity": qty,
            "quantity_unit": unit,
            "gross_weight_kg": np.maximum(weight, 0.1),
            "declared_value_usd": np.round(value, 2),
        }
    )

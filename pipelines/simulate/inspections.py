"""Inspections and labels: legacy rules, a random sample, tips and imperfect detection.

Labels exist only where a line was inspected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.simulate.catalogue import catalogue
from pipelines.simulate.exposure import MECHANISM_NAMES
from pipelines.simulate.scenario import Scenario

REASONS = ("", "random", "targeted", "tip")


def inspect(
    rng: np.random.Generator,
    sc: Scenario,
    lines: pd.DataFrame,
    mechanism: np.ndarray,
    violation: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Who is inspected, why, and what the inspection finds.

    Args:
        rng: The simulation's generator.
        sc: Scenario.
        lines: Lines with ``day``, ``product``, ``country_of_origin`` and the rule inputs
            ``list_day`` (day from which the declared name matches the list) and
            ``xinjiang_address`` (the declared address contains "XINJIANG").
        mechanism: Mechanism code per line.
        violation: True violation per line.

    Returns:
        ``(reason, found)``: reason code per line (index into ``REASONS``; 0 = not
        inspected) and whether the inspection found a violation.
    """
    ins = sc.inspections
    n = len(lines)
    priority = catalogue().priority_products()[lines["product"]]
    list_hit = lines["day"].to_numpy() >= lines["list_day"].to_numpy()
    cn_hit = priority & (lines["country_of_origin"].to_numpy() == "CN")
    miss = (
        (1 - ins.list_exact_match * list_hit)
        * (1 - ins.xinjiang_in_address * lines["xinjiang_address"].to_numpy())
        * (1 - ins.cn_high_risk_goods * cn_hit)
        * (1 - ins.other_targeting)
    )
    # The random sample is drawn first and independently of everything: it stays unbiased.
    rand = rng.random(n) < ins.random_share
    targeted = ~rand & (rng.random(n) < 1 - miss)
    tip_p = np.where(violation, ins.tip_given_violation, ins.false_tip_rate)
    tip = ~rand & ~targeted & (rng.random(n) < tip_p)
    reason = np.select([rand, targeted, tip], [1, 2, 3], 0)
    det = sc.inspections.detection
    p_find = np.array([0.0] + [det[m] for m in MECHANISM_NAMES[1:]])[mechanism]
    found = (reason > 0) & violation & (rng.random(n) < p_find)
    return reason, found

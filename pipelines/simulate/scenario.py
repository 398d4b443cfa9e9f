"""The scenario: every rate, share and drift parameter of the simulated world, typed.

The default lives in ``scenario.toml`` beside this module; a user's file is merged over it
key by key, so a what-if file only names what it changes. Unknown keys are refused.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from models.errors import UserError

MECHANISMS = (
    "listed_entity",
    "xinjiang_direct",
    "xinjiang_inputs",
    "transshipment",
    "ilab_goods",
)
DEFECT_KINDS = (
    "missing_required",
    "hts_letters",
    "hts_short",
    "negative_weight",
    "bad_date",
    "bad_country",
    "violation_uninspected",
    "violation_value",
)


class ScenarioError(UserError, ValueError):
    """The scenario file is malformed: unknown key, wrong type or value out of range."""

    hint = (
        "pipelines/simulate/scenario.toml is the default scenario with every key; "
        "a --scenario file overrides only the keys it names (docs/simulator.md)."
    )


@dataclass(frozen=True)
class TimeConfig:
    """Simulated calendar."""

    start: dt.date
    months: int
    score_months: int
    volume_growth: float


@dataclass(frozen=True)
class ActorsConfig:
    """How many actors of each kind, and how trade concentrates among them."""

    lines_per_manufacturer: int
    min_manufacturers: int
    max_manufacturers: int
    lines_per_importer: int
    min_importers: int
    max_importers: int
    importer_size_alpha: float
    supplier_popularity_sigma: float
    suppliers_per_importer_mean: float
    trader_shipper_share: float
    country_shares: dict[str, float]


@dataclass(frozen=True)
class EntriesConfig:
    """Shape of entries and their lines."""

    lines_per_entry_mean: float
    max_lines_per_entry: int
    same_supplier: float
    air_share: float
    dotted_hts_share: float


@dataclass(frozen=True)
class ExposureConfig:
    """Forced-labour mechanisms, their drift and the hidden truth."""

    xinjiang_producers: int
    front_companies: int
    forwarders: int
    mill_share: float
    risky_importer_share: float
    risky_entry_share: float
    transshipment_share_start: float
    transshipment_share_end: float
    front_start_spread_months: int
    ensure_list_additions: int
    third_country_lading: float
    forwarder_shipper: float
    hint_share: float
    listed_exact_name: float
    region_named: float
    region_variant: float
    violation_prob: dict[str, float]
    price_factor: dict[str, float]


@dataclass(frozen=True)
class InspectionsConfig:
    """Legacy targeting, random sample, tips and detection."""

    random_share: float
    list_exact_match: float
    xinjiang_in_address: float
    cn_high_risk_goods: float
    other_targeting: float
    tip_given_violation: float
    false_tip_rate: float
    detection: dict[str, float]


@dataclass(frozen=True)
class TipsConfig:
    """Allegations (``tips.csv``): whom they name, who sends them, how triage ends."""

    violator_share: float
    violator_rate: float
    false_per_true: float
    corroborated_true: float
    dismissed_true: float
    corroborated_false: float
    dismissed_false: float
    triage_days: int
    importer_share: float
    duplicate_share: float
    party_id_share: float
    follow_up: float
    sources: dict[str, float]


@dataclass(frozen=True)
class DefectsConfig:
    """Relative frequency of each injected defect kind."""

    kinds: dict[str, float]


@dataclass(frozen=True)
class Scenario:
    """The whole scenario."""

    time: TimeConfig
    actors: ActorsConfig
    entries: EntriesConfig
    exposure: ExposureConfig
    inspections: InspectionsConfig
    tips: TipsConfig
    defects: DefectsConfig

    @property
    def end(self) -> dt.date:
        """Last simulated day (inclusive)."""
        return _add_months(self.time.start, self.time.months) - dt.timedelta(days=1)

    @property
    def score_start(self) -> dt.date:
        """First day of the score period."""
        return _add_months(self.time.start, self.time.months - self.time.score_months)


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, m + 1, 1)


def default_scenario_text() -> str:
    """Text of the built-in default scenario (comments included)."""
    return (resources.files("pipelines.simulate") / "scenario.toml").read_text(encoding="utf-8")


def _merge(base: dict[str, Any], over: dict[str, Any], where: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key not in base:
            raise ScenarioError(f"unknown scenario key {where}{key}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ScenarioError(f"{where}{key} must be a table")
            # Open tables (country shares) accept new keys; the others are checked below.
            out[key] = (
                {**base[key], **value}
                if key == "country_shares"
                else _merge(base[key], value, f"{where}{key}.")
            )
        else:
            out[key] = value
    return out


_UNIT_KEYS = {
    "trader_shipper_share",
    "same_supplier",
    "air_share",
    "dotted_hts_share",
    "mill_share",
    "risky_importer_share",
    "risky_entry_share",
    "transshipment_share_start",
    "transshipment_share_end",
    "third_country_lading",
    "forwarder_shipper",
    "hint_share",
    "listed_exact_name",
    "region_named",
    "region_variant",
    "random_share",
    "list_exact_match",
    "xinjiang_in_address",
    "cn_high_risk_goods",
    "other_targeting",
    "tip_given_violation",
    "false_tip_rate",
    "violator_share",
    "violator_rate",
    "corroborated_true",
    "dismissed_true",
    "corroborated_false",
    "dismissed_false",
    "importer_share",
    "duplicate_share",
    "party_id_share",
    "follow_up",
}


def _build(cls: type, raw: dict[str, Any], where: str) -> Any:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        value = raw[f.name]
        name = f"{where}{f.name}"
        if f.type == "dt.date":
            if isinstance(value, str):
                value = dt.date.fromisoformat(value)
            if not isinstance(value, dt.date):
                raise ScenarioError(f"{name} must be a date")
        elif f.type == "int":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ScenarioError(f"{name} must be a non-negative integer")
        elif f.type == "float":
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ScenarioError(f"{name} must be a non-negative number")
            value = float(value)
            if f.name in _UNIT_KEYS and value > 1:
                raise ScenarioError(f"{name} is a share and must be in [0, 1]")
        elif f.type == "dict[str, float]":
            if any(not isinstance(v, int | float) or v < 0 for v in value.values()):
                raise ScenarioError(f"{name} values must be non-negative numbers")
            value = {str(k): float(v) for k, v in value.items()}
        kwargs[f.name] = value
    return cls(**kwargs)


def load_scenario(path: Path | None = None) -> Scenario:
    """Load the default scenario, merged with ``path`` if given, and validate it.

    Args:
        path: A TOML file overriding some keys of the default scenario.

    Returns:
        The typed, validated scenario.

    Raises:
        ScenarioError: Unknown key, wrong type or value out of range.
    """
    raw = tomllib.loads(default_scenario_text())
    if path is not None:
        try:
            raw = _merge(raw, tomllib.loads(Path(path).read_text(encoding="utf-8")), "")
        except OSError as exc:
            raise ScenarioError(f"cannot read the scenario {path}: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path}: {exc}") from exc
    sc = Scenario(
        time=_build(TimeConfig, raw["time"], "time."),
        actors=_build(ActorsConfig, raw["actors"], "actors."),
        entries=_build(EntriesConfig, raw["entries"], "entries."),
        exposure=_build(ExposureConfig, raw["exposure"], "exposure."),
        inspections=_build(InspectionsConfig, raw["inspections"], "inspections."),
        tips=_build(TipsConfig, raw["tips"], "tips."),
        defects=_build(DefectsConfig, raw["defects"], "defects."),
    )
    _check(sc)
    return sc


def _check(sc: Scenario) -> None:
    from pipelines.simulate.countries import COUNTRIES

    if sc.time.months < 18:
        raise ScenarioError("time.months must be at least 18")
    if not 1 <= sc.time.score_months < sc.time.months:
        raise ScenarioError("time.score_months must be in [1, months)")
    unknown = set(sc.actors.country_shares) - set(COUNTRIES)
    if unknown:
        raise ScenarioError(f"actors.country_shares: no profile for {sorted(unknown)}")
    if sum(sc.actors.country_shares.values()) <= 0:
        raise ScenarioError("actors.country_shares must not all be zero")
    if sc.exposure.region_named + sc.exposure.region_variant > 1:
        raise ScenarioError("exposure.region_named + region_variant must be <= 1")
    for table, keys in (
        ("exposure.violation_prob", (*MECHANISMS, "background")),
        ("exposure.price_factor", MECHANISMS),
        ("inspections.detection", (*MECHANISMS, "undisclosed")),
    ):
        section, name = table.split(".")
        values = getattr(getattr(sc, section), name)
        missing = set(keys) - set(values)
        if missing:
            raise ScenarioError(f"{table}: missing {sorted(missing)}")
        if name != "price_factor" and any(v > 1 for v in values.values()):
            raise ScenarioError(f"{table}: probabilities must be in [0, 1]")
    if sc.tips.corroborated_true + sc.tips.dismissed_true > 1:
        raise ScenarioError("tips.corroborated_true + dismissed_true must be <= 1")
    if sc.tips.corroborated_false + sc.tips.dismissed_false > 1:
        raise ScenarioError("tips.corroborated_false + dismissed_false must be <= 1")
    if set(sc.tips.sources) != {"ngo", "public", "partner_agency", "anonymous"}:
        raise ScenarioError("tips.sources: give ngo, public, partner_agency and anonymous")
    if sum(sc.tips.sources.values()) <= 0:
        raise ScenarioError("tips.sources must not all be zero")
    if set(sc.defects.kinds) - set(DEFECT_KINDS):
        raise ScenarioError(f"defects.kinds: known kinds are {DEFECT_KINDS}")
    if sum(sc.defects.kinds.values()) <= 0:
        raise ScenarioError("defects.kinds must not all be zero")

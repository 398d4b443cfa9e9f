"""Training parameters: the packaged ``train.toml``, optionally overridden by a user file.

The TOML is loaded into frozen dataclasses, one per table. A user's file is merged into the
defaults table by table, key by key; a table or key the defaults do not have is refused with
an error naming it (a typo would otherwise be ignored silently). ``[lightgbm]`` and
``[lightgbm_targeted]`` take any LightGBM parameter (by its name or one of its aliases).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from lightgbm.basic import _ConfigAliases

from models.errors import UserError

T = TypeVar("T")

STRATEGIES = ("inspected", "ipw", "pu")
SELECTION_METRICS = ("pr_auc", "precision_at_5")
# Keys of [lightgbm] read by the training loop itself, never passed to LightGBM as parameters.
LOOP_KEYS = ("num_boost_round", "early_stopping_rounds", "monotone_increasing")


class ConfigError(UserError, ValueError):
    """A training configuration that cannot be used (unknown key, wrong type or value)."""

    hint = (
        "pipelines/config/train.toml holds every key with its default and meaning; "
        "a --config file overrides only the keys it names."
    )


def default_config_path() -> Path:
    """The packaged default parameters."""
    return Path(str(resources.files("pipelines") / "config" / "train.toml"))


def _value(table: Mapping[str, Any], name: str, key: str, convert: Callable[[Any], T]) -> T:
    """``table[key]`` converted, or a ConfigError naming ``[name] key``."""
    if key not in table:
        raise ConfigError(f"training configuration: [{name}] has no `{key}`")
    try:
        return convert(table[key])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"training configuration: [{name}] `{key}`: {exc}") from exc


def _boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"expected true or false, got {v!r}")
    return v


def _strings(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        raise TypeError(f"expected a list of strings, got {v!r}")
    return tuple(v)


def _floats(v: Any) -> tuple[float, ...]:
    if not isinstance(v, list):
        raise TypeError(f"expected a list of numbers, got {v!r}")
    return tuple(float(x) for x in v)


# How a TOML value becomes each field type of the configuration's dataclasses.
CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    int: int,
    float: float,
    str: str,
    bool: _boolean,
    tuple[str, ...]: _strings,
    tuple[float, ...]: _floats,
}


def _checked(
    convert: Callable[[Any], Any], choices: tuple[str, ...] | None
) -> Callable[[Any], Any]:
    if choices is None:
        return convert

    def check(v: Any) -> Any:
        out = convert(v)
        values = out if isinstance(out, tuple) else (out,)
        if not values or any(x not in choices for x in values):
            raise ValueError(f"expected {list(choices)} (or a list of them), got {v!r}")
        return out

    return check


def _section(cls: Any, tables: Mapping[str, Mapping[str, Any]], name: str) -> Any:
    """The dataclass ``cls`` from table ``[name]``, each value converted to its field's type."""
    hints = get_type_hints(cls)
    return cls(
        **{
            f.name: _value(
                tables[name],
                name,
                f.name,
                _checked(CONVERTERS[hints[f.name]], f.metadata.get("choices")),
            )
            for f in fields(cls)
        }
    )


def _table(section: Any) -> dict[str, Any]:
    """A configuration dataclass back to its TOML table (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(section).items()}


@cache
def lightgbm_parameter_names() -> frozenset[str]:
    """Every LightGBM parameter name and alias (as LightGBM itself lists them)."""
    aliases = _ConfigAliases._get_all_param_aliases()
    return frozenset(aliases) | frozenset(a for names in aliases.values() for a in names)


def _check_lightgbm_keys(name: str, table: Mapping[str, Any]) -> None:
    known = lightgbm_parameter_names() | set(LOOP_KEYS)
    for key in table:
        if key not in known:
            raise ConfigError(
                f"training configuration: unknown key `{key}` in [{name}] "
                "(not a LightGBM parameter)"
            )


@dataclass(frozen=True)
class SplitConfig:
    """``[split]``: months held out for test and validation (the latest months)."""

    test_months: int
    valid_months: int


@dataclass(frozen=True)
class LearningConfig:
    """``[learning]``: strategies for selection-biased labels and how one is chosen."""

    strategies: tuple[str, ...] = field(metadata={"choices": STRATEGIES})
    pu_unlabelled_weight: float
    pu_unlabelled_sample: float
    propensity_floor: float
    selection_metric: str = field(metadata={"choices": SELECTION_METRICS})
    refit_on_all: bool


@dataclass(frozen=True)
class LightGBMConfig:
    """``[lightgbm]``: LightGBM parameters, plus the keys the training loop reads.

    Attributes:
        params: The parameters given to LightGBM, in the file's order.
        num_boost_round: Most boosting rounds (early stopping may end sooner).
        early_stopping_rounds: Rounds without improvement on the validation window.
        monotone_increasing: Features that may only raise the score.
    """

    params: Mapping[str, Any] = field(hash=False)
    num_boost_round: int
    early_stopping_rounds: int
    monotone_increasing: tuple[str, ...]

    @property
    def seed(self) -> int:
        """The ``seed`` parameter: also seeds every sampling draw of a training run."""
        return int(self.params["seed"])

    @classmethod
    def from_table(cls, table: Mapping[str, Any], name: str = "lightgbm") -> LightGBMConfig:
        """From a ``[lightgbm]``-shaped table (checked: LightGBM parameters only)."""
        _check_lightgbm_keys(name, table)
        return cls(
            params={k: v for k, v in table.items() if k not in LOOP_KEYS},
            num_boost_round=_value(table, name, "num_boost_round", int),
            early_stopping_rounds=_value(table, name, "early_stopping_rounds", int),
            monotone_increasing=_value(table, name, "monotone_increasing", _strings),
        )

    def table(self) -> dict[str, Any]:
        """Back to a ``[lightgbm]`` table."""
        return {
            **self.params,
            "num_boost_round": self.num_boost_round,
            "early_stopping_rounds": self.early_stopping_rounds,
            "monotone_increasing": list(self.monotone_increasing),
        }

    def overridden(self, overrides: Mapping[str, Any], name: str) -> LightGBMConfig:
        """This configuration with ``overrides``' keys taking precedence."""
        return LightGBMConfig.from_table({**self.table(), **overrides}, name)


@dataclass(frozen=True)
class BandsConfig:
    """``[bands]``: shares of recent lines flagged ``high`` and ``high`` + ``elevated``."""

    high_share: float
    elevated_share: float


@dataclass(frozen=True)
class EvaluationConfig:
    """``[evaluation]``: capacities (shares of all lines) and the bootstrap."""

    capacities: tuple[float, ...]
    bootstrap: int
    seed: int


@dataclass(frozen=True)
class PromotionConfig:
    """``[promotion]``: the gate a candidate must pass to take an alias."""

    metric: str
    min_gain: float


@dataclass(frozen=True)
class TrainConfig:
    """The whole training configuration (``pipelines/config/train.toml``)."""

    split: SplitConfig
    learning: LearningConfig
    lightgbm: LightGBMConfig
    # Keys added to [lightgbm] when labels come from targeted inspections.
    lightgbm_targeted: Mapping[str, Any] = field(hash=False)
    bands: BandsConfig
    evaluation: EvaluationConfig
    promotion: PromotionConfig

    @classmethod
    def from_tables(cls, t: Mapping[str, Mapping[str, Any]]) -> TrainConfig:
        """From parsed TOML tables (the defaults merged with a user's file)."""
        _check_lightgbm_keys("lightgbm_targeted", t["lightgbm_targeted"])
        return cls(
            split=_section(SplitConfig, t, "split"),
            learning=_section(LearningConfig, t, "learning"),
            lightgbm=LightGBMConfig.from_table(t["lightgbm"]),
            lightgbm_targeted=dict(t["lightgbm_targeted"]),
            bands=_section(BandsConfig, t, "bands"),
            evaluation=_section(EvaluationConfig, t, "evaluation"),
            promotion=_section(PromotionConfig, t, "promotion"),
        )

    def tables(self) -> dict[str, dict[str, Any]]:
        """Back to TOML-shaped tables (what a run logs as its parameters)."""
        return {
            "split": _table(self.split),
            "learning": _table(self.learning),
            "lightgbm": self.lightgbm.table(),
            "lightgbm_targeted": dict(self.lightgbm_targeted),
            "bands": _table(self.bands),
            "evaluation": _table(self.evaluation),
            "promotion": _table(self.promotion),
        }

    def updated(self, overrides: Mapping[str, Mapping[str, Any]]) -> TrainConfig:
        """A copy with ``overrides`` merged in, checked like a user's file."""
        return TrainConfig.from_tables(merge_tables(self.tables(), overrides, "overrides"))

    def booster(self, targeted_labels: bool) -> LightGBMConfig:
        """``[lightgbm]``, with ``[lightgbm_targeted]`` on top when labels are targeted."""
        if not targeted_labels:
            return self.lightgbm
        return self.lightgbm.overridden(self.lightgbm_targeted, "lightgbm_targeted")


def merge_tables(
    defaults: Mapping[str, Mapping[str, Any]],
    user: Mapping[str, Any],
    source: str,
) -> dict[str, dict[str, Any]]:
    """``defaults`` with ``user``'s tables merged key by key.

    Raises:
        ConfigError: ``user`` has a table or key the defaults do not (LightGBM tables take
            any LightGBM parameter).
    """
    merged = {name: dict(table) for name, table in defaults.items()}
    for name, values in user.items():
        if name not in merged:
            raise ConfigError(
                f"{source}: unknown table [{name}] (known: {', '.join(sorted(merged))})"
                if isinstance(values, dict)
                else f"{source}: unknown key `{name}` outside any table"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: `{name}` must be a table, [{name}]")
        if name.startswith("lightgbm"):
            _check_lightgbm_keys(name, values)
        else:
            for key in values:
                if key not in merged[name]:
                    raise ConfigError(
                        f"{source}: unknown key `{key}` in [{name}] "
                        f"(known: {', '.join(merged[name])})"
                    )
        merged[name].update(values)
    return merged


def load_config(path: Path | None) -> TrainConfig:
    """Defaults merged with the user's TOML (tables merged key by key).

    Raises:
        ConfigError: The user's file cannot be read or parsed, or names a table or key the
            configuration does not have, or a value of the wrong type.
    """
    tables = tomllib.loads(default_config_path().read_text())
    if path is not None:
        try:
            user = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the configuration {path}: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"configuration {path}: invalid TOML: {exc}") from exc
        tables = merge_tables(tables, user, str(path))
    return TrainConfig.from_tables(tables)


def flat_params(tables: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``table.key`` -> text of every value (lists as JSON), as a run logs its parameters."""
    out: dict[str, str] = {}
    for k, v in tables.items():
        if isinstance(v, Mapping):
            out.update(flat_params(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = json.dumps(v) if isinstance(v, list) else str(v)
    return out

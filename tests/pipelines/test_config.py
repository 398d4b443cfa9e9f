"""The typed training configuration: defaults, a user's overrides, and plain errors."""

import dataclasses
import tomllib

import pytest

from pipelines.config import ConfigError, TrainConfig, default_config_path, load_config


def _user(tmp_path, text):
    path = tmp_path / "train.toml"
    path.write_text(text)
    return path


def test_defaults_load_typed_and_round_trip_to_the_toml():
    cfg = load_config(None)
    assert cfg.split.test_months == 3 and cfg.learning.strategies == ("inspected", "ipw", "pu")
    assert cfg.lightgbm.seed == 42 and "num_boost_round" not in cfg.lightgbm.params
    assert cfg.tables() == tomllib.loads(default_config_path().read_text())
    assert TrainConfig.from_tables(cfg.tables()) == cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.split.test_months = 1  # type: ignore[misc]


def test_a_user_file_overrides_key_by_key(tmp_path):
    cfg = load_config(
        _user(
            tmp_path,
            "[lightgbm]\nnum_boost_round = 7\nreg_lambda = 2.0\n[bands]\nhigh_share = 0.02\n",
        )
    )
    assert cfg.lightgbm.num_boost_round == 7 and cfg.lightgbm.params["reg_lambda"] == 2.0
    assert cfg.lightgbm.params["num_leaves"] == 15  # untouched keys keep their defaults
    assert cfg.bands.high_share == 0.02 and cfg.bands.elevated_share == 0.05


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[learning]\nselection_metrc = 'pr_auc'\n", "`selection_metrc` in [learning]"),
        ("[lightgbm]\nnum_leafs = 31\n", "`num_leafs` in [lightgbm]"),
        (
            "[lightgbm_targeted]\nmax_cat_treshold = 4\n",
            "`max_cat_treshold` in [lightgbm_targeted]",
        ),
        ("[spilt]\ntest_months = 2\n", "unknown table [spilt]"),
        ("seed = 3\n", "unknown key `seed`"),
        ("[learning]\nrefit_on_all = 'yes'\n", "[learning] `refit_on_all`"),
        ("[learning]\nstrategies = ['inspected', 'magic']\n", "[learning] `strategies`"),
        ("[learning]\nselection_metric = 'auc'\n", "[learning] `selection_metric`"),
        ("[split]\ntest_months = 'three'\n", "[split] `test_months`"),
    ],
)
def test_a_bad_user_file_is_refused_naming_the_key(tmp_path, text, named):
    with pytest.raises(ConfigError) as err:
        load_config(_user(tmp_path, text))
    assert named in str(err.value)


def test_targeted_keys_take_precedence_only_for_targeted_labels():
    cfg = load_config(None).updated({"lightgbm_targeted": {"num_leaves": 7}})
    assert cfg.booster(targeted_labels=False) == cfg.lightgbm
    targeted = cfg.booster(targeted_labels=True)
    assert targeted.params["num_leaves"] == 7 and targeted.params["max_cat_threshold"] == 4
    assert targeted.num_boost_round == cfg.lightgbm.num_boost_round


def test_overrides_in_code_are_checked_like_a_file():
    with pytest.raises(ConfigError, match="`bootstraps` in \\[evaluation\\]"):
        load_config(None).updated({"evaluation": {"bootstraps": 0}})

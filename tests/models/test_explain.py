import numpy as np
import pandas as pd
import pytest

from models.scoring.explain import feature_groups, group_contributions, reasons_for


def test_every_feature_has_a_group_and_passthroughs_get_their_own():
    names = [
        "mfr_list_sim",
        "shp_list_sim",
        "mfr_xj",
        "rg_priority",
        "hs_heading",
        "log_unit_value_z",
        "hist_imp_viol_rate",
        "hist_x_declarant_id_viol_rate",
        "x_office_id",
        "country_of_origin",
    ]
    g = feature_groups(names)
    assert g["mfr_list_sim"] == g["shp_list_sim"] == "listed_entity"
    assert g["mfr_xj"] == "xinjiang_address"
    assert g["rg_priority"] == g["hs_heading"] == "risk_goods"
    assert g["log_unit_value_z"] == "unit_value"
    assert g["hist_imp_viol_rate"] == "importer_history"
    assert g["hist_x_declarant_id_viol_rate"] == "history:x_declarant_id"
    assert g["x_office_id"] == "field:x_office_id"


def test_group_contributions_sum_features_and_drop_the_bias():
    names = ["mfr_list_sim", "shp_list_sim", "mfr_xj"]
    contrib = np.array([[0.5, 0.25, -0.1, 9.0]])
    g = group_contributions(contrib, names)
    assert g.loc[0, "listed_entity"] == 0.75 and g.loc[0, "xinjiang_address"] == -0.1
    assert g.to_numpy().sum() == 0.65


def test_reasons_rank_by_absolute_contribution_with_evidence():
    names = [
        "mfr_list_sim",
        "shp_list_sim",
        "mfr_xj",
        "mfr_xj_postal",
        "shp_xj",
        "shp_xj_postal",
        "names_xj",
    ]
    contrib = np.array([[2.0, 0.0, -0.5, 0, 0, 0, 0, -3.0]])
    ctx = pd.DataFrame(
        [
            {
                "mfr_list_sim": 96.0,
                "shp_list_sim": 10.0,
                "ev_mfr_entity_name": "Hoshine Silicon Industry (Shanshan) Co. Ltd",
                "ev_mfr_entity_id": "UFLPA-0001",
                "ev_mfr_entity_alias": "Hoshine Silicon Industry Shanshan",
                "ev_mfr_entity_list": "UFLPA",
                "ev_mfr_entity_citation": "87 FR 39500",
                "ev_mfr_xj_terms": "",
                "ev_shp_xj_terms": "",
                "ev_names_xj_terms": "",
                "ev_mfr_xj_place": "",
            }
        ]
    )
    [reasons] = reasons_for(contrib, names, ctx, k=2)
    assert [r["code"] for r in reasons] == ["listed_entity", "xinjiang_address"]
    top = reasons[0]
    assert top["evidence"]["entity_id"] == "UFLPA-0001" and top["evidence"]["similarity"] == 96.0
    assert "87 FR 39500" in top["text"] and top["share"] == 2.0 / 2.5
    assert reasons[1]["share"] == -0.5 / 2.5
    assert "No Xinjiang" in reasons[1]["text"]


def test_zero_reasons_means_empty_lists():
    assert reasons_for(np.zeros((2, 3)), ["a", "b"], pd.DataFrame({"a": [1, 2]}), k=0) == [[], []]


def test_reasons_split_by_direction_each_ranked_by_its_size():
    """Up to k raising reasons, largest first, then up to k lowering ones, most lowering first."""
    names = ["x_a", "x_b", "x_c", "x_d", "n_missing"]
    contrib = np.array([[0.3, 0.2, 0.1, -2.0, 0.05, 1.0]])
    ctx = {c: np.array(["v"], dtype=object) for c in names[:4]}
    ctx["ev_missing"] = np.array([""], dtype=object)
    [reasons] = reasons_for(contrib, names, ctx, k=2)
    assert [(r["code"], r["direction"]) for r in reasons] == [
        ("field:x_a", "raises"),
        ("field:x_b", "raises"),
        ("field:x_d", "lowers"),
    ]
    assert reasons[2]["contribution"] == -2.0 and reasons[2]["share"] == round(-2.0 / 2.65, 4)


@pytest.mark.parametrize("n", [3, 65, 400])
def test_group_sums_equal_pandas_groupby_to_the_last_bit_at_any_batch_size(n):
    # Few lines take a Python path, many a NumPy one: both must give pandas' own sums.
    names = ["mfr_list_sim", "shp_list_sim", "mfr_xj", "shp_xj", "names_xj", "hs_chapter",
             "hist_imp_viol_rate", "x_port"]  # fmt: skip
    rng = np.random.default_rng(n)
    contrib = rng.normal(0, 1, (n, len(names) + 1)) * 10.0 ** rng.integers(-8, 8, len(names) + 1)
    got = group_contributions(contrib, names)
    groups = feature_groups(names)
    frame = pd.DataFrame(contrib[:, :-1], columns=names)
    want = frame.T.groupby([groups[c] for c in names]).sum().T
    assert list(got.columns) == list(want.columns)
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())


def test_a_group_without_evidence_in_the_line_is_no_reason():
    """An undeclared field or a party never seen gives no reason, however large its share."""
    names = ["x_a", "x_b", "hist_shp_lines", "hist_shp_inspected", "hist_shp_violations"]
    contrib = np.array([[3.0, 0.5, 2.0, 0.5, 0.0, 0.0]])
    ctx = {
        "x_a": np.array([None], dtype=object),
        "x_b": np.array(["B7"], dtype=object),
        "shp_key": np.array([None], dtype=object),
        "hist_shp_lines": np.array([0.0]),
        "hist_shp_inspected": np.array([0.0]),
        "hist_shp_violations": np.array([0.0]),
    }
    [reasons] = reasons_for(contrib, names, ctx, k=3)
    assert [(r["code"], r["text"]) for r in reasons] == [("field:x_b", "Field x_b = B7.")]

import numpy as np
import pandas as pd
import pytest

from models.scoring.explain import feature_groups, group_contributions, group_totals, reasons_for
from models.scoring.legal_basis import basis_reason


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
    pd.testing.assert_frame_equal(got, want, check_exact=True)  # labels' dtype too


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


def _one(**cols: object) -> dict[str, np.ndarray]:
    """A one-line context: each column as an object array, as serving passes text."""
    return {c: np.array([v], dtype=object) for c, v in cols.items()}


# A manufacturer on the UFLPA Entity List on the line's entry date, with no Xinjiang terms.
UFLPA_LINE = {
    "mfr_list_sim": 96.4,
    "shp_list_sim": 12.0,
    "ev_mfr_entity_name": "Hoshine Silicon Industry (Shanshan) Co. Ltd",
    "ev_mfr_entity_id": "UFLPA-0001",
    "ev_mfr_entity_alias": "Hoshine Silicon Industry Shanshan",
    "ev_mfr_entity_list": "UFLPA",
    "ev_mfr_entity_lists": "UFLPA",
    "ev_mfr_entity_citation": "87 FR 39500",
    "ev_mfr_entity_since": "2022-06-21",
    "ev_mfr_xj_terms": "",
    "ev_shp_xj_terms": "",
    "ev_names_xj_terms": "",
    "x_a": "A1",
}
PRESUMED_NAMES = ["mfr_list_sim", "shp_list_sim", "mfr_xj", "x_a"]


def test_a_presumed_lines_first_reason_is_its_legal_basis_carrying_the_folded_groups():
    """The presumption says the basis's own sentence, with the entity group's contribution
    (rounded to 4 places, its share of a total below 1); that group is not said again, and
    the smaller groups after it still are."""
    # listed_entity 0.123456 + 0.2 (the largest group, folded), x_a 0.300049, xinjiang -0.05.
    contrib = np.array([[0.123456, 0.2, -0.05, 0.300049, -1.5]])
    line = _one(**UFLPA_LINE)
    [reasons] = reasons_for(
        contrib, PRESUMED_NAMES, line, k=3, presumption=np.array(["uflpa_entity"])
    )
    tot = 0.323456 + 0.300049 + 0.05
    text, evidence = basis_reason("uflpa_entity", {c: v[0] for c, v in line.items()})
    assert "Hoshine Silicon Industry (Shanshan) Co. Ltd" in text and "87 FR 39500" in text
    assert reasons[0] == {
        "code": "presumption",
        "direction": "presumes",
        "text": text,
        "evidence": evidence,
        "contribution": 0.3235,
        "share": round(0.323456 / tot, 4),
    }
    assert [(r["code"], r["direction"], r["contribution"]) for r in reasons[1:]] == [
        ("field:x_a", "raises", 0.3),
        ("xinjiang_address", "lowers", -0.05),
    ]
    assert reasons[1]["share"] == round(0.300049 / tot, 4)


def test_without_a_presumption_a_listed_party_is_a_model_reason_not_a_legal_basis():
    """No presumption passed (or an empty one): the caller presumed nothing, whatever the
    line's lists say; the match is the model's reason."""
    line = _one(**{**UFLPA_LINE, "ev_mfr_entity_lists": "WRO", "ev_mfr_entity_list": "WRO"})
    contrib = np.array([[1.0, 0.0, 0.0, 0.0, 0.0]])
    for presumption in (None, np.array([""])):
        [reasons] = reasons_for(contrib, PRESUMED_NAMES, line, k=2, presumption=presumption)
        assert [(r["code"], r["direction"]) for r in reasons] == [("listed_entity", "raises")]


def test_a_basis_without_evidence_in_the_line_is_skipped_and_folds_nothing():
    """Bases are said in order; one the line holds no evidence for gives no reason and leaves
    its groups to the model's reasons, and the next basis is still said with its own groups'
    contribution (the Xinjiang address and the goods description)."""
    names = ["mfr_list_sim", "mfr_xj", "desc_xj", "x_a"]
    contrib = np.array([[0.75, 0.5, 0.25, -0.125, 0.0]])
    line = _one(
        **{**UFLPA_LINE, "ev_mfr_entity_lists": "", "ev_mfr_xj_terms": "Shanshan",
           "ev_mfr_xj_place": "Shanshan County", "desc_xj": 1.0, "ev_desc_terms": "Xinjiang"}
    )  # fmt: skip
    [reasons] = reasons_for(
        contrib, names, line, k=3, presumption=np.array(["uflpa_entity;xinjiang"])
    )
    assert [(r["code"], r["direction"], r["contribution"]) for r in reasons] == [
        ("presumption", "presumes", 0.75),
        ("listed_entity", "raises", 0.75),
        ("field:x_a", "lowers", -0.125),
    ]
    assert reasons[0]["evidence"]["basis"] == "xinjiang"
    assert reasons[0]["share"] == round(0.75 / 1.625, 4)


def test_a_presumption_stands_when_the_model_gives_no_weight_at_all():
    contrib = np.zeros((1, len(PRESUMED_NAMES) + 1))
    [reasons] = reasons_for(
        contrib, PRESUMED_NAMES, _one(**UFLPA_LINE), k=2, presumption=np.array(["uflpa_entity"])
    )
    assert [(r["code"], r["contribution"], r["share"]) for r in reasons] == [
        ("presumption", 0.0, 0.0)
    ]


LATER = {**UFLPA_LINE, "ev_mfr_entity_lists": "", "ev_shp_entity_later": "2025-03-14"}
NOTE_ITEM = {
    "code": "listed_later",
    "direction": "note",
    "text": "The shipper name matches a firm listed later, on 2025-03-14: no presumption "
    "on this line's entry date.",
    "evidence": {"role": "shipper", "listed_on": "2025-03-14"},
    "contribution": 0.0,
    "share": 0.0,
}


@pytest.mark.parametrize("presumption", [None, "", "xinjiang"])
def test_a_party_listed_after_the_entry_date_is_a_last_note_that_moves_nothing(presumption):
    line = _one(**{**LATER, "ev_mfr_xj_terms": "Urumqi"})
    contrib = np.array([[0.5, 0.0, 0.25, 0.0, 0.0]])
    bases = None if presumption is None else np.array([presumption])
    [reasons] = reasons_for(contrib, PRESUMED_NAMES, line, k=2, presumption=bases)
    assert reasons[-1] == NOTE_ITEM
    assert [r["direction"] for r in reasons].count("note") == 1


@pytest.mark.parametrize("presumption", ["uflpa_entity", "wro", "uflpa_entity;wro"])
def test_a_line_presumed_on_a_listing_gets_no_listed_later_note(presumption):
    """The listing in force is the presumption; a later listing of the other party is moot."""
    lists = "WRO" if presumption == "wro" else "UFLPA;WRO"
    line = _one(**{**LATER, "ev_mfr_entity_lists": lists, "ev_mfr_entity_list": lists[:3]})
    contrib = np.array([[0.5, 0.0, 0.0, 0.0, 0.0]])
    [reasons] = reasons_for(contrib, PRESUMED_NAMES, line, k=2, presumption=np.array([presumption]))
    assert reasons[0]["direction"] == "presumes"
    assert "note" not in [r["direction"] for r in reasons]


def test_zero_reasons_asked_gives_no_presumption_and_no_note_either():
    line = _one(**{**UFLPA_LINE, "ev_shp_entity_later": "2025-03-14"})
    contrib = np.array([[0.5, 0.0, 0.25, 0.0, 0.0]])
    assert reasons_for(
        contrib, PRESUMED_NAMES, line, k=0, presumption=np.array(["uflpa_entity"])
    ) == [[]]
    assert reasons_for(contrib, PRESUMED_NAMES, _one(**LATER), k=0) == [[]]


def test_groups_with_equal_contributions_are_said_in_label_order_each_way():
    # Columns out of label order, so only the tie rule can give the label order; raising and
    # lowering groups alternate in label order (a quicksort reorders such ties).
    names = ["x_d", "x_b", "x_a", "x_c", "x_h", "x_f", "x_e", "x_g"]
    contrib = np.array([[-0.5, -0.5, 0.5, 0.5, -0.5, -0.5, 0.5, 0.5, 0.0]])
    [reasons] = reasons_for(contrib, names, _one(**{c: "v" for c in names}), k=3)
    assert [(r["code"], r["direction"]) for r in reasons] == [
        ("field:x_a", "raises"), ("field:x_c", "raises"), ("field:x_e", "raises"),
        ("field:x_b", "lowers"), ("field:x_d", "lowers"), ("field:x_f", "lowers"),
    ]  # fmt: skip


def test_group_totals_sum_each_lines_absolute_group_contributions():
    """Features of one group net out before the absolute value; the bias is left out; the
    totals are what the reasons' shares divide."""
    names = ["mfr_list_sim", "shp_list_sim", "mfr_xj", "x_a"]
    contrib = np.array([[0.5, -0.75, 0.25, -0.5, 4.0], [1.0, 0.0, -0.5, 0.5, -4.0]])
    np.testing.assert_allclose(group_totals(contrib, names), [0.25 + 0.25 + 0.5, 1.0 + 0.5 + 0.5])
    ctx = {"x_a": np.array(["A1", "A2"], dtype=object)}
    shares = [r[0]["share"] for r in reasons_for(contrib, names, ctx, k=1)]
    assert shares == [round(-0.5 / 1.0, 4), round(0.5 / 2.0, 4)]


def test_a_date_field_is_said_as_a_date_not_a_number():
    ctx = {"x_entered": np.array(["2024-01-05T08:30"], dtype="datetime64[ns]")}
    [reasons] = reasons_for(np.array([[1.0, 0.0]]), ["x_entered"], ctx, k=1)
    assert reasons[0]["text"].startswith("Field x_entered = 2024-01-05T08:30")
    assert reasons[0]["evidence"]["value"].startswith("2024-01-05T08:30")

import numpy as np
import pandas as pd
import pytest

from models.contract.textcase import upper_texts as _upper

TEXTS = ["acme trading co", "Straße 5", "ﬁne goods", "ǆ ltd", "İstanbul", "", "x\u3000y"]


@pytest.mark.parametrize("texts", [TEXTS[:1], TEXTS, [t for t in TEXTS if t.isascii()]])
def test_upper_is_the_pandas_accessor_with_or_without_a_memo(texts):
    expected = pd.Series(texts, dtype="str").str.upper().tolist()
    assert _upper(texts) == expected
    memo: dict[str, str] = {}
    assert _upper(texts, memo) == expected
    assert _upper(texts, memo) == expected  # from the memo


def test_goods_from_a_hub_made_in_china_are_routed_via_the_hub(make_lines):
    from models.features.signals import derive_signals

    lines = make_lines(
        country_of_origin=["VN", "VN", "VN"],
        manufacturer_address=[
            "88 Renmin Road, Ningbo, Zhejiang, China",
            "12 Nguyen Hue, District 1, Ho Chi Minh City, Vietnam",
            None,
        ],
    )
    signals = derive_signals(lines)
    assert signals["route_cn_via_hub"].tolist() == [1.0, 0.0, 0.0]
    assert signals["mfr_addr_country"].tolist()[:2] == ["CN", "VN"]


def test_a_listed_alias_is_matched_with_its_entity_as_evidence(make_lines):
    from models.features.signals import derive_signals

    lines = make_lines(manufacturer_name=["XINJIANG CORPS", "ACME TEXTILE CO", None])
    signals = derive_signals(lines)
    assert signals["mfr_list_sim"][0] >= 88
    assert signals["ev_mfr_entity_id"][0] == "UFLPA-0002"
    assert not signals["mfr_list_sim"][1] >= 88
    assert np.isnan(signals["mfr_list_sim"][2])


def _blank(v) -> bool:
    return v is None or v == "" or (not isinstance(v, str) and pd.isna(v))


@pytest.mark.parametrize("copies", [1, 70])  # a small batch's kernels and a large one's
def test_a_line_entered_before_the_listing_gets_no_list_signal_only_a_note(make_lines, copies):
    """Western Gold was listed on 2024-11-25: earlier lines must not carry the listing."""
    from models.contract.batch import Lines
    from models.features.cache import SignalCache
    from models.features.signals import derive_signals

    lines = make_lines(
        manufacturer_name=["WESTERN GOLD CO LTD"] * 3,
        entry_date=["2024-11-24", "2024-11-25", "2025-02-01"],
    )
    lines = Lines.from_frame(pd.concat([lines.to_frame()] * copies, ignore_index=True))
    s = derive_signals(lines, SignalCache())
    sim, ids, later = s["mfr_list_sim"], s["ev_mfr_entity_id"], s["ev_mfr_entity_later"]
    listed = s["ev_mfr_entity_list"]
    for k in range(0, 3 * copies, 3):
        assert sim[k] == 0.0 and pd.isna(ids[k]) and _blank(listed[k])  # as if unlisted
        assert later[k] == "2024-11-25"
        for j in (k + 1, k + 2):
            assert sim[j] >= 88 and ids[j] == "UFLPA-0063" and listed[j] == "UFLPA"
            assert _blank(later[j])

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

"""Upper and lower case exactly as Arrow's kernels (what pandas' ``.str`` uses) give them.

Python's ``str.upper``/``str.lower`` agree with Arrow's Unicode tables on ASCII text, and
skip Arrow's fixed cost per call, which dominates a few values (one request's lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc

_PYTHON = {"utf8_upper": str.upper, "utf8_lower": str.lower}


def case_map(values: Sequence[str | None], kernel: str) -> list[str | None]:
    """``values`` through Arrow's ``utf8_upper`` or ``utf8_lower`` (``None`` stays ``None``).

    Args:
        values: Texts, ``None`` for missing.
        kernel: ``"utf8_upper"`` or ``"utf8_lower"``.
    """
    if all(v is None or v.isascii() for v in values):
        py = _PYTHON[kernel]
        return [None if v is None else py(v) for v in values]
    return getattr(pc, kernel)(pa.array(values, type=pa.large_string())).to_pylist()  # type: ignore[no-any-return]


def upper_texts(texts: list[str], memo: dict[str, str] | None = None) -> list[str]:
    """Upper case exactly as the pandas string accessor does it (Arrow's Unicode tables).

    With ``memo``, each text is converted once per process (the accessor's fixed cost is
    most of a single line's description check).
    """
    if memo is None:
        return cast(list[str], case_map(texts, "utf8_upper"))  # no None in, none out
    new = [t for t in dict.fromkeys(texts) if t not in memo]
    memo.update(zip(new, upper_texts(new), strict=True))
    return [memo[t] for t in texts]

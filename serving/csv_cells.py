"""CSV cells an officer's spreadsheet must not run: shared by every CSV the server writes."""

from __future__ import annotations

from typing import Any

# Cells a spreadsheet would read as a formula (or that hide one behind a control character).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def guard_cell(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate gets a leading apostrophe; others unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value

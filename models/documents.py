"""What a case document may be: PDF, PNG, JPEG, plain text or CSV, told by its content.

The name's extension is not trusted: the first bytes say what a file is, and the extension
must agree (a PNG named ``.pdf`` is refused). Text must be UTF-8 without control bytes; it is
CSV when its first lines split into the same number (two or more) of comma-separated fields.
"""

from __future__ import annotations

import csv
import io
from pathlib import PurePath

from models.errors import UserError

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024  # under the JSON body limit, with the form around it
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
# The extensions a name may have, by the type its content shows.
EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "text/plain": (".txt", ".csv"),
    "text/csv": (".csv", ".txt"),
}
_ALLOWED = ", ".join(sorted({e for v in EXTENSIONS.values() for e in v}))
_CONTROL = {*range(0, 9), 11, *range(14, 32), 127}


class DocumentError(UserError, ValueError):
    """A document that may not be attached (the message says why)."""

    hint = f"Attach a PDF, PNG, JPEG, text or CSV file ({_ALLOWED}) of at most 5 MB."


def _text_type(content: bytes) -> str | None:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if any(ord(ch) in _CONTROL for ch in text[:65536]):
        return None
    head = [row for row in csv.reader(io.StringIO("\n".join(text.splitlines()[:20]))) if row]
    widths = {len(r) for r in head}
    return "text/csv" if len(head) >= 2 and len(widths) == 1 and widths.pop() >= 2 else "text/plain"


def check_document(name: str, content: bytes, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """The document's media type, told by its content.

    Args:
        name: Its file name (its extension must agree with the content).
        content: Its bytes.
        max_bytes: The largest size accepted.

    Raises:
        DocumentError: Empty, too large, not one of the accepted types, or named as another.
    """
    if not content:
        raise DocumentError(f"{name}: the file is empty")
    if len(content) > max_bytes:
        raise DocumentError(f"{name}: {len(content):,} bytes; at most {max_bytes:,}")
    media = next((m for magic, m in _MAGIC if content.startswith(magic)), None) or _text_type(
        content
    )
    if media is None:
        raise DocumentError(f"{name}: the content is not PDF, PNG, JPEG, text or CSV")
    ext = PurePath(name).suffix.lower()
    if ext not in EXTENSIONS[media]:
        raise DocumentError(
            f"{name}: the content is {media}, but the name ends in {ext or 'no extension'}"
        )
    return media

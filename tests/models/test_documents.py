"""Case documents are typed by their content, and the name must agree."""

from __future__ import annotations

import pytest

from models.documents import DocumentError, check_document


@pytest.mark.parametrize(
    ("name", "content", "media"),
    [
        ("a.pdf", b"%PDF-1.7\n...", "application/pdf"),
        ("a.PNG", b"\x89PNG\r\n\x1a\n....", "image/png"),
        ("a.jpeg", b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
        ("a.jpg", b"\xff\xd8\xff\xe1Exif", "image/jpeg"),
        ("notes.txt", "Détention au port.\n".encode(), "text/plain"),
        ("rows.csv", b"\xef\xbb\xbfentry,line\nE1,1\nE2,1\n", "text/csv"),
        ("rows.txt", b"entry,line\nE1,1\n", "text/csv"),
        ("one-line.csv", b"just words", "text/plain"),
    ],
)
def test_accepted_types(name: str, content: bytes, media: str) -> None:
    assert check_document(name, content) == media


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("a.pdf", b"\x89PNG\r\n\x1a\n", "image/png, but the name ends in .pdf"),
        ("a.png", b"%PDF-1.4", "application/pdf, but the name ends in .png"),
        ("a.exe", b"%PDF-1.4", "ends in .exe"),
        ("a.txt", b"MZ\x90\x00\x03", "not PDF, PNG, JPEG, text or CSV"),
        ("a.txt", b"\xff\xfe\x00bad", "not PDF, PNG, JPEG, text or CSV"),
        ("a.txt", b"", "empty"),
        ("a.txt", b"x" * 11, "at most 10"),
    ],
)
def test_refused(name: str, content: bytes, why: str) -> None:
    with pytest.raises(DocumentError, match=why):
        check_document(name, content, max_bytes=10)

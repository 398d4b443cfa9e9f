"""The docs say what the code does: the contract is complete in the repository, its country
rule and the API's status for a body that is not JSON are the ones the code applies."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from models.contract.validate import validate_lines

REPO = Path(__file__).parents[2]
DOCS = REPO / "docs"
SHARED = Path(os.environ.get("FLRISK_SHARED_DIR", REPO.parent / "shared"))
SPEC = SHARED / "spec" / "entry-lines.md"


def _country_row() -> str:
    doc = (DOCS / "data-contract.md").read_text()
    return next(line for line in doc.splitlines() if line.startswith("| `country_of_origin`"))


def _line(origin: str) -> dict[str, list[str | None]]:
    return {
        "entry_id": ["E1"],
        "line_no": ["1"],
        "entry_date": ["2025-01-10"],
        "hts_code": ["6109.10.0012"],
        "country_of_origin": [origin],
    }


def test_the_country_rule_of_the_doc_is_the_readers():
    row = _country_row()
    assert "`ZZ`" in row and "accepted" in row
    refused = re.findall(r"`([A-Z]{2,3})`", row.split("refused")[0].split("lower case")[1])
    assert {"XK", "UK"} <= set(refused)
    assert validate_lines(_line("ZZ"), source="t").bad_rows.empty
    assert validate_lines(_line("zz"), source="t").bad_rows.empty  # lower case is fine
    for code in refused:
        bad = validate_lines(_line(code), source="t").bad_rows
        assert list(bad["column"]) == ["country_of_origin"], code


def test_the_api_doc_gives_422_for_a_body_that_is_not_json():
    doc = (DOCS / "api.md").read_text()
    common = doc[doc.index("Statuses common to all") :].split("\n\n")[0]
    assert "json_invalid" in common and "**422**" in common
    assert "not JSON" not in common.split("**401**")[0]  # 400: bodies that are not even text


def test_every_doc_link_stays_inside_the_repository():
    for md in [REPO / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#\s]+)", md.read_text()):
            if re.match(r"^[a-z]+:", target):
                continue  # a URL
            path = (md.parent / target).resolve()
            assert path.is_relative_to(REPO), (md.name, target)
            assert path.exists(), (md.name, target)


def test_the_contract_doc_links_the_complete_contract_in_the_repository():
    assert "](entry-lines.md)" in (DOCS / "data-contract.md").read_text()
    assert "docs/entry-lines.md" in (REPO / "README.md").read_text()


@pytest.mark.skipif(not SPEC.exists(), reason=f"shared specification not found at {SPEC}")
def test_the_repositorys_contract_is_the_shared_specification():
    assert (DOCS / "entry-lines.md").read_text() == SPEC.read_text()

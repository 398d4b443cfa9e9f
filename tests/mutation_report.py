"""Per-module table of `mutmut results` for docs/testing.md (`make mutate-report`).

Reads ``mutmut results --all true`` (run from the repository root after ``make mutate``)
and prints one Markdown row per mutated module, a total, and the names of the mutants that
were not killed, so the table in docs/testing.md can be regenerated after any change.
A timeout counts as killed (the mutant made the tests hang, so the tests noticed it).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

# `models.store.xǁAuditStoreǁrecord__mutmut_3: survived`, `serving.auth.x__read__mutmut_1: killed`
LINE = re.compile(r"^\s*(?P<name>\S+?): (?P<status>.+?)\s*$")
KILLED = {"killed", "timeout", "caught by type check"}
NOT_RUN = "not checked"  # a run stopped early: these were never tested


def module_of(mutant: str) -> str:
    """The dotted module of a mutant name (the part before its mangled function)."""
    head = re.split(r"\.x[_ǁ]", mutant, maxsplit=1)[0]
    return head


def parse(text: str) -> dict[str, Counter[str]]:
    """Status counts per module from the text of ``mutmut results --all true``."""
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for raw in text.splitlines():
        m = LINE.match(raw)
        if m and "__mutmut_" in m["name"]:
            by_module[module_of(m["name"])][m["status"]] += 1
    return by_module


def survivors(text: str) -> list[tuple[str, str]]:
    """``(mutant, status)`` of every mutant that was tested and not killed."""
    out = []
    for raw in text.splitlines():
        m = LINE.match(raw)
        if m and "__mutmut_" in m["name"] and m["status"] not in KILLED | {NOT_RUN}:
            out.append((m["name"], m["status"]))
    return out


def table(by_module: dict[str, Counter[str]]) -> str:
    """The Markdown table per module; the killed share is of the mutants tested."""
    rows = [
        "| module | mutants | tested | killed | survived | no tests / other | killed % |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for module in sorted(by_module):
        c = by_module[module]
        total.update(c)
        rows.append(_row(f"`{module}`", c))
    rows.append(_row("**all**", total))
    return "\n".join(rows)


def _row(label: str, c: Counter[str]) -> str:
    n = sum(c.values())
    tested = n - c[NOT_RUN]
    killed = sum(c[s] for s in KILLED)
    survived = c["survived"]
    other = tested - killed - survived
    share = f"{100 * killed / tested:.1f}" if tested else "-"
    return f"| {label} | {n} | {tested} | {killed} | {survived} | {other} | {share} |"


def main() -> int:
    """Print the table and the mutants left, from the current `mutants/` results."""
    text = subprocess.run(
        [str(Path(sys.executable).parent / "mutmut"), "results", "--all", "true"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    by_module = parse(text)
    if not by_module:
        print("no mutmut results: run `make mutate` first", file=sys.stderr)
        return 1
    print(f"mutmut results of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(table(by_module))
    left = survivors(text)
    if left:
        print(f"\n{len(left)} not killed:")
        for name, status in left:
            print(f"- `{name}`: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

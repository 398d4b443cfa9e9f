"""``flrisk reference show|update``: inspect and refresh the reference tables.

An update never leaves a half-written or invalid table behind: the new publication is read
and validated in memory, then published as a new reference version
(:mod:`models.reference.versions`: a new folder, then an atomic swap of the ``CURRENT``
pointer) under the reference root, never inside the installed package. A running server
sees the pointer move and matches its next request against the new version. Any failure
exits non-zero before anything is written.
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pandas as pd
import typer

from models.reference import tables as reference
from models.reference.entities import normalize_name
from models.reference.hs import hs_exists, nomenclature, nomenclature_version
from models.reference.versions import current_version, publish

LISTS = {"UFLPA", "WRO", "FINDING"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
BASES = {"ilab_forced_labor", "ilab_derived", "uflpa_priority"}
KINDS = {"region", "prefecture", "county", "city"}
_BREAKDOWN = {"entities": "list", "xinjiang_places": "kind", "risk_goods": "basis"}
_MAX_PROBLEMS = 20


def show() -> None:
    """Print each table's version, row count and breakdown, and the HS nomenclature."""
    declared = reference.declared_versions()
    versions = reference.reference_versions()
    loaders = {
        "entities": reference.load_entities,
        "xinjiang_places": reference.load_xinjiang_places,
        "risk_goods": reference.load_risk_goods,
    }
    typer.echo(f"reference tables in {reference.data_dir()} (version {current_version()})")
    for name in reference.TABLES:
        table = loaders[name]()
        typer.echo(f"\n{name}: version {versions[name]}, {len(table)} rows")
        typer.echo(f"  source: {declared.get(name, {}).get('source', 'unknown')}")
        counts = table[_BREAKDOWN[name]].value_counts().sort_index()
        for key, count in counts.items():
            typer.echo(f"  {_BREAKDOWN[name]}={key or '(empty)'}: {count}")
    typer.echo(f"\nHS nomenclature: {nomenclature_version()}, {len(nomenclature())} codes")


def update(source: str, table: str | None, entities_rows: bool = False) -> str:
    """Replace a reference table by a new publication read from a path or URL.

    With ``entities_rows`` the source holds entity rows in the table's layout
    (``docs/reference-data.md``) that are added to the current table, replacing the rows of
    the same ``entity_id``; the other rows stay.

    Args:
        source: Local path or ``http(s)://`` URL of a CSV in the table's schema; for
            ``entities`` also a simple CSV or JSON export with ``name`` and ``aliases``.
        table: ``entities``, ``xinjiang_places`` or ``risk_goods``; guessed from the
            columns when omitted.
        entities_rows: Add or replace entity rows by ``entity_id`` (``--entities``).

    Returns:
        The new reference version.

    Raises:
        typer.Exit: Code 2 when the source cannot be read, 1 when it fails validation.
            The current tables are untouched in both cases.
    """
    payload = _fetch(source)
    frame = _parse(payload, source)
    name = "entities" if entities_rows else table or _guess_table(frame)
    if name not in reference.TABLES:
        _fail(f"unknown table {name!r}; expected one of {', '.join(reference.TABLES)}", 1)
    if entities_rows:
        frame = _merge_entities(frame, source)
    elif name == "entities":
        frame = _complete_entities(frame, source)
    problems = validate(name, frame)
    if problems:
        typer.echo(f"refused: {source} is not a valid {name} table:", err=True)
        for problem in problems[:_MAX_PROBLEMS]:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1)
    columns = list(reference.SCHEMAS[name])
    versions = dict(reference.declared_versions())  # a copy: the loader's is cached
    versions[name] = {"version": date.today().strftime("%Y.%m.%d"), "source": source}
    new = publish(
        {
            f"{name}.csv": frame[columns].to_csv(index=False, lineterminator="\n"),
            "versions.json": json.dumps(versions, indent=2) + "\n",
        }
    )
    reference.clear_caches()
    typer.echo(f"updated {name}: {len(frame)} rows from {source}; reference version {new}")
    return new


def validate(name: str, frame: pd.DataFrame) -> list[str]:
    """Problems that make ``frame`` unfit to replace table ``name`` (empty when fine)."""
    schema = reference.SCHEMAS[name]
    if name == "entities":
        # Exports from before goods scopes (every WRO then covers all goods) and affiliates.
        for col in ("hs_scope", "parent_entity_id", "parent_source"):
            if col not in frame.columns:
                frame[col] = ""
    missing = [col for col in schema if col not in frame.columns]
    if missing:
        return [f"missing column(s): {', '.join(missing)}"]
    if frame.empty:
        return ["no rows"]
    problems: list[str] = []
    id_col = schema[0]
    known_ids = set(frame[id_col].astype(str))
    duplicated = frame[id_col][frame[id_col].duplicated()].unique()
    if len(duplicated):
        problems.append(f"duplicate {id_col}: {', '.join(map(str, duplicated[:5]))}")
    required = {
        "entities": ("entity_id", "name", "list", "citation", "source"),
        "xinjiang_places": ("place_id", "canonical", "variant", "kind", "source"),
        "risk_goods": ("rule_id", "hs_prefix", "good", "basis", "rationale", "source"),
    }[name]
    records = frame[list(schema)].astype(str).to_dict("records")
    for line, values in enumerate(records, start=2):
        for col in required:
            if not str(values[col]).strip():
                problems.append(f"line {line}: empty {col}")
        if name == "entities":
            if values["list"] not in LISTS:
                problems.append(f"line {line}: list {values['list']!r} not in {sorted(LISTS)}")
            problems += _period_problems(line, values["effective_date"], values["end_date"])
            parent = str(values["parent_entity_id"])
            if parent and parent not in known_ids:
                problems.append(f"line {line}: parent_entity_id {parent!r} is not an entity_id")
            if parent and not str(values["parent_source"]).strip():
                problems.append(f"line {line}: an affiliate needs its parent_source")
            scope = [p for p in str(values["hs_scope"]).replace(".", "").split("|") if p]
            if any(not p.isdigit() or not 2 <= len(p) <= 10 for p in scope):
                problems.append(
                    f"line {line}: hs_scope {values['hs_scope']!r} is not HS prefixes "
                    "(2 to 10 digits, separated by |)"
                )
        if name == "xinjiang_places" and values["kind"] not in KINDS:
            problems.append(f"line {line}: kind {values['kind']!r} not in {sorted(KINDS)}")
        if name == "risk_goods":
            prefix = str(values["hs_prefix"])
            if len(prefix) not in (4, 6) or not prefix.isdigit() or not hs_exists(prefix):
                problems.append(f"line {line}: hs_prefix {prefix!r} is not an HS 2022 code")
            if values["basis"] not in BASES:
                problems.append(f"line {line}: basis {values['basis']!r} not in {sorted(BASES)}")
    return problems


def _period_problems(line: int, start: str, end: str) -> list[str]:
    """Dates of a listing that are not ISO dates, or that end before they begin."""
    problems = []
    for col, value in (("effective_date", start), ("end_date", end)):
        if value and not _ISO_DATE.fullmatch(value):
            problems.append(f"line {line}: {col} {value!r} is not a date (YYYY-MM-DD)")
    if not problems and start and end and end <= start:
        problems.append(f"line {line}: end_date {end} is not after effective_date {start}")
    return problems


def _fail(message: str, code: int) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _fetch(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=15) as response:  # noqa: S310 (scheme checked)
                data: bytes = response.read()
                return data
        except (urllib.error.URLError, OSError, ValueError) as exc:
            _fail(
                f"cannot fetch {source}: {exc}. The machine may be offline; "
                "download the publication and pass its local path with --from. "
                "Current tables are unchanged.",
                2,
            )
    path = Path(source)
    if not path.is_file():
        _fail(f"no such file: {source}. Current tables are unchanged.", 2)
    return path.read_bytes()


def _parse(payload: bytes, source: str) -> pd.DataFrame:
    text = payload.decode("utf-8-sig", errors="replace")
    try:
        if source.lower().endswith(".json") or text.lstrip().startswith(("[", "{")):
            data = json.loads(text)
            records = data.get("entities", data) if isinstance(data, dict) else data
            frame = pd.DataFrame.from_records(records)
            if "aliases" in frame.columns:
                frame["aliases"] = frame["aliases"].map(
                    lambda v: "|".join(map(str, v)) if isinstance(v, list) else v
                )
            return frame.fillna("").astype(str)
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        _fail(f"cannot parse {source}: {exc}. Current tables are unchanged.", 1)
    raise AssertionError("unreachable")  # pragma: no cover


def _guess_table(frame: pd.DataFrame) -> str:
    columns = set(frame.columns)
    if "hs_prefix" in columns:
        return "risk_goods"
    if "variant" in columns:
        return "xinjiang_places"
    if "name" in columns:
        return "entities"
    _fail("cannot tell which table this is; pass --table", 1)
    raise AssertionError("unreachable")  # pragma: no cover


def _complete_entities(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Fill the columns a simple export (name, aliases, ...) lacks; keep known entity ids."""
    out = frame.copy()
    defaults = {"aliases": "", "list": "UFLPA", "sector": "", "region": "", "country": "CN"}
    defaults |= {
        "effective_date": "",
        "end_date": "",
        "hs_scope": "",
        "parent_entity_id": "",
        "parent_source": "",
        "source": f"imported from {source}",
    }
    for col, value in defaults.items():
        if col not in out.columns:
            out[col] = value
    if "entity_id" not in out.columns:
        # Reuse the id of an entity already known under the same normalised name.
        current = reference.load_entities()
        known = dict(zip(current["name"].map(normalize_name), current["entity_id"], strict=True))
        taken = set(current["entity_id"])
        ids: list[str] = []
        next_no = 1
        for name in out["name"]:
            existing = known.get(normalize_name(str(name)))
            if existing and existing not in ids:
                ids.append(existing)
                continue
            while f"UFLPA-{next_no:04d}" in taken or f"UFLPA-{next_no:04d}" in ids:
                next_no += 1
            ids.append(f"UFLPA-{next_no:04d}")
        out["entity_id"] = ids
    return out


def _merge_entities(rows: pd.DataFrame, source: str) -> pd.DataFrame:
    """The current entity table with ``rows`` added, replacing rows of the same id."""
    missing = [c for c in ("entity_id", "name", "list", "citation") if c not in rows.columns]
    if missing:
        _fail(
            f"refused: {source} lacks column(s) {', '.join(missing)}; an entities file "
            "has the entity table's columns (docs/reference-data.md). "
            "Current tables are unchanged.",
            1,
        )
    rows = rows.copy()
    for col in reference.SCHEMAS["entities"]:
        if col not in rows.columns:
            rows[col] = f"imported from {source}" if col == "source" else ""
    current = reference.load_entities()
    kept = current[~current["entity_id"].isin(set(rows["entity_id"]))]
    return pd.concat([kept, rows[list(current.columns)]], ignore_index=True)

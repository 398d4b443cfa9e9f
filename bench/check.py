"""The supplier self-check at scale: 100,000 suppliers, against matching every row.

A generated four-tier supplier list (10 % tier 1, 20 % tier 2, 30 % tier 3, 40 % tier 4, each
supplier supplying one of the tier below; 0.5 % listed names or aliases, 1 % addresses in
Xinjiang, HTS codes of cotton, apparel, gloves and others). Names repeat as they do when one
factory supplies several customers: ``--distinct`` names for ``--rows`` suppliers (all
distinct is the worst case for the memo and is measured too).

Measured, each in a fresh process (cold caches, as a first ``flrisk check``):

* ``check``: the self-check as the command runs it, file to report: read and check the list,
  findings per distinct name, address and goods, the chain, the report written.
* ``distinct``: the check's look-ups alone (names, addresses, goods), once per distinct value.
* ``naive``: the alternative a user would write: the same matcher, Xinjiang finder and ILAB
  look-up called for every row, without a per-name memo (``--naive-rows`` rows, then scaled
  to ``--rows``: matching every row of 100,000 takes minutes).

    nice -n 10 .venv/bin/python bench/check.py                 # 100,000 rows
    nice -n 10 .venv/bin/python bench/check.py --rows 20000    # quicker

Results go to ``bench/results/check.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = str.split(
    "Golden Silver Blue Green Harbor River Mountain Star Sun Moon Eagle Lotus Pearl Jade Ocean "
    "Summit Bright Prime Unity Royal Crown Delta Orient Pacific Atlantic Maple Cedar Willow "
    "Falcon Phoenix Tiger Dragon Crystal Coral Amber Ivory Onyx Ruby Sapphire"
)
TRADES = str.split(
    "Textile Apparel Garment Electronics Plastics Rubber Metal Packaging Trading Foods "
    "Chemicals Paper Glass Furniture Toys Footwear Leather Solar Parts Tools"
)
FORMS = ("Co Ltd", "Ltd", "Inc", "LLC", "Sdn Bhd", "GmbH", "Pvt Ltd", "Corporation")
CITIES = (("Shenzhen, Guangdong", "CN"), ("Ningbo, Zhejiang", "CN"), ("Ho Chi Minh City", "VN"),
          ("Dhaka", "BD"), ("Shah Alam, Selangor", "MY"), ("Monterrey, Nuevo Leon", "MX"),
          ("Tiruppur, Tamil Nadu", "IN"), ("Istanbul", "TR"), ("Bangkok", "TH"))  # fmt: skip
XJ = ("Urumqi, Xinjiang", "Aksu, Xinjiang, China", "Kashgar", "Hotan Prefecture, Xinjiang")
HTS = ("5201000000", "6109100012", "4015190510", "8541430010", "3904100000", "9503000090",
       "6403990000", "7208100000", "")  # fmt: skip
GOODS = ("cotton", "t-shirts", "gloves", "solar cells", "pvc resin", "toys", "shoes", "steel", "")


def make_list(rows: int, distinct: int, seed: int) -> pd.DataFrame:
    """A four-tier supplier list of ``rows`` suppliers with ``distinct`` names."""
    rng = random.Random(seed)
    from models.reference.tables import load_entities

    listed = [a for v in load_entities()["aliases"] for a in str(v).split("|") if a.isascii()]
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < distinct:
        if rng.random() < 0.005:
            name = rng.choice(listed)
        else:
            name = (f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(TRADES)} "
                    f"{rng.randint(1, 999)} {rng.choice(FORMS)}")  # fmt: skip
        if name not in seen:
            seen.add(name)
            names.append(name)
    shares = (0.1, 0.2, 0.3, 0.4)
    counts = [int(rows * s) for s in shares]
    counts[-1] += rows - sum(counts)
    out: list[dict[str, str]] = []
    previous: list[str] = []
    for tier, count in enumerate(counts, start=1):
        ids = [f"S{tier}-{i:06d}" for i in range(count)]
        for sid in ids:
            city, country = rng.choice(CITIES)
            if rng.random() < 0.01:
                city, country = rng.choice(XJ), "CN"
            pick = rng.randrange(len(HTS))
            out.append({
                "supplier_id": sid, "name": names[rng.randrange(distinct)],
                "address": f"{rng.randint(1, 500)} Industrial Road, {city}", "country": country,
                "hts_code": HTS[pick], "goods": GOODS[pick], "tier": str(tier),
                "supplies_to": rng.choice(previous) if previous else "",
            })  # fmt: skip
        previous = ids
    return pd.DataFrame(out)


def run_check(path: Path) -> dict[str, float]:
    """``flrisk check``'s work, file to report."""
    from models.check.report import run_check as check
    from models.check.suppliers import read_suppliers

    t0, c0 = time.perf_counter(), time.process_time()
    report = check(read_suppliers(path))
    report.to_frame().to_csv(path.with_suffix(".report.csv"), index=False)
    flagged = sum(bool(r["findings"]) for r in report.results)
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "rows": len(report.results), "flagged": flagged}  # fmt: skip


def run_distinct(path: Path) -> dict[str, float]:
    """The look-ups alone, once per distinct value, as the check makes them."""
    from datetime import date

    from models.check.evidence import (
        ilab_findings,
        listed_findings,
        match_listed,
        xinjiang_findings,
    )

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    today = date.today()
    match_listed(["warm up"], today)  # the matchers' indexes, built once in both paths
    t0, c0 = time.perf_counter(), time.process_time()
    listed_findings(list(dict.fromkeys(frame["name"])), today)
    places = list(dict.fromkeys(zip(frame["address"], frame["country"], strict=True)))
    xinjiang_findings([a for a, _ in places], [c for _, c in places])
    ilab_findings(list(dict.fromkeys(zip(frame["hts_code"], frame["goods"], frame["country"],
                                         strict=True))))  # fmt: skip
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "rows": len(frame), "flagged": 0}  # fmt: skip


def run_naive(path: Path, rows: int) -> dict[str, float]:
    """Every row matched on its own: the same look-ups, no memo of names or addresses."""
    from datetime import date

    from models.check.evidence import ilab_findings, match_listed, xinjiang_findings

    frame = pd.read_csv(path, dtype=str, keep_default_na=False).head(rows)
    today = date.today()
    match_listed(["warm up"], today)  # the matchers' indexes, built once in both paths
    from models.check import evidence

    t0, c0 = time.perf_counter(), time.process_time()
    for rec in frame.to_dict("records"):
        for _, held in evidence._MATCHERS.values():
            held._cache.clear()  # the naive path keeps no memo of names seen
        match_listed([str(rec["name"])], today)
        xinjiang_findings([str(rec["address"])], [str(rec["country"])])
        ilab_findings([(str(rec["hts_code"]), str(rec["goods"]), str(rec["country"]))])
    return {"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
            "rows": len(frame), "flagged": 0}  # fmt: skip


def _in_child(mode: str, path: Path, rows: int) -> dict[str, float]:
    code = [sys.executable, __file__, "--child", mode, "--path", str(path), "--rows", str(rows)]
    done = subprocess.run(code, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--distinct", type=int, default=25_000)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--child", choices=("check", "distinct", "naive"))
    parser.add_argument("--path", type=Path)
    args = parser.parse_args()
    if args.child:
        if args.child == "check":
            result = run_check(args.path)
        elif args.child == "distinct":
            result = run_distinct(args.path)
        else:
            result = run_naive(args.path, args.rows)
        print(json.dumps(result))
        return
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="flrisk-bench-check-") as tmp:
        for distinct in (args.distinct, args.rows):
            path = Path(tmp) / f"suppliers-{distinct}.csv"
            make_list(args.rows, distinct, args.seed).to_csv(path, index=False)
            ours = _in_child("check", path, args.rows)
            lookups = _in_child("distinct", path, args.rows)
            naive = _in_child("naive", path, args.naive_rows)
            scale = args.rows / naive["rows"]
            naive_s, naive_cpu = naive["seconds"] * scale, naive["cpu_seconds"] * scale
            results.append({"rows": args.rows, "distinct_names": distinct,
                            "check_s": round(ours["seconds"], 2),
                            "check_cpu_s": round(ours["cpu_seconds"], 2),
                            "lookups_distinct_s": round(lookups["seconds"], 2),
                            "lookups_distinct_cpu_s": round(lookups["cpu_seconds"], 2),
                            "flagged": ours["flagged"], "naive_rows_timed": naive["rows"],
                            "naive_s_scaled": round(naive_s, 1),
                            "naive_cpu_s_scaled": round(naive_cpu, 1)})  # fmt: skip
            print(f"check: {args.rows:,} suppliers, {distinct:,} distinct names: "
                  f"{ours['seconds']:.1f} s wall, {ours['cpu_seconds']:.1f} s CPU "
                  f"({ours['flagged']:,} with findings); its look-ups once per distinct value: "
                  f"{lookups['seconds']:.1f} s wall, {lookups['cpu_seconds']:.1f} s CPU | "
                  f"the same look-ups for every row: "
                  f"{naive['seconds']:.1f} s wall, {naive['cpu_seconds']:.1f} s CPU for "
                  f"{naive['rows']:,} rows, scaled to {args.rows:,}: "
                  f"{naive_s:,.0f} s wall, {naive_cpu:,.0f} s CPU", flush=True)  # fmt: skip
    out = ROOT / "bench" / "results" / "check.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": "check", "target_s": 30, "results": results,
               "date": time.strftime("%Y-%m-%d")}  # fmt: skip
    out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()

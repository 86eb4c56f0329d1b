"""Import benchmark: rows per second per table and peak memory, on SQLite and PostgreSQL.

    python benchmarks/bench_import.py [--households 10000] [--payments 1000000]
        [--postgres postgresql+psycopg://postgres@127.0.0.1/audit_bench] [--out bench-out]

1. generates a county (``--households``) and imports it, reporting each table's rows/s;
2. writes ``--payments`` card payments over that county's low-income and other households
   (monthly minimum-living payments, as a county's payment history looks) and imports
   them alone, then again (every row unchanged);
3. measures the floor: a bare ``executemany`` of the same rows, already parsed, into the
   same indexed table.

Each import runs in a child process so that its peak memory (max RSS) is its own.
Targets (2-core machine): 1,000,000 card payments in at most 60 s, peak memory < 1 GB.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

CHILD = r"""
import json, sys, time
from pathlib import Path
from audit.db import make_engine
from audit.importer.service import import_path
engine = make_engine(sys.argv[1])
started = time.perf_counter()
report = import_path(engine, Path(sys.argv[2]))
elapsed = time.perf_counter() - started
assert report.outcome == "committed", report.errors[:3]
print(json.dumps({"seconds": elapsed, "max_rss_mb": peak_mb(), "counts": report.as_dict()["counts"]}))
"""

# ru_maxrss survives fork and exec on Linux (a child would report its parent's peak);
# VmHWM belongs to the process image, so exec resets it.
PEAK = r"""
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""


def run_import(url: str, folder: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PEAK + CHILD, url, str(folder)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_payments(county: Path, out: Path, total: int) -> int:
    """``total`` monthly payments over the county's households, oldest months first."""
    with (county / "households.csv").open(encoding="utf-8") as handle:
        households = list(csv.DictReader(handle))
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with (out / "card_payments.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["payment_id", "program_code", "id_number", "household_id", "card_account", "amount",
                         "period", "paid_on", "paying_unit", "allocation_id"])
        year, month = 2017, 12
        while written < total:
            period = f"{year}-{month:02d}"
            paid = date(year, month, 20).isoformat()
            for index, household in enumerate(households):
                if written >= total:
                    break
                amount = f"{130 * (1 + index % 5)}.00"
                writer.writerow([f"B{period}-{index:06d}", "MIN_LIVING", household["head_id_number"],
                                 household["household_id"], household["card_account"], amount, period, paid,
                                 "归义镇财政所", ""])
                written += 1
            month -= 1
            if month == 0:
                year, month = year - 1, 12
    return written


def floor_seconds(url: str, folder: Path) -> float:
    """Run in a child process, like the imports, so the parent stays small."""
    code = f"import sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import bench_import as b; " \
           f"print(b.floor_in_process({url!r}, __import__('pathlib').Path({str(folder)!r})))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return float(done.stdout.strip().splitlines()[-1])


def floor_in_process(url: str, folder: Path) -> float:
    """A bare executemany of the same rows (parsed beforehand) into the same table."""
    from sqlalchemy import delete, insert

    from audit.db import make_engine
    from audit.models import CardPayment

    with (folder / "card_payments.csv").open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [{"payment_id": r["payment_id"], "program_code": r["program_code"], "id_number": r["id_number"],
                 "household_id": r["household_id"], "card_account": r["card_account"],
                 "amount_fen": int(r["amount"].replace(".", "")), "period": r["period"],
                 "paid_on": date.fromisoformat(r["paid_on"]), "paying_unit": r["paying_unit"],
                 "allocation_id": None} for r in reader]
    engine = make_engine(url)
    ids = [r["payment_id"] for r in rows]
    with engine.begin() as conn:
        for start in range(0, len(ids), 5000):
            conn.execute(delete(CardPayment).where(CardPayment.payment_id.in_(ids[start:start + 5000])))
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(CardPayment), rows)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def fresh(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from audit.db import make_engine
    from audit.migrate import upgrade

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database).unlink(missing_ok=True)
    else:
        admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    upgrade("head", url)


def bench(name: str, url: str, county: Path, payments: Path, total: int) -> dict:
    fresh(url)
    base = run_import(url, county)
    first = run_import(url, payments)
    again = run_import(url, payments)
    floor = floor_seconds(url, payments)
    result = {
        "database": name,
        "county_import": {"seconds": round(base["seconds"], 2), "max_rss_mb": round(base["max_rss_mb"]),
                          "rows_per_second": {t: round(c["read"] / c["seconds"]) if c["seconds"] else None
                                              for t, c in base["counts"].items()}},
        "card_payments": {"rows": total, "seconds": round(first["seconds"], 2),
                          "rows_per_second": round(total / first["seconds"]),
                          "max_rss_mb": round(first["max_rss_mb"]),
                          "reimport_unchanged_seconds": round(again["seconds"], 2),
                          "floor_executemany_seconds": round(floor, 2)},
    }
    print(json.dumps(result, ensure_ascii=False, indent=1), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1/audit_bench")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()
    from audit.synth.county import generate

    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        started = time.perf_counter()
        generate(work_dir / "county", households=args.households, seed=2017)
        generated = time.perf_counter() - started
        total = write_payments(work_dir / "county", work_dir / "payments", args.payments)
        print(f"generated {args.households} households in {generated:.1f} s; wrote {total:,} card payments",
              flush=True)
        results = {"households": args.households, "generate_seconds": round(generated, 2), "runs": []}
        results["runs"].append(bench("sqlite", f"sqlite:///{work_dir / 'bench.db'}", work_dir / "county",
                                     work_dir / "payments", total))
        if not args.skip_postgres:
            results["runs"].append(bench("postgresql", args.postgres, work_dir / "county", work_dir / "payments",
                                         total))
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Detection benchmark at a county's, a prefecture's and a province's sizes: import and full
scan, time, peak memory and temporary files, per detector.

    python benchmarks/bench_detect.py --households 10000 100000 1000000 \\
        --database sqlite --database postgresql+psycopg://postgres@127.0.0.1/audit_bench_detect \\
        [--past-years 2] [--work DIR] [--out results.json]

For each size, generates a county (``--past-years`` earlier years of recurring allowances
make it as dense as a real one: 2 gives about 11 card payments a household), then for each
database imports it into a fresh store (the importer brings the planner's statistics up to
date itself) and runs ``audit detect``'s full scan, each in a child process so that its
peak memory (VmHWM) is its own. On PostgreSQL the scan's session asks the server to report
every temporary file it writes (``log_temp_files = 0``, sent to the client as notices;
the URL's user must be a superuser, as ``postgres`` is on our machines) and adds them up
per detector. ``--work`` keeps the generated counties between runs (a million households
take minutes to draw). Prints, and with ``--out`` writes, the figures as JSON; the growth
from size to size is the ratio of each size's scan time to the one before it, against the
ratio of their card payments.

Targets (2-core machine): 10,000 households on SQLite in at most 30 s; 100,000 households
(about a million card payments) on PostgreSQL in at most 60 s within 2 GB; 1,000,000
households (about 10 million) in at most 15 minutes, growing no faster than linearly; no
detector writing more than 1 GB of temporary files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

CHILD = r"""
import json, re, sys, time
from sqlalchemy import event
from audit.db import make_engine
from audit.detection.service import detect
engine = make_engine(sys.argv[1])
temp = {"bytes": 0, "files": 0, "largest": 0}
SIZE = re.compile(r'temporary file: path ".*", size (\d+)')

def on_notice(diagnostic):
    found = SIZE.search(diagnostic.message_primary or "")
    if found:
        size = int(found.group(1))
        temp["bytes"] += size
        temp["files"] += 1
        temp["largest"] = max(temp["largest"], size)

if engine.dialect.name == "postgresql":
    @event.listens_for(engine, "connect")
    def report_temporary_files(dbapi_connection, _record):
        dbapi_connection.add_notice_handler(on_notice)
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET log_temp_files = 0")
            cursor.execute("SET client_min_messages = log")
        dbapi_connection.commit()

per = {}
mark = {"bytes": 0, "files": 0, "at": time.perf_counter()}

def progress(code, done, total):
    mark.update(bytes=temp["bytes"], files=temp["files"], at=time.perf_counter())
    print(f"{code} {done}/{total}", file=sys.stderr, flush=True)

def finished(code, entry):
    per[code] = {"seconds": entry["seconds"], "with_storing": round(time.perf_counter() - mark["at"], 3),
                 "findings": entry["findings"], "temp_mb": round((temp["bytes"] - mark["bytes"]) / 2**20, 1),
                 "temp_files": temp["files"] - mark["files"]}

started = time.perf_counter()
report = detect(engine, progress=progress, finished=finished)
print(json.dumps({"seconds": time.perf_counter() - started, "max_rss_mb": peak_mb(), "findings": report.findings,
                  "temp_mb": round(temp["bytes"] / 2**20, 1), "largest_temp_file_mb": round(temp["largest"] / 2**20, 1),
                  "detectors": per}))
"""


def scan(url: str) -> dict:
    from bench_import import PEAK

    done = subprocess.run([sys.executable, "-c", PEAK + CHILD, url], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def county(work: Path, households: int, past_years: int) -> tuple[Path, float | None]:
    """The generated county's folder, drawn unless ``work`` already holds it."""
    folder = work / f"county-{households}-{past_years}"
    if (folder / "truth.json").exists():
        return folder, None
    started = time.perf_counter()
    code = (f"from pathlib import Path; from audit.synth.county import generate; "
            f"generate(Path({str(folder)!r}), households={households}, seed=2017, past_years={past_years})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return folder, time.perf_counter() - started


PART_ROWS = 4_000_000  # an import takes at most max_rows_per_table (10 M) rows of a table


def parts(folder: Path) -> list[Path]:
    """The datasets to import, in order: the county whole, or, when its card payments are
    more than one import takes, the county without them and then its payments in files of
    at most PART_ROWS rows, as a county imports three years of payments (made once, kept)."""
    payments = folder / "card_payments.csv"
    with payments.open(encoding="utf-8") as handle:
        header = handle.readline()
        total = sum(1 for _ in handle)
    if total <= PART_ROWS:
        return [folder]
    rest = folder.with_name(folder.name + "-parts") / "county"
    if not (rest / "households.csv").exists():
        rest.mkdir(parents=True, exist_ok=True)
        for table in folder.glob("*.csv"):
            if table.name != payments.name:
                (rest / table.name).write_bytes(table.read_bytes())
        with payments.open(encoding="utf-8") as handle:
            handle.readline()
            for number in range(0, (total + PART_ROWS - 1) // PART_ROWS):
                part = rest.with_name(f"payments-{number + 1}")
                part.mkdir(exist_ok=True)
                with (part / "card_payments.csv").open("w", encoding="utf-8") as out:
                    out.write(header)
                    for _ in range(PART_ROWS):
                        line = handle.readline()
                        if not line:
                            break
                        out.write(line)
    return [rest] + sorted(rest.parent.glob("payments-*"), key=lambda p: int(p.name.split("-")[1]))


def measure(url: str, folder: Path) -> dict:
    from bench_import import fresh, run_import
    from sqlalchemy import func, select

    from audit.db import make_engine
    from audit.models import CardPayment, Disbursement, Household, Person, Transfer

    fresh(url)
    runs = [run_import(url, part) for part in parts(folder)]
    imported = {"seconds": sum(r["seconds"] for r in runs), "max_rss_mb": max(r["max_rss_mb"] for r in runs)}
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (Household, Person, CardPayment, Disbursement, Transfer)}
        size_mb = None
        if engine.dialect.name == "postgresql":
            size_mb = round(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one() / 2**20)
    engine.dispose()
    if size_mb is None:
        from sqlalchemy.engine import make_url

        size_mb = round(Path(make_url(url).database).stat().st_size / 2**20)
    result = scan(url)
    slowest = sorted(result["detectors"].items(), key=lambda item: -item[1]["seconds"])[:6]
    return {"rows": rows, "store_mb": size_mb, "import_seconds": round(imported["seconds"], 1),
            "import_max_rss_mb": round(imported["max_rss_mb"]), "detect_seconds": round(result["seconds"], 1),
            "detect_max_rss_mb": round(result["max_rss_mb"]), "findings": result["findings"],
            "temp_mb": result["temp_mb"], "largest_temp_file_mb": result["largest_temp_file_mb"],
            "slowest": {code: entry["seconds"] for code, entry in slowest},
            "per_detector": result["detectors"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, nargs="+", default=[10_000])
    parser.add_argument("--past-years", type=int, default=2)
    parser.add_argument("--database", action="append", help="sqlite, or a PostgreSQL URL (recreated)")
    parser.add_argument("--work", type=Path, help="keep generated counties (and the SQLite store) here")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    databases = args.database or ["sqlite"]
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for households in args.households:
            folder, generated = county(work, households, args.past_years)
            for database in databases:
                url = f"sqlite:///{work / 'bench.db'}" if database == "sqlite" else database
                entry = {"database": "sqlite" if database == "sqlite" else "postgresql", "households": households,
                         "past_years": args.past_years,
                         "generate_seconds": None if generated is None else round(generated, 1), **measure(url, folder)}
                before = [r for r in results if r["database"] == entry["database"]]
                if before:  # growth against the size before: time ratio over payments ratio
                    last = before[-1]
                    entry["growth"] = {
                        "payments": round(entry["rows"]["card_payments"] / last["rows"]["card_payments"], 2),
                        "detect_seconds": round(entry["detect_seconds"] / max(last["detect_seconds"], 0.1), 2),
                        "import_seconds": round(entry["import_seconds"] / max(last["import_seconds"], 0.1), 2)}
                results.append(entry)
                print(json.dumps({k: v for k, v in entry.items() if k != "per_detector"}, ensure_ascii=False),
                      flush=True)
                if args.out:
                    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
        if (work / "bench.db").exists() and args.work is None:
            (work / "bench.db").unlink()


if __name__ == "__main__":
    main()

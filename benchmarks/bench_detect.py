"""Detection benchmark: the full scan, seconds per detector, total, and peak memory.

    python benchmarks/bench_detect.py --households 10000 --database sqlite
    python benchmarks/bench_detect.py --households 100000 \\
        --database postgresql+psycopg://postgres@127.0.0.1/audit_bench_detect

Generates a county, imports it into a fresh database, then runs every detector in a
child process (so its peak memory, VmHWM, is its own) and prints the figures as JSON.
Targets (2-core machine): 10,000 households on SQLite in at most 30 s; 100,000
households on PostgreSQL in at most 5 minutes; peak memory at most 2 GB.
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
import json, sys, time
from audit.db import make_engine
from audit.detection.service import detect
engine = make_engine(sys.argv[1])
started = time.perf_counter()
report = detect(engine)
print(json.dumps({"seconds": time.perf_counter() - started, "max_rss_mb": peak_mb(),
                  "detectors": {c: {"seconds": d["seconds"], "findings": d["findings"]}
                                for c, d in report.detectors.items()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL URL (recreated)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from bench_import import fresh, run_import
    from sqlalchemy import func, select

    from audit.db import make_engine
    from audit.models import CardPayment, Disbursement, Transfer
    from audit.synth.county import generate

    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        url = f"sqlite:///{work_dir / 'bench.db'}" if args.database == "sqlite" else args.database
        started = time.perf_counter()
        generate(work_dir / "county", households=args.households, seed=2017)
        generated = time.perf_counter() - started
        fresh(url)
        imported = run_import(url, work_dir / "county")
        engine = make_engine(url)
        with engine.connect() as conn:
            sizes = {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (CardPayment, Disbursement, Transfer)}
        engine.dispose()
        from bench_import import PEAK

        done = subprocess.run([sys.executable, "-c", PEAK + CHILD, url], capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        if done.returncode != 0:
            raise SystemExit(done.stderr[-3000:])
        scan = json.loads(done.stdout.strip().splitlines()[-1])
    result = {"database": "sqlite" if args.database == "sqlite" else "postgresql", "households": args.households,
              "rows": sizes, "generate_seconds": round(generated, 1), "import_seconds": round(imported["seconds"], 1),
              "detect_seconds": round(scan["seconds"], 1), "detect_max_rss_mb": round(scan["max_rss_mb"]),
              "per_detector": scan["detectors"]}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Pre-release check latency against a served 10,000-household store.

    python benchmarks/bench_checks.py [--households 10000] [--requests 1000] [--clients 20]
        [--database postgresql+psycopg://postgres@127.0.0.1/audit_bench_checks]

Builds the store (SQLite by default), starts `audit serve` on 127.0.0.1, then: one disbursement
checked per request, ``--requests`` requests from ``--clients`` concurrent clients (p50,
p99); and card rosters of each size in ``--rosters`` (default 5,000 and 40,000 lines: a
county's whole month), each uploaded as a CSV file as a finance office sends it, the
low-income households' payments month after month with each month's notices posted.
Targets: p99 <= 100 ms; 5,000 lines in <= 2 s, 40,000 in <= 10 s.
All traffic stays on the loopback address; every loop is bounded. A first round of ``--clients`` requests warms
the server and is reported apart (``first_round_max_ms``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
PASSWORD = "benchmark password"


def prepare(url: str, households: int, folder: Path, sizes: list[int]) -> tuple[dict, dict[int, bytes]]:
    from bench_import import fresh
    from sqlalchemy import func, select

    from audit.db import make_engine
    from audit.detection.service import detect
    from audit.importer.service import import_path
    from audit.models import Disbursement, Household, Project
    from audit.synth.county import generate
    from audit.auth.service import create_user

    generate(folder / "county", households=households, seed=2017)
    fresh(url)
    engine = make_engine(url)
    import_path(engine, folder / "county")
    detect(engine)
    with engine.begin() as conn:
        create_user(conn, "finance1", "finance", PASSWORD)
        paid = select(Disbursement.project_id, func.sum(Disbursement.amount_fen).label("paid")).group_by(
            Disbursement.project_id).subquery()
        project = conn.execute(select(Project.project_id, Disbursement.payee_id, Disbursement.payee_account,
                                      Disbursement.allocation_id)
                               .join(paid, paid.c.project_id == Project.project_id)
                               .join(Disbursement, Disbursement.project_id == Project.project_id)
                               .where(paid.c.paid * 100 <= Project.budget_fen * 65).limit(1)).one()
        homes = conn.execute(select(Household).where(Household.attribute == "low_income",
                                                     Household.exited_on.is_(None))
                             .order_by(Household.household_id)).all()
        # The batches' notices are published before the roster goes out, as they must be.
        from sqlalchemy import insert

        from audit.models import Disclosure
        months = [f"{2018 + m // 12}-{m % 12 + 1:02d}" for m in range(-(-max(sizes) // len(homes)))]
        for village in {h.village_code for h in homes}:
            for month in months:
                conn.execute(insert(Disclosure).values(
                    disclosure_id=f"B-{month}-{village}", subject_kind="payment_batch",
                    subject_ref=f"MIN_LIVING/{month}/{village}", channel="both",
                    start_on=date(2017, 12, 1), end_on=date(2017, 12, 20)))
    line = {"disbursement_id": "BENCH-1", "allocation_id": project.allocation_id, "project_id": project.project_id,
            "payer_unit": "汨罗市财政局", "payee_kind": "org", "payee_id": project.payee_id,
            "payee_account": project.payee_account, "amount": "60000.00", "paid_on": "2017-12-20"}
    rosters = {}
    for size in sizes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["payment_id", "program_code", "id_number", "household_id", "card_account", "amount",
                         "period", "paid_on", "paying_unit"])
        for i in range(size):
            home, month = homes[i % len(homes)], months[i // len(homes)]
            writer.writerow([f"B{i:06d}", "MIN_LIVING", home.head_id_number, home.household_id, home.card_account,
                             "390.00", month, f"{month}-20", "归义镇财政所"])
        rosters[size] = out.getvalue().encode("utf-8")
    engine.dispose()
    return line, rosters


async def hammer(base: str, token: str, line: dict, requests: int, clients: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            while not queue.empty():
                number = queue.get_nowait()
                # Each request checks its own line, as a treasury's stream of payments would.
                mine = {**line, "disbursement_id": f"{line['disbursement_id']}-{number}"}
                started = time.perf_counter()
                response = await http.post("/api/checks/disbursements", json={"disbursements": [mine]},
                                           headers={"Authorization": f"Bearer {token}"})
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--workers", type=int, default=1, help="server processes (audit serve --workers)")
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL URL (recreated)")
    parser.add_argument("--rosters", default="5000,40000",
                        help="roster sizes, comma-separated, uploaded in this order (one size may repeat)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        url = f"sqlite:///{folder / 'bench.db'}" if args.database == "sqlite" else args.database
        sizes = [int(size) for size in args.rosters.split(",") if size]
        line, rosters = prepare(url, args.households, folder, sorted(set(sizes)))
        env = {**os.environ, "AUDIT_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src")}
        server = subprocess.Popen([sys.executable, "-m", "audit", "serve", "--port", str(args.port),
                                   "--workers", str(args.workers)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "w"))
        base = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"{base}/health", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            token = httpx.post(f"{base}/api/auth/login", json={"name": "finance1", "password": PASSWORD}
                               ).json()["access_token"]
            # A first round warms the server (connections opened, statements compiled and
            # prepared): timed apart, since it is paid once per server start, not per check.
            cold = asyncio.run(hammer(base, token, {**line, "disbursement_id": "WARM"}, args.clients, args.clients))
            latencies = sorted(asyncio.run(hammer(base, token, line, args.requests, args.clients)))
            timed = []
            for size in sizes:  # in the order given: a size given twice is uploaded twice
                started = time.perf_counter()
                response = httpx.post(f"{base}/api/checks/card-roster/file", content=rosters[size], timeout=600,
                                      headers={"Authorization": f"Bearer {token}", "content-type": "text/csv"})
                response.raise_for_status()
                timed.append({"lines": size, "seconds": round(time.perf_counter() - started, 2),
                              "held": response.json()["summary"]["hold"]})
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {"database": "sqlite" if args.database == "sqlite" else "postgresql", "households": args.households, "requests": len(latencies), "clients": args.clients,
              "workers": args.workers, "cores": os.cpu_count(),
              "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
              "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
              "requests_per_second": round(len(latencies) / sum(latencies) * args.clients, 1),
              "first_round_max_ms": round(max(cold) * 1000, 1),
              "rosters": timed}
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

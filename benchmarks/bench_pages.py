"""Server time of the workspace's pages on a 10,000-household store, then of the case list
with 100,000 cases.

    python benchmarks/bench_pages.py [--households 10000] [--cases 100000]
        [--database postgresql+psycopg://postgres@127.0.0.1/audit_bench_pages]

Builds the store (SQLite by default), runs detection, starts `audit serve` on 127.0.0.1,
signs in as an inspector and reads each kind of page several times; the figure is the
server's own time for each response (its ``Server-Timing`` header), so the network and
the client do not count. Then it adds synthetic cases up to ``--cases`` (copies of the
real ones under new subjects, spread over the county's towns) and reads the case list
again: first page, a filter, a search by name, a deep page, another sort.
Target: every page within 300 ms of server time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
PASSWORD = "benchmark password"
ROUNDS = 5


def server_ms(response: httpx.Response) -> float:
    match = re.search(r"dur=([0-9.]+)", response.headers.get("server-timing", ""))
    return float(match.group(1)) if match else float("nan")


def measure(client: httpx.Client, paths: list[str]) -> dict[str, float]:
    times = []
    for _ in range(ROUNDS):
        for path in paths:
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
            times.append(server_ms(response))
    times.sort()
    return {"pages": len(paths), "requests": len(times), "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 1), "max_ms": round(times[-1], 1)}


def add_cases(url: str, wanted: int) -> int:
    """Copies of the stored cases (and their findings) under new subjects up to ``wanted``."""
    from sqlalchemy import func, insert, select

    from audit.db import make_engine
    from audit.models import Case, Finding, Town

    engine = make_engine(url)
    with engine.begin() as conn:
        cases = [dict(r._mapping) for r in conn.execute(select(Case))]
        findings: dict[int, list[dict]] = {}
        for row in conn.execute(select(Finding)):
            findings.setdefault(row.case_id, []).append(dict(row._mapping))
        towns = list(conn.execute(select(Town.town_code)).scalars())
        have = conn.execute(select(func.count()).select_from(Case)).scalar_one()
        copy = 0
        while have < wanted:
            batch_cases, batch_findings = [], []
            for case in cases:
                if have >= wanted:
                    break
                copy += 1
                have += 1
                new = {k: v for k, v in case.items() if k != "id"}
                new.update(subject_key=f"{case['subject_key']}#{copy}", town_code=towns[copy % len(towns)],
                           label=(case["label"] or "") + f"{copy}")
                batch_cases.append(new)
            ids = conn.execute(insert(Case).returning(Case.id), batch_cases).scalars().all()
            for new_id, case in zip(ids, cases, strict=False):
                for finding in findings.get(case["id"], []):
                    batch_findings.append({**{k: v for k, v in finding.items() if k != "id"}, "case_id": new_id,
                                           "fingerprint": f"{finding['fingerprint'][:40]}-{new_id}"})
            if batch_findings:
                conn.execute(insert(Finding), batch_findings)
        total = conn.execute(select(func.count()).select_from(Case)).scalar_one()
    engine.dispose()
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    from bench_import import fresh

    from audit.auth.service import create_user
    from audit.db import make_engine
    from audit.detection.service import detect
    from audit.importer.service import import_path
    from audit.synth.county import generate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database or f"sqlite:///{folder / 'bench.db'}"
        generate(folder / "county", households=args.households, seed=2017)
        fresh(url)
        engine = make_engine(url)
        import_path(engine, folder / "county")
        detect(engine)
        with engine.begin() as conn:
            create_user(conn, "inspector1", "inspector", PASSWORD)
        engine.dispose()
        env = {**os.environ, "AUDIT_DATABASE_URL": url, "AUDIT_ENV": "development",
               "AUDIT_LOG_CHECKPOINT_PATH": str(folder / "checkpoints.jsonl"), "PYTHONPATH": str(ROOT / "src")}
        results: dict[str, object] = {"database": "postgresql" if url.startswith("postgresql") else "sqlite",
                                      "households": args.households}

        def serve() -> subprocess.Popen[bytes]:
            server = subprocess.Popen([sys.executable, "-m", "audit", "serve", "--port", str(args.port)], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.1:{args.port}/health", timeout=1).status_code == 200:
                        return server
                except httpx.HTTPError:
                    time.sleep(0.1)
            raise SystemExit("the server did not start")

        def signed_in() -> httpx.Client:
            client = httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=60)
            form = client.get("/login").text
            token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
            client.post("/login", data={"name": "inspector1", "password": PASSWORD, "login_csrf": token})
            return client

        server = serve()
        try:
            client = signed_in()
            listing = client.get("/cases?status=all").text
            cases = sorted(set(re.findall(r'href="/cases/(\d+)"', listing)), key=int)[:20]
            records: list[str] = []
            for case in cases:
                records += re.findall(r'href="(/records/[^"]+)"', client.get(f"/cases/{case}").text)
            records = sorted(set(records))[:30]
            name = re.search(r'href="/cases/\d+">([^<（(]{2})', listing)
            results["counts"] = {"cases": len(cases), "records": len(records)}
            results["home"] = measure(client, ["/"])
            results["case_list"] = measure(client, ["/cases", "/cases?status=all&sort=amount", "/cases?code=DC-06",
                                                    f"/cases?q={name.group(1) if name else '张'}", "/cases?page=2"])
            results["case_page"] = measure(client, [f"/cases/{c}" for c in cases])
            results["record_pages"] = measure(client, records)
            results["case_export"] = measure(client, ["/cases/export.xlsx?status=all"])
        finally:
            server.terminate()
            server.wait(timeout=30)
        results["cases_total"] = add_cases(url, args.cases)
        server = serve()
        try:
            client = signed_in()
            town = re.search(r'<option value="(\d+)">', client.get("/cases").text)
            results["case_list_100k"] = measure(client, [
                "/cases", "/cases?status=all&sort=amount", f"/cases?town={town.group(1) if town else ''}",
                "/cases?q=张", "/cases?page=200", "/cases?code=DC-01&min_amount=1000"])
            results["home_100k"] = measure(client, ["/"])
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

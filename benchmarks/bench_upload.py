"""The service stays responsive and bounded while a large upload is imported.

    python benchmarks/bench_upload.py [--payments 200000] [--households 10000]
        [--database postgresql+psycopg://postgres@127.0.0.1/audit_bench_upload]

Builds a store of ``--households`` (SQLite by default), starts `audit serve` on
127.0.0.1, and uploads a .zip of ``--payments`` card payments to ``POST /api/datasets`` while
another client asks ``GET /health`` every 20 ms. Reports the upload's time, /health's
latencies (p50, p99, max) during it, and the server process's peak memory (VmHWM).
The import runs in a job worker process, whose peak is reported too (with the server's,
the whole service's). Targets: /health within 100 ms throughout; the service under 1 GB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
PASSWORD = "benchmark password"


def peak_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def family(pid: int) -> list[int]:
    """The process and its descendants (the job workers the server spawned)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        # Children belong to the thread that started them: read every thread's list.
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=200_000)
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--database")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    from bench_import import fresh, write_payments

    from audit.auth.service import create_user
    from audit.db import make_engine
    from audit.importer.service import import_path
    from audit.synth.county import generate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database or f"sqlite:///{folder / 'bench.db'}"
        generate(folder / "county", households=args.households, seed=2017)
        fresh(url)
        engine = make_engine(url)
        import_path(engine, folder / "county")
        with engine.begin() as conn:
            create_user(conn, "admin1", "admin", PASSWORD)
        engine.dispose()
        rows = write_payments(folder / "county", folder / "upload", args.payments)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
            out.write(folder / "upload" / "card_payments.csv", "card_payments.csv")
        body = archive.getvalue()

        env = {**os.environ, "AUDIT_DATABASE_URL": url, "AUDIT_ENV": "development",
               "AUDIT_LOG_CHECKPOINT_PATH": str(folder / "checkpoints.jsonl"), "PYTHONPATH": os.environ.get("EXTRA_PYTHONPATH", "") + ":" + str(ROOT / "src")}
        server = subprocess.Popen([sys.executable, "-m", "audit", "serve", "--port", str(args.port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            token = httpx.post(f"{base}/api/auth/login", json={"name": "admin1", "password": PASSWORD}
                               ).json()["access_token"]
            baseline = peak_mb(server.pid)
            latencies: list[float] = []
            done = threading.Event()

            def probe() -> None:
                with httpx.Client(timeout=30) as client:
                    while not done.is_set():
                        started = time.perf_counter()
                        client.get(f"{base}/health")
                        latencies.append((time.perf_counter() - started) * 1000)
                        time.sleep(0.02)

            workers: dict[int, float] = {}

            def watch_workers() -> None:  # the workers' peaks, read while they live
                while not done.is_set():
                    for pid in family(server.pid)[1:]:
                        try:
                            workers[pid] = max(workers.get(pid, 0.0), peak_mb(pid))
                        except OSError:
                            pass
                    time.sleep(0.2)

            prober = threading.Thread(target=probe)
            prober.start()
            watcher = threading.Thread(target=watch_workers)
            watcher.start()
            started = time.perf_counter()
            answer = httpx.post(f"{base}/api/datasets", content=body, timeout=3600,
                                headers={"Authorization": f"Bearer {token}", "content-type": "application/zip"})
            seconds = time.perf_counter() - started
            for pid in family(server.pid)[1:]:
                try:
                    workers[pid] = max(workers.get(pid, 0.0), peak_mb(pid))
                except OSError:
                    pass
            done.set()
            prober.join()
            watcher.join()
            report = answer.json()
            latencies.sort()
            print(json.dumps({
                "database": "postgresql" if url.startswith("postgresql") else "sqlite",
                "payments": rows, "upload_bytes": len(body), "status": answer.status_code,
                "inserted": report.get("counts", {}).get("card_payments", {}).get("inserted"),
                "upload_seconds": round(seconds, 1), "health_requests": len(latencies),
                "health_p50_ms": round(statistics.median(latencies), 1),
                "health_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
                "health_max_ms": round(latencies[-1], 1),
                "server_peak_mb_before": round(baseline), "server_peak_mb": round(peak_mb(server.pid)),
                "worker_peak_mb": round(max(workers.values(), default=0.0)),
                "server_and_workers_mb": round(peak_mb(server.pid) + sum(workers.values())),
            }, indent=1))
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

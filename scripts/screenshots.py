"""Screenshots of the workspace's main screens, for the README and the user's guide.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--county fixtures/county-small]

Builds a store from the county (SQLite, in a temporary folder), runs detection, creates
one user per role, serves it on 127.0.0.1 and photographs each screen in Debian's
Chromium (/usr/bin/chromium, or AUDIT_BROWSER) at 1360 px wide. Numbers stay masked.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("AUDIT_BROWSER", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
USERS = {"inspector1": "inspector", "inspector2": "inspector", "finance1": "finance", "disclosure1": "disclosure",
         "admin1": "admin"}


def audit(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "audit", *args], env=env, input=stdin, text=True, check=True,
                   capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--county", type=Path, default=ROOT / "fixtures" / "county-small")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AUDIT_DATABASE_URL": f"sqlite:///{Path(tmp) / 'shots.db'}", "AUDIT_ENV": "development",
               "AUDIT_LOG_CHECKPOINT_PATH": str(Path(tmp) / "checkpoints.jsonl")}
        audit(env, "db", "upgrade")
        audit(env, "import", str(args.county))
        audit(env, "detect")
        for name, role in USERS.items():
            audit(env, "users", "create", name, "--role", role, "--password-stdin", stdin=f"demo-password-{name}\n")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "audit", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            truth = json.loads((args.county / "truth.json").read_text(encoding="utf-8"))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                shots = _shoot(browser, base, args.out, truth)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    for shot in shots:
        print(shot)


def _shoot(browser: object, base: str, out: Path, truth: dict) -> list[Path]:
    done = []

    def page_as(name: str) -> object:
        context = browser.new_context(viewport={"width": 1360, "height": 860}, locale="zh-CN")  # type: ignore[attr-defined]
        page = context.new_page()
        page.goto(f"{base}/login")
        if name:
            page.fill("input[name=name]", name)
            page.fill("input[name=password]", f"demo-password-{name}")
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
        return page

    def shot(page: object, file: str, full: bool = True) -> None:
        page.wait_for_timeout(500)  # type: ignore[attr-defined]
        target = out / file
        page.screenshot(path=str(target), full_page=full)  # type: ignore[attr-defined]
        done.append(target)

    login = page_as("")
    shot(login, "01-login.png", full=False)
    inspector = page_as("inspector1")
    shot(inspector, "02-inspector-home.png")
    inspector.goto(f"{base}/cases?family=DC")  # type: ignore[attr-defined]
    shot(inspector, "03-case-list.png", full=False)
    dead = next(c for c in truth["cases"] if c["code"] == "DC-06")
    inspector.goto(f"{base}/cases?status=all&q={dead['subjects'][0]['key'][-6:]}")  # type: ignore[attr-defined]
    inspector.click("#results tbody a >> nth=1")  # type: ignore[attr-defined]
    inspector.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    shot(inspector, "04-case-detail.png")
    link = inspector.locator("a[href^='/records/household/']").first  # type: ignore[attr-defined]
    if link.count():
        link.click()
        inspector.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
        shot(inspector, "05-household.png")
    for name, file in (("finance1", "06-finance-home.png"), ("disclosure1", "07-disclosure-home.png"),
                       ("admin1", "08-admin-home.png")):
        shot(page_as(name), file, full=False)
    return done


if __name__ == "__main__":
    main()

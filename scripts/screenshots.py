"""Screenshots of the workspace's main screens, for the README and the user's guide.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--county fixtures/county-small]

Builds a store from the county (SQLite, in a temporary folder), runs detection, creates
one user per role, serves it on 127.0.0.1 and photographs each screen in Debian's
Chromium (/usr/bin/chromium, or AUDIT_BROWSER) at 1360 px wide. Numbers stay masked.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
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
                shots = _shoot(browser, base, args.out, truth, args.county)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    for shot in shots:
        print(shot)


def _shoot(browser: object, base: str, out: Path, truth: dict, county: Path) -> list[Path]:
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
        # Watch the household from its page, then 我的关注 (the import below tells nothing
        # new yet; the page lists the watch).
        inspector.click("button[data-watch=off]")  # type: ignore[attr-defined]
        inspector.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
        inspector.goto(f"{base}/watches")  # type: ignore[attr-defined]
        shot(inspector, "17-watches.png", full=False)
    # 集中交办: a new batch for the town with the most open cases, its cases to pick.
    inspector.goto(f"{base}/handouts/new")  # type: ignore[attr-defined]
    town = inspector.locator("select[name=town] option").nth(1)  # type: ignore[attr-defined]
    if town.count():
        inspector.goto(f"{base}/handouts/new?town={town.get_attribute('value')}")  # type: ignore[attr-defined]
    shot(inspector, "16-handout-new.png", full=False)
    for name, file in (("finance1", "06-finance-home.png"), ("disclosure1", "07-disclosure-home.png"),
                       ("admin1", "08-admin-home.png")):
        shot(page_as(name), file, full=False)

    # 发放前核查: a month's roster of the county's low-income households, checked.
    finance = page_as("finance1")
    finance.set_input_files("input[type=file]", files=[{  # type: ignore[attr-defined]
        "name": "2018年1月低保发放.csv", "mimeType": "text/csv", "buffer": _roster(county)}])
    finance.click("button:has-text('开始核查')")  # type: ignore[attr-defined]
    finance.wait_for_url("**/finance/checks/*", timeout=120_000)  # type: ignore[attr-defined]
    shot(finance, "09-finance-check.png", full=False)
    # 公告公示: the busiest batch of the shipped county, previewed.
    notices = page_as("disclosure1")
    notices.goto(f"{base}/notices?kind=beneficiaries&program=MIN_LIVING&period=2017-05&village="  # type: ignore[attr-defined]
                 f"{_busiest_village(county)}")
    shot(notices, "10-notices.png", full=False)
    # 数据管理: the bad-rows dataset's report, every error in Chinese.
    admin = page_as("admin1")
    admin.goto(f"{base}/admin/datasets")  # type: ignore[attr-defined]
    admin.set_input_files("input[type=file]", files=[{  # type: ignore[attr-defined]
        "name": "坏行数据.zip", "mimeType": "application/zip", "buffer": _zipped(county.parent / f"{county.name}-bad")}])
    admin.click("#upload-form button[type=submit]")  # type: ignore[attr-defined]
    admin.wait_for_selector("#report", timeout=120_000)  # type: ignore[attr-defined]
    admin.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    shot(admin, "11-admin-import.png", full=False)

    # 民生资金查询 on a phone: a relative of the planted DC-06 person looks the household up
    # and complains about the payment made after the death; 群众投诉 shows it to inspectors.
    persons = _rows(county, "persons")
    home = next(p["household_id"] for p in persons if p["id_number"] == dead["subjects"][0]["key"])
    relative = next((p for p in persons if p["household_id"] == home and p["id_number"] != dead["subjects"][0]["key"]),
                    next(p for p in persons if p["id_number"] == dead["subjects"][0]["key"]))
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,  # type: ignore[attr-defined]
                                has_touch=True, locale="zh-CN").new_page()
    phone.goto(f"{base}/public")
    shot(phone, "12-public-form.png", full=False)
    phone.fill("input[name=id_number]", relative["id_number"])
    phone.fill("input[name=name]", relative["name"])
    with phone.expect_navigation():  # type: ignore[attr-defined]
        phone.tap("button[type=submit]")  # type: ignore[attr-defined]
    shot(phone, "13-public-result.png", full=False)
    phone.tap("a.ask >> nth=0")  # type: ignore[attr-defined]
    phone.fill("textarea[name=text]", "这笔补贴是家里老人去世以后发的，我们家没有人领到，请核实是谁领走了。")
    phone.fill("input[name=phone]", "13907301234")
    with phone.expect_navigation():  # type: ignore[attr-defined]
        phone.tap("#complaint button[type=submit]")  # type: ignore[attr-defined]
    shot(phone, "14-public-filed.png", full=False)
    inspector.goto(f"{base}/complaints")  # type: ignore[attr-defined]
    inspector.click("tbody a >> nth=0")  # type: ignore[attr-defined]
    inspector.wait_for_load_state("networkidle")  # type: ignore[attr-defined]
    shot(inspector, "15-complaint.png", full=False)
    return done


def _rows(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _roster(county: Path) -> bytes:
    """The January 2018 MIN_LIVING lines of 60 low-income households, as the one-card system
    exports them (its headers, the program by name, 201801)."""
    homes = [h for h in _rows(county, "households") if h["attribute"] == "low_income" and not h["exited_on"]][:60]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["序号", "姓名", "发放流水号", "补贴项目", "身份证号码", "户编号", "一卡通账号", "发放金额（元）",
                     "发放期号", "发放时间", "发放机构"])
    for number, home in enumerate(homes, 1):
        writer.writerow([number, home["head_name"], f"P2018-01-{number:04d}", "农村低保金", home["head_id_number"],
                         home["household_id"], home["card_account"], "390.00", "201801", "2018-01-20", "古培镇财政所"])
    return out.getvalue().encode("utf-8")


def _busiest_village(county: Path) -> str:
    homes = {h["household_id"]: h["village_code"] for h in _rows(county, "households")}
    counts: dict[str, int] = {}
    for payment in _rows(county, "card_payments"):
        if payment["program_code"] == "MIN_LIVING" and payment["period"] == "2017-05":
            village = homes.get(payment["household_id"])
            if village:
                counts[village] = counts.get(village, 0) + 1
    return max(counts, key=lambda v: counts[v])


def _zipped(folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.glob("*.csv")):
            archive.write(file, file.name)
    return out.getvalue()


if __name__ == "__main__":
    main()

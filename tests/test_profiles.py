"""Import profiles: the one-card system's 发放明细 and the poverty system's member list, in
their own headers and terms, imported with the shipped profiles, the second time with every
row unchanged; lookups by name, derived keys, a user's copy of a profile, the command line."""

from __future__ import annotations

import csv
import io
import time
import shutil
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, insert, select

from audit.importer import profile
from audit.importer.service import import_path
from audit.models import CardPayment, Household, Person, Village
from audit.synth.exports import FPXT, YIKATONG, write_exports
from tests.conftest import COUNTY
from tests.test_cli import audit

GEOGRAPHY = ("towns", "villages", "programs", "allocations")


def _county(name: str) -> list[dict[str, str]]:
    with (COUNTY / f"{name}.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def exports(engine: Engine, tmp_path: Path) -> tuple[Engine, Path]:
    """A store with the county's towns, villages, programs and allocations only, and the
    county's households, members and payments as the two exports."""
    base = tmp_path / "base"
    base.mkdir()
    for name in GEOGRAPHY:
        shutil.copy(COUNTY / f"{name}.csv", base)
    assert import_path(engine, base).outcome == "committed"
    write_exports(COUNTY, tmp_path / "exports")
    return engine, tmp_path / "exports"


def _counts(report: Any) -> dict[str, tuple[int, int, int, int]]:
    return {t: (c.read, c.inserted, c.unchanged, c.rejected) for t, c in report.counts.items()}


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="gb18030", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_the_member_list_feeds_households_and_persons_and_again_changes_nothing(exports: Any) -> None:
    engine, folder = exports
    members = profile.find("fpxt-members")
    first = import_path(engine, folder / FPXT, profile=members)
    assert first.outcome == "committed", [e.line("en") for e in first.errors[:5]]
    heads = [h for h in _county("households")
             if any(p["id_number"] == h["head_id_number"] and p["relation"] == "head" for p in _county("persons"))]
    people = [p for p in _county("persons") if p["household_id"] in {h["household_id"] for h in heads}
              and not (p["relation"] == "head" and p["id_number"] not in {h["head_id_number"] for h in heads})]
    assert _counts(first) == {"households": (len(heads), len(heads), 0, 0), "persons": (len(people), len(people), 0, 0)}
    # 序号 is in no profile: ignored, with a warning naming it.
    assert [(w.column, w.message) for w in first.warnings] == [("序号", "warning.import.unknown_column")]
    with engine.connect() as conn:
        stored = {h.household_id: h for h in conn.execute(select(Household))}
        relations = dict(conn.execute(select(Person.id_number, Person.relation)).all())
    for home in heads:
        got = stored[home["household_id"]]
        # 乡(镇) and 行政村 by name became the village code; 脱贫年度 its 31 December.
        assert (got.village_code, got.head_id_number, got.head_name, got.attribute, got.registered_on.isoformat()) == (
            home["village_code"], home["head_id_number"], home["head_name"], home["attribute"], home["registered_on"])
        assert (got.exited_on.isoformat() if got.exited_on else "") == (
            f"{home['exited_on'][:4]}-12-31" if home["exited_on"] else "")
    assert all(relations[p["id_number"]] == p["relation"] for p in people)  # 之子, 之女 … as the codes
    again = import_path(engine, folder / FPXT, profile=members)
    assert _counts(again) == {"households": (len(heads), 0, len(heads), 0), "persons": (len(people), 0, len(people), 0)}


def test_the_one_card_payment_detail_with_statuses_reissues_and_program_names(exports: Any) -> None:
    engine, folder = exports
    assert import_path(engine, folder / FPXT, profile=profile.find("fpxt-members")).stored
    header, rows = _read_csv(folder / YIKATONG)
    at = {name: header.index(name) for name in header}
    failed, reissue = list(rows[1]), list(rows[1])
    failed[at["发放流水号"]], failed[at["发放状态"]], failed[at["失败原因"]] = "YKT-F1", "失败", "账户已销户"
    reissue[at["发放流水号"]], reissue[at["补发原流水号"]] = "YKT-R1", "YKT-F1"
    returned = list(rows[2])
    returned[at["发放流水号"]], returned[at["发放状态"]] = "YKT-B1", "已退回"
    _write_csv(folder / YIKATONG, header, [*rows, failed, reissue, returned])
    payments = profile.find("yikatong-payments")
    first = import_path(engine, folder / YIKATONG, profile=payments)
    assert first.outcome == "committed", [e.line("en") for e in first.errors[:5]]
    assert _counts(first) == {"card_payments": (len(rows) + 3, len(rows) + 3, 0, 0)}
    county = {p["payment_id"]: p for p in _county("card_payments")}
    with engine.connect() as conn:
        stored = {p.payment_id: p for p in conn.execute(select(CardPayment))}
    for key, payment in county.items():
        got = stored[key]
        # The program by its name or alias; 发放期号 201703 as 2017-03 (or 2017 for a yearly
        # program); 实发时间 with its time of day as the date.
        assert (got.program_code, got.period, got.paid_on.isoformat(), got.amount_fen, got.status) == (
            payment["program_code"], payment["period"], payment["paid_on"],
            round(float(payment["amount"]) * 100), payment["status"] or "paid"), key
        assert (got.failure_reason or "", got.reissue_of or "") == (payment["failure_reason"], payment["reissue_of"])
    assert (stored["YKT-F1"].status, stored["YKT-F1"].failure_reason) == ("failed", "账户已销户")
    assert (stored["YKT-R1"].status, stored["YKT-R1"].reissue_of) == ("paid", "YKT-F1")
    assert stored["YKT-B1"].status == "returned"
    again = import_path(engine, folder / YIKATONG, profile=payments)
    assert _counts(again) == {"card_payments": (len(rows) + 3, 0, len(rows) + 3, 0)}


def test_a_row_without_its_own_key_gets_one_from_its_content(exports: Any) -> None:
    engine, folder = exports
    assert import_path(engine, folder / FPXT, profile=profile.find("fpxt-members")).stored
    header, rows = _read_csv(folder / YIKATONG)
    drop = header.index("发放流水号")
    header, rows = header[:drop] + header[drop + 1:], [r[:drop] + r[drop + 1:] for r in rows[:50]]
    rows.append(list(rows[0]))  # the same payment listed twice is two payments
    _write_csv(folder / YIKATONG, header, rows)
    payments = profile.find("yikatong-payments")
    first = import_path(engine, folder / YIKATONG, profile=payments)
    assert _counts(first) == {"card_payments": (51, 51, 0, 0)}
    assert _counts(import_path(engine, folder / YIKATONG, profile=payments)) == {"card_payments": (51, 0, 51, 0)}
    with engine.connect() as conn:
        keys = conn.execute(select(CardPayment.payment_id)).scalars().all()
    assert len(keys) == 51 and all(key.startswith("YKT-") for key in keys)


def test_a_village_named_by_no_village_or_two_is_an_error_naming_it(exports: Any, tmp_path: Path) -> None:
    engine, folder = exports
    book = load_workbook(folder / FPXT)
    sheet = book.active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    head = next(r for r in rows[1:] if r[header.index("与户主关系")] == "户主")
    wrong = list(head)
    wrong[header.index("行政村")] = "桥清村"
    # A second village of the same name in another town (names repeat across a county).
    twice = head[header.index("行政村")]
    other_town = next(v for v in _county("villages") if v["village_name"] != twice)["town_code"]
    with engine.begin() as conn:
        conn.execute(insert(Village).values(village_code="430681999999", village_name=twice, town_code=other_town))
    fixed = Workbook()
    out = fixed.active
    out.append(header)
    out.append(wrong)
    # Without the town, a name two towns share cannot tell which village is meant.
    out.delete_cols(header.index("乡(镇)") + 1)
    ambiguous = list(head)
    ambiguous[header.index("行政村")] = twice
    ambiguous[header.index("户编号")] = "AMBIGUOUS"
    del ambiguous[header.index("乡(镇)")]
    out.append(ambiguous)
    fixed.save(tmp_path / "members.xlsx")
    report = import_path(engine, tmp_path / "members.xlsx", profile=profile.find("fpxt-members"))
    assert report.outcome == "rejected"
    households = [e for e in report.errors if e.table == "households"]
    assert households[0].row == 2 and households[0].column == "行政村" and "桥清村" in households[0].value
    assert households[0].message == "error.import.name_matches_none"
    assert "找不到对应的行政村" in households[0].text("zh")
    assert (households[1].row, households[1].message) == (3, "error.import.name_matches_several")
    assert "430681999999" in households[1].text("zh")


def test_a_name_that_differs_from_the_person_is_a_warning(exports: Any) -> None:
    engine, folder = exports
    assert import_path(engine, folder / FPXT, profile=profile.find("fpxt-members")).stored
    header, rows = _read_csv(folder / YIKATONG)
    row = list(rows[0])
    row[header.index("姓名")] = "王某某"
    _write_csv(folder / YIKATONG, header, [row])
    report = import_path(engine, folder / YIKATONG, profile=profile.find("yikatong-payments"))
    assert report.outcome == "committed"
    differs = [w for w in report.warnings if w.message == "warning.import.name_differs"]
    assert [(w.row, w.value) for w in differs] == [(2, "王某某")]


def test_a_users_copy_of_a_profile_with_its_own_header(exports: Any, tmp_path: Path) -> None:
    engine, folder = exports
    assert import_path(engine, folder / FPXT, profile=profile.find("fpxt-members")).stored
    copy = tmp_path / "我们县的一卡通.toml"
    text = (profile.SHIPPED / "yikatong-payments.toml").read_text(encoding="utf-8")
    copy.write_text(text.replace('amount = ["发放金额", "实发金额"]', 'amount = ["补助金额"]'), encoding="utf-8")
    header, rows = _read_csv(folder / YIKATONG)
    header[header.index("发放金额")] = "补助金额"
    _write_csv(folder / YIKATONG, header, rows[:10])
    report = import_path(engine, folder / YIKATONG, profile=profile.find(str(copy)))
    assert report.outcome == "committed" and report.counts["card_payments"].inserted == 10
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace("amount =", "amont ="), encoding="utf-8")
    with pytest.raises(profile.ProfileError) as refused:
        profile.find(str(broken))
    assert refused.value.message_id == "error.profile.unknown_column" and "amont" in refused.value.text("en")


def test_the_command_line_lists_shows_and_imports_with_a_profile(exports: Any, database_url: str) -> None:
    _, folder = exports
    listed = audit("profiles", "list", url=database_url)
    assert listed.returncode == 0 and "yikatong-payments" in listed.stdout and "fpxt-members" in listed.stdout
    shown = audit("profiles", "show", "fpxt-members", url=database_url)
    assert shown.returncode == 0 and "与户主关系" in shown.stdout
    done = audit("import", str(folder / FPXT), "--profile", "fpxt-members", url=database_url)
    assert done.returncode == 0, done.stderr
    unknown = audit("import", str(folder / FPXT), "--profile", "no-such", url=database_url)
    assert unknown.returncode != 0 and "yikatong-payments" in unknown.stderr
    made = audit("fixtures", "generate", "--out", str(folder.parent / "made"), "--exports", url=database_url)
    assert made.returncode == 0, made.stderr
    assert {p.name for p in (folder.parent / "made-exports").iterdir()} == {YIKATONG, FPXT}


def test_the_api_and_the_screens_take_a_county_export_with_its_profile(exports: Any) -> None:
    """POST /api/datasets?profile=…, the admin's upload form, and the finance officer's roster
    check of a one-card 发放明细 (keyed by its 发放流水号, the sheet back row by row)."""
    from fastapi.testclient import TestClient

    from audit.api.app import create_app
    from audit.auth.service import create_user
    from tests.conftest import PASSWORD, logged_in
    from tests.test_web import _csrf, _sign_in

    engine, folder = exports
    client, headers = logged_in(engine, {"admin1": "admin", "finance1": "finance"})
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    unknown = client.post("/api/datasets", params={"profile": "../../etc/passwd"}, content=b"x",
                          headers={**headers["admin1"], "content-type": "text/csv"})
    assert unknown.status_code == 422 and unknown.json()["message"] == "error.profile.not_found"
    assert client.post("/api/datasets", content=b"a,b\n", headers={**headers["admin1"], "content-type": "text/csv"}
                       ).status_code == 415  # a CSV is a county's export: with its profile only
    members = client.post("/api/datasets", params={"profile": "fpxt-members"}, content=(folder / FPXT).read_bytes(),
                          headers={**headers["admin1"], "content-type": xlsx})
    assert members.status_code == 200, members.text[:500]
    assert members.json()["counts"]["persons"]["inserted"] > 6000

    # The admin's form: the same export, chosen profile, every row unchanged now.
    with engine.begin() as conn:
        create_user(conn, "admin2", "admin", PASSWORD)
    page = TestClient(create_app(), follow_redirects=False)
    assert _sign_in(page, "admin2").status_code == 303
    assert "fpxt-members" in page.get("/admin/datasets").text
    sent = page.post("/admin/datasets", data={"csrf_token": _csrf(page, "/admin/datasets"), "profile": "fpxt-members"},
                     files={"file": ("扶贫系统家庭成员.xlsx", (folder / FPXT).read_bytes(), xlsx)})
    assert sent.status_code == 303, sent.text[:300]
    job = int(sent.headers["location"].rsplit("/", 1)[1])
    for _ in range(600):
        state = client.get(f"/api/jobs/{job}", headers=headers["admin1"]).json()
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert state["state"] == "done" and state["result"]["counts"]["persons"]["unchanged"] > 6000, state

    # The finance officer checks next month's 发放明细 as the one-card system exports it.
    header, rows = _read_csv(folder / YIKATONG)
    at = {name: header.index(name) for name in header}
    month = [list(r) for r in rows if r[at["补贴项目"]] in ("农村低保金", "低保金") and r[at["发放期号"]] == "201712"][:30]
    for number, row in enumerate(month):
        row[at["发放流水号"]], row[at["发放期号"]] = f"YKT-2018-{number:03d}", "201801"
        row[at["实发时间"]] = "2018-01-20 09:30:00"
    again = list(month[0])
    again[at["发放流水号"]] = "YKT-2018-AGAIN"  # the same household paid twice in January
    body = io.StringIO()
    csv.writer(body).writerows([header, *month, again])
    checked = client.post("/api/checks/card-roster/file", params={"profile": "yikatong-payments"},
                          content=body.getvalue().encode("gb18030"),
                          headers={**headers["finance1"], "content-type": "text/csv"})
    assert checked.status_code == 200, checked.text[:500]
    lines = {line["key"]: line for line in checked.json()["lines"]}
    assert set(lines) == {f"YKT-2018-{n:03d}" for n in range(len(month))} | {"YKT-2018-AGAIN"}
    assert "DC-01" in {r["code"] for r in lines["YKT-2018-AGAIN"]["reasons"]}
    assert lines["YKT-2018-001"]["row"] == 3  # the export's own row
    sheet = client.get(f"/api/checks/{checked.json()['check_id']}/sheet", headers=headers["finance1"])
    assert sheet.status_code == 200
    got = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    verdicts = {row[at["发放流水号"]]: row[len(header)] for row in got[1:] if row[at["发放流水号"]]}
    assert verdicts["YKT-2018-AGAIN"] == "暂缓发放" and len(verdicts) == len(month) + 1

"""A disclosure officer exports a village's notices in all three formats, carrying what
notices.md lists and no unmasked number; villages and programs are found by name; a
year for a monthly program is refused naming its months; recording a posting needs a
subject that exists; the screens pick, preview, export and record."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, func, select

from audit.auth.service import create_user
from audit.county import service as county
from audit.detection.service import detect
from audit.importer.service import import_path
from audit.models import AuditEntry, CardPayment, Disclosure, Household, Person, Program, Project, User, Village
from tests.conftest import COUNTY, PASSWORD, logged_in

FULL_ID = re.compile(r"(?<![0-9A-Za-z*])\d{17}[\dX](?![0-9A-Za-z])")


@pytest.fixture
def officer(engine: Engine) -> tuple[TestClient, dict[str, str], Engine]:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    client, headers = logged_in(engine, {"disclosure1": "disclosure", "admin1": "admin"})
    return client, headers["disclosure1"], engine


def _busiest_batch(engine: Engine) -> tuple[str, str, str, str, set[str]]:
    """(program, period, village code, village name, every ID and card of the village)."""
    with engine.connect() as conn:
        row = conn.execute(select(Household.village_code, func.count().label("n"))
                           .join(CardPayment, CardPayment.household_id == Household.household_id)
                           .where(CardPayment.program_code == "MIN_LIVING", CardPayment.period == "2017-05")
                           .group_by(Household.village_code).order_by(func.count().desc()).limit(1)).one()
        name = conn.execute(select(Village.village_name).where(Village.village_code == row.village_code)).scalar_one()
        ids = set(conn.execute(select(Person.id_number).join(Household, Household.household_id == Person.household_id)
                               .where(Household.village_code == row.village_code)).scalars())
        ids |= set(conn.execute(select(Household.card_account).where(Household.village_code == row.village_code)
                                ).scalars())
    return "MIN_LIVING", "2017-05", row.village_code, name, {i for i in ids if i}


def _settings(engine: Engine) -> None:
    from audit.auth.service import Principal

    with engine.begin() as conn:
        user_id = conn.execute(select(User.id).where(User.name == "admin1")).scalar_one()
        admin = Principal(id=user_id, name="admin1", role="admin", unit_id=1, unit_name="县级", scope="county",
                          town_code=None, language=None, must_change_password=False, token_kind="api")
        for key, value in (("hotline", "0730-5221234"), ("discipline_phone", "0730-5229999"), ("notice_days", 15)):
            county.change(conn, key, value, "公示所需", admin)


def _unique_name_village(engine: Engine, village_code: str) -> bool:
    with engine.connect() as conn:
        name = conn.execute(select(Village.village_name).where(Village.village_code == village_code)).scalar_one()
        return conn.execute(select(func.count()).select_from(Village).where(Village.village_name == name)
                            ).scalar_one() == 1


def test_beneficiaries_in_csv_xlsx_and_pdf_carry_the_notice_and_no_full_number(officer: Any) -> None:
    client, headers, engine = officer
    program, period, village, name, secrets = _busiest_batch(engine)
    # By name, as a clerk says it: 农村低保金 in 清凤村, not MIN_LIVING in 430681100200.
    assert _unique_name_village(engine, village)
    params = {"program": "农村低保金", "period": period, "village": name}
    csv_response = client.get("/api/notices/beneficiaries", params={**params, "format": "csv"}, headers=headers)
    assert csv_response.status_code == 200, csv_response.text
    assert csv_response.content.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert rows[0] == [f"{name} 农村低保金 2017年5月 发放公示"]
    start = date.today()
    assert rows[1] == [f"公示期：{start} 至 {start + timedelta(days=10)}（10 天）"]
    header = rows[2]
    assert header[:2] == ["序号", "户主姓名"] and header[-2:] == ["补助标准(元)", "金额(元)"]
    body = [r for r in rows[3:] if r and r[0].isdigit()]
    total_row = next(r for r in rows if r and r[0] == "合计")
    with engine.connect() as conn:
        paid = conn.execute(select(func.sum(CardPayment.amount_fen), func.count(func.distinct(CardPayment.id_number)))
                            .join(Household, Household.household_id == CardPayment.household_id)
                            .where(CardPayment.program_code == program, CardPayment.period == period,
                                   Household.village_code == village,
                                   # a failed or returned line paid nothing: its reissue is posted
                                   CardPayment.status.in_(("paid", "pending")))).one()
    assert len(body) == paid[1] > 1
    assert sum(Decimal(r[-1].replace(",", "")) for r in body) == Decimal(paid[0]) / 100
    assert Decimal(total_row[-1].replace(",", "")) == Decimal(paid[0]) / 100
    text = "\n".join(",".join(r) for r in rows)
    assert "全国扶贫监督举报电话：12317" in text and "发布单位：" in text and "人民政府（盖章）" in text
    assert f"合计：{paid[1]} 户" in text

    xlsx = client.get("/api/notices/beneficiaries", params={**params, "format": "xlsx"}, headers=headers)
    book = load_workbook(io.BytesIO(xlsx.content), data_only=True)
    sheet = book.active
    assert sheet["A1"].value == rows[0][0] and "A1:" in " ".join(str(r) for r in sheet.merged_cells.ranges)
    amounts = [sheet.cell(row=r, column=len(header)).value for r in range(4, 4 + len(body))]
    assert amounts and all(isinstance(a, int | float) and not isinstance(a, bool) for a in amounts)  # they sum
    assert round(sum(amounts), 2) == float(Decimal(paid[0]) / 100)
    total_cell = sheet.cell(row=4 + len(body), column=len(header))
    assert sheet.cell(row=4 + len(body), column=1).value == "合计"
    assert round(total_cell.value, 2) == float(Decimal(paid[0]) / 100)
    formulas = load_workbook(io.BytesIO(xlsx.content)).active
    assert str(formulas.cell(row=4 + len(body), column=len(header)).value).startswith("=SUM(")
    assert sheet.page_setup.paperSize == 9 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert (sheet.page_setup.fitToWidth or 1) == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$3:$3"
    assert sheet.column_dimensions["B"].width >= 8 and sheet.freeze_panes == "A4"

    pdf = client.get("/api/notices/beneficiaries", params={**params, "format": "pdf"}, headers=headers)
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    assert b"/FontFile2" in pdf.content and b"NotoSansSC" in pdf.content  # a TrueType font, in the file
    for content in (csv_response.content, xlsx.content, pdf.content):
        raw = content.decode("latin-1")
        assert FULL_ID.search(content.decode("utf-8", "ignore")) is None
        for secret in secrets:
            assert secret not in raw and secret.encode("utf-16-be").decode("latin-1") not in raw
    with engine.connect() as conn:
        exports = conn.execute(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.action == "notice_exported")).scalar_one()
    assert exports == 3


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils (pdffonts) is not installed")
def test_the_pdf_embeds_a_subset_of_its_cjk_font_and_counts_its_pages(officer: Any, tmp_path: Any) -> None:
    client, headers, engine = officer
    _settings(engine)
    program, period, village, _, _ = _busiest_batch(engine)
    pdf = client.get("/api/notices/beneficiaries", params={"program": program, "period": period, "village": village,
                                                           "format": "pdf"}, headers=headers)
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf.content)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(re.search(r"\byes\s+yes\s+yes\b", line) for line in fonts), fonts  # emb, sub, uni
    assert any("NotoSansSC" in line for line in fonts)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                                                           check=True).stdout).group(1))
    flat = re.sub(r"\s", "", text)
    assert all(f"第{n}页共{pages}页" in flat for n in range(1, pages + 1)), flat[-200:]
    assert flat.count("公示期：") == pages  # on every page, with the title
    assert "公示期" in text and "（15 天）" in text
    assert "监督电话：0730-5221234" in text and "12317" in text and "纪检监察举报电话：0730-5229999" in text
    assert "发布单位" in text and "发布日期" in text and "农村低保金" in text


def test_a_year_for_a_monthly_program_is_refused_naming_its_months(officer: Any) -> None:
    client, headers, engine = officer
    _, _, village, _, _ = _busiest_batch(engine)
    answer = client.get("/api/notices/beneficiaries", params={"program": "MIN_LIVING", "period": "2017",
                                                              "village": village}, headers=headers)
    assert answer.status_code == 422
    assert "按月发放" in answer.json()["detail"] and "2017-05" in answer.json()["detail"]
    yearly = client.get("/api/notices/beneficiaries", params={"program": "DIS_LIVING", "period": "2017-05",
                                                              "village": village}, headers=headers)
    assert yearly.status_code == 422 and "按年发放" in yearly.json()["detail"]
    unknown = client.get("/api/notices/beneficiaries", params={"program": "农村低保", "period": "2017-05",
                                                               "village": village}, headers=headers)
    assert unknown.status_code == 404 and "农村低保" in unknown.json()["detail"]


def test_namesakes_are_told_apart_by_a_masked_id_without_birth_date(officer: Any) -> None:
    from audit.notices.service import beneficiary_notice, masked_id

    assert masked_id("430681195203041237") == "43*************237"
    _, _, engine = officer
    # Find a batch where two beneficiaries share a name (the county has a few common names).
    with engine.connect() as conn:
        household = func.coalesce(CardPayment.household_id, Person.household_id)
        name = func.coalesce(Person.name, Household.head_name)
        shared = conn.execute(
            select(CardPayment.program_code, CardPayment.period, Household.village_code, name)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .join(Household, Household.household_id == household)
            .group_by(CardPayment.program_code, CardPayment.period, Household.village_code, name)
            .having(func.count(func.distinct(CardPayment.id_number)) > 1).limit(1)).first()
        if shared is None:
            pytest.skip("the shipped county has no namesakes in one batch")
        notice = beneficiary_notice(conn, shared[0], shared[1], shared[2])
    keys = [c.key for c in notice.columns]
    assert "id" in keys
    ids = [row[keys.index("id")] for row in notice.rows]
    assert any(ids) and all(i == "" or re.fullmatch(r"\d{2}\*{13}[\dX]{3}", i) for i in ids)
    names = [row[1] for row in notice.rows if row[keys.index("id")]]
    assert all(names.count(n) > 1 for n in names)


def test_project_notice_lists_every_field_totals_and_categories_in_chinese(officer: Any) -> None:
    client, headers, engine = officer
    with engine.connect() as conn:
        village = conn.execute(select(Project.village_code).group_by(Project.village_code)
                               .order_by(func.count().desc()).limit(1)).scalar_one()
        projects = conn.execute(select(Project).where(Project.village_code == village)).all()
    rows = list(csv.reader(io.StringIO(client.get("/api/notices/projects", params={"village": village},
                                                  headers=headers).content.decode("utf-8-sig"))))
    assert rows[0][0].endswith("年度扶贫项目公示") and rows[1][0].startswith("公示期：")
    assert rows[2] == ["序号", "项目名称", "建设地点", "建设内容及规模", "资金规模(元)", "资金来源", "实施单位",
                       "施工/供货单位", "项目负责人", "实施期限", "受益户数", "项目类别"]
    body = [r for r in rows[3:] if r and r[0].isdigit()]
    assert len(body) == len(projects)
    assert {r[1] for r in body} == {p.name for p in projects}
    categories = {r[11] for r in body}
    assert categories and all(re.fullmatch(r"[\u4e00-\u9fff]+", c) for c in categories), categories
    assert all(r[3] and r[4] and r[9] and " 至 " in r[9] for r in body)
    assert sum(Decimal(r[4].replace(",", "")) for r in body) == Decimal(sum(p.budget_fen for p in projects)) / 100
    text = "\n".join(",".join(r) for r in rows)
    assert f"合计：{len(projects)} 个项目" in text and "12317" in text and "（盖章）" in text
    one = client.get("/api/notices/projects", params={"village": village, "project": projects[0].project_id,
                                                      "format": "pdf"}, headers=headers)
    assert one.status_code == 200 and one.content.startswith(b"%PDF")
    assert client.get("/api/notices/projects", params={"village": "nowhere"}, headers=headers).status_code == 404
    assert client.get("/api/notices/projects", params={"village": village, "project": "XM-NONE"},
                      headers=headers).status_code == 404


def test_publishing_needs_a_subject_that_exists_and_stores_codes(officer: Any) -> None:
    client, headers, engine = officer
    gaps = client.get("/api/notices/compliance", headers=headers).json()
    assert {g["subject"]["kind"] for g in gaps} == {"project", "payment_batch"}
    assert all(g["village"] and g["town"] for g in gaps)  # by name
    notice = {"subject_kind": "payment_batch", "subject_ref": "农村低保金/2018-01/清凤村",
              "channel": "village_board", "start_on": "2018-01-01", "end_on": "2018-01-12"}
    created = client.post("/api/notices", json=notice, headers=headers)
    assert created.status_code == 201, created.text
    with engine.connect() as conn:
        stored = conn.execute(select(Disclosure).where(Disclosure.disclosure_id == created.json()["disclosure_id"])
                              ).one()
    assert stored.subject_ref == "MIN_LIVING/2018-01/430681100200" and (stored.end_on - stored.start_on).days == 11
    assert client.post("/api/notices", json={**notice, "end_on": "2017-12-01"}, headers=headers).status_code == 422
    missing = client.post("/api/notices", json={**notice, "subject_kind": "project", "subject_ref": "XM-NOPE"},
                          headers=headers)
    assert missing.status_code == 404 and "XM-NOPE" in missing.json()["detail"]
    for ref in ("MIN_LIVING/2018-01/999999999999", "NO_SUCH/2018-01/430681100200"):
        assert client.post("/api/notices", json={**notice, "subject_ref": ref}, headers=headers).status_code == 404
    assert client.post("/api/notices", json={**notice, "subject_ref": "MIN_LIVING/2018/430681100200"},
                       headers=headers).status_code == 422
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Disclosure)
                            .where(Disclosure.subject_ref.like("%NOPE%"))).scalar_one() == 0


def test_village_names_that_repeat_need_their_town(officer: Any) -> None:
    from audit.notices.service import NoticeError, find_village

    _, _, engine = officer
    with engine.begin() as conn:
        first = conn.execute(select(Village).limit(1)).one()
        other_town = conn.execute(select(Village.town_code).where(Village.town_code != first.town_code).limit(1)
                                  ).scalar_one()
        conn.execute(Village.__table__.insert().values(village_code="430681999901", village_name=first.village_name,
                                                       town_code=other_town))
    with engine.connect() as conn:
        with pytest.raises(NoticeError) as refused:
            find_village(conn, first.village_name)
        assert refused.value.status == 422 and refused.value.message_id == "error.notice_village_ambiguous"
        assert find_village(conn, first.village_name, town=first.town_code).village_code == first.village_code
        assert find_village(conn, "430681999901").town_code == other_town


# ---------------------------------------------------------------------- the screens

def _browser(engine: Engine, name: str = "disclosure2", role: str = "disclosure") -> TestClient:
    from audit.api.app import create_app

    with engine.begin() as conn:
        create_user(conn, name, role, PASSWORD)
    client = TestClient(create_app(), follow_redirects=False)
    form = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text).group(1)
    assert client.post("/login", data={"name": name, "password": PASSWORD, "login_csrf": token,
                                       "next": "/notices"}).status_code == 303
    return client


def test_the_screen_opens_on_a_batch_from_the_finance_link_and_records_its_posting(officer: Any) -> None:
    _, _, engine = officer
    program, period, village, name, _ = _busiest_batch(engine)
    client = _browser(engine)
    page = client.get("/notices", params={"kind": "beneficiaries", "village": village, "program": program,
                                          "period": period})
    assert page.status_code == 200
    assert f"{name} 农村低保金 2017年5月 发放公示" in page.text and "12317" in page.text
    assert 'value="2017-05" selected' in page.text and "农村低保金（按月）" in page.text
    assert "MIN_LIVING<" not in page.text  # names, not codes, on the screen
    refused = client.get("/notices", params={"kind": "beneficiaries", "village": village, "program": program,
                                             "period": "2017"})
    assert refused.status_code == 422 and "按月发放" in refused.text and "2017-05" in refused.text
    # On the screen, a program counted by month turns a year left from before into its months.
    part = client.get("/notices", params={"kind": "beneficiaries", "village": village, "program": program,
                                          "period": "2017"}, headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text and "notice-preview" not in part.text
    assert 'value="2017-05">2017年5月' in part.text and 'value="2017"' not in part.text
    assert client.get("/notices", params={"village": "没有这个村"}).status_code == 404
    assert client.get("/notices", params={"kind": "projects", "village": village, "project": "XM-NONE"}
                      ).status_code == 404
    for fmt, media in (("csv", "text/csv"), ("xlsx", "spreadsheetml"), ("pdf", "application/pdf")):
        file = client.get("/notices/export", params={"kind": "beneficiaries", "village": village, "program": program,
                                                     "period": period, "format": fmt})
        assert file.status_code == 200 and media in file.headers["content-type"]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    start = date(2017, 4, 1)
    posted = client.post("/notices/postings", data={"kind": "beneficiaries", "village": village, "program": program,
                                                    "period": period, "channel": "both",
                                                    "start_on": start.isoformat(),
                                                    "end_on": (start + timedelta(days=12)).isoformat(),
                                                    "csrf_token": csrf})
    assert posted.status_code == 303 and "posted=1" in posted.headers["location"]
    after = client.get(posted.headers["location"])
    assert "已登记张贴（1 项）" in after.text and "2017-04-13" in after.text
    with engine.connect() as conn:
        stored = conn.execute(select(Disclosure.channel, Disclosure.start_on).where(
            Disclosure.subject_ref == f"{program}/{period}/{village}")).all()
    assert ("both", start) in [tuple(r) for r in stored]
    forged = client.post("/notices/postings", data={"kind": "beneficiaries", "village": village, "program": program,
                                                    "period": period, "channel": "both", "start_on": "2017-04-01",
                                                    "end_on": "2017-04-13"})
    assert forged.status_code == 403


def test_the_gaps_list_names_towns_and_villages_and_opens_each_notice(officer: Any) -> None:
    _, _, engine = officer
    client = _browser(engine)
    page = client.get("/notices/gaps")
    assert page.status_code == 200 and "打开公示" in page.text
    with engine.connect() as conn:
        names = set(conn.execute(select(Village.village_name)).scalars())
    assert any(f"<h3>{n}</h3>" in page.text for n in names)
    links = re.findall(r'href="(/notices\?[^"]+)"', page.text)
    assert links and any("kind=beneficiaries" in link for link in links) and any("kind=projects" in link
                                                                                  for link in links)
    for link in (next(k for k in links if "kind=beneficiaries" in k), next(k for k in links if "kind=projects" in k)):
        opened = client.get(link.replace("&amp;", "&"))
        assert opened.status_code == 200 and "公示期" in opened.text and "登记张贴" in opened.text, opened.text[:800]


def test_the_screens_are_the_disclosure_staffs(officer: Any) -> None:
    _, _, engine = officer
    inspector = _browser(engine, "inspector2", "inspector")
    assert inspector.get("/notices").status_code == 403
    assert inspector.get("/notices/gaps").status_code == 403
    # A finance office reads and prints the notice of a batch it is about to pay (the FP-03
    # hold links here), but recording its posting is the disclosure staff's: no finance
    # officer clears their own hold.
    finance = _browser(engine, "finance2", "finance")
    program, period, village, _, _ = _busiest_batch(engine)
    screen = finance.get("/notices", params={"kind": "beneficiaries", "program": program, "period": period,
                                             "village": village})
    assert screen.status_code == 200 and 'id="post-by-disclosure"' in screen.text
    assert 'action="/notices/postings"' not in screen.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', screen.text).group(1)
    assert finance.post("/notices/postings", data={"csrf_token": csrf, "kind": "beneficiaries", "program": program,
                                                   "period": period, "village": village, "channel": "both",
                                                   "start_on": "2017-04-01", "end_on": "2017-04-15"}
                        ).status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(Program.name).where(Program.program_code == "MIN_LIVING")).scalar() == "农村低保金"


def test_a_towns_disclosure_staff_reach_their_own_villages_only(officer: Any) -> None:
    from audit.auth.service import create_unit
    from audit.models import Town

    client, _, engine = officer
    with engine.begin() as conn:
        town, other = conn.execute(select(Town.town_code).order_by(Town.town_code).limit(2)).scalars().all()
        create_unit(conn, "本镇公示员", "town", town, "test")
        mine = conn.execute(select(Village.village_code, Village.village_name).where(Village.town_code == town)
                            .limit(1)).one()
        theirs = conn.execute(select(Village.village_code, Village.village_name).where(Village.town_code == other)
                              .limit(1)).one()
    _, headers = logged_in(engine, {"disclosure_town": "disclosure"}, units={"disclosure_town": "本镇公示员"})
    own = headers["disclosure_town"]
    for village in (mine.village_code, mine.village_name):
        assert client.get("/api/notices/projects", params={"village": village}, headers=own).status_code == 200
    for village in (theirs.village_code, theirs.village_name):
        assert client.get("/api/notices/projects", params={"village": village}, headers=own).status_code == 404
    batch = {"subject_kind": "payment_batch", "subject_ref": f"MIN_LIVING/2018-01/{theirs.village_code}",
             "channel": "portal", "start_on": "2018-01-01", "end_on": "2018-01-12"}
    assert client.post("/api/notices", json=batch, headers=own).status_code == 404
    gaps = client.get("/api/notices/compliance", headers=own).json()
    assert all(g["town_code"] == town for g in gaps)


def test_a_program_named_by_its_alias_gives_the_same_notice(officer: Any) -> None:
    client, headers, engine = officer  # 农村低保金 is also 低保金 in the county's programs table
    _, period, village, _, _ = _busiest_batch(engine)
    by = {name: client.get("/api/notices/beneficiaries", headers=headers,
                           params={"program": name, "period": period, "village": village, "format": "csv"})
          for name in ("MIN_LIVING", "低保金")}
    assert by["低保金"].status_code == 200, by["低保金"].text
    assert by["低保金"].content == by["MIN_LIVING"].content
    assert client.get("/api/notices/beneficiaries", headers=headers, params={
        "program": "低保", "period": period, "village": village}).status_code == 404

"""The administrator's screens through the app: a dataset uploaded by the form runs as the
import job and its report shows every error; detection runs as a job; users, sessions and
tokens; county settings with their history; the audit trail searched and verified."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from audit.api.app import create_app
from audit.auth.service import create_user
from audit.importer.service import import_path
from audit.models import ApiToken, AuditEntry, SettingChange, User
from tests.conftest import BAD, COUNTY, PASSWORD, data_counts
from tests.test_web import _csrf, _sign_in

PLANTED = json.loads((BAD / "expected_errors.json").read_text(encoding="utf-8"))["errors"]
ROLES = {"admin1": "admin", "finance1": "finance", "inspector1": "inspector"}


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(folder.glob("*.csv")):
            archive.write(file, file.name)
    return buffer.getvalue()


@pytest.fixture
def site(engine: Engine) -> tuple[Engine, dict[str, TestClient]]:
    assert import_path(engine, COUNTY).outcome == "committed"
    with engine.begin() as conn:
        for name, role in ROLES.items():
            create_user(conn, name, role, PASSWORD)
    clients = {}
    for name in ROLES:
        client = TestClient(create_app(), follow_redirects=False)
        assert _sign_in(client, name).status_code == 303
        clients[name] = client
    return engine, clients


def _wait(client: TestClient, job_id: int, timeout: float = 180) -> None:
    """Poll the job's progress as its page does, until the page is told to reload."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = client.get(f"/admin/jobs/{job_id}/progress", headers={"HX-Request": "true"})
        assert answer.status_code == 200, answer.text[:300]
        if answer.headers.get("hx-refresh") == "true":
            return
        assert 'hx-trigger="every 1s"' in answer.text  # still running: the fragment polls again
        time.sleep(0.2)
    pytest.fail(f"job {job_id} did not end")


def _upload(client: TestClient, name: str, content: bytes, partial: bool = False) -> Any:
    data = {"csrf_token": _csrf(client, "/admin/datasets")}
    if partial:
        data["partial"] = "true"
    return client.post("/admin/datasets", data=data, files={"file": (name, content, "application/zip")})


def test_the_bad_rows_dataset_shows_every_planted_error_and_stores_nothing(site: Any) -> None:
    engine, clients = site
    client = clients["admin1"]
    before = data_counts(engine)
    sent = _upload(client, "county-small-bad.zip", zipped(BAD))
    assert sent.status_code == 303, sent.text[:500]
    job_page = sent.headers["location"]
    job_id = int(job_page.rsplit("/", 1)[1])
    _wait(client, job_id)
    report = client.get(job_page)
    assert report.status_code == 200
    html = report.text
    assert "未导入任何数据" in html
    assert "county-small-bad.zip" in html and "audit-upload-" not in html  # the user's file, not the spool
    shown = set(re.findall(r'class="import-error" data-table="([a-z_]+)" data-row="(\d+)" data-column="([a-z_]+)"',
                           html))
    assert shown == {(e["table"], str(e["row"]), e["column"]) for e in PLANTED}
    # Each in Chinese: the table's and the column's names, the reason from the catalogue.
    assert "明白卡/一卡通发放" in html and "金额最多保留 2 位小数" in html and "身份证号校验位为" in html
    assert "error.import." not in html
    assert data_counts(engine) == before  # all or nothing: the store is as it was
    # The counts per table, as the command line prints them.
    counts = re.search(r'<tr data-table="households">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num">(\d+)</td>', counts) == ["10", "0", "0", "0", "7"]
    # The errors as a workbook: one line each, table and column by name, the reason in Chinese.
    book = client.get(f"{job_page}/errors.xlsx")
    assert book.status_code == 200 and book.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(book.content))["错误"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("数据表", "行号", "列", "列名（原文）", "填写的值", "原因")
    assert {(r[3], r[1]) for r in rows[1:]} == {(e["column"], e["row"]) for e in PLANTED}
    assert all(re.search(r"[\u4e00-\u9fff]", r[5]) for r in rows[1:])
    # The import history shows the rejected batch with its report.
    history = client.get("/admin/datasets").text
    assert f'href="/admin/datasets/jobs/{job_id}"' in history and "未导入（有误）" in history


def test_a_partial_upload_stores_the_good_rows_and_a_wrong_file_is_refused(site: Any) -> None:
    engine, clients = site
    client = clients["admin1"]
    refused = client.post("/admin/datasets", data={"csrf_token": _csrf(client, "/admin/datasets")},
                          files={"file": ("roster.csv", b"a,b\n1,2\n", "text/csv")})
    assert refused.status_code == 415 and "请上传 .zip" in refused.text
    forged = client.post("/admin/datasets", files={"file": ("x.zip", zipped(BAD), "application/zip")})
    assert forged.status_code == 403
    broken = _upload(client, "broken.zip", b"not a zip at all")
    job_id = int(broken.headers["location"].rsplit("/", 1)[1])
    _wait(client, job_id)
    assert "不是可读取的 zip 压缩包" in client.get(broken.headers["location"]).text
    partial = _upload(client, "county-small-bad.zip", zipped(BAD), partial=True)
    job_id = int(partial.headers["location"].rsplit("/", 1)[1])
    _wait(client, job_id)
    page = client.get(partial.headers["location"]).text
    assert "无误的行已导入" in page


def test_only_an_administrator_reaches_the_screens(site: Any) -> None:
    _, clients = site
    for path in ("/admin/datasets", "/admin/users", "/admin/settings"):
        assert clients["admin1"].get(path).status_code == 200
        refused = clients["finance1"].get(path)
        assert refused.status_code == 403 and "您的角色" in refused.text
    # Inspectors may run detection and verify the trail (the API's policy), not manage users.
    assert clients["inspector1"].get("/admin/detection").status_code == 200
    assert clients["inspector1"].get("/admin/trail").status_code == 200
    assert clients["inspector1"].get("/admin/users").status_code == 403
    home = clients["admin1"].get("/").text
    assert all(f'href="{p}"' in home for p in ("/admin/datasets", "/admin/detection", "/admin/users",
                                               "/admin/settings", "/admin/trail"))


def test_a_detection_run_as_a_job_and_its_counts(site: Any) -> None:
    _, clients = site
    client = clients["admin1"]
    started = client.post("/admin/detection", data={"csrf_token": _csrf(client, "/admin/detection"),
                                                    "codes": ["DC-01", "dc06"]})
    assert started.status_code == 303
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    _wait(client, job_id)
    done = client.get(started.headers["location"])
    assert done.status_code == 303 and done.headers["location"].startswith("/admin/detection/runs/")
    run = client.get(done.headers["location"]).text
    assert "admin1" in run and "已完成" in run
    codes = dict(re.findall(r'<tr data-code="([A-Z]{2}-\d{2})"><td>[^<]*</td><td class="num">(\d+)</td>', run))
    assert set(codes) == {"DC-01", "DC-06"} and int(codes["DC-01"]) > 0 and int(codes["DC-06"]) > 0
    history = client.get("/admin/detection").text
    assert 'href="/admin/detection/runs/' in history and "admin1" in history
    unknown = client.post("/admin/detection", data={"csrf_token": _csrf(client, "/admin/detection"),
                                                    "codes": ["ZZ-99"]})
    assert unknown.status_code == 422 and "未知的风险代码" in unknown.text


def test_users_are_created_deactivated_reset_and_their_sessions_revoked(site: Any) -> None:
    engine, clients = site
    client = clients["admin1"]
    created = client.post("/admin/users", data={"csrf_token": _csrf(client, "/admin/users"), "name": "finance7",
                                                "role": "finance", "unit": ""})
    assert created.status_code == 200 and "只显示这一次" in created.text
    secret = re.search(r'id="one-time-password"[^>]*>([^<]+)<', created.text).group(1)
    newcomer = TestClient(create_app(), follow_redirects=False)
    signed = _sign_in(newcomer, "finance7", secret)
    assert signed.status_code == 303 and signed.headers["location"] == "/account?must=1"
    again = client.post("/admin/users", data={"csrf_token": _csrf(client, "/admin/users"), "name": "finance7",
                                              "role": "finance", "unit": ""})
    assert again.status_code == 409 and "finance7" in again.text
    listed = client.get("/admin/users").text
    assert 'data-user="finance7" data-active="yes"' in listed
    # Deactivating ends the session at once; activating brings no old session back.
    off = client.post("/admin/users/finance7/deactivate", data={"csrf_token": _csrf(client, "/admin/users")})
    assert off.status_code == 303 and "done=admin_user_deactivated" in off.headers["location"]
    assert newcomer.get("/account").status_code == 303  # signed out
    assert 'data-user="finance7" data-active="no"' in client.get("/admin/users").text
    assert "用户已停用" in client.get(off.headers["location"]).text
    client.post("/admin/users/finance7/activate", data={"csrf_token": _csrf(client, "/admin/users")})
    assert newcomer.get("/account").status_code == 303
    reset = client.post("/admin/users/finance7/reset-password", data={"csrf_token": _csrf(client, "/admin/users")})
    fresh = re.search(r'id="one-time-password"[^>]*>([^<]+)<', reset.text).group(1)
    assert fresh != secret and _sign_in(TestClient(create_app(), follow_redirects=False), "finance7", secret
                                        ).status_code == 401
    # Revoking every session of a signed-in user signs them out; one session at a time too.
    finance = clients["finance1"]
    assert finance.get("/").status_code == 200
    revoked = client.post("/admin/users/finance1/revoke", data={"csrf_token": _csrf(client, "/admin/users")})
    assert revoked.status_code == 303 and finance.get("/").status_code == 303
    second = TestClient(create_app(), follow_redirects=False)
    _sign_in(second, "finance1")
    with engine.connect() as conn:
        token_id = conn.execute(select(ApiToken.id).join(User, User.id == ApiToken.user_id).where(
            User.name == "finance1", ApiToken.revoked.is_(False))).scalar_one()
    page = client.get("/admin/users/finance1").text
    assert f'action="/admin/tokens/{token_id}/revoke"' in page and "浏览器会话" in page
    client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": _csrf(client, "/admin/users"),
                                                          "owner": "finance1"})
    assert second.get("/").status_code == 303
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(AuditEntry.action).where(
            AuditEntry.subject.in_(["user finance7", "user finance1"])).order_by(AuditEntry.id))]
    for action in ("user_created", "user_deactivated", "user_activated", "password_reset", "tokens_revoked",
                   "token_revoked"):
        assert action in actions


def test_a_setting_changed_on_screen_is_in_its_history_and_on_the_trail(site: Any) -> None:
    engine, clients = site
    client = clients["admin1"]
    token = _csrf(client, "/admin/settings")
    missing = client.post("/admin/settings", data={"csrf_token": token, "key": "hotline", "value": "0730-5212345",
                                                   "reason": " "})
    assert missing.status_code == 422 and "原因" in missing.text
    wrong = client.post("/admin/settings", data={"csrf_token": token, "key": "notice_days", "value": "5",
                                                 "reason": "试试"})
    assert wrong.status_code == 422 and 'id="settings-error"' in wrong.text
    done = client.post("/admin/settings", data={"csrf_token": token, "key": "hotline", "value": "0730-5212345",
                                                "reason": "县纪委公布的号码"})
    assert done.status_code == 303
    flag = client.post("/admin/settings", data={"csrf_token": token, "key": "flag.DV-04",
                                                "param.threshold": "40000", "param.window_days": "30",
                                                "reason": "审计要求"})
    assert flag.status_code == 303
    page = client.get("/admin/settings").text
    history = page[page.index('id="settings-history"'):]
    assert "县纪委公布的号码" in history and "0730-5212345" in history and "监督电话" in history
    assert "审计要求" in history and "金额门槛（元） = 40000.00" in history
    assert 'value="0730-5212345"' in page and 'value="40000.00"' in page
    # A list setting shows as a|b; a name two flags use has each flag's own words.
    assert 'name="param.kinds" value="shop|urban_home"' in page
    assert "分户后识别的天数上限" in page and "首笔到账后的天数" in page and "闲置天数" in page
    with engine.connect() as conn:
        assert conn.execute(select(SettingChange.key).order_by(SettingChange.id)).scalars().all() == [
            "hotline", "flag.DV-04"]
    trail = client.get("/admin/trail", params={"action": "setting_changed"}).text
    assert "修改设置" in trail and '设置 <span translate="no">hotline</span>' in trail and "共 2 条记录" in trail


def test_the_trail_is_searched_paged_and_verified(site: Any) -> None:
    _, clients = site
    client = clients["admin1"]
    everything = client.get("/admin/trail").text
    assert "登录" in everything and "导入数据" in everything
    mine = client.get("/admin/trail", params={"actor": "finance1"}).text
    assert "共 1 条记录" in mine  # finance1 signed in once
    assert "共 0 条记录" in client.get("/admin/trail", params={"since": "2000-01-01", "until": "2000-12-31"}).text
    assert "共 1 条记录" in client.get("/admin/trail", params={"subject": "finance1"}).text
    assert client.get("/admin/trail", params={"since": "not a day"}).status_code == 422
    verdict = client.get("/admin/trail/verify", headers={"HX-Request": "true"})
    assert verdict.status_code == 200 and "审计日志完整" in verdict.text and "<html" not in verdict.text
    assert "审计日志完整" in client.get("/admin/trail/verify").text


@pytest.mark.parametrize("path", ["/", "/admin/datasets", "/admin/detection", "/admin/users", "/admin/users/finance1",
                                  "/admin/settings", "/admin/trail", "/admin/trail/verify"])
def test_every_screen_reads_in_both_languages_with_no_message_id_left(site: Any, path: str) -> None:
    _, clients = site
    for language, words in (("zh-CN", "扶贫资金监管工作台"), ("en-US,en", "Poverty-fund supervision workspace")):
        answer = clients["admin1"].get(path, headers={"Accept-Language": language})
        assert answer.status_code == 200 and words in answer.text
        assert not re.search(r"\b(ui|error|page|enum)\.[a-z_]+\.[a-z_.]+", re.sub(r"<[^>]+>", " ", answer.text)), path

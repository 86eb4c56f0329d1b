"""The county's settings: defaults before anyone sets anything, validated changes with
their reason in the history and on the trail, and red-flag thresholds that a detection
run and a pre-release check both use."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from audit.auth.service import create_user, principal_for_user
from audit.county import service as county
from audit.detection.service import detect
from audit.errors import ServiceError
from audit.importer.service import import_path
from audit.models import AuditEntry, Town
from tests.conftest import COUNTY


def _admin(engine: Engine) -> None:
    with engine.begin() as conn:
        create_user(conn, "admin1", "admin", "a long enough password")


def test_defaults_then_a_change_with_its_reason_history_and_trail(engine: Engine) -> None:
    _admin(engine)
    with engine.begin() as conn:
        admin = principal_for_user(conn, "admin1")
        assert county.current(conn)["notice_days"] == 10 and county.current(conn)["hotline"] == ""
        assert county.change(conn, "hotline", " 0730-5212345 ", "县纪委公布的号码", admin) == "0730-5212345"
        assert county.change(conn, "hotline", "0730-5212345", "again", admin) == "0730-5212345"  # unchanged
        assert county.change(conn, "notice_days", "15", "县里规定公示 15 天", admin) == 15
    with engine.connect() as conn:
        assert county.current(conn)["hotline"] == "0730-5212345" and county.current(conn)["notice_days"] == 15
        changes = county.history(conn)
        assert [(c["key"], c["old"], c["new"], c["by"]) for c in changes] == [
            ("notice_days", 10, 15, "admin1"), ("hotline", "", "0730-5212345", "admin1")]
        trail = conn.execute(select(AuditEntry.action, AuditEntry.subject).where(
            AuditEntry.action == "setting_changed")).all()
        assert [t.subject for t in trail] == ["setting hotline", "setting notice_days"]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("hotline", "call us", "error.setting_phone"),
    ("notice_days", 7, "error.setting_range"),
    ("notice_days", "ten", "error.setting_number"),
    ("county_name", "县" * 61, "error.setting_text"),
    ("colour", "red", "error.no_setting"),
    ("flag.DV-04", {"speed": 1}, "error.detect_unknown_setting"),
    ("flag.DV-04", {"threshold": "1e400"}, "error.setting_range"),
    ("flag.FP-03", {"min_days": -1}, "error.setting_range"),
    ("flag.DC-11", {"kinds": "urban_home|castle"}, "error.setting_terms"),
    ("flag.DC-11", {"kinds": " | "}, "error.setting_terms"),
])
def test_a_bad_value_is_refused_by_name(engine: Engine, key: str, value: object, message: str) -> None:
    _admin(engine)
    with engine.begin() as conn:
        admin = principal_for_user(conn, "admin1")
        with pytest.raises(ServiceError) as refused:
            county.change(conn, key, value, "a reason", admin)
        assert refused.value.message_id == message
        with pytest.raises(ServiceError) as no_reason:
            county.change(conn, "hotline", "0730-5212345", "  ", admin)
        assert no_reason.value.message_id == "error.setting_needs_reason"


def test_thresholds_set_on_screen_are_the_ones_a_run_uses(engine: Engine) -> None:
    assert import_path(engine, COUNTY).outcome == "committed"
    _admin(engine)
    with engine.begin() as conn:
        admin = principal_for_user(conn, "admin1")
        stored = county.change(conn, "flag.DV-04", {"threshold": "40000", "window_days": 30}, "审计要求", admin)
    assert stored == {"threshold": "40000.00"}  # money exact, and only what differs from the default
    report = detect(engine, codes=["DV-04"])
    assert report.detectors["DV-04"]["settings"] == {"threshold": "40000.00", "window_days": 30}
    explicit = detect(engine, codes=["DV-04"], overrides={"DV-04": {"window_days": 10}})
    assert explicit.detectors["DV-04"]["settings"] == {"threshold": "40000.00", "window_days": 10}
    with engine.connect() as conn:
        assert county.thresholds(conn)["DV-04"] == {"threshold": "40000.00", "window_days": 30}


def test_a_list_setting_takes_codes_or_chinese_terms_and_a_run_uses_it(engine: Engine) -> None:
    """DC-11's property kinds: ``a|b`` or a list, codes or the register's Chinese terms, kept
    sorted, so the default in another order is the default."""
    assert import_path(engine, COUNTY).outcome == "committed"
    _admin(engine)
    with engine.begin() as conn:
        admin = principal_for_user(conn, "admin1")
        assert county.change(conn, "flag.DC-11", {"kinds": "urban_home|shop"}, "默认", admin) == {}
        stored = county.change(conn, "flag.DC-11", {"kinds": "商铺、城镇住宅, 其他"}, "含其他房产", admin)
    assert stored == {"kinds": ["other", "shop", "urban_home"]}
    report = detect(engine, codes=["DC-11"])
    assert report.detectors["DC-11"]["settings"] == {"kinds": ["other", "shop", "urban_home"]}


def test_the_issuing_unit_of_a_town_and_of_the_county(engine: Engine) -> None:
    assert import_path(engine, COUNTY).outcome == "committed"
    _admin(engine)
    with engine.begin() as conn:
        town = conn.execute(select(Town).limit(1)).one()
        assert county.issuing_unit(conn, town.town_code) == f"{town.town_name}人民政府"
        assert county.issuing_unit(conn, None) == ""
        admin = principal_for_user(conn, "admin1")
        county.change(conn, "county_name", "汨罗市", "县名", admin)
        assert county.issuing_unit(conn, None) == "汨罗市人民政府"
        county.change(conn, "issuing_unit", "汨罗市乡村振兴局", "发布单位", admin)
        county.change(conn, "town_issuing_units", {town.town_code: "某镇扶贫工作站"}, "发布单位", admin)
        assert county.issuing_unit(conn, None) == "汨罗市乡村振兴局"
        assert county.issuing_unit(conn, town.town_code) == "某镇扶贫工作站"

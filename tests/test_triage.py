"""Learned hit rates and triage tiers (audit.cases.triage) on the shipped county: decisions in
force (not pending, not rejected) change their codes' rates, the scores of the open cases of
those codes, and the tiers; the arithmetic is pinned with the numbers the module's docstring
gives, and the tier rule branch by branch."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from audit.auth.service import Principal
from audit.cases import service, triage
from audit.config import Settings
from audit.detection.service import detect
from audit.importer.service import import_path
from audit.models import AuditEntry, Case, Finding, User
from tests.conftest import COUNTY, logged_in

SETTINGS = Settings(_env_file=None)


def _inspector(engine: Engine, name: str) -> Principal:
    with engine.connect() as conn:
        user_id = conn.execute(select(User.id).where(User.name == name)).scalar_one()
    return Principal(id=user_id, name=name, role="inspector", unit_id=1, unit_name="县级", scope="county",
                     town_code=None, language=None, must_change_password=False)


def _open_cases(engine: Engine, codes: list[str]) -> list[Any]:
    with engine.connect() as conn:
        return [row for row in conn.execute(select(Case).where(Case.status == "open").order_by(Case.id))
                if row.codes == codes]


def _case(engine: Engine, case_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(Case).where(Case.id == case_id)).one()


# ---------------------------------------------------------------------- the arithmetic

def test_a_rate_is_read_through_the_prior_and_low_yield_needs_enough_decisions() -> None:
    assert triage.rate_of("DC-05", 0, 0, SETTINGS).rate == 0.5
    assert triage.rate_of("DC-05", 2, 2, SETTINGS).rate == 0.6667  # (2 + 2) / (2 + 4)
    assert triage.rate_of("DC-18", 1, 1, SETTINGS).rate == 0.6  # (1 + 2) / (1 + 4)
    five_dismissed = triage.rate_of("AN-01", 5, 0, SETTINGS)
    assert (five_dismissed.rate, five_dismissed.low_yield) == (0.2222, True)  # 2 / 9 < 0.25
    four_dismissed = triage.rate_of("AN-01", 4, 0, SETTINGS)
    assert (four_dismissed.rate, four_dismissed.low_yield) == (0.25, False)  # too few, and not below


def test_a_score_moves_in_odds_by_the_rate_against_the_prior() -> None:
    assert triage.adjusted(0.8, 0.5, 0.5) == 0.8  # no decisions: the detector's own score
    assert round(triage.adjusted(0.8, 4 / 6, 0.5), 4) == 0.8889  # odds 4 × 2 = 8: 8 / 9
    assert round(triage.adjusted(0.3, 2 / 9, 0.5), 4) == 0.1091  # odds 3/7 × 2/7 = 6/49: 6 / 55
    assert triage.adjusted(1.0, 0.1, 0.5) == 1.0 and triage.adjusted(0.0, 0.9, 0.5) == 0.0
    rates = {"DC-05": triage.rate_of("DC-05", 2, 2, SETTINGS), "DC-18": triage.rate_of("DC-18", 1, 1, SETTINGS)}
    score, basis = triage.case_score({"DC-05": 0.8, "DC-18": 0.8}, rates, SETTINGS)
    assert score == 0.984  # 1 - (1/9)(1/7)
    assert basis["detector_score"] == 0.96 and basis["version"] == 1
    assert [(p["code"], p["rate"], p["adjusted"]) for p in basis["codes"]] == [("DC-05", 0.6667, 0.8889),
                                                                               ("DC-18", 0.6, 0.8571)]


def _rate(rate: float, decided: int = 10, low: bool = False) -> triage.HitRate:
    return triage.HitRate("DC-05", decided, round(rate * decided), rate, low)


@pytest.mark.parametrize(("amount_fen", "rate", "repeats", "complaints", "expected"), [
    (1_000_000, _rate(0.5), 0, 0, (1, ["money"])),  # 10,000 yuan: the line itself
    (999_999, _rate(0.5), 0, 0, (2, ["ordinary"])),  # a fen below it
    (0, _rate(0.5), 0, 1, (1, ["complaints"])),
    (0, _rate(0.6), 1, 0, (1, ["repeat_and_rate"])),
    (0, _rate(0.59), 1, 0, (2, ["ordinary"])),  # a repeat subject, but the code hits too rarely
    (0, _rate(0.6), 0, 0, (2, ["ordinary"])),  # a good code, but no repeat subject
    (2_000_000, _rate(0.7), 2, 3, (1, ["money", "complaints", "repeat_and_rate"])),
    (99_999, _rate(0.2, low=True), 0, 0, (3, ["low_yield_small"])),
    (100_000, _rate(0.2, low=True), 0, 0, (2, ["ordinary"])),  # 1,000 yuan is not small
    (0, _rate(0.2, low=True), 1, 0, (2, ["ordinary"])),  # a repeat subject keeps it out of 三级
    (0, _rate(0.2, low=True), 0, 1, (1, ["complaints"])),  # a complaint lifts even a low-yield code
    (0, _rate(0.2, decided=3), 0, 0, (2, ["ordinary"])),  # a low rate on too few decisions
])
def test_the_tier_rule_branch_by_branch(amount_fen: int, rate: triage.HitRate, repeats: int, complaints: int,
                                        expected: tuple[int, list[str]]) -> None:
    assert triage.tier_of(amount_fen, rate, repeats, complaints, SETTINGS) == expected


def test_the_tier_lines_are_settings() -> None:
    strict = Settings(_env_file=None, tier1_min_amount=Decimal("500.00"), tier3_max_amount=Decimal("100.00"))
    assert triage.tier_of(50_000, _rate(0.5), 0, 0, strict) == (1, ["money"])
    assert triage.tier_of(10_000, _rate(0.2, low=True), 0, 0, strict) == (2, ["ordinary"])


# ---------------------------------------------------------------------- decisions on the shipped county

@pytest.fixture
def county(engine: Engine) -> Engine:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    return engine


def test_decisions_on_the_shipped_county_change_rates_scores_and_tiers(county: Engine) -> None:
    client, headers = logged_in(county, {"inspector1": "inspector", "inspector2": "inspector"})
    one, two = _inspector(county, "inspector1"), _inspector(county, "inspector2")
    with county.connect() as conn:
        assert triage.hit_rates(conn) == {}
        assert triage.tier_counts(conn, service.in_scope(one)) == {1: 30, 2: 98, 3: 0}
    anomalies = _open_cases(county, ["AN-01"])
    dc05, dc18 = _open_cases(county, ["DC-05"]), _open_cases(county, ["DC-18"])
    both = _open_cases(county, ["DC-05", "DC-18"])[0]
    assert len(anomalies) == 52 and len(dc05) == 5 and len(dc18) == 4
    # With no decision a score is the detectors' own, and its basis says so.
    assert (both.score, both.tier) == (0.96, 2)
    assert both.score_basis["codes"] == [
        {"code": "DC-05", "detector": 0.8, "decided": 0, "confirmed": 0, "rate": 0.5, "adjusted": 0.8},
        {"code": "DC-18", "detector": 0.8, "decided": 0, "confirmed": 0, "rate": 0.5, "adjusted": 0.8}]

    # Five AN-01 leads dismissed (small and of low score: no second inspector needed).
    with county.begin() as conn:
        for case in anomalies[:5]:
            assert service.decide(conn, case.id, "dismissed", "正常波动", one)[1] == "effective"
    # Two DC-05 confirmations, the first approved at once; the second waits, then is approved.
    with county.begin() as conn:
        first, state = service.decide(conn, dc05[0].id, "confirmed", "核实属实", one)
        assert state == "pending"
        assert "DC-05" not in triage.hit_rates(conn)  # a pending decision teaches nothing yet
        service.approve(conn, dc05[0].id, first, two)
        second, _ = service.decide(conn, dc05[1].id, "confirmed", "核实属实", one)
        service.approve(conn, dc05[1].id, second, two)
    # A DC-18 referral of a case at 0.8 waits for the second inspector; a rejected one does not count.
    with county.begin() as conn:
        rejected, _ = service.decide(conn, dc18[2].id, "referred", "移送", one)
        service.reject(conn, dc18[2].id, rejected, "证据不足", two)
        referral, state = service.decide(conn, dc18[3].id, "referred", "移送公安", one)
        assert state == "pending"
        service.approve(conn, dc18[3].id, referral, two)

    with county.connect() as conn:
        rates = triage.hit_rates(conn)
        assert {code: (r.decided, r.confirmed, r.rate, r.low_yield) for code, r in rates.items()} == {
            "AN-01": (5, 0, 0.2222, True), "DC-05": (2, 2, 0.6667, False), "DC-18": (1, 1, 0.6, False)}
        assert triage.tier_counts(conn, service.in_scope(one)) == {1: 32, 2: 41, 3: 47}
        trail = conn.execute(select(AuditEntry.detail).where(AuditEntry.action == "hit_rates")
                             .order_by(AuditEntry.id.desc())).first()
        assert trail.detail["codes"] == {"DC-18": {"code": "DC-18", "decided": 1, "confirmed": 1, "rate": 0.6,
                                                   "low_yield": False}}

    # The open DC-05 cases at 0.8: odds 4 × 2 = 8, so 8/9.
    assert {_case(county, c.id).score for c in dc05[2:]} == {0.889}
    # The case of both codes: 1 - (1/9)(1/7).
    moved = _case(county, both.id)
    assert moved.score == 0.984 and moved.score_basis["detector_score"] == 0.96
    # Two DC-18 cases at 0.85 share a person: 0.6 and a repeat subject make them 一级;
    # odds 17/3 × 3/2 = 8.5, so 8.5 / 9.5.
    for case in dc18[:2]:
        now = _case(county, case.id)
        assert (now.score, now.tier, now.tier_basis["reasons"]) == (0.895, 1, ["repeat_and_rate"])
        assert (now.tier_basis["repeat_subjects"], now.tier_basis["rate"]) == (1, 0.6)
    assert _case(county, dc18[2].id).tier == 2  # the rejected referral's case: open, no repeat
    # The remaining AN-01 leads are 三级, their scores moved down in odds by 2/7.
    rest = {(lead.score, _case(county, lead.id).score, _case(county, lead.id).tier) for lead in anomalies[5:]}
    assert {tier for _, _, tier in rest} == {3}
    assert {(detector, score) for detector, score, _ in rest} >= {(0.3, 0.109), (0.308, 0.113), (0.357, 0.137)}
    assert all(score == round(triage.adjusted(detector, 2 / 9, 0.5), 3) for detector, score, _ in rest)
    # Decided cases keep the score they were decided with.
    assert _case(county, dc05[0].id).score == 0.8

    # The API: the hit rates, and a case's tier and score basis; the list leads with 一级.
    body = client.get("/api/stats/hit-rates", headers=headers["inspector1"]).json()
    assert (body["prior"], body["weight"]) == (0.5, 4.0)
    assert [(r["code"], r["decided"], r["confirmed"], r["rate"], r["low_yield"]) for r in body["codes"]] == [
        ("AN-01", 5, 0, 0.2222, True), ("DC-05", 2, 2, 0.6667, False), ("DC-18", 1, 1, 0.6, False)]
    # Per variant, for the codes whose evidence tells them apart: DC-18's one referral.
    assert [(r["code"], r["decided"], r["confirmed"], r["rate"]) for r in body["variants"]] == [("DC-18", 1, 1, 0.6)]
    case = client.get(f"/api/cases/{dc18[0].id}", headers=headers["inspector1"]).json()
    assert case["tier"] == 1 and case["tier_basis"]["reasons"] == ["repeat_and_rate"]
    assert case["score_basis"]["codes"][0]["adjusted"] == 0.8947
    page = client.get("/api/cases", params={"limit": 500}, headers=headers["inspector1"]).json()
    tiers = [item["tier"] for item in page["items"]]
    assert tiers == sorted(tiers) and tiers.count(3) == 47
    first = [item for item in page["items"] if item["tier"] == 1]
    assert [item["score"] for item in first] == sorted((item["score"] for item in first), reverse=True)
    third = client.get("/api/cases", params={"tier": 3, "limit": 500}, headers=headers["inspector1"]).json()
    assert third["total"] == 47 and {item["codes"][0] for item in third["items"]} == {"AN-01"}


def test_a_detection_run_keeps_the_learned_scores_and_audit_stats_shows_the_rates(county: Engine) -> None:
    logged_in(county, {"inspector1": "inspector"})
    one = _inspector(county, "inspector1")
    anomalies = _open_cases(county, ["AN-01"])
    with county.begin() as conn:
        for case in anomalies[:5]:
            service.decide(conn, case.id, "dismissed", "正常波动", one)
    before = {c.id: (c.score, c.tier) for c in _open_cases(county, ["AN-01"])}
    detect(county)
    after = {c.id: (c.score, c.tier) for c in _open_cases(county, ["AN-01"])}
    assert after == before and {tier for _, tier in after.values()} == {3}
    # `audit stats` says the same.
    from audit.stats import collect

    assert collect(county)["hit_rates"] == {"prior": 0.5, "weight": 4.0, "codes": [
        {"code": "AN-01", "decided": 5, "confirmed": 0, "rate": 0.2222, "low_yield": True}], "variants": []}


def test_the_home_screen_and_the_case_page_explain_rates_tiers_and_scores(county: Engine) -> None:
    from fastapi.testclient import TestClient

    from audit.api.app import create_app
    from tests.test_web import _sign_in

    logged_in(county, {"inspector1": "inspector"})
    one = _inspector(county, "inspector1")
    anomalies = _open_cases(county, ["AN-01"])
    with county.begin() as conn:
        for case in anomalies[:5]:
            service.decide(conn, case.id, "dismissed", "正常波动", one)
    browser = TestClient(create_app(), follow_redirects=False)
    assert _sign_in(browser, "inspector1").status_code == 303
    home = browser.get("/").text
    assert "线索命中率" in home and "低效" in home and "22%" in home
    assert "一级待办案件" in home and "三级待办案件" in home
    listed = browser.get("/cases", params={"tier": "3"}).text
    assert "共 47 件" in listed
    shown = browser.get(f"/cases/{anomalies[5].id}").text
    assert "评分依据" in shown and "AN-01：检测得分" in shown and "命中率 22%" in shown
    assert "三级" in shown and "低效线索" in shown


def test_a_residents_complaint_lifts_its_cases_to_the_first_tier_at_once(county: Engine) -> None:
    """A complaint filed from the public window re-tiers the open cases it is linked to in
    the same transaction: an inspector sees it first without waiting for a detection run."""
    from audit.complaints import service as complaints
    from audit.models import Household, Person

    with county.connect() as conn:
        homes = {hid for (hid,) in conn.execute(select(Household.household_id))}
        person_home = dict(conn.execute(select(Person.id_number, Person.household_id)).all())
        second = [row for row in conn.execute(select(Case).where(Case.status == "open", Case.tier == 2)
                                                  .order_by(Case.id))
                  if (row.subject_kind == "household" and row.subject_key in homes)
                  or (row.subject_kind == "person" and person_home.get(row.subject_key))]
    case = second[0]
    household = case.subject_key if case.subject_kind == "household" else person_home[case.subject_key]
    assert case.tier_basis["complaints"] == 0
    with county.begin() as conn:
        complaints.file(conn, household_id=household, payment_id=None, name="村民", phone="13800000000",
                        text="补贴没有发到我家", actor="public")
    after = _case(county, case.id)
    assert after.tier == 1 and after.tier_basis["complaints"] == 1
    assert "complaint" in " ".join(str(reason) for reason in after.tier_basis["reasons"])
    # The other tier-2 cases about other households are left as they were.
    others = [row for row in second[1:] if row.subject_key != case.subject_key
              and (row.subject_key if row.subject_kind == "household" else person_home[row.subject_key]) != household]
    assert others and _case(county, others[0].id).tier == 2


# ---------------------------------------------------------------------- variants

def test_a_findings_variant_is_read_from_its_evidence() -> None:
    steps = [{"kind": "household"}, {"kind": "person"}, {"kind": "shareholder"}, {"kind": "card_payment"}]
    assert triage.variant_of("DC-07", steps) == "organization"  # a shareholder: the company
    assert triage.variant_of("DC-07", [{"kind": "vehicle"}, {"kind": "public_employee"}]) == "public_employee+vehicle"
    assert triage.variant_of("DC-18", [{"kind": "program"}, {"kind": "search"}]) == "no_certificate"
    assert triage.variant_of("DC-18", [{"kind": "program"}, {"kind": "person"}]) is None  # names none
    assert triage.variant_of("DC-05", steps) is None  # a code without variants


def test_every_variant_has_its_words() -> None:
    from audit.i18n import catalogue

    for lang in ("zh", "en"):
        words = catalogue(lang)
        for code, names in triage.VARIANTS.items():
            for variant in set(names.values()):
                assert f"ui.variant.{code}.{variant}" in words, (lang, code, variant)


def _decide_in_force(conn: Any, case_id: int, decision: str, one: Principal, two: Principal) -> None:
    """A decision that takes effect (approved by the second inspector when it waits for one)."""
    decision_id, state = service.decide(conn, case_id, decision, "核查", one)
    if state == "pending":
        service.approve(conn, case_id, decision_id, two)


def test_variants_of_one_code_have_their_own_rates_on_the_home_screen_and_in_audit_stats(county: Engine) -> None:
    """DC-18 on the shipped county: three cases with no certificate (two confirmed, one
    dismissed) and one whose certificate does not count (dismissed). The variants' rates are
    pinned; the code's own rate, which the score uses, counts all four."""
    from fastapi.testclient import TestClient

    from audit.api.app import create_app
    from audit.stats import collect
    from tests.test_web import _sign_in

    logged_in(county, {"inspector1": "inspector", "inspector2": "inspector"})
    one, two = _inspector(county, "inspector1"), _inspector(county, "inspector2")
    dc18 = _open_cases(county, ["DC-18"])
    with county.connect() as conn:
        evidence = {row.id: triage.variant_of("DC-18", row.evidence) for row in conn.execute(
            select(Finding.case_id.label("id"), Finding.evidence).where(Finding.code == "DC-18"))}
    missing = [c.id for c in dc18 if evidence[c.id] == "no_certificate"]
    short = [c.id for c in dc18 if evidence[c.id] == "certificate_not_counting"]
    assert (len(missing), len(short)) == (3, 1)
    with county.begin() as conn:
        _decide_in_force(conn, missing[0], "confirmed", one, two)
        _decide_in_force(conn, missing[1], "referred", one, two)  # a referral counts as a hit
        _decide_in_force(conn, missing[2], "dismissed", one, two)
        _decide_in_force(conn, short[0], "dismissed", one, two)
    with county.connect() as conn:
        variants = triage.variant_rates(conn)
        code = triage.hit_rates(conn)["DC-18"]
    # No certificate: (2 + 4 × 0.5) / (3 + 4) = 4/7; one that does not count: (0 + 2) / (1 + 4).
    assert [(v.variant, v.decided, v.confirmed, v.rate) for v in variants["DC-18"]] == [
        ("certificate_not_counting", 1, 0, 0.4), ("no_certificate", 3, 2, 0.5714)]
    assert (code.decided, code.confirmed, code.rate) == (4, 2, 0.5)  # (2 + 2) / (4 + 4): what scores use
    assert collect(county)["hit_rates"]["variants"] == [
        {"code": "DC-18", "variant": "certificate_not_counting", "decided": 1, "confirmed": 0, "rate": 0.4,
         "low_yield": False},
        {"code": "DC-18", "variant": "no_certificate", "decided": 3, "confirmed": 2, "rate": 0.5714,
         "low_yield": False}]

    browser = TestClient(create_app(), follow_redirects=False)
    assert _sign_in(browser, "inspector1").status_code == 303
    table = browser.get("/").text.split('id="hit-rates"')[1].split("</section>")[0]
    rows = [re.sub(r"<[^>]+>|&emsp;|\s+", " ", row).split() for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]
    assert len(rows) == 4 and rows[1][0] == "DC-18" and rows[1][-3:] == ["4", "2", "50%"]  # header, code, 2 variants
    assert rows[2] == ["└", "残疾证不符", "1", "0", "40%"] and rows[3] == ["└", "无残疾证", "3", "2", "57%"]


def test_audit_stats_prints_the_variants_under_the_codes(county: Engine, database_url: str) -> None:
    """DC-07's vehicle case confirmed, its payroll case dismissed: two variants, in the
    text and in --json."""
    import json

    from tests.test_cli import audit

    logged_in(county, {"inspector1": "inspector", "inspector2": "inspector"})
    one, two = _inspector(county, "inspector1"), _inspector(county, "inspector2")
    with county.connect() as conn:
        variant = {row.case_id: triage.variant_of("DC-07", row.evidence) for row in conn.execute(
            select(Finding.case_id, Finding.evidence).where(Finding.code == "DC-07"))}
    by_variant = {name: case_id for case_id, name in variant.items()}
    with county.begin() as conn:
        _decide_in_force(conn, by_variant["vehicle"], "confirmed", one, two)
        _decide_in_force(conn, by_variant["public_employee"], "dismissed", one, two)
    printed = audit("stats", url=database_url)
    assert printed.returncode == 0, printed.stderr
    text = re.sub(r"\s+", " ", printed.stdout)
    assert "DC-07 · 车辆" in text and "DC-07 · 财政供养人员" in text
    assert "60.0%" in text and "40.0%" in text  # (1 + 2) / (1 + 4) and (0 + 2) / (1 + 4)
    as_json = json.loads(audit("stats", "--json", url=database_url).stdout)
    assert [(v["variant"], v["decided"], v["confirmed"], v["rate"]) for v in as_json["hit_rates"]["variants"]] == [
        ("public_employee", 1, 0, 0.4), ("vehicle", 1, 1, 0.6)]

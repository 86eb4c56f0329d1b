"""Detection end to end on the shipped county: quality against the planted truth, stable
re-runs, evidence that names real records, stale findings and decided cases."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Date, Engine, Integer, delete, func, select, update

from audit.api.app import create_app
from audit.detection.evaluate import evaluate
from audit.detection.export import findings_json
from audit.evidence import fact_text
from audit.errors import MessageError
from audit.i18n import has
from audit.detection.service import detect
from audit.importer.service import import_path
from audit.importer.spec import BY_NAME
from audit.models import Case, CaseEvent, Death, DetectionRun, Finding
from tests.conftest import COUNTY, logged_in
from tests.test_cli import audit
from tests.test_web import _sign_in

TRUTH = json.loads((COUNTY / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture
def scanned(engine: Engine) -> Engine:
    assert import_path(engine, COUNTY).outcome == "committed"
    detect(engine)
    return engine


def test_every_rule_finds_its_planted_cases_precisely_and_spares_the_decoys(scanned: Engine) -> None:
    with scanned.connect() as conn:
        result = evaluate(conn, TRUTH)
    for code, row in result.items():
        assert row["recall"] is not None and row["recall"] >= 0.95, (code, row["missed"])
        assert row["decoys_flagged"] == [], code
        if not code.startswith("AN"):  # anomaly codes flag their top share by design
            assert row["precision"] >= 0.9, (code, row["false"])


def test_a_second_run_adds_nothing(scanned: Engine) -> None:
    with scanned.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Finding)).scalar_one()
        cases = conn.execute(select(func.count()).select_from(Case)).scalar_one()
    report = detect(scanned)
    assert all(entry["new"] == 0 and entry["stale"] == 0 for entry in report.detectors.values())
    with scanned.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Finding)).scalar_one() == before
        assert conn.execute(select(func.count()).select_from(Case)).scalar_one() == cases


def test_every_evidence_step_names_a_record_that_exists(scanned: Engine) -> None:
    kinds = {spec.kind: spec for spec in BY_NAME.values()}
    with scanned.connect() as conn:
        for finding in conn.execute(select(Finding)):
            assert finding.evidence, finding.code
            for step in finding.evidence:
                # A message of the catalogue that renders whole in both languages.
                assert has(step["message"]), (finding.code, step["message"])
                for lang in ("zh", "en"):
                    fact = fact_text(step, lang)
                    assert fact and not re.search(r"\{[a-z_]+(:[a-z._]+)?\}", fact), (finding.code, lang, fact)
                spec = kinds.get(step["kind"])
                if spec is None:
                    continue  # a derived step (a comparison, a search, a feature)
                model = spec.model.__table__
                parts = step["key"].split("|")
                assert len(parts) == len(spec.key), (finding.code, step["key"])
                columns = [model.c[spec.by_name[k].db_name] for k in spec.key]
                where = [c == (date.fromisoformat(v) if isinstance(c.type, Date) else
                               int(v) if isinstance(c.type, Integer) else v)
                         for c, v in zip(columns, parts, strict=True)]
                assert conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one() == 1, \
                    (finding.code, step["kind"], step["key"])


def test_findings_state_money_and_the_settings_in_force(scanned: Engine) -> None:
    with scanned.connect() as conn:
        exported = json.loads(findings_json(conn, ["DC-06", "DV-04"], lang="en")[0])
    assert exported
    for item in exported:
        assert set(item) >= {"id", "code", "family", "title", "score", "subjects", "records", "amount_at_risk",
                             "evidence", "params", "detected_at", "status"}
        assert item["id"].startswith("f-") and item["status"] == "open"
        assert all({"kind", "key", "fact", "fields"} <= set(step) for step in item["evidence"])
    split = next(i for i in exported if i["code"] == "DV-04")
    assert split["params"] == {"threshold": "50000.00", "window_days": 30}
    assert "yuan" in split["evidence"][0]["fact"]


def test_a_finding_whose_facts_are_gone_becomes_stale_not_deleted(scanned: Engine) -> None:
    with scanned.begin() as conn:
        conn.execute(delete(Death))
    report = detect(scanned, codes=["DC-06"])
    assert report.detectors["DC-06"]["stale"] == 2 and report.detectors["DC-06"]["findings"] == 0
    with scanned.connect() as conn:
        stale = conn.execute(select(Finding.case_id).where(Finding.code == "DC-06")).scalars().all()
        assert len(stale) == 2
        assert conn.execute(select(func.count()).select_from(Finding).where(
            Finding.code == "DC-06", Finding.status == "stale")).scalar_one() == 2
        scores = conn.execute(select(Case.score).where(Case.id.in_(stale))).scalars().all()
    assert all(score < 0.97 for score in scores)


def test_a_decided_case_keeps_its_decision_and_score(scanned: Engine) -> None:
    with scanned.begin() as conn:
        case = conn.execute(select(Case).where(Case.codes.is_not(None)).order_by(Case.score.desc())).first()
        conn.execute(update(Case).where(Case.id == case.id).values(status="confirmed", score=0.5))
        conn.execute(update(Finding).where(Finding.case_id == case.id).values(status="stale"))
    detect(scanned)
    with scanned.connect() as conn:
        after = conn.execute(select(Case).where(Case.id == case.id)).one()
        events = conn.execute(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).scalars().all()
    assert after.status == "confirmed" and after.score == 0.5
    assert "after_decision" in events


def test_a_detector_that_raises_fails_the_run_and_writes_nothing(scanned: Engine,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from audit.detectors.dc06_paid_after_death import PaidAfterDeath

    with scanned.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Finding)).scalar_one()

    def broken(self, context):  # noqa: ANN001, ANN202
        raise RuntimeError("the death register is unreadable")

    monkeypatch.setattr(PaidAfterDeath, "run", broken)
    with pytest.raises(RuntimeError, match="unreadable"):
        detect(scanned)
    with scanned.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Finding)).scalar_one() == before
        failed = conn.execute(select(DetectionRun).where(DetectionRun.outcome == "failed")).one()
    assert "unreadable" in failed.error


def test_a_detector_past_its_time_bound_fails_the_run_naming_it(scanned: Engine,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A runaway query fails that run loudly and names the detector, instead of holding the
    database: PostgreSQL's statement_timeout, SQLite's interrupt, under one setting."""
    from audit.config import get_settings

    with scanned.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Finding)).scalar_one()
    monkeypatch.setenv("AUDIT_DETECTOR_TIMEOUT_SECONDS", "0.001")
    get_settings.cache_clear()
    with pytest.raises(MessageError) as stopped:
        detect(scanned, codes=["DC-02"])  # a self-join over every drawer: well past a millisecond
    assert (stopped.value.message_id, stopped.value.fields["code"]) == ("error.detector_timeout", "DC-02")
    assert "DC-02" in stopped.value.text("zh") and "时限" in stopped.value.text("zh")
    monkeypatch.setenv("AUDIT_DETECTOR_TIMEOUT_SECONDS", "600")
    get_settings.cache_clear()
    with scanned.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Finding)).scalar_one() == before
        assert conn.execute(select(DetectionRun.outcome).order_by(DetectionRun.id.desc()).limit(1)).scalar_one() \
            == "failed"
    assert detect(scanned, codes=["DC-02"]).detectors["DC-02"]["findings"] > 0  # the bound lifted: it runs


def test_settings_override_the_defaults_and_unknown_ones_are_refused(scanned: Engine) -> None:
    report = detect(scanned, codes=["DV-04"], overrides={"DV-04": {"threshold": "40000.00"}})
    assert report.detectors["DV-04"]["settings"]["threshold"] == "40000.00"
    with pytest.raises(MessageError, match="no setting speed"):
        detect(scanned, codes=["DV-04"], overrides={"DV-04": {"speed": 1}})


def test_the_command_line_detects_lists_exports_and_evaluates(scanned: Engine, database_url: str,
                                                              tmp_path: Path) -> None:
    from tests.test_cli import audit

    done = audit("detect", "--codes", "dc06,DV-04", url=database_url)
    assert done.returncode == 0, done.stderr
    assert "DC-06" in done.stdout
    listed = audit("cases", "list", "--top", "5", url=database_url)
    assert listed.returncode == 0 and "涉及金额" in listed.stdout
    out = tmp_path / "findings.csv"
    assert audit("findings", "export", "--format", "csv", "--out", str(out), url=database_url).returncode == 0
    assert out.read_text(encoding="utf-8-sig").startswith("id,code,title")
    graded = audit("eval", "--truth", str(COUNTY / "truth.json"), url=database_url)
    assert graded.returncode == 0 and "FP-01" in graded.stdout


def test_the_miluo_county_meets_the_quality_bar_and_a_second_run_adds_nothing(engine: Engine,
                                                                             tmp_path: Path) -> None:
    from audit.synth.county import generate

    generate(tmp_path / "miluo", preset="miluo-2017", seed=2017)
    assert import_path(engine, tmp_path / "miluo").outcome == "committed"
    detect(engine)
    truth = json.loads((tmp_path / "miluo" / "truth.json").read_text(encoding="utf-8"))
    with engine.connect() as conn:
        result = evaluate(conn, truth)
    for code, row in result.items():
        assert row["recall"] >= 0.95 and row["decoys_flagged"] == [], (code, row["missed"])
        if not code.startswith("AN"):
            assert row["precision"] >= 0.9, (code, row["false"])
    again = detect(engine)
    assert sum(entry["new"] + entry["stale"] for entry in again.detectors.values()) == 0


def test_a_rule_whose_registry_is_missing_says_it_saw_nothing(engine: Engine, county_copy: Path,
                                                              database_url: str) -> None:
    """Coverage per rule: the county without its death, payroll, vehicle and shareholder
    registers. DC-06 and DC-07 examined nothing and say which table is empty: in the run,
    in `audit detect`, through the API and on the inspectors' home screen."""
    for table in ("deaths", "public_employees", "vehicles", "shareholders"):
        (county_copy / f"{table}.csv").unlink()
    assert import_path(engine, county_copy).outcome == "committed"
    report = detect(engine)
    coverage = {code: entry["coverage"] for code, entry in report.detectors.items()}
    assert coverage["DC-06"] == {"judges": "card_payment", "examined": 0, "flagged": 0, "missing": ["deaths"]}
    assert coverage["DC-07"]["examined"] == 0
    assert coverage["DC-07"]["missing"] == ["public_employees", "vehicles", "shareholders"]
    assert coverage["DC-01"]["examined"] > 8000 and coverage["DC-01"]["flagged"] > 0 and not coverage["DC-01"]["missing"]
    assert {code for code, c in coverage.items() if c["missing"]} == {"DC-06", "DC-07"}
    shown = audit("detect", "--codes", "DC-06,DC-01", url=database_url)
    assert shown.returncode == 0, shown.stderr
    assert "缺少死亡/火化登记，本规则本次未审查任何记录" in shown.stdout, shown.stdout
    client, headers = logged_in(engine, {"inspector1": "inspector"})
    api = client.get("/api/detect/coverage", headers=headers["inspector1"]).json()
    assert api["rules"]["DC-06"]["missing"] == ["deaths"] and api["rules"]["DC-01"]["examined"] > 8000
    browser = TestClient(create_app(), follow_redirects=False)
    assert _sign_in(browser, "inspector1").status_code == 303
    home = browser.get("/").text
    assert "这些规则本次没有审查任何记录" in home and "DC-06" in home


def test_every_evidence_field_shown_has_its_words(scanned: Engine) -> None:
    """The case page labels each field of each evidence step (field.<name>): none may show
    as its bare name to a Chinese reader."""
    from audit.evidence import HIDDEN_FIELDS
    from audit.i18n import catalogue

    known = catalogue("zh")
    with scanned.connect() as conn:
        names = {name for (evidence,) in conn.execute(select(Finding.evidence)) for step in evidence
                 for name, value in (step.get("fields") or {}).items()
                 if name not in HIDDEN_FIELDS and not isinstance(value, list | dict)}
    assert sorted(n for n in names if f"field.{n}" not in known) == []


def test_a_detector_past_its_temporary_file_bound_fails_the_run_naming_it(scanned: Engine,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan that spills more than AUDIT_DETECTOR_TEMP_FILE_LIMIT_MB to disk is stopped by
    PostgreSQL (temp_file_limit, which the service role may set: create-roles grants it)
    and fails its run naming the detector, instead of filling the disk."""
    from sqlalchemy import event

    from audit.config import get_settings

    if scanned.dialect.name != "postgresql":
        pytest.skip("temporary-file bounds are PostgreSQL's")
    with scanned.connect() as conn:
        assert conn.exec_driver_sql("SHOW is_superuser").scalar_one() == "off"  # the service's own role
        before = conn.execute(select(func.count()).select_from(Finding)).scalar_one()

    def tiny_memory(dbapi_connection, _record):  # noqa: ANN001, ANN202 - every sort and hash spills
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET work_mem = '64kB'")
        dbapi_connection.commit()

    scanned.dispose()
    event.listen(scanned, "connect", tiny_memory)
    try:
        monkeypatch.setenv("AUDIT_DETECTOR_TEMP_FILE_LIMIT_MB", "1")
        monkeypatch.setenv("AUDIT_DETECTOR_WORK_MEM_MB", "0")  # keep the session's 64 kB
        get_settings.cache_clear()
        with pytest.raises(MessageError) as stopped:
            detect(scanned, codes=["DC-02"])  # its self-joins sort and hash every drawer: 9 MB at 64 kB
        assert (stopped.value.message_id, stopped.value.fields["code"]) == ("error.detector_temp_files", "DC-02")
        assert "DC-02" in stopped.value.text("zh") and "临时文件" in stopped.value.text("zh")
        with scanned.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Finding)).scalar_one() == before
            assert conn.execute(select(DetectionRun.outcome).order_by(DetectionRun.id.desc()).limit(1)).scalar_one() \
                == "failed"
        monkeypatch.setenv("AUDIT_DETECTOR_TEMP_FILE_LIMIT_MB", "1024")
        get_settings.cache_clear()
        assert detect(scanned, codes=["DC-02"]).detectors["DC-02"]["findings"] > 0  # a bound it keeps: it runs
    finally:
        event.remove(scanned, "connect", tiny_memory)
        scanned.dispose()
        get_settings.cache_clear()


def test_each_detector_sorts_and_hashes_in_the_memory_set_for_it(scanned: Engine,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's work_mem is raised for a detector's statements only (a scan groups
    millions of payments; the server's 4 MB default sends them to disk), then put back."""
    from audit.config import get_settings
    from audit.detectors.dc06_paid_after_death import PaidAfterDeath

    if scanned.dialect.name != "postgresql":
        pytest.skip("work_mem is PostgreSQL's")
    seen: list[str] = []

    def record(self, context):  # noqa: ANN001, ANN202
        seen.append(context.conn.exec_driver_sql("SHOW work_mem").scalar_one())
        return iter(())

    monkeypatch.setattr(PaidAfterDeath, "run", record)
    monkeypatch.setenv("AUDIT_DETECTOR_WORK_MEM_MB", "96")
    get_settings.cache_clear()
    try:
        with scanned.connect() as conn:
            server = conn.exec_driver_sql("SHOW work_mem").scalar_one()
        detect(scanned, codes=["DC-06"])
        assert seen == ["96MB"]
        with scanned.connect() as conn:
            assert conn.exec_driver_sql("SHOW work_mem").scalar_one() == server
    finally:
        get_settings.cache_clear()

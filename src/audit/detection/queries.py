"""Queries for findings and cases, in one place."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from audit.models import (
    Case,
    CardPayment,
    Disbursement,
    Finding,
    Household,
    Official,
    Organization,
    Person,
    Project,
    Transfer,
    Village,
)


def latest_date(conn: Connection) -> date:
    """The default 'as of': the latest payment or transfer date in the store."""
    dates = [conn.execute(select(func.max(column))).scalar_one()
             for column in (CardPayment.paid_on, Disbursement.paid_on, Transfer.transferred_on)]
    known = [d for d in dates if d is not None]
    return max(known) if known else date.today()


def findings_of(conn: Connection, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = conn.execute(select(Finding.id, Finding.fingerprint, Finding.case_id, Finding.status)
                        .where(Finding.code.in_(list(codes))))
    return {r.fingerprint: {"id": r.id, "case_id": r.case_id, "status": r.status} for r in rows}


def cases_by_subject(conn: Connection, subjects: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    keys = sorted({key for _, key in subjects})
    for start in range(0, len(keys), 500):
        rows = conn.execute(select(Case.id, Case.subject_kind, Case.subject_key)
                            .where(Case.subject_key.in_(keys[start:start + 500])))
        for row in rows:
            found[(row.subject_kind, row.subject_key)] = row.id
    return found


def open_findings_of_cases(conn: Connection, case_ids: list[int]) -> dict[int, list[Any]]:
    by_case: dict[int, list[Any]] = {}
    for start in range(0, len(case_ids), 500):
        rows = conn.execute(select(Finding.case_id, Finding.id, Finding.code, Finding.score, Finding.records,
                                   Finding.amount_at_risk_fen, Finding.amount_owed_fen, Finding.subjects)
                            .where(Finding.case_id.in_(case_ids[start:start + 500]), Finding.status == "open"))
        for row in rows:
            by_case.setdefault(row.case_id, []).append(row)
    return by_case


def top_cases(conn: Connection, limit: int, statuses: tuple[str, ...] = ("open",)) -> list[Any]:
    return list(conn.execute(select(Case).where(Case.status.in_(statuses))
                             .order_by(Case.score.desc(), Case.amount_at_risk_fen.desc(), Case.id).limit(limit)))


def stored_findings(conn: Connection, codes: Iterable[str] | None = None, statuses: tuple[str, ...] = ("open",)
                    ) -> list[Any]:
    query = select(Finding).where(Finding.status.in_(statuses)).order_by(Finding.id)
    if codes:
        query = query.where(Finding.code.in_(list(codes)))
    return list(conn.execute(query))


def subject_labels(conn: Connection, subjects: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """A name for each subject a case is about: a person's, a project's, an organization's."""
    sources = {
        "person": (Person.id_number, Person.name), "project": (Project.project_id, Project.name),
        "organization": (Organization.uscc, Organization.name), "official": (Official.official_id, Official.name),
        "household": (Household.household_id, Household.head_name),
    }
    labels: dict[tuple[str, str], str] = {}
    for kind, (key_column, name_column) in sources.items():
        keys = sorted({key for k, key in subjects if k == kind})
        for start in range(0, len(keys), 500):
            for key, name in conn.execute(select(key_column, name_column).where(key_column.in_(keys[start:start + 500]))):
                labels[(kind, key)] = name
        if kind == "person":
            missing = [k for k in keys if (kind, k) not in labels]
            for start in range(0, len(missing), 500):
                for key, name in conn.execute(select(Household.head_id_number, Household.head_name)
                                              .where(Household.head_id_number.in_(missing[start:start + 500]))):
                    labels[(kind, key)] = name
    batches = sorted({key for kind, key in subjects if kind == "payment_batch"})
    if batches:
        from audit.models import Program, Village

        programs = dict(conn.execute(select(Program.program_code, Program.name)).all())
        villages = dict(conn.execute(select(Village.village_code, Village.village_name)).all())
        for key in batches:  # program/period/village: 红龙村 农村低保金 2017-04
            parts = key.split("/")
            if len(parts) == 3:
                program, period, village = parts
                labels[("payment_batch", key)] = f"{villages.get(village, village)} {programs.get(program, program)} {period}"
    return labels


def subject_places(conn: Connection, subjects: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(village code, town code) of each subject that lives somewhere: a person's or a
    household's village, a project's, an official's, a payment batch's, a reused
    voucher's project. Subjects without a village (an organization, an account, a
    paying unit) are left out."""
    villages: dict[tuple[str, str], str] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, key in subjects:
        by_kind.setdefault(kind, []).append(key)
    sources = {
        "household": [select(Household.household_id, Household.village_code)],
        "project": [select(Project.project_id, Project.village_code)],
        "official": [select(Official.official_id, Official.village_code)],
        "disbursement": [select(Disbursement.disbursement_id, Project.village_code)
                         .join(Project, Project.project_id == Disbursement.project_id)],
        "person": [select(Person.id_number, Household.village_code)
                   .join(Household, Household.household_id == Person.household_id),
                   select(Household.head_id_number, Household.village_code)],
    }
    key_columns = {"household": Household.household_id, "project": Project.project_id,
                   "official": Official.official_id, "disbursement": Disbursement.disbursement_id}
    for kind, keys in by_kind.items():
        if kind == "payment_batch":  # program/period/village
            for key in keys:
                villages[(kind, key)] = key.rsplit("/", 1)[-1]
            continue
        for query in sources.get(kind, []):
            column = key_columns.get(kind)
            for start in range(0, len(keys), 500):
                part = keys[start:start + 500]
                if kind == "person":
                    selected = query.selected_columns[0]
                    bounded = query.where(selected.in_(part))
                else:
                    assert column is not None
                    bounded = query.where(column.in_(part))
                for key, village in conn.execute(bounded):
                    if village:
                        villages.setdefault((kind, key), village)
    towns = dict(conn.execute(select(Village.village_code, Village.town_code)
                              .where(Village.village_code.in_(sorted(set(villages.values()))))).all()) \
        if villages else {}
    return {subject: (village, towns[village]) for subject, village in villages.items() if village in towns}

"""Counts and money per table, town and year, and the red flags' learned hit rates (the
``audit stats`` command)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, extract, func, select, union_all

from sqlalchemy.orm import aliased

from audit import models
from audit.cases import triage
from audit.config import get_settings
from audit.detectors.moved import CardPayment, Disbursement
from audit.importer.spec import TABLES
from audit.models import Household, Person, Project, Town, Village

STATUSES = {"card_payments": ("paid", "failed", "returned", "pending"), "disbursements": ("paid", "returned")}


def yuan(fen: int | None) -> str:
    # PostgreSQL's SUM over BIGINT is NUMERIC (a Decimal here); it is still whole fen.
    fen = int(fen or 0)
    return f"{fen // 100:,}.{fen % 100:02d}"


def collect(engine: Engine) -> dict[str, Any]:
    result: dict[str, Any] = {"tables": {}, "by_town_year": []}
    with engine.connect() as conn:
        for spec in TABLES:
            table = spec.model.__table__
            money_columns = [c for c in table.columns if c.name.endswith("_fen") and c.name != "cap_amount_fen"
                             and c.name != "standard_amount_fen"]
            row = conn.execute(select(func.count(), *[func.sum(c) for c in money_columns]).select_from(table)).one()
            entry: dict[str, Any] = {"rows": row[0]}
            if money_columns:
                entry["yuan"] = yuan(row[1])
            result["tables"][spec.name] = entry

        # Money that moved, apart from money that did not (v1.1): a failed or returned card
        # payment paid nothing; a returned disbursement, or one a correction replaced, neither.
        result["by_status"] = {}
        for name, model in (("card_payments", models.CardPayment), ("disbursements", models.Disbursement)):
            found = {status: (int(count), fen) for status, count, fen in conn.execute(
                select(model.status, func.count(), func.sum(model.amount_fen)).group_by(model.status))}
            result["by_status"][name] = {status: {"rows": found.get(status, (0, 0))[0],
                                                  "yuan": yuan(found.get(status, (0, 0))[1])}
                                         for status in [*STATUSES[name], *sorted(set(found) - set(STATUSES[name]))]}
        replacement = aliased(models.Disbursement)
        corrected = conn.execute(select(func.count(), func.sum(models.Disbursement.amount_fen)).where(
            models.Disbursement.status == "paid",
            models.Disbursement.disbursement_id.in_(select(replacement.correction_of)))).one()
        result["by_status"]["disbursements"]["corrected"] = {"rows": int(corrected[0]), "yuan": yuan(corrected[1])}

        household = func.coalesce(CardPayment.household_id, Person.household_id)
        cards = (
            select(Village.town_code.label("town"), extract("year", CardPayment.paid_on).label("year"),
                   func.count().label("card_payments"), func.sum(CardPayment.amount_fen).label("card_fen"),
                   func.cast(0, CardPayment.amount_fen.type).label("disbursements"),
                   func.cast(0, CardPayment.amount_fen.type).label("disbursed_fen"))
            .select_from(CardPayment)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .join(Household, Household.household_id == household)
            .join(Village, Village.village_code == Household.village_code)
            .group_by(Village.town_code, extract("year", CardPayment.paid_on))
        )
        projects = (
            select(Village.town_code.label("town"), extract("year", Disbursement.paid_on).label("year"),
                   func.cast(0, CardPayment.amount_fen.type).label("card_payments"),
                   func.cast(0, CardPayment.amount_fen.type).label("card_fen"),
                   func.count().label("disbursements"), func.sum(Disbursement.amount_fen).label("disbursed_fen"))
            .select_from(Disbursement)
            .join(Project, Project.project_id == Disbursement.project_id)
            .join(Village, Village.village_code == Project.village_code)
            .group_by(Village.town_code, extract("year", Disbursement.paid_on))
        )
        both = union_all(cards, projects).subquery()
        rows = conn.execute(
            select(both.c.town, Town.town_name, both.c.year, func.sum(both.c.card_payments),
                   func.sum(both.c.card_fen), func.sum(both.c.disbursements), func.sum(both.c.disbursed_fen))
            .outerjoin(Town, Town.town_code == both.c.town)
            .group_by(both.c.town, Town.town_name, both.c.year)
            .order_by(both.c.town, both.c.year)
        )
        for town, name, year, payments, card_fen, disbursements, disbursed_fen in rows:
            result["by_town_year"].append({
                "town": f"{name or town}", "town_code": town, "year": int(year),
                "card_payments": int(payments or 0), "card_yuan": yuan(card_fen),
                "disbursements": int(disbursements or 0), "disbursed_yuan": yuan(disbursed_fen),
            })

        # Each red flag's learned hit rate (audit.cases.triage): decided, confirmed, the rate
        # through the prior, and whether it is low-yield.
        settings = get_settings()
        result["hit_rates"] = {"prior": settings.hit_rate_prior, "weight": settings.hit_rate_prior_weight,
                               "codes": [rate.as_dict() for rate in triage.hit_rates(conn, settings).values()],
                               # and per variant, for the codes whose evidence tells kinds apart
                               "variants": [variant.as_dict() for variants in
                                            triage.variant_rates(conn, settings).values() for variant in variants]}
    return result

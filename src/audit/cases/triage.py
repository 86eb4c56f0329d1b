"""Learned hit rates and triage tiers: every decision feeds back into the scores and the order
in which open cases are worked.

**Hit rate of a red flag.** Of the cases whose decision is in force (a confirmation or a
serious dismissal or referral once the second inspector approved it; a decision awaiting
approval, or rejected, does not count), each counts once for every code it carries: it is
*confirmed* when the decision was 确认 (confirmed) or 移送 (referred: the lead was good
enough to hand on), not when it was 排除 (dismissed). The rate is the share confirmed read
through a Beta prior, so that three decisions do not swing a code from 0 to 1::

    rate = (confirmed + k * p0) / (decided + k)

with ``p0 = hit_rate_prior`` (0.5) and ``k = hit_rate_prior_weight`` (4): a code nobody has
decided is at 0.5; 2 confirmed of 2 is (2 + 2) / (2 + 4) = 0.667; 0 of 5 is 2 / 9 = 0.222. A
code is *low-yield* (低效) when at least ``low_yield_min_decided`` (5) of its cases are
decided and its rate is below ``low_yield_rate`` (0.25). Rates are the county's (every town's
decisions teach the same detector).

**A case's score** (formula version 1). Each of the case's codes counts once, at its
strongest open finding's detector score ``s``; that score, read as a probability, is moved
by how the code's rate stands to the prior, in odds::

    odds(a) = odds(s) * odds(rate) / odds(p0)        odds(x) = x / (1 - x)

(a = s when the code's rate is the prior's, so a county with no decisions scores exactly as
the detectors do; s = 0 and s = 1 stay where they are). The codes then combine as
independent signals (noisy-or): ``score = 1 - prod(1 - a)``, rounded to 3 places. Every input
is kept with the case (``score_basis``: each code's detector score, decided, confirmed, rate
and adjusted score, the prior and the version) so the case page can explain it.

**Variants.** Where the evidence tells two kinds of the same red flag apart, the rate is also
kept per variant (:func:`variant_of`, :data:`VARIANTS`): DC-07 by the register that shows
the wealth (a vehicle, the payroll of a public employee, a company as shareholder or legal
representative), DC-18 by whether the person has no certificate at all or one that does not
count. A decided case counts once under each variant its findings of that code have
(:func:`variant_rates`). Variant rates are shown beside the code's (the home screen, ``audit
stats``); the score keeps using the code's rate: a variant has fewer decisions, and one
detector's score is already what tells its variants apart.

**Tier** (一级 / 二级 / 三级): :func:`tier_of`, one function, its lines in the settings.

**When.** Both are recomputed for every open case at the end of each detection run, and,
after a decision takes effect, for the open cases that share a code or a subject with the
decided case (their rates, or their repeat subjects, have changed). Decided cases keep the
score and tier they were decided with.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from audit.config import Settings, get_settings
from audit.models import Case, CaseDecision, Finding

FORMULA_VERSION = 1
# Decisions that count as the lead being right.
CONFIRMING = {"confirmed", "referred"}
# The subjects whose appearance in another open case makes a repeat: a person, an official,
# a contractor or other organization (a household or a project is the case's own place).
REPEAT_KINDS = {"person", "official", "organization"}
TIERS = (1, 2, 3)


@dataclass(frozen=True)
class HitRate:
    code: str
    decided: int
    confirmed: int
    rate: float
    low_yield: bool

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "decided": self.decided, "confirmed": self.confirmed, "rate": self.rate,
                "low_yield": self.low_yield}


def rate_of(code: str, decided: int, confirmed: int, settings: Settings) -> HitRate:
    """One code's rate from its counts, through the prior (see the module's docstring)."""
    k, p0 = settings.hit_rate_prior_weight, settings.hit_rate_prior
    rate = round((confirmed + k * p0) / (decided + k), 4)
    low = decided >= settings.low_yield_min_decided and rate < settings.low_yield_rate
    return HitRate(code, decided, confirmed, rate, low)


def hit_rates(conn: Connection, settings: Settings | None = None) -> dict[str, HitRate]:
    """{code: its hit rate} for every code some decision in force has reached, in code order
    (a code absent here is at the prior: :func:`rate_for`). Scores use these, the code's
    rates, not its variants' (:func:`variant_rates` is for reading only)."""
    settings = settings or get_settings()
    decided: dict[str, int] = defaultdict(int)
    confirmed: dict[str, int] = defaultdict(int)
    # One row per decided case: a county decides thousands, not millions.
    for decision, codes in conn.execute(select(CaseDecision.decision, Case.codes)
                                        .join(Case, Case.id == CaseDecision.case_id)
                                        .where(CaseDecision.state == "effective")):
        for code in set(codes or []):
            decided[code] += 1
            confirmed[code] += decision in CONFIRMING
    return {code: rate_of(code, decided[code], confirmed[code], settings) for code in sorted(decided)}


# Variants: for each code whose evidence tells kinds of it apart, the evidence-step kind that
# names the variant ({step kind: variant}). Steps every finding of the code carries (the
# person, the household, the payments, the program's criterion) name none. A code not here
# has one variant, the code itself. Each variant has its message ``ui.variant.<code>.<name>``.
VARIANTS: dict[str, dict[str, str]] = {
    # DC-07 (a well-off household paid): the register that shows the wealth.
    "DC-07": {"vehicle": "vehicle", "public_employee": "public_employee", "organization": "organization",
              "shareholder": "organization"},  # a shareholder or a legal representative: the company
    # DC-18 (disability money without a certificate): none found, or one that does not count.
    "DC-18": {"search": "no_certificate", "disability_certificate": "certificate_not_counting"},
}


def variant_of(code: str, evidence: list[dict[str, Any]] | None) -> str | None:
    """A finding's variant from its evidence: the distinct variants its steps name (see
    :data:`VARIANTS`), sorted and joined with "+" should one finding name two; None for a
    code without variants, or evidence that names none."""
    names = VARIANTS.get(code)
    if not names:
        return None
    found = sorted({names[step["kind"]] for step in evidence or [] if step.get("kind") in names})
    return "+".join(found) or None


@dataclass(frozen=True)
class VariantRate:
    code: str
    variant: str
    decided: int
    confirmed: int
    rate: float
    low_yield: bool

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "variant": self.variant, "decided": self.decided, "confirmed": self.confirmed,
                "rate": self.rate, "low_yield": self.low_yield}


def variant_rates(conn: Connection, settings: Settings | None = None) -> dict[str, list[VariantRate]]:
    """{code: its variants' rates, in variant order} for the codes with variants that some
    decision in force has reached: the same counting and prior as :func:`hit_rates`, a case
    counting once under each variant of its findings of the code (a case's findings of a code
    are of one variant as a rule; of two, it counts under both)."""
    settings = settings or get_settings()
    decided: dict[tuple[str, str], set[int]] = defaultdict(set)
    confirmed: dict[tuple[str, str], set[int]] = defaultdict(set)
    query = (select(CaseDecision.case_id, CaseDecision.decision, Finding.code, Finding.evidence)
             .join(Finding, Finding.case_id == CaseDecision.case_id)
             .where(CaseDecision.state == "effective", Finding.code.in_(sorted(VARIANTS))))
    for case_id, decision, code, evidence in conn.execute(query):
        variant = variant_of(code, evidence)
        if variant is None:
            continue
        decided[(code, variant)].add(case_id)
        if decision in CONFIRMING:
            confirmed[(code, variant)].add(case_id)
    found: dict[str, list[VariantRate]] = defaultdict(list)
    for code, variant in sorted(decided):
        counted = rate_of(code, len(decided[(code, variant)]), len(confirmed[(code, variant)]), settings)
        found[code].append(VariantRate(code, variant, counted.decided, counted.confirmed, counted.rate,
                                       counted.low_yield))
    return dict(found)


def rate_for(code: str, rates: dict[str, HitRate], settings: Settings) -> HitRate:
    return rates.get(code) or rate_of(code, 0, 0, settings)


def _odds(x: float) -> float:
    return x / (1.0 - x)


def adjusted(detector_score: float, rate: float, prior: float) -> float:
    """A detector's score moved by its code's rate against the prior, in odds."""
    if detector_score <= 0.0 or detector_score >= 1.0 or math.isclose(rate, prior):
        return detector_score
    odds = _odds(detector_score) * _odds(rate) / _odds(prior)
    return odds / (1.0 + odds)


def case_score(strongest: dict[str, float], rates: dict[str, HitRate],
               settings: Settings) -> tuple[float, dict[str, Any]]:
    """A case's score from each code's strongest detector score and the codes' rates, and
    the basis it was computed from (stored with the case)."""
    miss, raw_miss, parts = 1.0, 1.0, []
    for code in sorted(strongest):
        detector = strongest[code]
        known = rate_for(code, rates, settings)
        moved = adjusted(detector, known.rate, settings.hit_rate_prior)
        miss *= 1.0 - moved
        raw_miss *= 1.0 - detector
        parts.append({"code": code, "detector": detector, "decided": known.decided, "confirmed": known.confirmed,
                      "rate": known.rate, "adjusted": round(moved, 4)})
    score = round(1.0 - miss, 3) if strongest else 0.0
    basis = {"version": FORMULA_VERSION, "prior": settings.hit_rate_prior, "weight": settings.hit_rate_prior_weight,
             "detector_score": round(1.0 - raw_miss, 3) if strongest else 0.0, "codes": parts, "score": score}
    return score, basis


def tier_of(amount_at_risk_fen: int, hit_rate: HitRate, repeat_subjects: int, complaints: int,
            settings: Settings) -> tuple[int, list[str]]:
    """A case's tier and the reasons for it.

    一级 (1), when any of: the money at risk reaches ``tier1_min_amount`` (10,000 yuan); a
    resident's complaint is linked to it (``tier1_min_complaints``, 1); its best code's rate
    reaches ``tier1_min_rate`` (0.6) and one of its people, officials or contractors is in
    another open case.

    三级 (3), when all of: its best code is low-yield; its money at risk is below
    ``tier3_max_amount`` (1,000 yuan); no complaint; no repeat subject.

    二级 (2) otherwise.
    """
    amount = Decimal(amount_at_risk_fen) / 100
    reasons = []
    if amount >= settings.tier1_min_amount:
        reasons.append("money")
    if complaints >= settings.tier1_min_complaints:
        reasons.append("complaints")
    if hit_rate.rate >= settings.tier1_min_rate and repeat_subjects > 0:
        reasons.append("repeat_and_rate")
    if reasons:
        return 1, reasons
    if hit_rate.low_yield and amount < settings.tier3_max_amount and complaints == 0 and repeat_subjects == 0:
        return 3, ["low_yield_small"]
    return 2, ["ordinary"]


# ---------------------------------------------------------------------- recomputing


def _open_findings(conn: Connection) -> list[Any]:
    """Every open finding of an open case: what scores and repeat subjects are read from."""
    return conn.execute(select(Finding.case_id, Finding.code, Finding.score, Finding.subjects)
                        .join(Case, Case.id == Finding.case_id)
                        .where(Finding.status == "open", Case.status == "open")).all()


def _repeat_counts(findings: list[Any]) -> tuple[dict[int, int], dict[tuple[str, str], set[int]]]:
    """{case id: other open cases sharing one of its people, officials or contractors}, and
    the index behind it ({(kind, key): case ids})."""
    cases_of: dict[tuple[str, str], set[int]] = defaultdict(set)
    keys_of: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for row in findings:
        for subject in row.subjects or []:
            if subject.get("kind") in REPEAT_KINDS and subject.get("key"):
                key = (subject["kind"], subject["key"])
                cases_of[key].add(row.case_id)
                keys_of[row.case_id].add(key)
    counts = {}
    for case_id, keys in keys_of.items():
        others: set[int] = set()
        for key in keys:
            others |= cases_of[key]
        others.discard(case_id)
        counts[case_id] = len(others)
    return counts, cases_of


def refresh(conn: Connection, case_ids: Iterable[int] | None = None, findings: list[Any] | None = None) -> int:
    """Rescore and re-tier open cases (every open case when ``case_ids`` is None); writes
    only the cases whose score, tier or basis changed and returns how many. ``findings``:
    the open findings of open cases when the caller has just read them."""
    from audit.complaints import service as complaints

    settings = get_settings()
    rates = hit_rates(conn, settings)
    findings = _open_findings(conn) if findings is None else findings
    repeats, _ = _repeat_counts(findings)
    strongest: dict[int, dict[str, float]] = defaultdict(dict)
    for row in findings:
        mine = strongest[row.case_id]
        mine[row.code] = max(mine.get(row.code, 0.0), row.score)
    query = select(Case.id, Case.score, Case.amount_at_risk_fen, Case.tier, Case.score_basis,
                   Case.tier_basis).where(Case.status == "open")
    wanted = None if case_ids is None else set(case_ids)
    cases = [row for row in conn.execute(query) if wanted is None or row.id in wanted]
    linked = complaints.counts_by_case(conn, [row.id for row in cases])
    updates = []
    for case in cases:
        codes = strongest.get(case.id, {})
        score, basis = case_score(codes, rates, settings)
        best = max((rate_for(code, rates, settings) for code in codes),
                   key=lambda r: (r.rate, r.code), default=rate_of("", 0, 0, settings))
        repeat, complained = repeats.get(case.id, 0), linked.get(case.id, 0)
        tier, reasons = tier_of(case.amount_at_risk_fen, best, repeat, complained, settings)
        tier_basis = {"version": FORMULA_VERSION, "tier": tier, "reasons": reasons,
                      "amount_at_risk_fen": int(case.amount_at_risk_fen), "code": best.code, "rate": best.rate,
                      "low_yield": best.low_yield, "repeat_subjects": repeat, "complaints": complained}
        if (score, tier, basis, tier_basis) != (case.score, case.tier, case.score_basis, case.tier_basis):
            updates.append({"case_id": case.id, "score": score, "tier": tier, "score_basis": basis,
                            "tier_basis": tier_basis})
    if updates:
        conn.execute(update(Case).where(Case.id == bindparam("case_id")).values(
            score=bindparam("score"), tier=bindparam("tier"), score_basis=bindparam("score_basis"),
            tier_basis=bindparam("tier_basis")), updates)
    return len(updates)


def after_decision(conn: Connection, case_id: int, actor: str) -> None:
    """A decision on ``case_id`` took effect: its codes' rates changed, and its subjects no
    longer make repeats of other open cases. Rescore and re-tier the open cases it touches
    (sharing a code or a subject with it); the trail records the new rates and how many
    cases moved."""
    from audit import trail

    codes = conn.execute(select(Case.codes).where(Case.id == case_id)).scalar_one() or []
    subjects = {(s["kind"], s["key"]) for (subjects,) in conn.execute(
        select(Finding.subjects).where(Finding.case_id == case_id)) for s in subjects or []
        if s.get("kind") and s.get("key")}
    findings = _open_findings(conn)
    touched = {row.case_id for row in findings if row.code in set(codes)}
    _, cases_of = _repeat_counts(findings)
    for key in subjects:
        touched |= cases_of.get(key, set())
    changed = refresh(conn, touched, findings)
    rates = hit_rates(conn)
    trail.append(conn, actor, "hit_rates", f"case {case_id}", {
        "codes": {code: rates[code].as_dict() for code in codes if code in rates}, "rescored": changed})


def tier_counts(conn: Connection, scope: Any) -> dict[int, int]:
    """Open cases per tier in a user's scope ({1: n, 2: n, 3: n}; a case not yet tiered
    counts under none)."""
    found = dict(conn.execute(select(Case.tier, func.count()).where(scope, Case.status == "open",
                                                                     Case.tier.is_not(None))
                              .group_by(Case.tier)).all())
    return {tier: int(found.get(tier, 0)) for tier in TIERS}

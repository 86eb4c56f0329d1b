"""Every rule counts only money that moved (interchange v1.1, red-flags.md): a failed or
returned card payment paid nothing, its reissue is the one payment; a reissue of a paid
payment is paid twice; a returned disbursement, or one a correction replaces, is void."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

from audit import models
from tests.detectors.conftest import keys
from tests.detectors.world import World

DETECTORS = Path(__file__).resolve().parents[2] / "src" / "audit" / "detectors"


def test_dc01_negative_a_failed_payment_and_its_reissue_are_one_payment(world: World) -> None:
    home = world.household()
    failed = world.pay("MEDICAL_AID", home["head"], home, 2860, paid_on=date(2017, 4, 18), status="failed",
                       failure_reason="账户已销户")
    world.pay("MEDICAL_AID", home["head"], home, 2860, paid_on=date(2017, 5, 18), reissue_of=failed)
    returned = world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20), status="returned")
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 6, 20), reissue_of=returned)
    assert world.run("DC-01") == []


def test_dc01_positive_a_reissue_of_a_payment_that_was_paid(world: World) -> None:
    home = world.household()
    paid = world.pay("MEDICAL_AID", home["head"], home, 2860, paid_on=date(2017, 4, 18))
    again = world.pay("MEDICAL_AID", home["head"], home, 2860, paid_on=date(2017, 5, 18), reissue_of=paid)
    found = world.run("DC-01")
    assert keys(found) == {paid, again} and found[0].amount_at_risk_fen == 286_000
    steps = {e.key: e for e in found[0].evidence if e.kind == "card_payment"}
    # Both lines, and what the reissue says of the original, are in the evidence.
    assert steps[again].fields["reissue_of"] == paid and steps[again].fields["status"] == "paid"
    assert f"a reissue of {paid}" in steps[again].fact


def test_failed_and_returned_payments_are_not_above_standard_exclusive_or_after_death(world: World) -> None:
    home = world.household(attribute="extreme_poor")
    world.pay("DIS_LIVING", home["head"], home, 1200, status="returned")  # twice the standard, returned
    world.pay("EXTREME_SUPPORT", home["head"], home, 3600, paid_on=date(2017, 3, 20))
    world.pay("DIS_LIVING", home["head"], home, 600, status="failed")  # exclusive with the support, failed
    dead = world.member(home, "周老汉", date(1940, 1, 1), "parent", disability=4)
    world.add(models.Death, id_number=dead, died_on=date(2016, 11, 2), source="火化登记")
    world.pay("DIS_LIVING", dead, home, 600, status="failed", failure_reason="姓名与证件号不符")
    for code in ("DC-03", "DC-04", "DC-06"):
        assert world.run(code) == [], code


def test_the_same_lines_paid_are_found(world: World) -> None:
    """The decoys above with the money moved: each rule finds its line."""
    home = world.household(attribute="extreme_poor")
    double = world.pay("DIS_LIVING", home["head"], home, 1200)
    assert double in keys(world.run("DC-04"))
    dead = world.member(home, "周老汉", date(1940, 1, 1), "parent", disability=4)
    world.add(models.Death, id_number=dead, died_on=date(2016, 11, 2), source="火化登记")
    after = world.pay("DIS_LIVING", dead, home, 600, status="paid")
    assert keys(world.run("DC-06")) == {after}


def test_a_returned_or_corrected_disbursement_is_not_overspent_split_or_a_reused_invoice(world: World) -> None:
    project = world.project(budget=200_000)
    world.disburse(150_000, date(2017, 5, 1), project)
    world.disburse(80_000, date(2017, 9, 1), project, status="returned")  # past the budget, came back
    wrong = world.disburse(45_000, date(2017, 6, 1), project, invoice="0430017001110000001")
    world.disburse(40_000, date(2017, 6, 3), project, invoice="0430017001110000001", correction_of=wrong)
    assert world.run("DV-02") == []
    assert world.run("DC-09") == []  # the correction carries the invoice of the payment it replaces
    firm = world.org()
    split = world.project(budget=150_000)
    for amount, day, status in ((45_000, 2, "paid"), (48_000, 15, "returned"), (40_000, 28, "returned")):
        world.disburse(amount, date(2017, 5, day), split, payee=firm, status=status)
    assert world.run("DV-04") == []


def test_the_same_disbursements_effective_are_found(world: World) -> None:
    project = world.project(budget=200_000)
    world.disburse(150_000, date(2017, 5, 1), project)
    over = world.disburse(80_000, date(2017, 9, 1), project)
    assert over in keys(world.run("DV-02"), "disbursement")
    a = world.disburse(45_000, date(2017, 6, 1), world.project(), invoice="0430017001110000002")
    b = world.disburse(40_000, date(2017, 6, 3), world.project(), invoice="0430017001110000002")
    assert keys(world.run("DC-09")) == {a, b}


def test_no_detector_reads_the_payment_tables_directly() -> None:
    """Detectors import CardPayment and Disbursement from audit.detectors.moved (the money
    that moved), never from audit.models; evidence (facts.py) reads every line."""
    offenders = []
    for path in sorted(DETECTORS.glob("*.py")):
        if path.name in ("moved.py", "facts.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "audit.models":
                offenders += [f"{path.name}: {a.name}" for a in node.names if a.name in ("CardPayment", "Disbursement")]
            if isinstance(node, ast.Attribute) and node.attr in ("CardPayment", "Disbursement") \
                    and isinstance(node.value, ast.Name) and node.value.id == "models":
                offenders.append(f"{path.name}: models.{node.attr}")
    assert offenders == []


def test_dv08_positive_a_failed_payment_reissued_to_a_cadres_card(world: World) -> None:
    home = world.household()
    failed = world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20), status="failed",
                       failure_reason="账户已销户")
    _, cadre = world.official("village_committee", world.village)
    cadres_card = world.person_account(cadre)
    diverted = world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 27), card=cadres_card,
                         reissue_of=failed)
    unknown = world.pay("MIN_LIVING", home["head"], home, 390, "2017-06", date(2017, 6, 27),
                        card=world.card(), reissue_of=world.pay("MIN_LIVING", home["head"], home, 390, "2017-06",
                                                                date(2017, 6, 20), status="returned"))
    found = {f.records[0].key: f for f in world.run("DV-08")}
    assert set(found) == {diverted, unknown}
    assert found[diverted].amount_at_risk_fen == 39_000 and found[diverted].score > found[unknown].score
    assert "held by no member" in found[diverted].evidence[-1].fact


def test_dv08_negative_reissued_to_the_same_card_or_a_members_own(world: World) -> None:
    home = world.household()
    spouse = world.member(home, "王芳", date(1962, 1, 1), "spouse")
    spouses_card = world.person_account(spouse)
    first = world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20), status="failed")
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 27), reissue_of=first)
    second = world.pay("MIN_LIVING", home["head"], home, 390, "2017-06", date(2017, 6, 20), status="failed")
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-06", date(2017, 6, 27), card=spouses_card,
              reissue_of=second)
    assert world.run("DV-08") == []

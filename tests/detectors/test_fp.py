"""FP: fictitious or irregular projects, one positive and one negative case per rule."""

from __future__ import annotations

from datetime import date

from tests.detectors.conftest import keys
from tests.detectors.world import World


def test_fp01_positive_a_payment_dated_before_the_approval(world: World) -> None:
    project = world.project(approved_on=date(2017, 5, 20))
    early = world.disburse(150_000, date(2017, 5, 10), project)
    found = world.run("FP-01")
    assert keys(found, "disbursement") == {early}
    assert "approved 10 days after this payment" in found[0].evidence[1].fact


def test_fp01_negative_a_payment_on_the_approval_day(world: World) -> None:
    project = world.project(approved_on=date(2017, 5, 20))
    world.disburse(150_000, date(2017, 5, 20), project)
    assert world.run("FP-01") == []


def test_fp02_positive_three_quarters_paid_never_accepted(world: World) -> None:
    project = world.project(budget=400_000, completed_on=date(2017, 6, 1))
    world.disburse(300_000, date(2017, 5, 1), project)
    found = world.run("FP-02")
    assert keys(found, "project") == {project}
    assert found[0].amount_at_risk_fen == 30_000_000


def test_fp02_positive_paid_after_a_failed_acceptance(world: World) -> None:
    project = world.project(budget=400_000, completed_on=date(2017, 6, 1), accepted_on=date(2017, 6, 20),
                            acceptance_result="fail")
    after = world.disburse(50_000, date(2017, 7, 20), project)
    assert after in keys(world.run("FP-02"), "disbursement")


def test_fp02_negative_not_yet_due_or_below_the_share(world: World) -> None:
    recent = world.project(budget=400_000, completed_on=date(2017, 11, 1))  # 60 days before as-of
    world.disburse(390_000, date(2017, 10, 1), recent)
    partly = world.project(budget=400_000, completed_on=date(2017, 3, 1))
    world.disburse(270_000, date(2017, 2, 1), partly)  # 67.5 %
    failed_unpaid = world.project(budget=400_000, accepted_on=date(2017, 6, 20), acceptance_result="fail")
    world.disburse(100_000, date(2017, 5, 1), failed_unpaid)
    assert world.run("FP-02") == []


def test_fp03_positive_no_notice_and_a_short_notice(world: World) -> None:
    silent = world.project()
    world.disburse(100_000, date(2017, 5, 1), silent)
    short = world.project()
    world.disclose(short, date(2017, 4, 1), date(2017, 4, 6))
    world.disburse(100_000, date(2017, 5, 1), short)
    found = world.run("FP-03")
    assert keys(found, "project") == {silent, short}
    assert "ran 5 days, fewer than 10" in " ".join(e.fact for f in found for e in f.evidence)


def test_fp03_positive_a_card_batch_without_notice(world: World) -> None:
    home = world.household()
    payment = world.pay("MIN_LIVING", home["head"], home, 390, "2017-04", date(2017, 4, 20))
    found = world.run("FP-03")
    assert keys(found, "card_payment") == {payment}
    assert found[0].subjects[0].key == f"MIN_LIVING/2017-04/{home['village']}"


def test_fp03_negative_ten_days_ending_the_day_before(world: World) -> None:
    project = world.project()
    world.disclose(project, date(2017, 4, 20), date(2017, 4, 30))
    world.disburse(100_000, date(2017, 5, 1), project)
    home = world.household()
    world.disclose(f"MIN_LIVING/2017-04/{home['village']}", date(2017, 4, 1), date(2017, 4, 15), "payment_batch")
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-04", date(2017, 4, 20))
    assert world.run("FP-03") == []


def test_fp04_positive_one_orchard_approved_twice(world: World) -> None:
    first = world.project(category="industry", name="新书村黄桃种植基地", unit="mu", quantity=150)
    second = world.project(category="industry", name="新书村黄桃种植基地建设项目", unit="mu", quantity=150,
                           approved_on=date(2017, 3, 20))
    world.disburse(100_000, date(2017, 4, 5), first, world.allocation("industry"))
    world.disburse(100_000, date(2017, 4, 6), second, world.allocation("industry"))
    found = world.run("FP-04")
    assert keys(found, "project") == {first, second}


def test_fp04_negative_two_phases_and_one_allocation(world: World) -> None:
    funds = world.allocation("infrastructure")
    one = world.project(name="新书村灌溉渠道修复工程一期", planned=(date(2016, 4, 1), date(2016, 8, 1)))
    two = world.project(name="新书村灌溉渠道修复工程二期", planned=(date(2017, 4, 1), date(2017, 8, 1)))
    world.disburse(100_000, date(2016, 5, 1), one, world.allocation("infrastructure"))
    world.disburse(100_000, date(2017, 5, 1), two, world.allocation("infrastructure"))
    same_a = world.project(name="新书村饮水工程", planned=(date(2017, 4, 1), date(2017, 8, 1)))
    same_b = world.project(name="新书村饮水工程", planned=(date(2017, 5, 1), date(2017, 9, 1)))
    world.disburse(100_000, date(2017, 5, 1), same_a, funds)
    world.disburse(100_000, date(2017, 5, 2), same_b, funds)
    assert world.run("FP-04") == []


def test_fp05_positive_registered_a_month_before_and_a_shell(world: World) -> None:
    young = world.org(registered_on=date(2017, 2, 1))
    first = world.project(contractor=young, approved_on=date(2017, 3, 1))
    shell = world.org(registered_on=date(2012, 1, 1))
    second = world.project(contractor=shell)
    found = world.run("FP-05")
    assert keys(found, "project") == {first, second}


def test_fp05_negative_an_old_firm_that_pays_wages(world: World) -> None:
    firm = world.org(registered_on=date(2012, 1, 1))
    world.project(contractor=firm)
    worker = world.id_number(date(1980, 1, 1))
    world.transfer(firm["account"], world.person_account(worker), 5000, date(2017, 5, 1))
    assert world.run("FP-05") == []


def test_fp06_positive_the_secretarys_brother_owns_the_contractor(world: World) -> None:
    secretary, person = world.official("village_secretary", world.village)
    brother = world.id_number(date(1972, 1, 1))
    world.kin(person, brother)
    firm = world.org(rep=brother)
    project = world.project(contractor=firm)
    found = world.run("FP-06")
    assert keys(found, "project") == {project}
    assert [e.kind for e in found[0].evidence] == ["project", "organization", "kinship", "official"]


def test_fp06_negative_a_cadre_of_another_village(world: World) -> None:
    elsewhere = world.new_village()
    _, person = world.official("village_secretary", elsewhere)
    firm = world.org(rep=person)
    world.project(contractor=firm)
    assert world.run("FP-06") == []


def test_fp07_positive_paid_to_the_bosss_card(world: World) -> None:
    boss = world.id_number(date(1975, 1, 1))
    firm = world.org(rep=boss)
    project = world.project(contractor=firm)
    wrong = world.disburse(100_000, date(2017, 5, 1), project, payee=firm, account=world.person_account(boss))
    assert keys(world.run("FP-07"), "disbursement") == {wrong}


def test_fp07_negative_paid_to_the_contractors_account(world: World) -> None:
    firm = world.org()
    project = world.project(contractor=firm)
    world.disburse(100_000, date(2017, 5, 1), project, payee=firm)
    assert world.run("FP-07") == []


def _roads(world: World, costs: list[float]) -> list[str]:
    return [world.project(budget=cost * 2, quantity=2.0) for cost in costs]


def test_fp08_positive_a_road_at_four_times_its_peers(world: World) -> None:
    projects = _roads(world, [240_000, 250_000, 255_000, 245_000, 260_000, 248_000, 1_000_000])
    found = world.run("FP-08")
    assert keys(found, "project") == {projects[-1]}
    assert found[0].amount_at_risk_fen > 0


def test_fp08_negative_ordinary_spread_and_too_few_peers(world: World) -> None:
    _roads(world, [220_000, 235_000, 245_000, 250_000, 260_000, 275_000, 290_000])
    world.project(category="industry", unit="kW", quantity=100, budget=5_000_000)  # alone in its group
    assert world.run("FP-08") == []

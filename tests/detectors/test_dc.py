"""DC: false, duplicate and ineligible claims, one positive and one negative case per rule."""

from __future__ import annotations

from datetime import date

from audit import models
from tests.detectors.conftest import keys
from tests.detectors.world import World


def test_dc01_positive_one_bill_reimbursed_twice(world: World) -> None:
    home = world.household()
    first = world.pay("MEDICAL_AID", home["head"], home, 2860, paid_on=date(2017, 4, 18))
    again = world.pay("MEDICAL_AID", home["head"], home, 2860, paid_on=date(2017, 9, 6), unit="汨罗市民政局")
    found = world.run("DC-01")
    assert keys(found) == {first, again}
    assert found[0].amount_at_risk_fen == 286_000


def test_dc01_positive_a_one_off_grant_paid_in_two_years(world: World) -> None:
    home = world.household()
    first = world.pay("HOUSING_RENOVATION", home["head"], home, 10000, "2016", date(2016, 7, 20))
    second = world.pay("HOUSING_RENOVATION", home["head"], home, 10000, "2017", date(2017, 7, 20))
    assert keys(world.run("DC-01")) == {first, second}


def test_dc01_negative_two_members_each_paid_once_and_twelve_months(world: World) -> None:
    home = world.household()
    spouse = world.member(home, "王芳", date(1962, 1, 1), "spouse", disability=3)
    world.pay("DIS_LIVING", home["head"], home, 600)
    world.pay("DIS_LIVING", spouse, home, 600)
    for month in range(1, 13):
        world.pay("MIN_LIVING", home["head"], home, 390, f"2017-{month:02d}", date(2017, month, 20))
    assert world.run("DC-01") == []


def test_dc02_positive_same_name_same_birth_same_village(world: World) -> None:
    one = world.household(head="张伟", born=date(1958, 7, 1))
    two = world.household(head="李强")
    twin = world.member(two, "张玮", date(1958, 7, 1), "other", disability=3,
                        id_number=world.id_number(date(1958, 7, 1)))
    a = world.pay("DIS_LIVING", one["head"], one, 600)
    b = world.pay("DIS_LIVING", twin, two, 600)
    found = world.run("DC-02")
    assert keys(found) == {a, b}
    assert "sound the same" in found[0].evidence[2].fact


def test_dc02_positive_one_id_heading_a_second_household(world: World) -> None:
    home = world.household()
    spouse = world.member(home, "唐梅", date(1962, 1, 17), "spouse")
    world.add(models.Household, household_id="GHOST", village_code=world.village, head_id_number=spouse,
              head_name="唐梅", attribute="low_income", registered_on=date(2014, 6, 1), card_account=world.card())
    ghost = {"id": "GHOST", "card": world.card()}
    paid = world.pay("MIN_LIVING", spouse, ghost, 260, "2017-03", date(2017, 3, 22))
    assert paid in keys(world.run("DC-02"))


def test_dc02_negative_namesakes_born_apart_and_twins_with_other_names(world: World) -> None:
    one = world.household(head="张伟", born=date(1958, 7, 1))
    two = world.household(head="张伟", born=date(1961, 2, 3))
    world.pay("DIS_LIVING", one["head"], one, 600)
    world.pay("DIS_LIVING", two["head"], two, 600)
    three = world.household(head="刘明")
    twin_a = world.member(three, "刘大军", date(2006, 5, 5))
    twin_b = world.member(three, "刘小红", date(2006, 5, 5))
    world.pay("EDU_BOARD_PRIMARY", twin_a, three, 1000)
    world.pay("EDU_BOARD_PRIMARY", twin_b, three, 1000)
    assert world.run("DC-02") == []


def test_dc03_positive_support_and_disability_allowance_together(world: World) -> None:
    home = world.household(attribute="extreme_poor")
    a = world.pay("EXTREME_SUPPORT", home["head"], home, 3600, paid_on=date(2017, 3, 20))
    b = world.pay("DIS_LIVING", home["head"], home, 600)
    assert keys(world.run("DC-03")) == {a, b}


def test_dc03_negative_different_periods_or_groups(world: World) -> None:
    home = world.household(attribute="extreme_poor")
    world.pay("EXTREME_SUPPORT", home["head"], home, 3600, "2017")
    world.pay("DIS_LIVING", home["head"], home, 600, "2016", date(2016, 5, 20))
    world.pay("DIS_CARE", home["head"], home, 1200, "2017")
    assert world.run("DC-03") == []


def test_dc04_positive_above_the_standard_and_the_cap(world: World) -> None:
    home = world.household()
    double = world.pay("DIS_LIVING", home["head"], home, 1200)
    capped = world.pay("MEDICAL_AID", home["head"], home, 32000)
    found = world.run("DC-04")
    assert keys(found) == {double, capped}
    assert sorted(f.amount_at_risk_fen for f in found) == [60_000, 200_000]


def test_dc04_negative_at_the_standard_and_under_the_cap(world: World) -> None:
    home = world.household()
    world.pay("DIS_LIVING", home["head"], home, 600)
    world.pay("MEDICAL_AID", home["head"], home, 30000)
    world.pay("MIN_LIVING", home["head"], home, 800, "2017-05", date(2017, 5, 20))
    assert world.run("DC-04") == []


def test_dc05_positive_after_exit_and_not_boarding(world: World) -> None:
    home = world.household(exited_on=date(2017, 6, 30))
    late = world.pay("MIN_LIVING", home["head"], home, 390, "2017-07", date(2017, 7, 20))
    pupil = world.member(home, "张小明", date(2004, 3, 1), school="junior", boarding=False)
    wrong = world.pay("EDU_BOARD_JUNIOR", pupil, home, 1250, paid_on=date(2017, 6, 20))
    found = world.run("DC-05")
    assert keys(found) == {late, wrong}
    assert any("does not board" in e.fact for f in found for e in f.evidence)


def test_dc05_negative_before_exit_and_eligible(world: World) -> None:
    home = world.household(exited_on=date(2017, 6, 30))
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-06", date(2017, 6, 20))
    pupil = world.member(home, "张小明", date(2004, 3, 1), school="junior", boarding=True)
    world.pay("EDU_BOARD_JUNIOR", pupil, home, 1250, paid_on=date(2017, 6, 20))
    severe = world.member(home, "张奶奶", date(1940, 3, 1), "parent", disability=2)
    world.pay("DIS_CARE", severe, home, 1200, paid_on=date(2017, 5, 20))
    assert world.run("DC-05") == []


def test_dc06_positive_paid_for_a_year_that_began_after_the_death(world: World) -> None:
    home = world.household()
    dead = world.member(home, "周老汉", date(1940, 1, 1), "parent", disability=4)
    world.add(models.Death, id_number=dead, died_on=date(2016, 11, 2), source="火化登记")
    paid = world.pay("DIS_LIVING", dead, home, 600)
    found = world.run("DC-06")
    assert keys(found) == {paid}
    assert found[0].evidence[-1].fact.startswith("died on 2016-11-02")


def test_dc06_negative_the_period_began_in_life_and_the_head_lives(world: World) -> None:
    home = world.household()
    late = world.member(home, "周老汉", date(1940, 1, 1), "parent", disability=4)
    world.add(models.Death, id_number=late, died_on=date(2017, 3, 10))
    world.pay("DIS_LIVING", late, home, 600)
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20))
    assert world.run("DC-06") == []


def test_dc07_positive_a_teacher_a_car_and_a_company(world: World) -> None:
    home = world.household()
    teacher = world.member(home, "张老师", date(1985, 1, 1), "child")
    world.add(models.PublicEmployee, id_number=teacher, employer="城关二小", from_on=date(2015, 9, 1))
    paid = world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20))
    car = world.household()
    world.add(models.Vehicle, id_number=car["head"], plate="湘F12345", registered_on=date(2016, 5, 12))
    paid_car = world.pay("INDUSTRY_AWARD", car["head"], car, 2000)
    boss = world.household()
    world.org(rep=boss["head"], registered_on=date(2015, 8, 3))
    paid_boss = world.pay("MIN_LIVING", boss["head"], boss, 390, "2017-05", date(2017, 5, 20))
    assert keys(world.run("DC-07")) == {paid, paid_car, paid_boss}


def test_dc07_negative_a_job_that_ended_a_later_car_and_a_cooperative(world: World) -> None:
    home = world.household()
    world.add(models.PublicEmployee, id_number=home["head"], employer="环卫所", from_on=date(2010, 3, 1),
              to_on=date(2015, 12, 31))
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20))
    car = world.household(attribute="general")
    world.add(models.Vehicle, id_number=car["head"], plate="湘F54321", registered_on=date(2017, 12, 5))
    world.pay("INDUSTRY_AWARD", car["head"], car, 2000)
    farmer = world.household()
    world.org("cooperative", rep=farmer["head"])
    world.pay("INDUSTRY_AWARD", farmer["head"], farmer, 2000)
    assert world.run("DC-07") == []


def test_dc08_positive_one_card_for_two_households_and_a_cadres_card(world: World) -> None:
    keeper, lender = world.household(), world.household()
    a = world.pay("MIN_LIVING", keeper["head"], keeper, 390, "2017-05", date(2017, 5, 20))
    b = world.pay("MIN_LIVING", lender["head"], lender, 260, "2017-05", date(2017, 5, 20), card=keeper["card"])
    captured = world.household()
    cadre, cadre_person = world.official("village_committee", world.village)
    card = world.account(world.card(), "person", cadre_person)
    c = world.pay("MIN_LIVING", captured["head"], captured, 390, "2017-05", date(2017, 5, 20), card=card)
    found = world.run("DC-08")
    assert keys(found) == {a, b, c}
    assert any(e.kind == "official" for f in found for e in f.evidence)


def test_dc08_negative_members_share_their_own_card(world: World) -> None:
    home = world.household()
    child = world.member(home, "张小明", date(2009, 1, 1), school="primary", boarding=True)
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20))
    world.pay("EDU_BOARD_PRIMARY", child, home, 1000)
    assert world.run("DC-08") == []


def test_dc09_positive_one_invoice_two_payments(world: World) -> None:
    a = world.disburse(100_000, date(2017, 5, 1), world.project(), invoice="0430017001110000001")
    b = world.disburse(90_000, date(2017, 6, 1), world.project(), invoice="0430017001110000001")
    found = world.run("DC-09")
    assert keys(found) == {a, b} and found[0].amount_at_risk_fen == 9_000_000


def test_dc09_negative_same_number_under_another_code(world: World) -> None:
    world.disburse(100_000, date(2017, 5, 1), world.project(), invoice="0430017001110000001")
    world.disburse(90_000, date(2017, 6, 1), world.project(), invoice="0430017001120000001")
    assert world.run("DC-09") == []


def test_dc10_positive_the_secretarys_brother_and_the_finance_officers_in_law(world: World) -> None:
    home = world.household()
    _, secretary = world.official("village_secretary", world.village)
    world.kin(secretary, home["head"])
    a = world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20))
    other = world.household(village=world.new_village())
    _, officer = world.official("finance_officer", unit="归义镇财政所")
    world.kin(other["head"], officer, "in_law")
    b = world.pay("MIN_LIVING", other["head"], other, 390, "2017-05", date(2017, 5, 20))
    assert keys(world.run("DC-10")) == {a, b}


def test_dc10_negative_kin_without_power_or_out_of_office(world: World) -> None:
    home = world.household()
    _, far = world.official("village_secretary", world.new_village())
    world.kin(far, home["head"])
    _, retired = world.official("village_director", world.village, to_on=date(2016, 12, 31))
    world.kin(retired, home["head"])
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20))
    assert world.run("DC-10") == []

"""The v1.1 rules of the DC family that need no new register: DC-16 (a household benefit
paid to several members) and DC-17 (a batch shared out in one amount)."""

from __future__ import annotations

from datetime import date

from tests.detectors.conftest import keys
from tests.detectors.world import World


def test_dc16_positive_the_spouse_paid_the_households_allowance_too(world: World) -> None:
    home = world.household()
    spouse = world.member(home, "王芳", date(1962, 1, 1), "spouse")
    head = world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20))
    again = world.pay("MIN_LIVING", spouse, home, 390, "2017-05", date(2017, 5, 28))
    found = world.run("DC-16")
    assert keys(found) == {head, again} and found[0].amount_at_risk_fen == 39_000
    assert found[0].subjects[0].key == home["id"]
    assert "paid already" in found[0].evidence[-1].fact


def test_dc16_negative_a_person_benefit_for_two_members_and_one_payee_a_month(world: World) -> None:
    home = world.household()
    spouse = world.member(home, "王芳", date(1962, 1, 1), "spouse", disability=3)
    world.pay("DIS_LIVING", home["head"], home, 600)  # a person's benefit: each member their own
    world.pay("DIS_LIVING", spouse, home, 600)
    for month in range(1, 4):  # the household's benefit, to the head, month after month
        world.pay("MIN_LIVING", home["head"], home, 390, f"2017-{month:02d}", date(2017, month, 20))
    other = world.household()
    world.pay("MIN_LIVING", other["head"], other, 390, "2017-01", date(2017, 1, 20))
    assert world.run("DC-16") == []


def test_dc17_positive_every_household_of_the_batch_gets_the_same_amount(world: World) -> None:
    paid = []
    for n in range(12):
        home = world.household()
        paid.append(world.pay("MIN_LIVING", home["head"], home, 300 if n else 410, "2017-06", date(2017, 6, 20)))
    found = world.run("DC-17")
    assert len(found) == 1 and keys(found) == set(paid[1:])  # the 11 payments of 300 yuan
    assert "11 of its 12 payments" in found[0].evidence[0].fact and found[0].amount_at_risk_fen == 0


def test_dc17_negative_amounts_by_need_a_small_batch_and_a_fixed_standard(world: World) -> None:
    for n in range(12):
        home = world.household()
        world.pay("MIN_LIVING", home["head"], home, 130 * (1 + n % 4), "2017-06", date(2017, 6, 20))
    small = world.new_village()
    for _ in range(6):  # under 10 payments: too few to tell
        home = world.household(village=small)
        world.pay("MIN_LIVING", home["head"], home, 300, "2017-06", date(2017, 6, 20))
    fixed = world.new_village()
    for _ in range(12):  # a program with a standard pays everyone the standard, rightly
        home = world.household(village=fixed)
        world.pay("DIS_LIVING", home["head"], home, 600)
    assert world.run("DC-17") == []


def test_dc12_positive_a_year_and_a_month_inside_a_detention(world: World) -> None:
    from audit import models

    home = world.household()
    prisoner = world.member(home, "李四", date(1975, 2, 1), "child", disability=3)
    world.add(models.Detention, id_number=prisoner, from_on=date(2016, 11, 20), to_on=None, source="汨罗市看守所")
    year = world.pay("DIS_LIVING", prisoner, home, 600)
    found = world.run("DC-12")
    assert keys(found) == {year} and found[0].amount_at_risk_fen == 60_000
    assert "not released" in found[0].evidence[-1].fact


def test_dc12_negative_released_before_the_period_ends_or_a_household_benefit(world: World) -> None:
    from audit import models

    home = world.household()
    released = world.member(home, "李四", date(1975, 2, 1), "child", disability=3)
    world.add(models.Detention, id_number=released, from_on=date(2016, 11, 20), to_on=date(2017, 3, 1), source="监狱")
    world.pay("DIS_LIVING", released, home, 600)  # the year 2017 does not lie inside the detention
    world.add(models.Detention, id_number=home["head"], from_on=date(2017, 1, 5), to_on=None, source="看守所")
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-06", date(2017, 6, 20))  # a household's benefit
    world.pay("DIS_CARE", home["head"], home, 1200, "2017")  # the year began before the detention
    assert world.run("DC-12") == []

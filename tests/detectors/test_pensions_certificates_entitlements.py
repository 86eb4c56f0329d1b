"""The v1.1 rules that read pensions, school enrolments and disability certificates:
DC-15 (a pension above the line, 低保 still paid), DC-18 (a disability benefit without a
certificate in force) and ME-01 (eligible but unpaid, 应享未享), each with its "as of" edges."""

from __future__ import annotations

from datetime import date

from sqlalchemy import insert

from audit import models
from tests.detectors.conftest import keys
from tests.detectors.world import World

# ---------------------------------------------------------------------- DC-15


def test_dc15_positive_a_members_pension_from_june_and_a_pensioner_on_extreme_support(world: World) -> None:
    home = world.household()
    teacher = world.member(home, "王芳", date(1957, 3, 1), "spouse")
    world.pension(teacher, 2800, date(2017, 6, 15))  # retired in mid-June
    months = {m: world.pay("MIN_LIVING", home["head"], home, 390, f"2017-{m:02d}", date(2017, m, 20))
              for m in range(3, 9)}
    lone = world.household(attribute="extreme_poor", born=date(1950, 5, 5))
    world.pension(lone["head"], 1350, date(2015, 1, 1), source="企业职工基本养老保险")
    support = world.pay("EXTREME_SUPPORT", lone["head"], lone, 3600, "2017", date(2017, 3, 20))
    found = {f.subjects[0].key: f for f in world.run("DC-15")}
    assert set(found) == {home["id"], lone["head"]}
    household = found[home["id"]]
    assert keys([household]) == {months[6], months[7], months[8]}  # June overlaps in part: flagged too
    assert household.amount_at_risk_fen == 3 * 39_000
    assert household.subjects[1].key == teacher
    assert "at or above the line of 1,000.00 yuan" in household.evidence[2].fact
    assert "2,800.00 yuan a month since 2017-06-15" in household.evidence[2].fact
    assert keys([found[lone["head"]]]) == {support}


def test_dc15_negative_under_the_line_started_after_ended_before_or_not_means_tested(world: World) -> None:
    home = world.household()
    elder = world.member(home, "李奶奶", date(1940, 1, 1), "parent")
    world.pension(elder, 115, date(2012, 7, 1), source="城乡居民基本养老保险")  # far under the line
    retired = world.member(home, "王芳", date(1957, 3, 1), "spouse")
    world.pension(retired, 2800, date(2017, 9, 1))  # began after every period paid
    for m in range(3, 9):
        world.pay("MIN_LIVING", home["head"], home, 390, f"2017-{m:02d}", date(2017, m, 20))
    other = world.household()
    world.pension(other["head"], 3000, date(2010, 1, 1), to_on=date(2016, 12, 31))  # ended before 2017
    world.pay("MIN_LIVING", other["head"], other, 390, "2017-02", date(2017, 2, 20))
    disabled = world.household()
    world.pension(disabled["head"], 2000, date(2014, 1, 1))
    world.pay("DIS_LIVING", disabled["head"], disabled, 600)  # not a means-tested program
    assert world.run("DC-15") == []
    world.pension(elder, 1500, date(2013, 1, 1))  # a second pension, above the line, but the line is raised
    assert world.run("DC-15", monthly_line="2000.00") == []
    assert {f.subjects[0].key for f in world.run("DC-15")} == {home["id"]}


# ---------------------------------------------------------------------- DC-18


def test_dc18_positive_no_certificate_a_mild_one_for_care_and_one_revoked_before_the_payment(world: World) -> None:
    home = world.household()
    nobody = world.member(home, "李四", date(1975, 2, 1), "child", disability=3)
    mild = world.member(home, "王芳", date(1962, 1, 1), "spouse", disability=2)
    world.certificate(mild, 4)
    revoked = world.member(home, "张老三", date(1950, 1, 1), "parent", disability=3)
    world.certificate(revoked, 3, date(2010, 5, 1), revoked_on=date(2017, 3, 1))
    living = world.pay("DIS_LIVING", nobody, home, 600)
    care = world.pay("DIS_CARE", mild, home, 1200)
    late = world.pay("DIS_LIVING", revoked, home, 600, paid_on=date(2017, 6, 20))
    found = {f.subjects[0].key: f for f in world.run("DC-18")}
    assert set(found) == {nobody, mild, revoked}
    assert keys([found[nobody]]) == {living} and found[nobody].amount_at_risk_fen == 60_000
    assert "holds no certificate" in found[nobody].evidence[2].fact
    assert keys([found[mild]]) == {care}
    assert "certified level 4; 重度残疾人护理补贴 requires levels 1 to 2" in found[mild].evidence[2].fact
    assert keys([found[revoked]]) == {late}
    assert "revoked on 2017-03-01, before the payment of 2017-06-20" in found[revoked].evidence[2].fact


def test_dc18_negative_in_force_revoked_after_the_payment_severe_enough_or_no_register(world: World) -> None:
    home = world.household()
    a = world.member(home, "李四", date(1975, 2, 1), "child", disability=3)
    world.pay("DIS_LIVING", a, home, 600)
    assert world.run("DC-18") == []  # no certificate register at all: the rule sees nothing
    world.certificate(a, 3)
    b = world.member(home, "王芳", date(1962, 1, 1), "spouse", disability=3)
    world.certificate(b, 3, date(2011, 1, 1), revoked_on=date(2017, 9, 1))  # revoked after the payment
    world.pay("DIS_LIVING", b, home, 600, paid_on=date(2017, 5, 20))
    c = world.member(home, "张老三", date(1950, 1, 1), "parent", disability=1)
    world.certificate(c, 4, date(2005, 1, 1), revoked_on=date(2014, 6, 1))  # re-assessed: level 1 since
    world.certificate(c, 1, date(2014, 6, 1))
    world.pay("DIS_CARE", c, home, 1200)
    world.pay("MIN_LIVING", home["head"], home, 390, "2017-05", date(2017, 5, 20))  # no disability criterion
    assert world.run("DC-18") == []


# ---------------------------------------------------------------------- ME-01


def _boarders(world: World, village: str | None = None) -> tuple[dict[str, str], str, str]:
    """A household of the village with a boarding junior pupil paid the boarding allowance."""
    home = world.household(village=village)
    pupil = world.member(home, "张小明", date(2004, 3, 1), school="junior", boarding=True)
    world.enrolment(pupil, 2017, "junior", True)
    paid = world.pay("EDU_BOARD_JUNIOR", pupil, home, 1250, "2017", date(2017, 9, 20))
    return home, pupil, paid


def test_me01_positive_a_boarding_pupil_and_a_certified_disabled_person_left_unpaid(world: World) -> None:
    _boarders(world)
    home = world.household()
    pupil = world.member(home, "王小红", date(2004, 8, 1), school="junior", boarding=True)
    world.enrolment(pupil, 2017, "junior", True, school="汨罗市第二中学")
    neighbour = world.household()
    paid_disabled = world.member(neighbour, "李四", date(1970, 1, 1), "child", disability=3)
    world.certificate(paid_disabled, 3)
    world.pay("DIS_LIVING", paid_disabled, neighbour, 600, paid_on=date(2017, 5, 20))
    left_out = world.member(home, "张老三", date(1950, 1, 1), "parent", disability=2)
    world.certificate(left_out, 2, date(2016, 4, 1))
    # A failed payment moved nothing: still owed.
    world.pay("DIS_LIVING", left_out, home, 600, paid_on=date(2017, 5, 20), status="failed",
              failure_reason="账户已销户")
    found = {(f.subjects[0].key, f.records[1].key): f for f in world.run("ME-01")}
    boarding = found[(pupil, f"EDU_BOARD_JUNIOR/2017/{world.village}")]
    assert boarding.amount_owed_fen == 125_000 and boarding.amount_at_risk_fen == 0
    assert [s.kind for s in boarding.subjects] == ["person", "paying_unit"]
    assert boarding.subjects[1].key == "归义镇财政所"
    facts = [e.fact for e in boarding.evidence]
    assert "1 payments on 2017-09-20, paid by 归义镇财政所" in facts[0]
    assert "for the 2017 school year, boarding" in facts[-2]
    assert "1,250.00 yuan owed" in facts[-1]
    living = found[(left_out, f"DIS_LIVING/2017/{world.village}")]
    assert living.amount_owed_fen == 60_000
    assert "level-2 disability certificate" in living.evidence[-2].fact
    assert set(found) == {(pupil, f"EDU_BOARD_JUNIOR/2017/{world.village}"),
                          (left_out, f"DIS_LIVING/2017/{world.village}")}


def test_me01_negative_enrolled_another_year_paid_elsewhere_eligible_too_late_or_gone(world: World) -> None:
    _boarders(world)
    home = world.household()
    other_year = world.member(home, "王小红", date(2004, 8, 1), school="junior", boarding=True)
    world.enrolment(other_year, 2016, "junior", True)  # enrolled for another school year
    day_pupil = world.member(home, "王小刚", date(2004, 9, 1), school="junior", boarding=False)
    world.enrolment(day_pupil, 2017, "junior", False)  # does not board
    # Paid in another village's batch (living with grandparents there): paid all the same.
    elsewhere = world.member(home, "王小兰", date(2004, 10, 1), school="junior", boarding=True)
    world.enrolment(elsewhere, 2017, "junior", True)
    grandparents = world.household(village=world.new_village())
    world.pay("EDU_BOARD_JUNIOR", elsewhere, grandparents, 1250, "2017", date(2017, 9, 22))
    # Pending: on its way.
    pending = world.member(home, "王小军", date(2004, 11, 1), school="junior", boarding=True)
    world.enrolment(pending, 2017, "junior", True)
    world.pay("EDU_BOARD_JUNIOR", pending, home, 1250, "2017", date(2017, 9, 28), status="pending")
    # The disabled: paid in the village in May; a certificate issued after, one revoked before,
    # one who died before the batch, one moved out, one in a household exited before it.
    neighbour = world.household()
    paid = world.member(neighbour, "李四", date(1970, 1, 1), "child", disability=3)
    world.certificate(paid, 3)
    world.pay("DIS_LIVING", paid, neighbour, 600, paid_on=date(2017, 5, 20))
    late = world.member(home, "张老三", date(1950, 1, 1), "parent", disability=3)
    world.certificate(late, 3, date(2017, 8, 1))
    revoked = world.member(home, "张老四", date(1952, 1, 1), "other", disability=3)
    world.certificate(revoked, 3, date(2010, 1, 1), revoked_on=date(2017, 2, 1))
    dead = world.member(home, "张老五", date(1940, 1, 1), "other", disability=3)
    world.certificate(dead, 3)
    world.died(dead, date(2017, 4, 2))
    moved = world.member(home, "张小妹", date(1990, 1, 1), "child", disability=4)
    world.certificate(moved, 4)
    world.add(models.HouseholdEvent, id_number=moved, event="marry_out", event_on=date(2016, 10, 1),
              to_household=None, place="岳阳县")
    exited = world.household(exited_on=date(2016, 12, 1))
    gone = world.member(exited, "赵六", date(1960, 1, 1), "spouse", disability=3)
    world.certificate(gone, 3)
    # Extreme poverty support instead of the living allowance (one exclusive group): nothing owed.
    poorest = world.household(attribute="extreme_poor")
    world.certificate(poorest["head"], 3)
    world.pay("EXTREME_SUPPORT", poorest["head"], poorest, 3600, "2017", date(2017, 3, 20))
    # A grant no register can entitle anyone to (a house survey decides): not judged.
    world.pay("HOUSING_RENOVATION", home["head"], home, 10000, "2017", date(2017, 7, 20))
    # A certified person in a village where nobody was paid the allowance: no batch to compare.
    lonely = world.household(village=world.new_village())
    world.certificate(lonely["head"], 3)
    assert world.run("ME-01") == []


def test_me01_a_once_program_is_owed_once_ever_for_the_first_period(world: World) -> None:
    world.conn.execute(insert(models.Program).values(
        program_code="DIS_AID_ONCE", name="残疾人一次性救助", standard_amount_fen=50_000, period="once",
        basis="person", min_disability_level=4))
    paid_before_home = world.household()
    paid_before = world.member(paid_before_home, "李四", date(1970, 1, 1), "child", disability=3)
    world.certificate(paid_before, 3)
    world.pay("DIS_AID_ONCE", paid_before, paid_before_home, 500, "2016", date(2016, 5, 20))
    other_home = world.household()
    other = world.member(other_home, "王五", date(1971, 1, 1), "child", disability=3)
    world.certificate(other, 3)
    world.pay("DIS_AID_ONCE", other, other_home, 500, "2017", date(2017, 5, 20))
    never_home = world.household()
    never = world.member(never_home, "赵六", date(1972, 1, 1), "child", disability=2)
    world.certificate(never, 2)
    found = world.run("ME-01")
    # Owed once, for the first period the village was paid it; the one paid in 2016 owes nothing.
    assert [(f.subjects[0].key, f.records[1].key) for f in found] == [(never, f"DIS_AID_ONCE/2016/{world.village}")]


def test_me01_a_household_benefit_is_owed_to_the_household_while_its_head_lives(world: World) -> None:
    world.conn.execute(insert(models.Program).values(
        program_code="HH_WINTER", name="特困户冬季取暖补助", standard_amount_fen=40_000, period="year",
        basis="household", household_attributes="extreme_poor"))
    paid = world.household(attribute="extreme_poor")
    world.pay("HH_WINTER", paid["head"], paid, 400, "2017", date(2017, 11, 20))
    to_a_member = world.household(attribute="extreme_poor")
    member = world.member(to_a_member, "李奶奶", date(1940, 1, 1), "other")
    world.pay("HH_WINTER", member, to_a_member, 400, "2017", date(2017, 11, 21))  # reached the household
    left_out = world.household(attribute="extreme_poor", head="赵六")
    world.member(left_out, "赵七", date(1945, 1, 1), "other")
    head_dead = world.household(attribute="extreme_poor")
    world.died(head_dead["head"], date(2017, 10, 1))
    world.household(attribute="low_income")  # not of the attribute
    (found,) = world.run("ME-01")
    assert [(s.kind, s.key) for s in found.subjects] == [("household", left_out["id"]), ("paying_unit", "归义镇财政所")]
    assert found.records[0].key == left_out["id"] and found.amount_owed_fen == 40_000
    assert "reached the household of 赵六" in found.evidence[-1].fact

"""The v1.1 rules that compare the beneficiaries with the real-estate and household
registers: DC-11 (owns urban housing or a shop), DC-13 (moved or married out, still paid)
and DC-14 (household split to qualify), each with its "as of" edges."""

from __future__ import annotations

from datetime import date

from tests.detectors.conftest import keys
from tests.detectors.world import World


def monthly(world: World, home: dict[str, str], months: range, person: str | None = None) -> dict[int, str]:
    """The household's 低保 for these months of 2017, paid on the 20th."""
    return {m: world.pay("MIN_LIVING", person or home["head"], home, 390, f"2017-{m:02d}", date(2017, m, 20))
            for m in months}


# ---------------------------------------------------------------------- DC-11


def test_dc11_positive_a_sons_flat_and_the_heads_shop(world: World) -> None:
    home = world.household()
    son = world.member(home, "张强", date(1988, 4, 2), "child")
    flat = world.real_estate(son, "urban_home", registered_on=date(2016, 9, 1))
    paid = monthly(world, home, range(1, 4))
    found = world.run("DC-11")
    assert keys(found, "card_payment") == set(paid.values())
    (finding,) = found
    assert finding.amount_at_risk_fen == 3 * 39_000 and finding.subjects[1].key == son
    assert [e.kind for e in finding.evidence[:3]] == ["household", "person", "real_estate"]
    assert finding.evidence[2].key == flat and "urban home" in finding.evidence[2].fact
    assert "never deregistered" in finding.evidence[2].fact
    shop_home = world.household()
    shop = world.real_estate(shop_home["head"], "shop", registered_on=date(2017, 2, 10), area=None)
    before, after = world.pay("DIS_LIVING", shop_home["head"], shop_home, 600, "2017", date(2017, 2, 9)), \
        world.pay("INDUSTRY_AWARD", shop_home["head"], shop_home, 2000, "2017", date(2017, 6, 20))
    by_property = {next(r.key for r in f.records if r.kind == "real_estate"): f for f in world.run("DC-11")}
    assert keys([by_property[shop]], "card_payment") == {after}  # the day before the shop was registered: not yet
    assert before not in keys(world.run("DC-11"))


def test_dc11_positive_sold_after_the_payment_counts_until_the_day_it_went(world: World) -> None:
    home = world.household()
    world.real_estate(home["head"], "urban_home", registered_on=date(2015, 5, 1), deregistered_on=date(2017, 3, 20))
    paid = monthly(world, home, range(1, 6))  # paid on the 20th: March's on the very day it was sold
    found = world.run("DC-11")
    assert keys(found, "card_payment") == {paid[1], paid[2]}
    assert "2017-03-20" in found[0].evidence[2].fact and "deregistered" in found[0].evidence[2].fact


def test_dc11_negative_a_rural_home_a_flat_sold_before_or_bought_after_and_a_relatives(world: World) -> None:
    home = world.household()
    world.real_estate(home["head"], "rural_home", registered_on=date(2010, 1, 1))
    sold = world.household()
    world.real_estate(sold["head"], "urban_home", registered_on=date(2012, 1, 1), deregistered_on=date(2016, 12, 30))
    later = world.household()
    world.real_estate(later["head"], "urban_home", registered_on=date(2017, 12, 1))
    kin = world.household()
    outsider = world.id_number(date(1985, 1, 1))  # a brother with his own hukou: no member of the household
    world.kin(kin["head"], outsider)
    world.real_estate(outsider, "urban_home", registered_on=date(2014, 1, 1))
    for h in (home, sold, later, kin):
        monthly(world, h, range(1, 12))
    assert world.run("DC-11") == []
    assert world.run("DC-11", as_of=date(2017, 11, 30)) == []  # nor before the December flat, as of November


def test_dc11_negative_kinds_set_to_shops_only(world: World) -> None:
    home = world.household()
    world.real_estate(home["head"], "urban_home", registered_on=date(2015, 5, 1))
    monthly(world, home, range(1, 3))
    assert world.run("DC-11", kinds=["shop"]) == []
    assert len(world.run("DC-11", kinds="shop|urban_home")) == 1  # the command line may give text


# ---------------------------------------------------------------------- DC-13


def test_dc13_positive_a_daughter_married_out_and_a_head_moved_to_town(world: World) -> None:
    home = world.household()
    daughter = world.member(home, "张丽", date(1994, 8, 1), "child", disability=4)
    world.household_event(daughter, "marry_out", date(2016, 10, 6), from_household=home["id"], place="湖南省平江县")
    year = world.pay("DIS_LIVING", daughter, home, 600, "2017", date(2017, 5, 20))
    moved = world.household()
    left = world.household_event(moved["head"], "move_out", date(2017, 4, 15), place="长沙市")  # no household named: his own
    paid = monthly(world, moved, range(1, 8))
    found = {f.subjects[0].key: f for f in world.run("DC-13")}
    assert keys([found[daughter]]) == {year} and found[daughter].amount_at_risk_fen == 60_000
    assert "married out of household" in found[daughter].evidence[1].fact
    # April's period began before he left; May's did not.
    assert keys([found[moved["head"]]]) == {paid[m] for m in (5, 6, 7)}
    assert found[moved["head"]].evidence[1].key == left
    # Moving into another household is no return to this one.
    elsewhere = world.household()
    wanderer = world.member(elsewhere, "张军", date(1985, 2, 2), "child", disability=4)
    world.household_event(wanderer, "move_out", date(2016, 3, 1), from_household=elsewhere["id"])
    world.household_event(wanderer, "move_in", date(2016, 4, 1), to_household="4306811002010011", place="汨罗市城关")
    still = world.pay("DIS_LIVING", wanderer, elsewhere, 600, "2017", date(2017, 5, 20))
    assert still in keys(world.run("DC-13"))


def test_dc13_positive_paid_until_he_came_back(world: World) -> None:
    home = world.household()
    son = world.member(home, "张强", date(1999, 4, 2), "child", disability=3)
    world.household_event(son, "move_out", date(2016, 11, 2), from_household=home["id"], place="广东省东莞市")
    world.household_event(son, "move_in", date(2017, 6, 25), to_household=home["id"])
    paid = monthly(world, home, range(1, 13), person=son)  # (a household benefit in his name, for the test)
    # June's was paid on the 20th, before he came back on the 25th; July's period began after.
    assert keys(world.run("DC-13")) == {paid[m] for m in range(1, 7)}
    assert keys(world.run("DC-13", as_of=date(2017, 3, 31))) == {paid[m] for m in range(1, 4)}


def test_dc13_negative_out_and_back_out_after_the_period_began_and_married_in_from_elsewhere(world: World) -> None:
    home = world.household()
    son = world.member(home, "张强", date(1990, 4, 2), "child", disability=4)
    world.household_event(son, "move_out", date(2015, 3, 1), from_household=home["id"], place="长沙市")
    world.household_event(son, "move_in", date(2016, 2, 1), to_household=home["id"])
    world.pay("DIS_LIVING", son, home, 600, "2017", date(2017, 5, 20))
    late = world.household()
    world.household_event(late["head"], "move_out", date(2017, 1, 5), from_household=late["id"])
    world.pay("DIS_LIVING", late["head"], late, 600, "2017", date(2017, 5, 20))  # the year began before he left
    bride = world.household()
    wife = world.member(bride, "李芳", date(1992, 3, 3), "spouse", disability=4)
    world.household_event(wife, "marry_out", date(2015, 5, 1), from_household="H-PARENTS", place="汨罗市新市镇")
    world.household_event(wife, "marry_in", date(2015, 5, 1), to_household=bride["id"])
    world.pay("DIS_LIVING", wife, bride, 600, "2017", date(2017, 5, 20))
    other = world.household()
    world.household_event(other["head"], "move_out", date(2016, 1, 1), from_household="H-ELSEWHERE")  # left another one
    world.pay("DIS_LIVING", other["head"], other, 600, "2017", date(2017, 5, 20))
    assert world.run("DC-13") == []


# ---------------------------------------------------------------------- DC-14


def test_dc14_positive_registered_sixty_days_after_splitting_from_a_household_not_registered(world: World) -> None:
    home = world.household(registered_on=date(2014, 5, 1), head="张老汉", born=date(1940, 2, 2))
    split = world.household_event(home["head"], "split", date(2014, 3, 2), from_household="4306811002010088",
                        to_household=home["id"])
    paid = monthly(world, home, range(1, 4))
    found = world.run("DC-14")
    assert len(found) == 1 and keys(found) == {home["id"], *paid.values()}
    assert found[0].amount_at_risk_fen == 3 * 39_000 and found[0].subjects[0].key == home["id"]
    assert [e.kind for e in found[0].evidence[:3]] == ["household", "household_event", "search"]
    assert found[0].evidence[1].key == split and "60 days after" in found[0].evidence[0].fact
    assert "not in the register" in found[0].evidence[2].fact
    idle = world.household(registered_on=date(2017, 6, 1))  # registered, drawn nothing yet
    world.household_event(idle["head"], "split", date(2017, 5, 30), from_household="4306811002010099")
    found = {f.subjects[0].key: f for f in world.run("DC-14")}
    assert keys([found[idle["id"]]]) == {idle["id"]} and found[idle["id"]].amount_at_risk_fen == 0


def test_dc14_negative_a_split_long_before_from_a_registered_household_or_after_registration(world: World) -> None:
    old = world.household(registered_on=date(2014, 5, 1))
    world.household_event(old["head"], "split", date(2009, 11, 3), from_household="4306811002010088")
    parents = world.household(registered_on=date(2014, 4, 1))
    poor = world.household(registered_on=date(2014, 5, 1))
    world.household_event(poor["head"], "split", date(2014, 3, 2), from_household=parents["id"])  # the parents are poor too
    after = world.household(registered_on=date(2014, 5, 1))
    world.household_event(after["head"], "split", date(2014, 5, 2), from_household="4306811002010077")
    edge = world.household(registered_on=date(2014, 9, 1))
    world.household_event(edge["head"], "split", date(2014, 3, 4), from_household="4306811002010066")  # 181 days
    for h in (old, parents, poor, after, edge):
        monthly(world, h, range(1, 3))
    assert world.run("DC-14") == []
    assert len(world.run("DC-14", days=181)) == 1
    tight = world.household(registered_on=date(2014, 5, 1))
    world.household_event(tight["head"], "split", date(2014, 3, 2), from_household="4306811002010055")
    assert world.run("DC-14", days=30) == []
    assert world.run("DC-14", as_of=date(2014, 4, 30)) == []  # not yet registered as of April

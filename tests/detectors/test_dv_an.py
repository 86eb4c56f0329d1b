"""DV (diversion) and AN (anomalies), one positive and one negative case per rule."""

from __future__ import annotations

from datetime import date, timedelta

from tests.detectors.conftest import keys
from tests.detectors.world import COUNTY_FINANCE, World


def test_dv01_positive_a_road_paid_from_education_money(world: World) -> None:
    road = world.project(category="infrastructure")
    wrong = world.disburse(100_000, date(2017, 5, 1), road, world.allocation("education"))
    stranger = world.id_number(date(1980, 1, 1))
    loose = world.disburse(38_000, date(2017, 7, 12), None, world.allocation("industry"), payee_kind="person",
                           payee_id=stranger, account=world.person_account(stranger))
    assert keys(world.run("DV-01")) == {wrong, loose}


def test_dv01_negative_matching_purpose_members_and_committees(world: World) -> None:
    world.disburse(100_000, date(2017, 5, 1), world.project(), world.allocation("infrastructure"))
    home = world.household()
    world.disburse(5_000, date(2017, 5, 1), None, world.allocation("industry"), payee_kind="person",
                   payee_id=home["head"], account=home["card"])
    committee = world.org("village_committee")
    world.disburse(42_500, date(2017, 4, 15), None, world.allocation("village_operation"), payee=committee)
    assert world.run("DV-01") == []


def test_dv02_positive_over_budget_and_over_allocation(world: World) -> None:
    project = world.project(budget=200_000)
    world.disburse(150_000, date(2017, 5, 1), project)
    over = world.disburse(80_000, date(2017, 9, 1), project)
    small = world.allocation("infrastructure", amount=100_000)
    world.disburse(60_000, date(2017, 5, 1), world.project(budget=500_000), small)
    world.disburse(60_000, date(2017, 6, 1), world.project(budget=500_000), small)
    found = world.run("DV-02")
    assert over in keys(found, "disbursement") and small in keys(found, "allocation")
    assert sorted(f.amount_at_risk_fen for f in found) == [2_000_000, 3_000_000]


def test_dv02_negative_within_budget_and_allocation(world: World) -> None:
    project = world.project(budget=200_000)
    world.disburse(200_000, date(2017, 5, 1), project)
    assert world.run("DV-02") == []


def test_dv04_positive_three_payments_just_under_the_threshold(world: World) -> None:
    firm = world.org()
    project = world.project(budget=150_000)
    runs = [world.disburse(amount, date(2017, 5, 2) + timedelta(days=offset), project, payee=firm)
            for amount, offset in ((45_000, 0), (48_000, 13), (40_000, 26))]
    found = world.run("DV-04")
    assert keys(found) == set(runs)
    assert "133,000.00 together" in found[0].evidence[-1].fact


def test_dv04_negative_under_the_threshold_together_or_far_apart(world: World) -> None:
    firm = world.org()
    world.disburse(20_000, date(2017, 6, 5), world.project(), payee=firm)
    world.disburse(24_000, date(2017, 6, 19), world.project(), payee=firm)
    other = world.org()
    world.disburse(40_000, date(2017, 3, 1), world.project(), payee=other)
    world.disburse(40_000, date(2017, 4, 15), world.project(), payee=other)
    assert world.run("DV-04") == []


def test_dv06_positive_half_unspent_after_180_days(world: World) -> None:
    idle = world.allocation("industry", amount=1_000_000, issued_on=date(2017, 3, 1))
    world.disburse(450_000, date(2017, 5, 1), world.project(category="industry"), idle)
    found = world.run("DV-06")
    assert keys(found, "allocation") == {idle}
    assert found[0].amount_at_risk_fen == 55_000_000


def test_dv06_negative_spent_or_too_young(world: World) -> None:
    spent = world.allocation("industry", amount=1_000_000, issued_on=date(2017, 3, 1))
    world.disburse(850_000, date(2017, 5, 1), world.project(category="industry"), spent)
    young = world.allocation("industry", amount=1_000_000, issued_on=date(2017, 9, 1))  # judged from 2018-02-28
    flagged = keys(world.run("DV-06"), "allocation")
    assert spent not in flagged and young not in flagged


def _insider_setup(world: World) -> tuple[str, dict[str, str], str, str]:
    _, secretary = world.official("village_secretary", world.village)
    wife = world.id_number(date(1972, 2, 2), male=False)
    world.kin(secretary, wife, "spouse")
    boss = world.id_number(date(1970, 1, 1))
    firm = world.org(rep=boss)
    project = world.project(contractor=firm)
    paid = world.disburse(300_000, date(2017, 5, 1), project, payee=firm)
    return paid, firm, world.person_account(boss), world.person_account(wife)


def test_dv03_positive_through_the_boss_to_the_secretarys_wife(world: World) -> None:
    paid, firm, boss_card, wife_card = _insider_setup(world)
    t1 = world.transfer(firm["account"], boss_card, 60_000, date(2017, 5, 6))
    t2 = world.transfer(boss_card, wife_card, 50_000, date(2017, 5, 13))
    found = world.run("DV-03")
    assert keys(found) == {paid, t1, t2}
    assert found[0].amount_at_risk_fen == 5_000_000
    assert [e.kind for e in found[0].evidence] == ["disbursement", "transfer", "transfer", "account", "kinship",
                                                   "official"]


def test_dv03_negative_too_late_or_too_many_hops(world: World) -> None:
    _, firm, boss_card, wife_card = _insider_setup(world)
    world.transfer(firm["account"], boss_card, 60_000, date(2017, 5, 6))
    world.transfer(boss_card, wife_card, 50_000, date(2017, 9, 8))  # 130 days after the payment
    hops = [world.person_account(world.id_number(date(1980 + i, 1, 1))) for i in range(3)]
    chain = [firm["account"], *hops, wife_card]
    for i in range(4):
        world.transfer(chain[i], chain[i + 1], 40_000 - 1000 * i, date(2017, 5, 10 + i))
    assert world.run("DV-03") == []


def test_dv05_positive_back_to_the_finance_bureau(world: World) -> None:
    bureau = world.org("government_unit", name=COUNTY_FINANCE)
    firm = world.org()
    paid = world.disburse(200_000, date(2017, 5, 1), world.project(contractor=firm), payee=firm)
    middle = world.person_account(world.id_number(date(1980, 1, 1)))
    broker = world.org(name="汨罗市顺达商贸有限公司")
    loop = [world.transfer(firm["account"], middle, 70_000, date(2017, 5, 4)),
            world.transfer(middle, broker["account"], 68_000, date(2017, 5, 8)),
            world.transfer(broker["account"], bureau["account"], 65_000, date(2017, 5, 12))]
    assert keys(world.run("DV-05")) == {paid, *loop}


def test_dv05_negative_money_that_goes_out_and_stays_out(world: World) -> None:
    world.org("government_unit", name=COUNTY_FINANCE)
    firm = world.org()
    world.disburse(200_000, date(2017, 5, 1), world.project(contractor=firm), payee=firm)
    worker = world.person_account(world.id_number(date(1980, 1, 1)))
    world.transfer(firm["account"], worker, 6_000, date(2017, 5, 10))
    assert world.run("DV-05") == []


def _many_payments(world: World, count: int = 300) -> list[str]:
    homes = [world.household() for _ in range(30)]
    paid = []
    for i in range(count):
        home = homes[i % 30]
        paid.append(world.pay("MIN_LIVING", home["head"], home, 390, f"2017-{i % 12 + 1:02d}",
                              date(2017, i % 12 + 1, 20), card=home["card"]))
    return paid


def test_an01_positive_ten_times_the_usual_on_an_odd_day_from_another_office(world: World) -> None:
    _many_payments(world)
    home = world.household()
    odd = world.pay("MIN_LIVING", home["head"], home, 3900, "2017-08", date(2017, 8, 3), unit="新市镇财政所")
    found = world.run("AN-01", top_share=0.005)
    assert odd in keys(found)
    finding = next(f for f in found if odd in {r.key for r in f.records})
    assert finding.evidence[1].kind == "feature" and "typical for 农村低保金" in finding.evidence[1].fact


def test_an01_flags_its_top_share_but_never_more_than_max_findings(world: World) -> None:
    _many_payments(world)
    home = world.household()
    odd = world.pay("MIN_LIVING", home["head"], home, 3900, "2017-08", date(2017, 8, 3), unit="新市镇财政所")
    share = world.run("AN-01", top_share=0.05)
    capped = world.run("AN-01", top_share=0.05, max_findings=3)
    assert len(share) > 3 and len(capped) == 3
    assert odd in keys(capped)  # the most unusual are the ones kept
    assert [f.records for f in capped] == [f.records for f in share[:3]]


def test_an01_negative_nothing_learned_from_too_few_payments(world: World) -> None:
    home = world.household()
    world.pay("MIN_LIVING", home["head"], home, 3900, "2017-08", date(2017, 8, 3))
    assert world.run("AN-01") == []


def test_an02_positive_amounts_made_up_around_4000_to_6000(world: World) -> None:
    home = world.household()
    for i in range(120):
        world.disburse(4000 + i * 16, date(2017, 3, 1) + timedelta(days=i), None, payee_kind="person",
                       payee_id=home["head"], account=home["card"], payer="汨罗市农业农村局")
    found = world.run("AN-02")
    assert found and found[0].subjects[0].key == "汨罗市农业农村局"


def test_an02_negative_benford_amounts_and_small_units(world: World) -> None:
    home = world.household()
    for i in range(300):
        amount = round(10 ** (2 + 3 * ((i * 0.6180339887) % 1)), 2)  # log-uniform: Benford
        world.disburse(amount, date(2017, 3, 1), None, payee_kind="person", payee_id=home["head"],
                       account=home["card"], payer="汨罗市财政局")
    for _ in range(50):
        world.disburse(4500, date(2017, 3, 1), None, payee_kind="person", payee_id=home["head"],
                       account=home["card"], payer="小单位")
    assert world.run("AN-02") == []


def test_an03_positive_the_whole_year_paid_in_december(world: World) -> None:
    committee = world.org("village_committee")
    rush = world.disburse(170_000, date(2017, 12, 20), None, world.allocation("village_operation"),
                          payee=committee, payer="归义镇财政所")
    world.disburse(20_000, date(2017, 4, 15), None, world.allocation("village_operation"), payee=committee,
                   payer="归义镇财政所")
    assert keys(world.run("AN-03")) == {rush}


def test_an03_negative_december_is_a_small_share(world: World) -> None:
    committee = world.org("village_committee")
    for month in (1, 4, 7, 10, 12):
        world.disburse(42_500, date(2017, month, 15), None, world.allocation("village_operation"),
                       payee=committee, payer="归义镇财政所")
    assert world.run("AN-03") == []

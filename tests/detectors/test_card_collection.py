"""DV-07 card money collected (明白卡资金被归集): several beneficiaries' cards forwarding
most of one program's payment for a period to one account, soon after it arrived."""

from __future__ import annotations

from datetime import date, timedelta

from tests.detectors.conftest import keys
from tests.detectors.world import World

PAID = date(2017, 6, 20)


def awarded(world: World, n: int, amount: int = 2000) -> list[tuple[dict[str, str], str]]:
    """``n`` households of the village, each paid an industry award in June."""
    homes = [world.household() for _ in range(n)]
    return [(home, world.pay("INDUSTRY_AWARD", home["head"], home, amount, "2017", PAID)) for home in homes]


def test_dv07_positive_four_cards_forward_their_award_to_a_cadre(world: World) -> None:
    official, cadre = world.official("village_committee", world.village, name="王会计")
    cadres_card = world.person_account(cadre)
    paid = awarded(world, 4)
    sent = [world.transfer(home["card"], cadres_card, 1800, PAID + timedelta(days=1 + i)) for i, (home, _) in
            enumerate(paid)]
    (found,) = world.run("DV-07")
    assert keys([found], "card_payment") == {p for _, p in paid} and keys([found], "transfer") == set(sent)
    assert found.amount_at_risk_fen == 4 * 180_000 and found.score == 0.9
    assert [s.kind for s in found.subjects] == ["official", "account"] and found.subjects[0].key == official
    assert "4 cards sent this account 7,200.00 yuan" in found.evidence[-2].fact
    assert found.evidence[-1].kind == "official" and "in office" in found.evidence[-1].fact
    assert world.run("DV-07", as_of=PAID + timedelta(days=2)) == []  # as of then, two cards had sent theirs
    assert len(keys(world.run("DV-07", as_of=PAID + timedelta(days=3)), "transfer")) == 3


def test_dv07_positive_to_someone_who_is_no_official_scores_lower(world: World) -> None:
    broker = world.id_number(date(1975, 5, 5))
    brokers_card = world.person_account(broker)
    paid = awarded(world, 3, 1500)
    for home, _ in paid:  # in two goes each: 500 and 400 of 1,500
        world.transfer(home["card"], brokers_card, 500, PAID + timedelta(days=2))
        world.transfer(home["card"], brokers_card, 400, PAID + timedelta(days=30))
    (found,) = world.run("DV-07")
    assert found.score == 0.7 and found.amount_at_risk_fen == 3 * 90_000
    assert [s.kind for s in found.subjects] == ["person", "account"]
    committee = world.org("village_committee", name="归义镇村民委员会")
    for home, _ in awarded(world, 3, 1000):
        world.transfer(home["card"], committee["account"], 1000, PAID + timedelta(days=3))
    by_account = {f.subjects[-1].key: f for f in world.run("DV-07")}
    assert by_account[committee["account"]].score == 0.9


def test_dv07_positive_a_transfer_forwards_one_payment_the_largest_its_window_holds(world: World) -> None:
    """June's 低保 and the industry award paid on one day: 1,800 yuan sent on is the award,
    not the 低保 as well (one finding, the award's, and no money counted twice)."""
    cadres_card = world.person_account(world.official("village_committee", world.village)[1])
    paid = awarded(world, 3)
    allowances = [world.pay("MIN_LIVING", home["head"], home, 390, "2017-06", PAID) for home, _ in paid]
    for home, _ in paid:
        world.transfer(home["card"], cadres_card, 1800, PAID + timedelta(days=2))
    (found,) = world.run("DV-07")
    assert keys([found], "card_payment") == {p for _, p in paid} and not set(allowances) & keys([found])
    assert found.amount_at_risk_fen == 3 * 180_000


def test_dv07_negative_two_cards_a_neighbour_once_late_small_or_the_familys_own(world: World) -> None:
    _, cadre = world.official("village_secretary", world.village)
    cadres_card = world.person_account(cadre)
    for home, _ in awarded(world, 2):  # two cards only
        world.transfer(home["card"], cadres_card, 1900, PAID + timedelta(days=2))
    neighbour = world.person_account(world.id_number(date(1966, 6, 6)))
    (home, _), = awarded(world, 1)
    world.transfer(home["card"], neighbour, 1500, PAID + timedelta(days=4))  # a debt paid a neighbour once
    late = world.person_account(world.id_number(date(1970, 7, 7)))
    for i, (home, _) in enumerate(awarded(world, 3)):  # the third after 30 days
        world.transfer(home["card"], late, 1800, PAID + timedelta(days=31 if i == 2 else 5))
    small = world.person_account(world.id_number(date(1971, 7, 7)))
    for home, _ in awarded(world, 3):  # less than half each
        world.transfer(home["card"], small, 900, PAID + timedelta(days=5))
    early = world.person_account(world.id_number(date(1972, 7, 7)))
    for home, _ in awarded(world, 3):  # before the money arrived: not this payment's
        world.transfer(home["card"], early, 1800, PAID - timedelta(days=3))
    homes = awarded(world, 3)
    son = world.member(homes[0][0], "张强", date(1990, 1, 1))
    sons_card = world.person_account(son)
    for home, _ in homes:  # one of the three is the son's own household: two others remain
        world.transfer(home["card"], sons_card, 1800, PAID + timedelta(days=5))
    failed = world.person_account(world.id_number(date(1973, 7, 7)))
    homes = [world.household() for _ in range(3)]
    for i, home in enumerate(homes):  # one payment failed: that card was paid nothing
        world.pay("INDUSTRY_AWARD", home["head"], home, 2000, "2017", PAID, status="failed" if i == 0 else "paid")
        world.transfer(home["card"], failed, 1800, PAID + timedelta(days=5))
    assert world.run("DV-07") == []
    assert len(world.run("DV-07", days=31)) == 1 and len(world.run("DV-07", min_accounts=2)) >= 3

"""AN-01 unusual payment.

What it flags: the card payments an unsupervised model (scikit-learn's IsolationForest,
fixed ``random_state``) scores as the most unusual: the top ``top_share`` of all payments.
Each finding names the features that made the payment unusual, with their value and the
typical range among payments of the same program.

Features (per payment; no protected attribute — ethnicity, religion, sex — ever enters):
    amount_vs_program  log of the amount over the program's median amount
    batch_size         log of how many payments the paying unit made that day
    unit_share         share of the village's payments that this paying unit makes
    card_payments      payments into the same card in the same year

Why it matters: rules catch what someone foresaw; a payment ten times the usual, paid on
a day nobody else was paid, by an office that never pays that village, is a lead no rule
names.

Settings: ``top_share`` (default 0.01), ``random_state`` (default 0), ``n_estimators``
(default 200).

Evidence, in order: the payment, then one step per unusual feature (value, typical range).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest
from sqlalchemy import select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import payment_household
from audit.detectors.moved import CardPayment
from audit.models import Household, Person

# Each feature's words are the catalogue's ``feature.<name>``.
FEATURES = ("amount_vs_program", "batch_size", "unit_share", "card_payments")
# Payments are read in chunks of this many rows, each turned into integer columns at once:
# a county's ten million payments never live as ten million row objects.
CHUNK = 100_000


class Payments:
    """The paid card payments as columns, in payment_id order: the key (UTF-8 bytes, whose
    order is the code points' on both databases), the amount, and each categorical column
    (program, paying unit, day, village, card) as integer codes into its own list of values."""

    CATEGORIES = ("program", "unit", "day", "village", "card")

    def __init__(self, result: Any) -> None:
        values: dict[str, dict[Any, int]] = {name: {} for name in self.CATEGORIES}
        keys: list[np.ndarray] = []
        amounts: list[np.ndarray] = []
        codes: dict[str, list[np.ndarray]] = {name: [] for name in self.CATEGORIES}
        for chunk in result.partitions(CHUNK):
            ids, programs, amount, units, days, villages, cards = zip(*chunk)
            keys.append(np.array([key.encode() for key in ids], dtype=bytes))
            amounts.append(np.fromiter(amount, dtype=np.int64, count=len(chunk)))
            for name, column in zip(self.CATEGORIES, (programs, units, days, villages, cards), strict=True):
                index = values[name]
                codes[name].append(np.fromiter((index.setdefault(v, len(index)) for v in column),
                                               dtype=np.int64, count=len(chunk)))
        self.values = {name: list(index) for name, index in values.items()}
        if not keys:
            self.key, self.amount = np.array([], dtype=bytes), np.array([], dtype=np.int64)
            self.codes = {name: np.array([], dtype=np.int64) for name in self.CATEGORIES}
            return
        key = np.concatenate(keys)
        # The forest's random splits depend on the rows' order: in the key's order, so both
        # databases (and any order the database returns) find the same payments.
        order = np.argsort(key, kind="stable")
        self.key = key[order]
        self.amount = np.concatenate(amounts)[order]
        self.codes = {name: np.concatenate(parts)[order] for name, parts in codes.items()}

    def __len__(self) -> int:
        return len(self.key)

    def payment_id(self, index: int) -> str:
        return self.key[index].decode()

    def program(self, index: int) -> str:
        return self.values["program"][self.codes["program"][index]]


def group_sizes(*columns: np.ndarray) -> np.ndarray:
    """For each row, how many rows share its values of ``columns`` (integer codes)."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        key = key * (int(column.max()) + 1) + column
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return counts[inverse]


class PaymentFeatures:
    """Turns the payments' columns into the feature matrix; learned peer statistics end in ``_``."""

    def fit_transform(self, payments: Payments) -> np.ndarray:
        program, amount = payments.codes["program"], payments.amount
        medians = np.zeros(len(payments.values["program"]))
        for code in range(len(medians)):
            medians[code] = np.median(amount[program == code])
        self.program_median_ = dict(zip(payments.values["program"], medians.tolist(), strict=True))
        years = np.array([day.year for day in payments.values["day"]], dtype=np.int64)
        unit, village = payments.codes["unit"], payments.codes["village"]
        return np.column_stack([
            np.log(np.maximum(amount, 1) / np.maximum(medians[program], 1.0)),
            np.log(group_sizes(unit, payments.codes["day"])),
            group_sizes(unit, village) / group_sizes(village),
            group_sizes(payments.codes["card"], years[payments.codes["day"]]),
        ]).astype(float)


class UnusualPayment(Detector):
    code = "AN-01"
    version = 2
    judges = "card_payment"
    defaults = {"top_share": 0.01, "random_state": 0, "n_estimators": 200}

    def run(self, context: Context) -> Iterator[Found]:
        household = payment_household()
        # yield_per on this statement only: Connection.execution_options() would set it on the
        # run's connection for good, and every later statement (an INSERT) would become a
        # server-side cursor, which PostgreSQL refuses.
        result = context.conn.execute(
            select(CardPayment.payment_id, CardPayment.program_code, CardPayment.amount_fen, CardPayment.paying_unit,
                   CardPayment.paid_on, Household.village_code, CardPayment.card_account)
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .join(Household, Household.household_id == household)
            .where(CardPayment.paid_on <= context.as_of), execution_options={"yield_per": CHUNK})
        rows = Payments(result)
        if len(rows) < 200:
            return  # too few payments to learn what is usual
        features = PaymentFeatures()
        matrix = features.fit_transform(rows)
        model = IsolationForest(n_estimators=context.settings["n_estimators"],
                                random_state=context.settings["random_state"])
        model.fit(matrix)
        scores = -model.score_samples(matrix)  # higher: more unusual
        count = max(1, int(len(rows) * context.settings["top_share"]))
        chosen = np.argsort(-scores, kind="stable")[:count]
        programs = rows.codes["program"]
        # What is typical, per program: computed once, not once per finding.
        typical: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        for code in np.unique(programs[chosen]).tolist():
            peers = matrix[programs == code]
            median = np.median(peers, axis=0)
            spread = np.median(np.abs(peers - median), axis=0) * 1.4826 + 1e-9
            p5, p95 = np.percentile(peers, [5, 95], axis=0)
            typical[code] = (median, spread, p5, p95)
        facts = Facts(context.conn)
        payments = facts.load("card_payments", [rows.payment_id(i) for i in chosen])
        low, high = float(scores[chosen].min()), float(scores[chosen].max())
        for index in chosen.tolist():
            payment_id, program = rows.payment_id(index), rows.program(index)
            steps = []
            median, spread, p5, p95 = typical[int(programs[index])]
            z = np.abs(matrix[index] - median) / spread
            for feature in np.argsort(-z)[:2]:
                name = FEATURES[feature]
                steps.append(Evidence("feature", f"{payment_id}/{name}",
                                      msg("evidence.feature", feature=msg(f"feature.{name}").as_dict(),
                                          value=f"{matrix[index][feature]:.2f}",
                                          program=facts.program_name(program),
                                          low=f"{p5[feature]:.2f}", high=f"{p95[feature]:.2f}"),
                                      {"feature": name, "value": round(float(matrix[index][feature]), 3),
                                       "p5": round(float(p5[feature]), 3), "p95": round(float(p95[feature]), 3)}))
            relative = 0.0 if high == low else (float(scores[index]) - low) / (high - low)
            yield Found(
                subjects=[Ref("person", payments[payment_id]["id_number"])],
                records=[Ref("card_payment", payment_id, amount_fen=0)],
                evidence=[facts.card_payment(payment_id)] + steps,
                score=0.3 + 0.3 * relative, amount_at_risk_fen=0)

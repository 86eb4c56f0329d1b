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

from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest
from sqlalchemy import select

from audit.detectors.base import Context, Detector, Evidence, Found, Ref, msg
from audit.detectors.facts import Facts
from audit.detectors.members import payment_household
from audit.detectors.sql import year_of
from audit.detectors.moved import CardPayment
from audit.models import Household, Person

# Each feature's words are the catalogue's ``feature.<name>``.
FEATURES = ("amount_vs_program", "batch_size", "unit_share", "card_payments")


class PaymentFeatures:
    """Turns payment rows into the feature matrix; learned peer statistics end in ``_``."""

    def fit_transform(self, rows: list[Any]) -> np.ndarray:
        amounts: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            amounts[row.program_code].append(row.amount_fen)
        self.program_median_ = {code: float(np.median(values)) for code, values in amounts.items()}
        batches = Counter((row.paying_unit, row.paid_on) for row in rows)
        by_village = Counter(row.village_code for row in rows)
        unit_village = Counter((row.paying_unit, row.village_code) for row in rows)
        cards = Counter((row.card_account, row.year) for row in rows)
        matrix = np.array([
            [np.log(max(row.amount_fen, 1) / max(self.program_median_[row.program_code], 1.0)),
             np.log(batches[(row.paying_unit, row.paid_on)]),
             unit_village[(row.paying_unit, row.village_code)] / by_village[row.village_code],
             cards[(row.card_account, row.year)]] for row in rows], dtype=float)
        return matrix


class UnusualPayment(Detector):
    code = "AN-01"
    version = 2
    judges = "card_payment"
    defaults = {"top_share": 0.01, "random_state": 0, "n_estimators": 200}

    def run(self, context: Context) -> Iterator[Found]:
        household = payment_household()
        rows = context.conn.execute(
            select(CardPayment.payment_id, CardPayment.id_number, CardPayment.program_code, CardPayment.amount_fen,
                   CardPayment.paid_on, CardPayment.paying_unit, CardPayment.card_account,
                   Household.village_code, year_of(CardPayment.paid_on).label("year"))
            .outerjoin(Person, Person.id_number == CardPayment.id_number)
            .join(Household, Household.household_id == household)
            .where(CardPayment.paid_on <= context.as_of)).all()
        # The forest's random splits depend on the rows' order: in the key's order (in
        # Python, not the database's collation), so both databases find the same payments.
        rows.sort(key=lambda row: row.payment_id)
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
        programs = np.array([row.program_code for row in rows])
        # What is typical, per program: computed once, not once per finding.
        typical: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        for code in {rows[i].program_code for i in chosen}:
            peers = matrix[programs == code]
            median = np.median(peers, axis=0)
            spread = np.median(np.abs(peers - median), axis=0) * 1.4826 + 1e-9
            p5, p95 = np.percentile(peers, [5, 95], axis=0)
            typical[code] = (median, spread, p5, p95)
        facts = Facts(context.conn)
        facts.load("card_payments", [rows[i].payment_id for i in chosen])
        low, high = float(scores[chosen].min()), float(scores[chosen].max())
        for index in chosen:
            row = rows[index]
            steps = []
            median, spread, p5, p95 = typical[row.program_code]
            z = np.abs(matrix[index] - median) / spread
            for feature in np.argsort(-z)[:2]:
                name = FEATURES[feature]
                steps.append(Evidence("feature", f"{row.payment_id}/{name}",
                                      msg("evidence.feature", feature=msg(f"feature.{name}").as_dict(),
                                          value=f"{matrix[index][feature]:.2f}",
                                          program=facts.program_name(row.program_code),
                                          low=f"{p5[feature]:.2f}", high=f"{p95[feature]:.2f}"),
                                      {"feature": name, "value": round(float(matrix[index][feature]), 3),
                                       "p5": round(float(p5[feature]), 3), "p95": round(float(p95[feature]), 3)}))
            relative = 0.0 if high == low else (float(scores[index]) - low) / (high - low)
            yield Found(
                subjects=[Ref("person", row.id_number)],
                records=[Ref("card_payment", row.payment_id, amount_fen=0)],
                evidence=[facts.card_payment(row.payment_id)] + steps,
                score=0.3 + 0.3 * relative, amount_at_risk_fen=0)

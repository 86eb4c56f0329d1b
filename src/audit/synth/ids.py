"""Valid identifiers: resident IDs (GB 11643), credit codes (GB 32100 with a GB 11714
organization code inside), Luhn-valid card numbers; each generator never repeats."""

from __future__ import annotations

import random
from datetime import date

from stdnum import luhn
from stdnum.cn import ric, uscc

# County codes of Yueyang prefecture (4306xx); most people of Miluo carry 430681.
REGIONS = ("430681",) * 12 + ("430602", "430621", "430623", "430624", "430626", "430682")
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# Bank identification numbers of the banks that carry one-card accounts in rural Hunan.
CARD_BINS = ("622848", "621799", "621098", "623575", "622189", "621700")


class IdFactory:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def resident(self, born: date, male: bool, region: str | None = None) -> str:
        region = region or self.rng.choice(REGIONS)
        while True:
            sequence = self.rng.randrange(0, 999)
            if sequence % 2 != (1 if male else 0):
                sequence += 1
            body = f"{region}{born:%Y%m%d}{sequence:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in self.used:
                self.used.add(number)
                return number

    def sibling_identity(self, number: str) -> str:
        """Another valid ID with the same region and birth date (a second identity)."""
        male = int(number[16]) % 2 == 1
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        return self.resident(born, male, number[:6])

    def credit_code(self, kind: str) -> str:
        prefix = {"company": "91", "cooperative": "93", "government_unit": "11",
                  "village_committee": "54"}[kind]
        while True:
            body = "".join(self.rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
            total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(body, _ORG_WEIGHTS))
            check = 11 - total % 11
            org_check = {10: "X", 11: "0"}.get(check, str(check))
            partial = f"{prefix}430681{body}{org_check}"
            code = partial + uscc.calc_check_digit(partial + "0")
            if code not in self.used:
                self.used.add(code)
                return code

    def card(self) -> str:
        while True:
            body = self.rng.choice(CARD_BINS) + "".join(self.rng.choice("0123456789") for _ in range(12))
            number = body + luhn.calc_check_digit(body)
            if number not in self.used:
                self.used.add(number)
                return number

    def corporate_account(self) -> str:
        """A 20-digit corporate settlement account (no Luhn digit, outside 16-19)."""
        while True:
            number = "4300" + "".join(self.rng.choice("0123456789") for _ in range(16))
            if number not in self.used:
                self.used.add(number)
                return number

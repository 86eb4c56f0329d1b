"""The explicit registry: every detector, by code. A test fails when a code of the
catalogue is missing here, appears twice, or lacks a positive and a negative test."""

from __future__ import annotations

from collections.abc import Iterable

from audit.detectors.an01_unusual_payment import UnusualPayment
from audit.detectors.an02_benford import BenfordDeviation
from audit.detectors.an03_year_end_rush import YearEndRush
from audit.detectors.base import Detector
from audit.detectors.catalogue import CODES
from audit.detectors.dc01_paid_twice import PaidTwice
from audit.detectors.dc02_one_person_two_identities import OnePersonTwoIdentities
from audit.detectors.dc03_mutually_exclusive import MutuallyExclusive
from audit.detectors.dc04_above_standard import AboveStandard
from audit.detectors.dc05_not_eligible import NotEligible
from audit.detectors.dc06_paid_after_death import PaidAfterDeath
from audit.detectors.dc07_well_off import WellOff
from audit.detectors.dc08_shared_card import SharedCard
from audit.detectors.dc09_reused_invoice import ReusedInvoice
from audit.detectors.dc10_kin_of_officials import KinOfOfficials
from audit.detectors.dc11_owns_urban_property import OwnsUrbanProperty
from audit.detectors.dc12_paid_while_detained import PaidWhileDetained
from audit.detectors.dc13_moved_out_still_paid import MovedOutStillPaid
from audit.detectors.dc14_household_split_to_qualify import HouseholdSplitToQualify
from audit.detectors.dc15_pension_above_the_line import PensionAboveTheLine
from audit.detectors.dc16_household_benefit_to_several import HouseholdBenefitToSeveral
from audit.detectors.dc17_flat_split import FlatSplit
from audit.detectors.dc18_disability_without_certificate import DisabilityWithoutCertificate
from audit.detectors.dv01_spent_off_purpose import SpentOffPurpose
from audit.detectors.dv02_overspent import Overspent
from audit.detectors.dv03_money_reaches_insiders import MoneyReachesInsiders
from audit.detectors.dv04_split_payments import SplitPayments
from audit.detectors.dv05_round_trip import RoundTrip
from audit.detectors.dv06_idle_funds import IdleFunds
from audit.detectors.dv07_card_money_collected import CardMoneyCollected
from audit.detectors.dv08_reissue_to_another_account import ReissueToAnotherAccount
from audit.detectors.fp01_paid_before_approval import PaidBeforeApproval
from audit.detectors.fp02_paid_not_accepted import PaidNotAccepted
from audit.detectors.fp03_not_disclosed import NotDisclosed
from audit.detectors.fp04_duplicate_project import DuplicateProject
from audit.detectors.fp05_contractor_formed_for_award import ContractorFormedForAward
from audit.detectors.fp06_insider_contractor import InsiderContractor
from audit.detectors.fp07_payee_not_contractor import PayeeNotContractor
from audit.detectors.fp08_unit_cost_outlier import UnitCostOutlier
from audit.detectors.me01_eligible_but_unpaid import EligibleButUnpaid

REGISTRY: tuple[type[Detector], ...] = (
    PaidBeforeApproval, PaidNotAccepted, NotDisclosed, DuplicateProject, ContractorFormedForAward,
    InsiderContractor, PayeeNotContractor, UnitCostOutlier,
    PaidTwice, OnePersonTwoIdentities, MutuallyExclusive, AboveStandard, NotEligible, PaidAfterDeath, WellOff,
    SharedCard, ReusedInvoice, KinOfOfficials, OwnsUrbanProperty, PaidWhileDetained, MovedOutStillPaid,
    HouseholdSplitToQualify, PensionAboveTheLine, HouseholdBenefitToSeveral, FlatSplit, DisabilityWithoutCertificate,
    SpentOffPurpose, Overspent, MoneyReachesInsiders, SplitPayments, RoundTrip, IdleFunds, CardMoneyCollected,
    ReissueToAnotherAccount,
    UnusualPayment, BenfordDeviation, YearEndRush,
    EligibleButUnpaid,
)


def select_detectors(codes: Iterable[str] | None = None) -> list[Detector]:
    """Instances of the registered detectors, in catalogue order (all when ``codes`` is empty)."""
    wanted = [_normal(c) for c in codes] if codes else list(CODES)
    by_code = {cls.code: cls for cls in REGISTRY}
    unknown = [c for c in wanted if c not in by_code]
    if unknown:
        from audit.errors import MessageError

        raise MessageError("error.detect_unknown_code", codes=", ".join(unknown), known=", ".join(CODES))
    return [by_code[c]() for c in CODES if c in wanted]


def _normal(code: str) -> str:
    """``dc06``, ``DC06`` and ``dc-06`` all mean DC-06."""
    code = code.strip().upper()
    if "-" not in code and len(code) == 4:
        code = f"{code[:2]}-{code[2:]}"
    return code

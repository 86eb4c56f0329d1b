"""The red-flag catalogue of ``shared/spec/red-flags.md``: every code, its family and title.

This is the contract the detector registry must cover exactly, and the generator's
``truth.json`` must plant: a test fails when either misses a code.
"""

from __future__ import annotations

from dataclasses import dataclass

FAMILIES = {
    "FP": "fictitious or irregular projects (虚假立项)",
    "DC": "false, duplicate and ineligible claims (虚报冒领、重复享受、优亲厚友)",
    "DV": "diversion and misuse (挤占挪用、截留、滞留)",
    "AN": "anomalies",
    "ME": "missed entitlements (应享未享)",
}


@dataclass(frozen=True)
class Flag:
    code: str
    title: str

    @property
    def family(self) -> str:
        return self.code.split("-")[0]


CATALOGUE: tuple[Flag, ...] = (
    Flag("FP-01", "paid before approval"),
    Flag("FP-02", "paid but not accepted"),
    Flag("FP-03", "not disclosed"),
    Flag("FP-04", "duplicate project"),
    Flag("FP-05", "contractor formed for the award"),
    Flag("FP-06", "insider contractor"),
    Flag("FP-07", "payee is not the contractor"),
    Flag("FP-08", "unit-cost outlier"),
    Flag("DC-01", "paid twice"),
    Flag("DC-02", "one person, two identities"),
    Flag("DC-03", "mutually exclusive benefits"),
    Flag("DC-04", "above standard"),
    Flag("DC-05", "not eligible"),
    Flag("DC-06", "paid after death"),
    Flag("DC-07", "well-off beneficiary"),
    Flag("DC-08", "shared or captured card"),
    Flag("DC-09", "reused invoice or voucher"),
    Flag("DC-10", "kin of officials"),
    Flag("DC-11", "owns urban housing or a shop"),
    Flag("DC-12", "paid while detained"),
    Flag("DC-13", "moved or married out, still paid"),
    Flag("DC-14", "household split to qualify"),
    Flag("DC-15", "pension above the line"),
    Flag("DC-16", "household benefit paid to several members"),
    Flag("DC-17", "flat split"),
    Flag("DC-18", "disability benefit without a certificate"),
    Flag("DV-01", "spent off purpose"),
    Flag("DV-02", "overspent"),
    Flag("DV-03", "money reaches insiders"),
    Flag("DV-04", "split payments"),
    Flag("DV-05", "round trip"),
    Flag("DV-06", "idle funds"),
    Flag("DV-07", "card money collected"),
    Flag("DV-08", "reissue to another account"),
    Flag("AN-01", "unusual payment"),
    Flag("AN-02", "Benford deviation"),
    Flag("AN-03", "year-end rush"),
    Flag("ME-01", "eligible but unpaid"),
)

CODES: tuple[str, ...] = tuple(flag.code for flag in CATALOGUE)

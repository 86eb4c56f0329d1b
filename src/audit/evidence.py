"""Findings, evidence steps and case titles as a reader reads them: in their language,
with personal numbers masked unless they may see them.

A stored evidence step is ``{kind, key, message, args, note, fields}``; what a reader gets
adds ``fact``, the message rendered from the catalogue, and has its personal numbers
(in ``key``, ``args``, ``fields`` and the fact itself) masked for a masked reader. Steps
stored before messages existed carry an English ``fact`` only; it is shown as it is
(masked by shape, the best that free text allows).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from audit.detectors.base import yuan
from audit.i18n import enum, money, t
from audit.masking import mask_fields, mask_key, mask_ref, mask_text



def plain_row(row: Any) -> dict[str, Any]:
    """A stored row (a SQLAlchemy row or mapping) as a reviewer reads it: money in yuan
    (``amount_fen`` becomes ``amount``), dates as ISO text, the import batch left out."""
    mapping = row._mapping if hasattr(row, "_mapping") else row
    out: dict[str, Any] = {}
    for name, value in mapping.items():
        if name == "batch_id":
            continue
        if name.endswith("_fen"):
            out[name[:-4]] = None if value is None else yuan(value)
        else:
            out[name] = value.isoformat() if isinstance(value, date) else value
    return out

def fact_text(step: dict[str, Any], lang: str, masked: bool = False) -> str:
    if "message" not in step:
        text = str(step.get("fact", ""))
        return mask_text(text) if masked else text
    args = dict(step.get("args") or {})
    text = t(step["message"], lang, **(mask_fields(args) if masked else args))
    note = step.get("note")
    if note:
        note_args = dict(note.get("args") or {})
        text = t("evidence.with_note", lang, fact=text,
                 note=t(note["message"], lang, **(mask_fields(note_args) if masked else note_args)))
    return text


def render_step(step: dict[str, Any], lang: str, masked: bool) -> dict[str, Any]:
    """A step for output: the fact in ``lang``, numbers masked for a masked reader."""
    out = {k: v for k, v in step.items() if k not in {"fact"}}
    out["fact"] = fact_text(step, lang, masked)
    if masked:
        out["key"] = mask_key(str(step.get("kind", "")), str(step.get("key", "")))
        if "args" in out:
            out["args"] = mask_fields(out["args"] or {})
        if out.get("note"):
            out["note"] = {**out["note"], "args": mask_fields(out["note"].get("args") or {})}
        out["fields"] = mask_fields(step.get("fields") or {})
    return out


# Fields of an evidence step whose values are codes of an enumeration, and which one.
ENUM_FIELDS = {"category": "purpose", "purpose": "purpose", "attribute": "attribute", "relation": "relation",
               "school_stage": "school_stage", "role": "role", "channel": "channel", "source_level": "source_level",
               "acceptance_result": "acceptance", "holder_kind": "holder_kind", "payee_kind": "holder_kind",
               "unit": "unit", "subject_kind": "disclosure_subject"}
ENUM_FIELDS["event"] = "household_event"  # v1.1: a change of the household register
KIND_FIELD = {"kinship": "kinship", "organization": "org_kind"}
KIND_FIELD["real_estate"] = "property_kind"  # v1.1: a property of the real-estate register
# Fields that say nothing a reader needs beside the fact (lists and counts, search tables).
HIDDEN_FIELDS = frozenset({"names", "counts", "table", "households"})
# Fields holding yuan: shown with thousands separators, as every amount is.
MONEY_FIELDS = frozenset({"amount", "budget", "total", "december", "median_per_unit", "standard", "cap",
                          "monthly_amount", "amount_owed"})


# Kinds of step that are not a stored record (a comparison, a search, a feature, a peer
# group): their keys are the machine's notes, not something a reader looks up.
DERIVED_KINDS = frozenset({"search", "comparison", "feature", "peer_group", "paying_unit", "payment_batch",
                           "exclusive_group", "program"})


def key_shown(kind: str, key: str) -> str | None:
    """A step's key as a reader sees it beside the record's kind: a stored record's key
    (the first part of a composite one: the person of a kinship or a vehicle); none for a
    derived step."""
    if kind in DERIVED_KINDS:
        return None
    return key.split("|")[0]


def field_value(step_kind: str, name: str, value: Any, lang: str) -> str | None:
    """A step's field as a reader reads it: codes in words, yes or no; None to leave out."""
    if value is None or value == "" or name in HIDDEN_FIELDS or isinstance(value, list | dict):
        return None
    if isinstance(value, bool):
        return t("cli.yes" if value else "cli.no", lang)
    if name == "kind" and step_kind in KIND_FIELD:
        return enum(KIND_FIELD[step_kind], str(value), lang)
    if name == "status":  # a payment's (v1.1): the treasury's terms differ from the one-card system's
        return enum("disbursement_status" if step_kind == "disbursement" else "payment_status", str(value), lang)
    if name in ENUM_FIELDS:
        return enum(ENUM_FIELDS[name], str(value), lang)
    if name == "feature":
        return t(f"feature.{value}", lang)
    if name in MONEY_FIELDS:
        return money(value)
    return str(value)


def flag_title(code: str, lang: str) -> str:
    return t(f"flag.{code}", lang)


def family_name(family: str, lang: str) -> str:
    return t(f"family.{family}", lang)


def subject_text(kind: str, key: str, label: str | None, lang: str, masked: bool) -> str:
    """Who or what a case is about, as a title reads it: 张三（个人）, 红黄村灌溉渠道修复工程（项目）."""
    shown_key = mask_key(kind, key) if masked else key
    return t("case.subject", lang, kind=kind, label=label or shown_key, key=shown_key)


def case_title(kind: str, key: str, label: str | None, codes: list[str], lang: str, masked: bool) -> str:
    subject = subject_text(kind, key, label, lang, masked)
    if not codes:
        return subject
    flags = [t("case.flag", lang, code=code, title=flag_title(code, lang)) for code in codes]
    return t("case.title", lang, subject=subject, flags=flags)


def label_of(title: str) -> str | None:
    """The label a stored case title starts with (``person 张三: DC-01`` → 张三)."""
    head = title.split(":")[0]
    parts = head.split(" ", 1)
    return parts[1] if len(parts) == 2 else None


def render_finding(finding: dict[str, Any], lang: str, masked: bool) -> dict[str, Any]:
    """A finding in red-flags.md's JSON shape, texts in ``lang``."""
    out = dict(finding)
    out["title"] = flag_title(finding["code"], lang)
    out["family_name"] = family_name(finding.get("family") or finding["code"][:2], lang)
    out["evidence"] = [render_step(step, lang, masked) for step in finding.get("evidence", [])]
    if masked:
        out["subjects"] = [mask_ref(s) for s in finding.get("subjects", [])]
        out["records"] = [mask_ref(r) for r in finding.get("records", [])]
    return out


__all__ = ["case_title", "enum", "fact_text", "flag_title", "render_finding", "render_step", "subject_text"]

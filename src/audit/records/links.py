"""Where a record's page is: evidence steps and lists link to the household, person,
project, organization or official a row is about. No link carries a personal number: a
person is found by household and name, never by ID number."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


def record_link(kind: str, record: dict[str, Any] | None, key: str) -> str | None:
    """The page of the record an evidence step (or a case's subject) names, or None when
    it has none of its own (a derived step, a registry row of someone outside any household)."""
    row = record or {}
    if kind == "household":
        return f"/records/household/{quote(key, safe='')}"
    if kind == "project":
        return f"/records/project/{quote(key, safe='')}"
    if kind == "organization":
        return f"/records/organization/{quote(key, safe='')}"
    if kind == "official":
        return f"/records/official/{quote(key, safe='')}"
    if kind == "person" and row.get("household_id") and row.get("name"):
        return f"/records/person/{quote(str(row['household_id']), safe='')}/{quote(str(row['name']), safe='')}"
    if kind == "card_payment" and row.get("household_id"):
        return f"/records/household/{quote(str(row['household_id']), safe='')}"
    if kind == "disbursement" and row.get("project_id"):
        return f"/records/project/{quote(str(row['project_id']), safe='')}"
    if kind == "account" and row.get("holder_kind") == "org" and row.get("holder_id"):
        return f"/records/organization/{quote(str(row['holder_id']), safe='')}"
    return None

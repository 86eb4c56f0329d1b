"""Evidence steps in plain words, one phrasing per kind of record.

Detectors find the keys of suspicious rows with set-based SQL; :class:`Facts` then loads
the rows that findings name (in bulk, by key) and states each as a reviewer reads it:
amounts in yuan, dates, names. Every step names the table and key it came from, so a
reviewer can open the record and check it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select, tuple_

from audit.detectors.base import Evidence, yuan
from audit.importer.spec import BY_NAME

ROLE_WORDS = {
    "village_secretary": "village party secretary", "village_director": "village committee director",
    "village_committee": "village committee member", "town_official": "town official",
    "assistance_cadre": "assistance cadre", "finance_officer": "finance officer", "approver": "project approver",
}
KIN_WORDS = {"spouse": "spouse", "parent": "parent", "child": "child", "sibling": "sibling", "in_law": "in-law",
             "other": "relative"}


class Facts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: dict[str, dict[Any, Mapping[str, Any]]] = {}

    # ------------------------------------------------------------------ loading

    def load(self, table: str, keys: Iterable[Any]) -> dict[Any, Mapping[str, Any]]:
        """Rows of ``table`` by key (a tuple for composite keys), fetched once each."""
        spec = BY_NAME[table]
        model = spec.model.__table__
        have = self.rows.setdefault(table, {})
        wanted = [k for k in dict.fromkeys(keys) if k not in have]
        key_columns = [model.c[spec.by_name[k].db_name] for k in spec.key]
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            where = key_columns[0].in_(part) if len(key_columns) == 1 else tuple_(*key_columns).in_(part)
            for row in self.conn.execute(select(model).where(where)).mappings():
                key = row[key_columns[0].name] if len(key_columns) == 1 else tuple(row[c.name] for c in key_columns)
                have[key] = row
        return have

    def get(self, table: str, key: Any) -> Mapping[str, Any] | None:
        return self.load(table, [key]).get(key)

    def program_name(self, code: str) -> str:
        row = self.get("programs", code)
        return f"{code} ({row['name']})" if row else code

    # ------------------------------------------------------------------ phrasing

    def card_payment(self, key: str, note: str = "") -> Evidence:
        row = self.get("card_payments", key)
        assert row is not None, key
        fact = (f"paid {yuan(row['amount_fen'])} yuan for {self.program_name(row['program_code'])}, "
                f"period {row['period']}, on {row['paid_on']} to card {row['card_account']} "
                f"by {row['paying_unit']}")
        return Evidence("card_payment", key, fact + (f"; {note}" if note else ""), {
            "amount": yuan(row["amount_fen"]), "program_code": row["program_code"], "period": row["period"],
            "paid_on": row["paid_on"], "id_number": row["id_number"], "household_id": row["household_id"],
            "card_account": row["card_account"], "paying_unit": row["paying_unit"]})

    def disbursement(self, key: str, note: str = "") -> Evidence:
        row = self.get("disbursements", key)
        assert row is not None, key
        target = f"for project {row['project_id']}" if row["project_id"] else "with no project"
        fact = (f"{row['payer_unit']} paid {yuan(row['amount_fen'])} yuan on {row['paid_on']} {target} "
                f"from allocation {row['allocation_id']} to {row['payee_kind']} {row['payee_id']}, "
                f"account {row['payee_account']}")
        return Evidence("disbursement", key, fact + (f"; {note}" if note else ""), {
            "amount": yuan(row["amount_fen"]), "paid_on": row["paid_on"], "project_id": row["project_id"],
            "allocation_id": row["allocation_id"], "payer_unit": row["payer_unit"], "payee_id": row["payee_id"],
            "payee_account": row["payee_account"], "invoice_number": row["invoice_number"],
            "voucher_number": row["voucher_number"], "approved_by": row["approved_by"]})

    def project(self, key: str, note: str = "") -> Evidence:
        row = self.get("projects", key)
        assert row is not None, key
        fact = (f"project {row['name']} in village {row['village_code']} ({row['category']}), budget "
                f"{yuan(row['budget_fen'])} yuan, approved on {row['approved_on']}"
                + (f" by {row['approval_doc']}" if row["approval_doc"] else ""))
        return Evidence("project", key, fact + (f"; {note}" if note else ""), {
            "name": row["name"], "village_code": row["village_code"], "category": row["category"],
            "budget": yuan(row["budget_fen"]), "quantity": row["quantity"], "unit": row["unit"],
            "approved_on": row["approved_on"], "planned_start": row["planned_start"],
            "planned_end": row["planned_end"], "completed_on": row["completed_on"],
            "accepted_on": row["accepted_on"], "acceptance_result": row["acceptance_result"],
            "contractor_uscc": row["contractor_uscc"], "approver_official_id": row["approver_official_id"]})

    def person(self, id_number: str, note: str = "") -> Evidence:
        row = self.get("persons", id_number)
        if row is None:
            return Evidence("person", id_number, f"{id_number} is not a member of any registered household"
                            + (f"; {note}" if note else ""), {"id_number": id_number})
        extra = []
        if row["disability_level"]:
            extra.append(f"disability level {row['disability_level']}")
        if row["school_stage"]:
            extra.append(f"in {row['school_stage']} school" + (", boarding" if row["boarding"] else ", not boarding"))
        fact = (f"{row['name']}, {row['relation']} of household {row['household_id']}, born "
                f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}" + "".join(f", {e}" for e in extra))
        return Evidence("person", id_number, fact + (f"; {note}" if note else ""), {
            "name": row["name"], "household_id": row["household_id"], "relation": row["relation"],
            "disability_level": row["disability_level"], "school_stage": row["school_stage"],
            "boarding": row["boarding"]})

    def household(self, key: str, note: str = "") -> Evidence:
        row = self.get("households", key)
        assert row is not None, key
        exited = f", exited on {row['exited_on']}" if row["exited_on"] else ", not exited"
        fact = (f"household of {row['head_name']} ({row['head_id_number']}) in village {row['village_code']}, "
                f"{row['attribute']}, registered on {row['registered_on']}{exited}, card {row['card_account']}")
        return Evidence("household", key, fact + (f"; {note}" if note else ""), {
            "head_id_number": row["head_id_number"], "head_name": row["head_name"],
            "village_code": row["village_code"], "attribute": row["attribute"],
            "registered_on": row["registered_on"], "exited_on": row["exited_on"], "card_account": row["card_account"]})

    def official(self, key: str, note: str = "") -> Evidence:
        row = self.get("officials", key)
        assert row is not None, key
        term = f"in office since {row['from_on']}" if row["from_on"] else "in office"
        if row["to_on"]:
            term += f" until {row['to_on']}"
        where = f" of village {row['village_code']}" if row["village_code"] else ""
        fact = f"{row['name']} ({row['id_number']}) is {ROLE_WORDS.get(row['role'], row['role'])}{where}, {row['unit']}, {term}"
        return Evidence("official", key, fact + (f"; {note}" if note else ""), {
            "name": row["name"], "id_number": row["id_number"], "role": row["role"], "unit": row["unit"],
            "village_code": row["village_code"], "from_on": row["from_on"], "to_on": row["to_on"]})

    def kinship(self, a: str, b: str, kind: str, names: Mapping[str, str] | None = None) -> Evidence:
        row = self.get("kinship", (a, b, kind))
        source = row["source"] if row and row["source"] else "declared"
        who = names or {}
        fact = (f"{who.get(a, a)} and {who.get(b, b)} are {KIN_WORDS.get(kind, kind)}s"
                if kind in {"spouse", "sibling", "in_law"} else
                f"{who.get(a, a)} and {who.get(b, b)}: {KIN_WORDS.get(kind, kind)} ({source})")
        return Evidence("kinship", f"{a}|{b}|{kind}", fact + f" (source: {source})",
                        {"id_number_a": a, "id_number_b": b, "kind": kind, "source": source})

    def death(self, id_number: str) -> Evidence:
        row = self.get("deaths", id_number)
        assert row is not None, id_number
        return Evidence("death", id_number, f"died on {row['died_on']} ({row['source'] or 'death register'})",
                        {"died_on": row["died_on"], "source": row["source"]})

    def account(self, number: str, note: str = "") -> Evidence:
        row = self.get("accounts", number)
        if row is None:
            return Evidence("account", number, f"account {number} is in no account register" +
                            (f"; {note}" if note else ""), {"account_number": number})
        fact = f"account {number} at {row['bank'] or 'a bank'} is held by {row['holder_kind']} {row['holder_id']}"
        return Evidence("account", number, fact + (f"; {note}" if note else ""), {
            "holder_kind": row["holder_kind"], "holder_id": row["holder_id"], "bank": row["bank"]})

    def transfer(self, key: str) -> Evidence:
        row = self.get("transfers", key)
        assert row is not None, key
        fact = (f"{yuan(row['amount_fen'])} yuan moved on {row['transferred_on']} from account "
                f"{row['from_account']} to {row['to_account']}" + (f" ({row['memo']})" if row["memo"] else ""))
        return Evidence("transfer", key, fact, {
            "amount": yuan(row["amount_fen"]), "transferred_on": row["transferred_on"],
            "from_account": row["from_account"], "to_account": row["to_account"], "memo": row["memo"]})

    def organization(self, uscc: str, note: str = "") -> Evidence:
        row = self.get("organizations", uscc)
        assert row is not None, uscc
        rep = f", legal representative {row['legal_rep_name']} ({row['legal_rep_id_number']})" \
            if row["legal_rep_id_number"] else ""
        fact = f"{row['name']}, a {row['kind']} registered on {row['registered_on']}{rep}"
        return Evidence("organization", uscc, fact + (f"; {note}" if note else ""), {
            "name": row["name"], "kind": row["kind"], "registered_on": row["registered_on"],
            "legal_rep_id_number": row["legal_rep_id_number"], "legal_rep_name": row["legal_rep_name"]})

    def allocation(self, key: str, note: str = "") -> Evidence:
        row = self.get("allocations", key)
        assert row is not None, key
        fact = (f"allocation {row['doc_number']} of {yuan(row['amount_fen'])} yuan for {row['purpose']} "
                f"({row['source_level']}) issued on {row['issued_on']}")
        return Evidence("allocation", key, fact + (f"; {note}" if note else ""), {
            "doc_number": row["doc_number"], "purpose": row["purpose"], "amount": yuan(row["amount_fen"]),
            "issued_on": row["issued_on"], "source_level": row["source_level"]})

    def disclosure(self, key: str, note: str = "") -> Evidence:
        row = self.get("disclosures", key)
        assert row is not None, key
        days = (row["end_on"] - row["start_on"]).days
        fact = (f"notice of {row['subject_ref']} on {row['channel']} from {row['start_on']} to {row['end_on']} "
                f"({days} days)")
        return Evidence("disclosure", key, fact + (f"; {note}" if note else ""), {
            "subject_ref": row["subject_ref"], "channel": row["channel"], "start_on": row["start_on"],
            "end_on": row["end_on"], "days": days})

    def public_employee(self, key: tuple[str, str, Any]) -> Evidence:
        row = self.get("public_employees", key)
        assert row is not None, key
        until = f" until {row['to_on']}" if row["to_on"] else ", still employed"
        return Evidence("public_employee", "|".join(str(k) for k in key),
                        f"{row['name'] or row['id_number']} is on the public payroll of {row['employer']} "
                        f"from {row['from_on']}{until}",
                        {"employer": row["employer"], "from_on": row["from_on"], "to_on": row["to_on"]})

    def vehicle(self, key: tuple[str, str]) -> Evidence:
        row = self.get("vehicles", key)
        assert row is not None, key
        return Evidence("vehicle", "|".join(key), f"{row['vehicle_type'] or 'a vehicle'} {row['plate']} registered "
                        f"to {row['id_number']} on {row['registered_on']}",
                        {"plate": row["plate"], "registered_on": row["registered_on"],
                         "vehicle_type": row["vehicle_type"]})

    def shareholder(self, uscc: str, id_number: str) -> Evidence:
        row = self.get("shareholders", (uscc, id_number))
        assert row is not None, (uscc, id_number)
        share = f" holding {row['share_pct']:g}%" if row["share_pct"] is not None else ""
        return Evidence("shareholder", f"{uscc}|{id_number}", f"{id_number} is a shareholder of {uscc}{share}",
                        {"share_pct": row["share_pct"]})

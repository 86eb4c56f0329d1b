"""Evidence steps, one message per kind of record.

Detectors find the keys of suspicious rows with set-based SQL; :class:`Facts` then loads
the rows that findings name (in bulk, by key) and states each one as a message of the
catalogue with its fields (amounts in yuan, dates, names, codes): the reader's language
renders it later (:mod:`audit.evidence`), and personal numbers among the fields are
masked for readers who may not see them. Every step names the table and key it came
from, so a reviewer can open the record and check it. No step states a birth date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select, tuple_

from audit.detectors.base import Evidence, Msg, msg, yuan
from audit.importer.spec import BY_NAME
from audit.models import Household, Official, Organization, Person, PublicEmployee, Town, Village

# What a step says of someone no table names (a relative known only by an ID number).
UNNAMED = msg("clause.unnamed").as_dict()


class Facts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.rows: dict[str, dict[Any, Mapping[str, Any]]] = {}
        self._places: dict[str, tuple[str, str]] | None = None
        self._names: dict[str, str | None] = {}
        # IDs of card payments loaded since their names were last fetched (so each step's
        # bulk name lookup costs the new rows only, not every row loaded so far).
        self._unnamed: list[str] = []

    # ------------------------------------------------------------------ loading

    def load(self, table: str, keys: Iterable[Any]) -> dict[Any, Mapping[str, Any]]:
        """Rows of ``table`` by key (a tuple for composite keys), fetched once each."""
        spec = BY_NAME[table]
        model = spec.model.__table__
        have = self.rows.setdefault(table, {})
        wanted = [k for k in dict.fromkeys(keys) if k not in have and k is not None]
        key_columns = [model.c[spec.by_name[k].db_name] for k in spec.key]
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            where = key_columns[0].in_(part) if len(key_columns) == 1 else tuple_(*key_columns).in_(part)
            for row in self.conn.execute(select(model).where(where)).mappings():
                key = row[key_columns[0].name] if len(key_columns) == 1 else tuple(row[c.name] for c in key_columns)
                have[key] = row
                if table == "card_payments":
                    self._unnamed.append(row["id_number"])
        return have

    def get(self, table: str, key: Any) -> Mapping[str, Any] | None:
        return self.load(table, [key]).get(key)

    def program_name(self, code: str) -> str:
        row = self.get("programs", code)
        return row["name"] if row else code

    def place(self, village_code: str | None) -> tuple[str, str]:
        """(town name, village name) of a village code; the code itself when unknown."""
        if self._places is None:
            self._places = {row.village_code: (row.town_name, row.village_name) for row in self.conn.execute(
                select(Village.village_code, Village.village_name, Town.town_name)
                .join(Town, Town.town_code == Village.town_code))}
        if village_code is None:
            return ("", "")
        return self._places.get(village_code, ("", village_code))

    def names(self, id_numbers: Iterable[str]) -> dict[str, str | None]:
        """A person's name by ID number, from the register, household heads or officials,
        loaded in bulk (None when no table names them)."""
        wanted = sorted({i for i in id_numbers if i and i not in self._names})
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            found: dict[str, str] = {}
            for query in (select(PublicEmployee.id_number, PublicEmployee.name)
                          .where(PublicEmployee.id_number.in_(part), PublicEmployee.name.is_not(None)),
                          select(Organization.legal_rep_id_number, Organization.legal_rep_name)
                          .where(Organization.legal_rep_id_number.in_(part), Organization.legal_rep_name.is_not(None)),
                          select(Official.id_number, Official.name).where(Official.id_number.in_(part)),
                          select(Household.head_id_number, Household.head_name)
                          .where(Household.head_id_number.in_(part)),
                          select(Person.id_number, Person.name).where(Person.id_number.in_(part))):
                found.update({i: n for i, n in self.conn.execute(query)})
            for id_number in part:
                self._names[id_number] = found.get(id_number)
        return self._names

    def name_of(self, id_number: str | None) -> str | None:
        if not id_number:
            return None
        return self.names([id_number]).get(id_number)

    def who(self, id_number: str | None, known: str | None = None) -> Any:
        """A person's name for a message, or the words for someone unnamed."""
        return known or self.name_of(id_number) or UNNAMED

    def org_name(self, uscc: str | None) -> str | None:
        if not uscc:
            return None
        row = self.get("organizations", uscc)
        return row["name"] if row else None

    def payee(self, kind: str, payee_id: str) -> Any:
        """A payee's name for a message (an organization's or a person's)."""
        return (self.org_name(payee_id) if kind == "org" else self.name_of(payee_id)) or UNNAMED

    # ------------------------------------------------------------------ phrasing

    def card_payment(self, key: str, note: Msg | None = None) -> Evidence:
        row = self.get("card_payments", key)
        assert row is not None, key
        # One query for the names of every payment loaded so far, not one per step.
        if self._unnamed:
            self.names(self._unnamed)
            self._unnamed = []
        fields = {"amount": yuan(row["amount_fen"]), "program_code": row["program_code"], "period": row["period"],
                  "paid_on": row["paid_on"], "id_number": row["id_number"], "household_id": row["household_id"],
                  "card_account": row["card_account"], "paying_unit": row["paying_unit"]}
        said = dict(amount=fields["amount"], program=self.program_name(row["program_code"]),
                    period=row["period"], paid_on=row["paid_on"], card_account=row["card_account"],
                    paying_unit=row["paying_unit"], beneficiary=self.who(row["id_number"]), id_number=row["id_number"])
        status, reissue_of = row.get("status") or "paid", row.get("reissue_of")
        if status == "paid" and not reissue_of:
            return Evidence("card_payment", key, msg("evidence.card_payment", **said), fields, note)
        # A payment that moved no money, or pays another again: its status and the one it
        # reissues are part of the fact (a reviewer sees why a reissue is, or is not, a
        # second payment).
        fields.update(status=status, failure_reason=row.get("failure_reason"), reissue_of=reissue_of)
        extras = ([msg("clause.failure_reason", reason=row["failure_reason"]).as_dict()]
                  if row.get("failure_reason") else [])
        extras += [msg("clause.reissue_of", payment_id=reissue_of).as_dict()] if reissue_of else []
        return Evidence("card_payment", key, msg("evidence.card_payment_status", **said, status=status,
                                                 extras=extras), fields, note)

    def disbursement(self, key: str, note: Msg | None = None) -> Evidence:
        row = self.get("disbursements", key)
        assert row is not None, key
        project = self.get("projects", row["project_id"]) if row["project_id"] else None
        message = msg("evidence.disbursement" if row["project_id"] else "evidence.disbursement_no_project",
                      payer_unit=row["payer_unit"], amount=yuan(row["amount_fen"]), paid_on=row["paid_on"],
                      project_id=row["project_id"], project=project["name"] if project else row["project_id"],
                      allocation_id=row["allocation_id"],
                      payee=self.payee(row["payee_kind"], row["payee_id"]), payee_kind=row["payee_kind"],
                      payee_id=row["payee_id"], payee_account=row["payee_account"])
        return Evidence("disbursement", key, message, {
            "amount": yuan(row["amount_fen"]), "paid_on": row["paid_on"], "project_id": row["project_id"],
            "allocation_id": row["allocation_id"], "payer_unit": row["payer_unit"], "payee_kind": row["payee_kind"],
            "payee_id": row["payee_id"], "payee_account": row["payee_account"],
            "invoice_number": row["invoice_number"], "voucher_number": row["voucher_number"],
            "approved_by": row["approved_by"],
            # v1.1, where it says more than "paid": returned, or a correction of another.
            **({"status": row["status"]} if row.get("status") not in (None, "paid") else {}),
            **({"correction_of": row["correction_of"]} if row.get("correction_of") else {})}, note)

    def project(self, key: str, note: Msg | None = None) -> Evidence:
        row = self.get("projects", key)
        assert row is not None, key
        town, village = self.place(row["village_code"])
        message = msg("evidence.project", name=row["name"], project_id=key, town=town, village=village,
                      category=row["category"], budget=yuan(row["budget_fen"]), approved_on=row["approved_on"],
                      approval_doc=row["approval_doc"] or "", contractor=self.org_name(row["contractor_uscc"]) or "")
        return Evidence("project", key, message, {
            "name": row["name"], "village_code": row["village_code"], "category": row["category"],
            "budget": yuan(row["budget_fen"]), "quantity": row["quantity"], "unit": row["unit"],
            "approved_on": row["approved_on"], "planned_start": row["planned_start"],
            "planned_end": row["planned_end"], "completed_on": row["completed_on"],
            "accepted_on": row["accepted_on"], "acceptance_result": row["acceptance_result"],
            "contractor_uscc": row["contractor_uscc"], "approver_official_id": row["approver_official_id"]}, note)

    def person(self, id_number: str, note: Msg | None = None) -> Evidence:
        row = self.get("persons", id_number)
        if row is None:
            return Evidence("person", id_number, msg("evidence.person_unregistered", id_number=id_number,
                                                     name=self.who(id_number)),
                            {"id_number": id_number}, note)
        extras: list[dict[str, Any]] = []
        if row["disability_level"]:
            extras.append(msg("clause.disability_level", level=row["disability_level"]).as_dict())
        if row["school_stage"]:
            extras.append(msg("clause.boarding" if row["boarding"] else "clause.not_boarding",
                              stage=row["school_stage"]).as_dict())
        home = self.get("households", row["household_id"])
        town, village = self.place(home["village_code"] if home else None)
        message = msg("evidence.person", name=row["name"], id_number=id_number, relation=row["relation"],
                      household_id=row["household_id"], head=home["head_name"] if home else "", town=town,
                      village=village, extras=extras)
        return Evidence("person", id_number, message, {
            "name": row["name"], "household_id": row["household_id"], "relation": row["relation"],
            "disability_level": row["disability_level"], "school_stage": row["school_stage"],
            "boarding": row["boarding"]}, note)

    def household(self, key: str, note: Msg | None = None) -> Evidence:
        row = self.get("households", key)
        assert row is not None, key
        town, village = self.place(row["village_code"])
        exit_clause = (msg("clause.exited_on", exited_on=row["exited_on"]) if row["exited_on"]
                       else msg("clause.not_exited"))
        message = msg("evidence.household", head_name=row["head_name"], household_id=key,
                      head_id_number=row["head_id_number"], town=town, village=village, attribute=row["attribute"],
                      registered_on=row["registered_on"], exit=exit_clause.as_dict(),
                      card_account=row["card_account"] or "")
        return Evidence("household", key, message, {
            "head_id_number": row["head_id_number"], "head_name": row["head_name"],
            "village_code": row["village_code"], "attribute": row["attribute"],
            "registered_on": row["registered_on"], "exited_on": row["exited_on"], "card_account": row["card_account"]},
            note)

    def official(self, key: str, note: Msg | None = None) -> Evidence:
        row = self.get("officials", key)
        assert row is not None, key
        where = []
        if row["village_code"]:
            town, village = self.place(row["village_code"])
            where.append(msg("clause.of_village", town=town, village=village).as_dict())
        message = msg("evidence.official" if row["to_on"] else "evidence.official_serving", name=row["name"],
                      id_number=row["id_number"], role=row["role"], unit=row["unit"] or "", where=where,
                      from_on=row["from_on"] or "—", to_on=row["to_on"])
        return Evidence("official", key, message, {
            "name": row["name"], "id_number": row["id_number"], "role": row["role"], "unit": row["unit"],
            "village_code": row["village_code"], "from_on": row["from_on"], "to_on": row["to_on"]}, note)

    def kinship(self, a: str, b: str, kind: str, names: Mapping[str, str] | None = None) -> Evidence:
        row = self.get("kinship", (a, b, kind))
        source = row["source"] if row and row["source"] else None
        known = dict(names or {})
        message = msg("evidence.kinship" if source else "evidence.kinship_declared",
                      name_a=self.who(a, known.get(a)), id_number_a=a,
                      name_b=self.who(b, known.get(b)), id_number_b=b, kind=kind, source=source)
        return Evidence("kinship", f"{a}|{b}|{kind}", message,
                        {"id_number_a": a, "id_number_b": b, "kind": kind, "source": source})

    def death(self, id_number: str) -> Evidence:
        row = self.get("deaths", id_number)
        assert row is not None, id_number
        message = msg("evidence.death" if row["source"] else "evidence.death_registered", died_on=row["died_on"],
                      source=row["source"])
        return Evidence("death", id_number, message, {"died_on": row["died_on"], "source": row["source"]})

    def real_estate(self, key: tuple[str, str], note: Msg | None = None) -> Evidence:
        """A property of the real-estate register (不动产登记, v1.1): whose, what, where,
        since when and, if sold or transferred, until when."""
        row = self.get("real_estate", key)
        assert row is not None, key
        message = msg("evidence.real_estate_deregistered" if row["deregistered_on"] else "evidence.real_estate",
                      name=self.who(row["id_number"]), id_number=row["id_number"], kind=row["kind"],
                      property_id=row["property_id"], location=row["location"] or "—",
                      area=f"{row['area_m2']:g}" if row["area_m2"] is not None else "—",
                      registered_on=row["registered_on"], deregistered_on=row["deregistered_on"])
        return Evidence("real_estate", "|".join(key), message, {
            "kind": row["kind"], "property_id": row["property_id"], "location": row["location"],
            "area_m2": row["area_m2"], "registered_on": row["registered_on"],
            "deregistered_on": row["deregistered_on"]}, note)

    def household_event(self, key: tuple[str, str, Any], message_id: str, household_id: str | None = None,
                        note: Msg | None = None) -> Evidence:
        """A change of the household register (户籍变动, v1.1) as ``message_id`` states it;
        ``household_id`` names the household meant where the row names none."""
        row = self.get("household_events", key)
        assert row is not None, key
        leaving = row["event"] in ("move_out", "marry_out")
        message = msg(message_id, name=self.who(row["id_number"]), id_number=row["id_number"], event=row["event"],
                      event_on=row["event_on"],
                      from_household=row["from_household"] or (household_id if leaving else None) or "—",
                      to_household=row["to_household"] or (None if leaving else household_id) or "—",
                      place=row["place"] or "—")
        return Evidence("household_event", f"{row['id_number']}|{row['event']}|{row['event_on'].isoformat()}",
                        message, {"event": row["event"], "event_on": row["event_on"],
                                  "from_household": row["from_household"], "to_household": row["to_household"],
                                  "place": row["place"]}, note)

    def account(self, number: str, note: Msg | None = None) -> Evidence:
        row = self.get("accounts", number)
        if row is None:
            return Evidence("account", number, msg("evidence.account_unregistered", account_number=number),
                            {"account_number": number}, note)
        holder = self.org_name(row["holder_id"]) if row["holder_kind"] == "org" else self.name_of(row["holder_id"])
        message = msg("evidence.account", account_number=number, bank=row["bank"] or "",
                      holder=holder or UNNAMED, holder_kind=row["holder_kind"], holder_id=row["holder_id"])
        return Evidence("account", number, message, {
            "holder_kind": row["holder_kind"], "holder_id": row["holder_id"], "bank": row["bank"]}, note)

    def transfer(self, key: str) -> Evidence:
        row = self.get("transfers", key)
        assert row is not None, key
        message = msg("evidence.transfer" if row["memo"] else "evidence.transfer_no_memo",
                      amount=yuan(row["amount_fen"]), transferred_on=row["transferred_on"],
                      from_account=row["from_account"], to_account=row["to_account"], memo=row["memo"])
        return Evidence("transfer", key, message, {
            "amount": yuan(row["amount_fen"]), "transferred_on": row["transferred_on"],
            "from_account": row["from_account"], "to_account": row["to_account"], "memo": row["memo"]})

    def organization(self, uscc: str, note: Msg | None = None) -> Evidence:
        row = self.get("organizations", uscc)
        assert row is not None, uscc
        message = msg("evidence.organization_with_rep" if row["legal_rep_id_number"] else "evidence.organization",
                      name=row["name"], uscc=uscc, kind=row["kind"], registered_on=row["registered_on"] or "—",
                      legal_rep_name=self.who(row["legal_rep_id_number"], row["legal_rep_name"]),
                      legal_rep_id_number=row["legal_rep_id_number"])
        return Evidence("organization", uscc, message, {
            "name": row["name"], "kind": row["kind"], "registered_on": row["registered_on"],
            "legal_rep_id_number": row["legal_rep_id_number"], "legal_rep_name": row["legal_rep_name"]}, note)

    def allocation(self, key: str, note: Msg | None = None) -> Evidence:
        row = self.get("allocations", key)
        assert row is not None, key
        message = msg("evidence.allocation", doc_number=row["doc_number"], allocation_id=key,
                      amount=yuan(row["amount_fen"]), purpose=row["purpose"], source_level=row["source_level"],
                      issued_on=row["issued_on"])
        return Evidence("allocation", key, message, {
            "doc_number": row["doc_number"], "purpose": row["purpose"], "amount": yuan(row["amount_fen"]),
            "issued_on": row["issued_on"], "source_level": row["source_level"]}, note)

    def disclosure(self, key: str, note: Msg | None = None) -> Evidence:
        row = self.get("disclosures", key)
        assert row is not None, key
        days = (row["end_on"] - row["start_on"]).days
        message = msg("evidence.disclosure", subject_ref=row["subject_ref"], channel=row["channel"],
                      start_on=row["start_on"], end_on=row["end_on"], days=days)
        return Evidence("disclosure", key, message, {
            "subject_ref": row["subject_ref"], "channel": row["channel"], "start_on": row["start_on"],
            "end_on": row["end_on"], "days": days}, note)

    def public_employee(self, key: tuple[str, str, Any]) -> Evidence:
        row = self.get("public_employees", key)
        assert row is not None, key
        message = msg("evidence.public_employee" if row["to_on"] else "evidence.public_employee_serving",
                      name=self.who(row["id_number"], row["name"]), id_number=row["id_number"],
                      employer=row["employer"], from_on=row["from_on"], to_on=row["to_on"])
        return Evidence("public_employee", "|".join(str(k) for k in key), message,
                        {"employer": row["employer"], "from_on": row["from_on"], "to_on": row["to_on"]})

    def vehicle(self, key: tuple[str, str]) -> Evidence:
        row = self.get("vehicles", key)
        assert row is not None, key
        message = msg("evidence.vehicle", vehicle_type=row["vehicle_type"] or "", plate=row["plate"],
                      registered_on=row["registered_on"], name=self.who(row["id_number"]),
                      id_number=row["id_number"])
        return Evidence("vehicle", "|".join(key), message, {
            "plate": row["plate"], "registered_on": row["registered_on"], "vehicle_type": row["vehicle_type"]})

    def shareholder(self, uscc: str, id_number: str) -> Evidence:
        row = self.get("shareholders", (uscc, id_number))
        assert row is not None, (uscc, id_number)
        message = msg("evidence.shareholder" if row["share_pct"] is not None else "evidence.shareholder_no_share",
                      name=self.who(id_number), id_number=id_number, organization=self.org_name(uscc) or uscc,
                      uscc=uscc, share_pct=f"{row['share_pct']:g}" if row["share_pct"] is not None else None)
        return Evidence("shareholder", f"{uscc}|{id_number}", message, {"share_pct": row["share_pct"]})

"""Who has power over which money, and their kin, as red-flags.md reads it.

Power over money (FP-06, DC-10, DV-03): a project's approver; the village cadres
(``village_*`` roles) of the project's or the household's village; the finance officers
whose ``unit`` is the paying unit; the official in a disbursement's ``approved_by``. Each
counts only while in office. Their kin count as they do; kinship is symmetric and one
declared relation deep. The kinship graph is a networkx graph of ID numbers whose edges
carry the kinship row they come from, so a path is evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any

import networkx as nx
from sqlalchemy import Connection, select

from audit.models import Kinship, Official

VILLAGE_ROLES = ("village_secretary", "village_director", "village_committee")


class Power:
    def __init__(self, conn: Connection) -> None:
        self.officials: dict[str, Mapping[str, Any]] = {
            row.official_id: row._mapping for row in conn.execute(select(
                Official.official_id, Official.id_number, Official.name, Official.role, Official.unit,
                Official.village_code, Official.from_on, Official.to_on))}
        self.cadres_of_village: dict[str, list[str]] = defaultdict(list)
        self.finance_of_unit: dict[str, list[str]] = defaultdict(list)
        self.by_person: dict[str, list[str]] = defaultdict(list)
        for official_id, row in self.officials.items():
            self.by_person[row["id_number"]].append(official_id)
            if row["role"] in VILLAGE_ROLES and row["village_code"]:
                self.cadres_of_village[row["village_code"]].append(official_id)
            if row["role"] == "finance_officer" and row["unit"]:
                self.finance_of_unit[row["unit"]].append(official_id)
        self.kin = nx.Graph()
        for a, b, kind in conn.execute(select(Kinship.id_number_a, Kinship.id_number_b, Kinship.kind)):
            self.kin.add_edge(a, b, kinship=(a, b, kind))

    @classmethod
    def of(cls, conn: Connection, cache: dict[str, Any]) -> Power:
        if "power" not in cache:
            cache["power"] = cls(conn)
        return cache["power"]

    def in_office(self, official_id: str, on: date) -> bool:
        row = self.officials[official_id]
        return (row["from_on"] is None or row["from_on"] <= on) and (row["to_on"] is None or on <= row["to_on"])

    def holders(self, *, village: str | None = None, unit: str | None = None,
                official_ids: tuple[str | None, ...] = (), on: date) -> dict[str, str]:
        """Officials with power over money of this village / paying unit, in office on ``on``:
        {official_id: why}, why being a message id."""
        found: dict[str, str] = {}
        for official_id in self.cadres_of_village.get(village or "", []):
            found[official_id] = "power.village_cadre"
        for official_id in self.finance_of_unit.get(unit or "", []):
            found[official_id] = "power.finance_officer"
        for official_id in official_ids:
            if official_id and official_id in self.officials:
                found.setdefault(official_id, "power.approved")
        return {k: why for k, why in found.items() if self.in_office(k, on)}

    def insiders(self, holders: dict[str, str]) -> dict[str, tuple[str, tuple[str, str, str] | None]]:
        """ID numbers that count as the holders do: {id_number: (official_id, kinship row or None)}."""
        people: dict[str, tuple[str, tuple[str, str, str] | None]] = {}
        for official_id in holders:
            person = self.officials[official_id]["id_number"]
            people.setdefault(person, (official_id, None))
            if person in self.kin:
                for relative in self.kin.neighbors(person):
                    people.setdefault(relative, (official_id, self.kin.edges[person, relative]["kinship"]))
        return people

"""The money-flow graph shared by DV-03 and DV-05: accounts as nodes, bank transfers as
edges (a networkx MultiDiGraph built from the five transfer columns it needs), and
time-respecting paths out of an account: each hop no earlier than the one before, all
within a window that starts when the money arrived.

DV-07 (card money collected) asks a narrower question of the same statements: which card
accounts sent a program's payment on to one account within days. It reads only the
transfers that leave card accounts paid in its windows, in SQL, and shares the officials
(:class:`~audit.detectors.power.Power`) through the run's cache, not this whole graph."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import networkx as nx
from sqlalchemy import Connection, select

from audit.models import Account, Organization, Transfer


@dataclass(frozen=True)
class Hop:
    transfer_id: str
    source: str
    target: str
    on: date
    amount_fen: int


class MoneyFlow:
    def __init__(self, conn: Connection, as_of: date) -> None:
        self.graph = nx.MultiDiGraph()
        for row in conn.execute(select(Transfer.transfer_id, Transfer.from_account, Transfer.to_account,
                                       Transfer.transferred_on, Transfer.amount_fen)
                                .where(Transfer.transferred_on <= as_of)):
            self.graph.add_edge(row.from_account, row.to_account, key=row.transfer_id,
                                hop=Hop(row.transfer_id, row.from_account, row.to_account, row.transferred_on,
                                        row.amount_fen))
        self.holder: dict[str, tuple[str, str]] = {
            row.account_number: (row.holder_kind, row.holder_id)
            for row in conn.execute(select(Account.account_number, Account.holder_kind, Account.holder_id))}
        self.accounts_of: dict[str, list[str]] = {}
        for account, (_, holder) in self.holder.items():
            self.accounts_of.setdefault(holder, []).append(account)
        self.org_by_name: dict[str, str] = {
            row.name: row.uscc for row in conn.execute(select(Organization.name, Organization.uscc))}

    @classmethod
    def of(cls, conn: Connection, as_of: date, cache: dict[str, Any]) -> MoneyFlow:
        key = f"money_flow:{as_of}"
        if key not in cache:
            cache[key] = cls(conn, as_of)
        return cache[key]

    def paths(self, start: str, since: date, window_days: int, max_hops: int) -> Iterator[list[Hop]]:
        """Every simple time-respecting path of 1..max_hops transfers out of ``start``."""
        if start not in self.graph:
            return
        until = since + timedelta(days=window_days)
        stack: list[tuple[str, date, list[Hop]]] = [(start, since, [])]
        while stack:
            account, earliest, path = stack.pop()
            if len(path) == max_hops:
                continue
            visited = {start} | {hop.target for hop in path}
            for _, target, data in self.graph.out_edges(account, data=True):
                hop: Hop = data["hop"]
                if hop.on < earliest or hop.on > until:
                    continue
                extended = [*path, hop]
                yield extended
                if target not in visited:
                    stack.append((target, hop.on, extended))

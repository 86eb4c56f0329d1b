"""The detector contract.

A detector is a class with a ``code`` from the catalogue, a ``title``, a ``version`` (bump
it when its logic changes) and ``defaults`` (its settings). ``run(context)`` yields
:class:`Found` items: who the finding is about (subjects), the rows that are suspicious
themselves (records, each with the money at risk on it), an ordered evidence chain that a
reviewer can follow record by record, and a score in [0, 1]. Detectors query the store
set-based through ``context.conn``; they never write.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import Connection, Select, false, select, true
from sqlalchemy.sql.elements import ColumnElement

from audit.detectors.catalogue import CATALOGUE
from audit.detectors.moved import CardPayment, Disbursement

# The key column of each kind of line a pre-release check can hold.
CANDIDATE_KEYS: dict[str, Any] = {"disbursement": Disbursement.disbursement_id, "card_payment": CardPayment.payment_id}
# Above this many candidates a check reads the whole store instead, as a scan does (the
# result is the same, only slower): a longer IN list would cost more than it saves, and
# SQLite caps the number of bound values in one statement.
NARROW_LIMIT = 10_000


def yuan(fen: int | None) -> str:
    """Fen as a yuan string with two decimals, the way a finding states money."""
    fen = int(fen or 0)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def fen_of(text: str) -> int:
    """A yuan string back to fen, exactly (no float on the way)."""
    from decimal import Decimal

    return int(Decimal(text) * 100)


@dataclass(frozen=True)
class Ref:
    """A stored row (kind = interchange table, singular) or a derived thing a finding names."""

    kind: str
    key: str
    label: str | None = None  # a name to show beside the key (a person's, a project's)
    amount_fen: int | None = None  # money at risk on this record, for case totals

    def as_dict(self) -> dict[str, str]:
        out = {"kind": self.kind, "key": self.key}
        if self.label:
            out["label"] = self.label
        if self.amount_fen is not None:
            out["amount"] = yuan(int(self.amount_fen))
        return out


@dataclass(frozen=True)
class Msg:
    """A message of the catalogue (:mod:`audit.i18n`) and its fields: how a detector
    states a fact without writing a sentence in any one language."""

    id: str
    args: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"message": self.id, "args": {k: _plain(v) for k, v in self.args.items()}}


def msg(message_id: str, **args: Any) -> Msg:
    return Msg(message_id, args)


@dataclass(frozen=True)
class Evidence:
    """One step of an evidence chain: the record it names (``kind``, ``key``), the fact
    as a message with its fields, an optional note (what this step shows in this
    finding), and the record's fields that matter."""

    kind: str
    key: str
    message: Msg
    fields: dict[str, Any] = field(default_factory=dict)
    note: Msg | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, **self.message.as_dict(),
                "note": self.note.as_dict() if self.note else None,
                "fields": {k: _plain(v) for k, v in self.fields.items()}}

    @property
    def fact(self) -> str:
        """The fact in English (for logs and tests; readers get their own language)."""
        from audit.evidence import fact_text

        return fact_text(self.as_dict(), "en")


def _plain(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        # PostgreSQL's SUM over BIGINT comes back as a Decimal; it is whole, or kept exact.
        return int(value) if value == value.to_integral_value() else str(value)
    return value


@dataclass
class Found:
    subjects: list[Ref]
    records: list[Ref]
    evidence: list[Evidence]
    score: float
    amount_at_risk_fen: int = 0
    # Money owed to a household (the ME family: an entitlement not paid), summed apart
    # from money at risk and never added into it.
    amount_owed_fen: int = 0

    def __post_init__(self) -> None:
        if not self.records or not self.subjects or not self.evidence:
            raise ValueError("a finding names its subjects, its records and its evidence")
        self.score = round(min(1.0, max(0.0, float(self.score))), 3)
        self.amount_at_risk_fen = int(self.amount_at_risk_fen)
        self.amount_owed_fen = int(self.amount_owed_fen)


@dataclass
class Context:
    conn: Connection
    as_of: date
    settings: dict[str, Any]
    # Built once per run and shared by detectors that need the same graph or lookup.
    cache: dict[str, Any] = field(default_factory=dict)
    # A pre-release check's candidate lines by kind ({"card_payment": {...}}); detectors
    # may skip work that cannot name them. None in a batch scan.
    focus: dict[str, set[str]] | None = None

    def wants(self, kind: str) -> bool:
        return self.focus is None or bool(self.focus.get(kind))

    def _narrowing_keys(self, kind: str) -> list[str] | None:
        """The candidate keys of ``kind`` a check narrows by; None in a scan, or when there
        are too many candidates to narrow by (then the whole store is read)."""
        if self.focus is None:
            return None
        keys = sorted(self.focus.get(kind) or ())
        return None if len(keys) > NARROW_LIMIT else keys

    def candidate_values(self, kind: str, via: Select[Any]) -> list[Any] | None:
        """The values a one-column SELECT over the candidates' table gives for this check's
        candidate lines of ``kind`` (their cards, households...), read once per check;
        None when the check does not narrow (see :meth:`_narrowing_keys`)."""
        keys = self._narrowing_keys(kind)
        if keys is None:
            return None
        cached = self.cache.setdefault("candidate_values", {})
        memo = (kind, str(via))
        if memo not in cached:
            found = self.conn.execute(via.where(CANDIDATE_KEYS[kind].in_(keys))).scalars() if keys else []
            cached[memo] = sorted({value for value in found if value is not None})
        return cached[memo]

    def among(self, kind: str, column: Any, via: Any = None) -> ColumnElement[bool]:
        """A filter that leaves a scan whole and narrows a check to the rows that can be
        part of a finding naming one of its candidate lines of ``kind``: rows whose
        ``column`` is a candidate's key, or, with ``via`` (a column of the candidates'
        own table, or a SELECT of one column over it), rows whose ``column`` equals that
        value for some candidate (the same project, payee, invoice, person, household...).
        Findings are the same either way; a check just reads a few rows instead of the
        whole store."""
        keys = self._narrowing_keys(kind)
        if keys is None:
            return true()
        if not keys:
            return false()
        if via is None:
            return column.in_(keys)
        if isinstance(via, Select):
            # Read first and passed as values: an IN over a joined subquery can lead the
            # planner to a poor plan, and a handful of literal values never does.
            values = self.candidate_values(kind, via)
            return column.in_(values) if values else false()
        # correlate(None): the subquery reads the candidates' table afresh, never the
        # outer query's row of the same table.
        return column.in_(select(via).where(CANDIDATE_KEYS[kind].in_(keys)).correlate(None))

class Detector:
    code: ClassVar[str]
    title: ClassVar[str]
    version: ClassVar[int] = 1
    defaults: ClassVar[dict[str, Any]] = {}
    # Coverage (what a run reports of each rule): the kind of record the rule judges, the
    # tables it compares them with (without any one of them it sees nothing), and tables
    # of which it needs at least one (DC-07: payroll, vehicles or companies' shareholders).
    judges: ClassVar[str] = "card_payment"
    needs: ClassVar[tuple[str, ...]] = ()
    needs_any: ClassVar[tuple[str, ...]] = ()
    # A setting whose default is a list takes its items from an enumeration of the importer
    # (a code, or a Chinese term for one): {setting: enumeration} (DC-11's property kinds).
    choices: ClassVar[dict[str, Any]] = {}

    @property
    def family(self) -> str:
        return self.code.split("-")[0]

    def run(self, context: Context) -> Iterator[Found]:
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        titles = {flag.code: flag.title for flag in CATALOGUE}
        if cls.code not in titles:
            raise TypeError(f"{cls.__name__}: {cls.code} is not a code of the catalogue")
        cls.title = titles[cls.code]

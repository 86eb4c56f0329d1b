"""Small SQL pieces that differ between SQLite (dates stored as ISO text) and PostgreSQL
(dates as DATE), so each detector's query is written once and runs on both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer, String, case, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement[int]):  # noqa: N801 - reads as SQL
    """Whole days from the first date to the second (second minus first)."""

    type = Integer()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"CAST(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_postgres(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"(({compiler.process(end, **kw)})::date - ({compiler.process(start, **kw)})::date)"


class add_days(FunctionElement[Any]):  # noqa: N801
    """A date plus a whole number of days."""

    type = Date()
    inherit_cache = True


@compiles(add_days, "sqlite")
def _add_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"date({compiler.process(day, **kw)}, printf('%+d days', {compiler.process(days, **kw)}))"


@compiles(add_days, "postgresql")
def _add_postgres(element: add_days, compiler: Any, **kw: Any) -> str:
    day, days = list(element.clauses)
    return f"(({compiler.process(day, **kw)})::date + ({compiler.process(days, **kw)})::integer)"


class period_start(FunctionElement[Any]):  # noqa: N801
    """The first day of a period string: ``2017`` → 2017-01-01, ``2017-03`` → 2017-03-01."""

    type = Date()
    inherit_cache = True


@compiles(period_start, "sqlite")
def _period_sqlite(element: period_start, compiler: Any, **kw: Any) -> str:
    (period,) = list(element.clauses)
    text = compiler.process(period, **kw)
    return f"(CASE WHEN length({text}) = 4 THEN {text} || '-01-01' ELSE {text} || '-01' END)"


@compiles(period_start, "postgresql")
def _period_postgres(element: period_start, compiler: Any, **kw: Any) -> str:
    (period,) = list(element.clauses)
    text = compiler.process(period, **kw)
    return f"(CASE WHEN length({text}) = 4 THEN {text} || '-01-01' ELSE {text} || '-01' END)::date"


class period_end(FunctionElement[Any]):  # noqa: N801
    """The last day of a period string: ``2017`` → 2017-12-31, ``2017-02`` → 2017-02-28."""

    type = Date()
    inherit_cache = True


@compiles(period_end, "sqlite")
def _period_end_sqlite(element: period_end, compiler: Any, **kw: Any) -> str:
    (period,) = list(element.clauses)
    text = compiler.process(period, **kw)
    return (f"(CASE WHEN length({text}) = 4 THEN {text} || '-12-31' "
            f"ELSE date({text} || '-01', '+1 month', '-1 day') END)")


@compiles(period_end, "postgresql")
def _period_end_postgres(element: period_end, compiler: Any, **kw: Any) -> str:
    (period,) = list(element.clauses)
    text = compiler.process(period, **kw)
    return (f"(CASE WHEN length({text}) = 4 THEN ({text} || '-12-31')::date "
            f"ELSE (({text} || '-01')::date + interval '1 month' - interval '1 day')::date END)")


def year_of(column: ColumnElement[Any]) -> ColumnElement[int]:
    return func.cast(func.extract("year", column), Integer)


def month_of(column: ColumnElement[Any]) -> ColumnElement[int]:
    return func.cast(func.extract("month", column), Integer)


def in_pipe_list(value: ColumnElement[Any], pipe_list: ColumnElement[Any]) -> ColumnElement[bool]:
    """``value`` is one of the items of a ``a|b|c`` column (empty list = every value)."""
    wrapped = literal("|", String) + pipe_list + literal("|", String)
    return wrapped.like(literal("%|", String) + value + literal("|%", String))


def as_date_param(value: Any) -> Any:
    return literal(value, Date)


__all__ = ["add_days", "as_date_param", "case", "days_between", "in_pipe_list", "month_of", "period_start", "year_of"]


class bytewise(FunctionElement[str]):  # noqa: N801
    """A text column compared byte by byte (code point order), not by the database's locale:
    grouping or sorting millions of keys under a locale's collation costs several times as
    much, and the order is then the same on both databases (SQLite's BINARY already is)."""

    type = String()
    inherit_cache = True


@compiles(bytewise, "sqlite")
def _bytewise_sqlite(element: bytewise, compiler: Any, **kw: Any) -> str:
    (column,) = list(element.clauses)
    return compiler.process(column, **kw)


@compiles(bytewise, "postgresql")
def _bytewise_postgres(element: bytewise, compiler: Any, **kw: Any) -> str:
    (column,) = list(element.clauses)
    return f'(({compiler.process(column, **kw)}) COLLATE "C")'


class ValueLists:
    """Long lists of keys in a WHERE (a detector that found its few thousand people first,
    then reads their rows): chunks of 500 bound as ``IN (…)`` on SQLite, chunks of 20,000
    bound as one array (``= ANY(:keys)``) on PostgreSQL, where a statement of 500 expanded
    parameters costs more to build and parse than to run (ME-01 at 100,000 households sent
    900 of them: a third of its time)."""

    def __init__(self, conn: Any) -> None:
        self.postgres = conn.dialect.name == "postgresql"
        self.size = 20_000 if self.postgres else 500

    def chunks(self, items: Any) -> Any:
        """The distinct items, sorted, in lists of the dialect's size."""
        ordered = sorted(set(items))
        for start in range(0, len(ordered), self.size):
            yield ordered[start:start + self.size]

    def among(self, column: Any, part: list[Any]) -> Any:
        """``column`` is one of ``part`` (strings)."""
        if self.postgres:
            from sqlalchemy import any_, bindparam
            from sqlalchemy.dialects.postgresql import ARRAY

            return column == any_(bindparam(None, part, type_=ARRAY(String())))
        return column.in_(part)

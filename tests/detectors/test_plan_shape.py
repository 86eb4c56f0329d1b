"""The shape of the detectors' plans on PostgreSQL: reduce first, then join.

Every detector's every query is run under EXPLAIN ANALYZE on the shipped county and held
to one bound: no step of it yields more rows than the tables it scans hold together (each
scan counted; a union of two scans of the payments may yield both, a join that multiplies
rows may not). That is the shape that wrote 63 GB of temporary files at a million payments.

The rules that compare payments with a register are held to more. Each finds the few
people (or cards) who matter (on a payroll, owning a car, running or owning a company; kin
of an official; owning a flat or a shop; moved out; split just before the registration;
cards that sent money on) and reads only their payments. The shape they must not have
(DC-07's and DC-10's once) multiplied every payment by every member (and relation) of its
household before filtering.
Each statement of theirs that reads payments is run under EXPLAIN ANALYZE on the shipped
county and held to two bounds that the old shape fails:

- no step of it yields more rows than the tables it scans hold together (no product);
- planned by index only (no sequential or bitmap scans, no hash or merge joins), it reads
  at most a tenth of the payments: the query is written so that a path to only those
  households' payments exists. (On a county this small, reading all 8,000 payments in
  one scan is the planner's right choice; at a million it is not, and the old shape,
  which joined on a COALESCE no index serves, had no other way.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text

from audit.detection.queries import latest_date
from audit.detectors.base import Context, Detector
from audit.detectors.registry import select_detectors
from audit.importer.service import import_path
from tests.conftest import COUNTY

CODES = ("DC-07", "DC-10", "DC-11", "DC-13", "DC-14", "DV-07")


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def yielded(node: dict[str, Any]) -> int:
    return int(node["Actual Rows"] * node["Actual Loops"])


def plans(conn: Connection, detector: Detector, *, by_index: bool = False, every: bool = False
          ) -> list[dict[str, Any]]:
    """The detector's statements that read card payments (``every``: all its queries), each
    as EXPLAIN ANALYZE's plan."""
    statements: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(conn, "before_cursor_execute", grab)
    try:
        list(detector.run(Context(conn, latest_date(conn), dict(detector.defaults), {})))
    finally:
        event.remove(conn, "before_cursor_execute", grab)
    found = []
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    scans = ("enable_seqscan", "enable_bitmapscan", "enable_hashjoin", "enable_mergejoin") if by_index else ()
    for setting in scans:
        cursor.execute(f"SET {setting} = off")
    try:
        for statement, parameters in statements:
            # The payments read by ID afterwards (the evidence) are not the detector's join.
            if (every and statement.lstrip().upper().startswith(("SELECT", "WITH"))) \
                    or "card_payments_paid" in statement:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                found.append(cursor.fetchone()[0][0]["Plan"])
    finally:
        for setting in scans:
            cursor.execute(f"RESET {setting}")
    return found


def sizes(conn: Connection, steps: list[dict[str, Any]]) -> dict[str, int]:
    tables = {n["Relation Name"] for n in steps if "Relation Name" in n}
    return {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


def product(conn: Connection, plan: dict[str, Any]) -> list[str]:
    """The steps of a plan that yield more rows than the tables it scans hold together."""
    steps = list(nodes(plan))
    held = sizes(conn, steps)
    scanned = sum(held[n["Relation Name"]] for n in steps if "Relation Name" in n)
    return [f"{n['Node Type']} yields {yielded(n):,} rows, more than the tables it scans hold ({scanned:,})"
            for n in steps if yielded(n) > scanned]


def payments_read(conn: Connection, plan: dict[str, Any]) -> tuple[int, int]:
    """(card payments a plan read, card payments there are)."""
    steps = list(nodes(plan))
    read = sum(yielded(n) + int(n.get("Rows Removed by Filter", 0) * n["Actual Loops"])
               for n in steps if n.get("Relation Name") == "card_payments")
    return read, sizes(conn, steps).get("card_payments", 0)


@pytest.fixture
def county(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name != "postgresql":
        pytest.skip("plan shapes are PostgreSQL's (set AUDIT_TEST_DATABASE_URL)")
    assert import_path(engine, COUNTY).outcome == "committed"
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))  # the importer's own statistics may lag a small load
        yield conn


def test_no_detector_query_multiplies_rows_before_it_filters_them(county: Connection) -> None:
    found = {}
    for detector in select_detectors():
        for plan in plans(county, detector, every=True):
            if steps := product(county, plan):
                found.setdefault(detector.code, []).extend(steps)
    assert not found


@pytest.mark.parametrize("code", CODES)
def test_the_detector_reads_only_the_payments_of_the_households_that_matter(county: Connection, code: str) -> None:
    (detector,) = select_detectors([code])
    found = plans(county, detector)
    assert found, "no statement read the card payments"
    for plan in found:
        assert not product(county, plan)
    for plan in plans(county, detector, by_index=True):
        read, payments = payments_read(county, plan)
        assert read <= payments / 10, f"reads {read:,} of {payments:,} card payments"

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.detectors.world import World


@pytest.fixture
def world(engine: Engine) -> Iterator[World]:
    with engine.connect() as conn:
        transaction = conn.begin()
        yield World(conn)
        transaction.rollback()


def keys(found: list, kind: str | None = None) -> set[str]:
    return {r.key for f in found for r in f.records if kind is None or r.kind == kind}

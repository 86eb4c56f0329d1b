"""Background jobs: a job whose waiting request gave up still records its end, and the
worker's answer arriving afterwards raises nothing (it used to log InvalidStateError from
the pool's callback thread, once per timed-out upload)."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import Engine, select

from audit.auth.service import Principal
from audit.jobs import service as jobs
from audit.models import Job, User
from tests.conftest import logged_in


def test_a_job_whose_waiter_gave_up_ends_recorded_and_quietly(engine: Engine, caplog: pytest.LogCaptureFixture
                                                              ) -> None:
    logged_in(engine, {"admin1": "admin"})
    with engine.connect() as conn:
        user_id = conn.execute(select(User.id).where(User.name == "admin1")).scalar_one()
    admin = Principal(id=user_id, name="admin1", role="admin", unit_id=1, unit_name="县级", scope="county",
                      town_code=None, language=None, must_change_password=False, token_kind="api")
    try:
        submitted = jobs.submit("detect", admin, "detect", user="admin1", codes=["FP-01"], as_of=None)
        assert submitted.future.cancel()  # the request that waited for it went away
        deadline = time.monotonic() + 120
        while True:
            with engine.connect() as conn:
                state = conn.execute(select(Job.state).where(Job.id == submitted.job_id)).scalar_one()
            if state in {"done", "failed"} or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # the pool's callback runs just after the worker answers
    finally:
        jobs.shutdown()
    assert state == "done"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]

"""`audit detect` says which detector is working: on a terminal a bar, otherwise (a log, a
pipe, as here) one line as each detector ends, naming it, its time and its findings."""

from __future__ import annotations

import re

from sqlalchemy import Engine, func, select

from audit.models import Finding
from tests.conftest import COUNTY
from tests.test_cli import audit

CODES = ("DC-01", "DC-07", "DC-10")


def test_a_detect_run_not_on_a_terminal_names_each_detector_as_it_ends(engine: Engine, database_url: str) -> None:
    assert audit("import", str(COUNTY), url=database_url).returncode == 0
    done = audit("detect", "--codes", ",".join(CODES), url=database_url, env={"AUDIT_LANGUAGE": "en"})
    assert done.returncode == 0, done.stderr
    with engine.connect() as conn:
        found = dict(conn.execute(select(Finding.code, func.count()).where(Finding.status == "open")
                                  .group_by(Finding.code)).all())
    lines = [line for line in done.stderr.splitlines() if re.match(r"[A-Z]{2}-\d\d\b", line)]
    assert [line.split()[0] for line in lines] == list(CODES), done.stderr  # each once, in the run's order
    for code, line in zip(CODES, lines, strict=True):
        assert re.fullmatch(rf"{code}\s+\d+\.\d s\s+{found.get(code, 0)} findings", line.strip()), line
    assert "━" not in done.stderr  # no bar drawn into a log
    chinese = audit("detect", "--codes", "DC-07", url=database_url)
    assert chinese.returncode == 0 and re.search(r"^DC-07\s.*秒.*条线索", chinese.stderr, re.M), chinese.stderr

"""The command line as a user runs it: real processes, one line per failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from tests.conftest import BAD, COUNTY


def audit(*args: str, url: str, cwd: Path | None = None, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUDIT_DATABASE_URL": url, "COLUMNS": "200", **(env or {})}
    env.pop("AUDIT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "audit", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def test_import_then_stats(engine: Engine, database_url: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = audit("import", str(COUNTY), "--json", str(report), url=database_url)
    assert done.returncode == 0, done.stderr
    assert "导入完成，批次号" in done.stdout  # the operator's language: Chinese unless set otherwise
    assert "家庭成员" in done.stdout and "新增" in done.stdout  # the counts, under Chinese headings
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["outcome"] == "committed" and data["counts"]["households"]["inserted"] == 2001
    stats = audit("stats", "--json", url=database_url)
    assert stats.returncode == 0, stats.stderr
    numbers = json.loads(stats.stdout)
    assert numbers["tables"]["households"]["rows"] == 2001
    assert {row["year"] for row in numbers["by_town_year"]} == {2016, 2017}
    # Money that moved apart from money that did not: the statuses add up to the table.
    statuses = numbers["by_status"]["card_payments"]
    assert set(statuses) == {"paid", "failed", "returned", "pending"}
    assert sum(entry["rows"] for entry in statuses.values()) == numbers["tables"]["card_payments"]["rows"]
    assert set(numbers["by_status"]["disbursements"]) == {"paid", "returned", "corrected"}
    shown = audit("stats", url=database_url)
    assert "按发放状态" in shown.stdout and "失败（未到账）" in shown.stdout


def test_a_rejected_import_exits_non_zero_and_lists_errors_one_per_line(engine: Engine, database_url: str,
                                                                         tmp_path: Path) -> None:
    audit("import", str(COUNTY), url=database_url)
    report = tmp_path / "report.json"
    done = audit("import", str(BAD), "--json", str(report), url=database_url)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("错误  ")]
    assert len(lines) == 25
    assert "错误  明白卡/一卡通发放，第 5 行，amount，“12.345”：金额最多保留 2 位小数" in lines
    assert "错误： 共 25 处行错误，未导入任何数据" in done.stderr
    assert "Traceback" not in done.stderr
    errors = json.loads(report.read_text(encoding="utf-8"))["errors"]
    assert {"message": "error.import.amount_decimals", "reason": "金额最多保留 2 位小数"}.items() <= next(
        e for e in errors if e["table"] == "card_payments" and e["row"] == 5).items()
    english = audit("import", str(BAD), url=database_url, env={"AUDIT_LANGUAGE": "en"})
    lines = [line for line in english.stderr.splitlines() if line.startswith("error  ")]
    assert len(lines) == 25
    assert "error  card_payments, row 5, amount, '12.345': amount has more than 2 decimals" in lines
    assert "nothing was imported" in english.stderr


def test_a_missing_path_is_one_clear_line(engine: Engine, database_url: str, tmp_path: Path) -> None:
    done = audit("import", str(tmp_path / "nowhere"), url=database_url)
    assert done.returncode == 1
    assert "nowhere：文件或文件夹不存在" in done.stderr and "Traceback" not in done.stderr


def test_an_unmigrated_database_is_refused_with_the_fix(tmp_path: Path) -> None:
    done = audit("stats", url=f"sqlite:///{tmp_path / 'new.db'}")
    assert done.returncode == 1
    assert "audit db upgrade" in done.stderr and "Traceback" not in done.stderr


def test_db_upgrade_then_generate_then_import(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert audit("db", "upgrade", url=url).returncode == 0
    made = audit("fixtures", "generate", "--out", str(tmp_path / "c"), "--households", "2000", "--seed", "3", url=url)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "c" / "truth.json").exists() and (tmp_path / "c-bad" / "expected_errors.json").exists()
    assert audit("import", str(tmp_path / "c"), url=url).returncode == 0


def test_a_too_small_county_is_one_clear_line(tmp_path: Path) -> None:
    done = audit("fixtures", "generate", "--out", str(tmp_path / "c"), "--households", "100",
                 url=f"sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 1 and "至少需要 2,000 户" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_and_refusals_are_in_the_operators_language(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    chinese = audit("detect", "--help", url=url)
    assert chinese.returncode == 0 and "对全库运行风险筛查" in chinese.stdout and "截至日期" in chinese.stdout
    english = audit("detect", "--help", url=url, env={"AUDIT_LANGUAGE": "en"})
    assert "Run the red-flag detectors" in english.stdout
    refused = audit("stats", url=url, env={"AUDIT_ENV": "production", "AUDIT_LOG_KEY": "short"})
    assert refused.returncode == 1 and "AUDIT_LOG_KEY 仍是默认值或短于 32 个字符" in refused.stderr
    assert "Traceback" not in refused.stderr and "Value error" not in refused.stderr
    made = audit("db", "upgrade", url=url)
    assert made.returncode == 0 and "数据库结构已是最新版本" in made.stdout
    wrong = audit("detect", "--as-of", "2017-13-01", url=url)
    assert wrong.returncode == 1 and "--as-of 须为 YYYY-MM-DD 格式的日期，不能是“2017-13-01”" in wrong.stderr
    unknown = audit("detect", "--codes", "XX-99", url=url)
    assert unknown.returncode == 1 and "未知的风险代码 XX-99" in unknown.stderr

"""The ``audit`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from audit.console import console, err, error_line, fail, h, language, note, say, text

app = typer.Typer(help=h("cli.help.app"),
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help=h("cli.help.db"), no_args_is_help=True)
fixtures_app = typer.Typer(help=h("cli.help.fixtures"), no_args_is_help=True)
profiles_app = typer.Typer(help=h("cli.help.profiles"), no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(fixtures_app, name="fixtures")
app.add_typer(profiles_app, name="profiles")

@app.callback()
def _checkpoint_at_the_end(ctx: typer.Context) -> None:
    # One place for every command: one that appended to the audit trail checkpoints it as
    # it ends (a stop), failed or not (a rejected import is on the trail too), which a
    # result callback would miss. The trail module is looked up, not imported, so that a
    # command that never loaded it (fixtures generate) never touches a database.
    before = _appended()

    def checkpoint_if_appended() -> None:
        if _appended() != before:
            from audit import trail
            from audit.db import get_engine

            trail.checkpoint(get_engine())

    ctx.call_on_close(checkpoint_if_appended)

def _appended() -> int:
    trail = sys.modules.get("audit.trail")
    return trail.appended_in_process() if trail is not None else 0

@db_app.command("upgrade", help=h("cli.help.db.upgrade"))
def db_upgrade(revision: str = "head") -> None:
    """Create or upgrade the schema to the latest migration."""
    from audit.migrate import upgrade

    try:
        upgrade(revision)
    except Exception as exc:  # connection refused, permissions: one line for the user
        fail("cli.db.upgrade_failed", error=f"{exc.__class__.__name__}: {(str(exc).splitlines() or [''])[0]}")
    say("cli.db.upgraded")

@db_app.command("create-roles", help=h("cli.help.db.create_roles"))
def db_create_roles(
    role: Annotated[str, typer.Option(help=h("cli.help.opt.service_role"))] = "audit_app",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help=h("cli.help.opt.role_password_stdin"))]
    = False,
) -> None:
    """PostgreSQL: create the role the service connects as, which may append to the audit
    trail but never alter, disable, truncate or own it (run as the schema's owner)."""
    from sqlalchemy import make_url

    from audit.config import get_settings
    from audit.db import make_engine
    from audit.errors import MessageError
    from audit.roles import create_service_role

    url = get_settings().migration_url
    if not url.startswith("postgresql"):
        fail("cli.roles.postgres_only")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            ran = create_service_role(conn, role, password)
    except MessageError as exc:
        fail(exc.message_id, **exc.fields)
    finally:
        engine.dispose()
    for statement in ran:
        console.print(statement if "PASSWORD" not in statement else "ALTER ROLE … PASSWORD …", highlight=False)
    service_url = make_url(url).set(username=role, password=None)
    say("cli.roles.connects_as", url=service_url.render_as_string(hide_password=True))

@app.command("import", help=h("cli.help.import"))
def import_(
    path: Annotated[Path, typer.Argument(help=h("cli.help.opt.dataset"))],
    partial: Annotated[bool, typer.Option("--partial", help=h("cli.help.opt.partial"))] = False,
    json_report: Annotated[Path | None, typer.Option("--json", help=h("cli.help.opt.json_report"))] = None,
    profile: Annotated[str | None, typer.Option("--profile", help=h("cli.help.opt.profile"))] = None,
) -> None:
    """Import a dataset in interchange-v1: all or nothing unless --partial; a county's own
    export (the one-card system's 发放明细, the poverty system's member list) with --profile."""
    from audit.config import get_settings
    from audit.db import get_engine
    from audit.i18n import t
    from audit.importer import profile as profiles
    from audit.importer.read import DatasetError
    from audit.importer.service import import_path
    from audit.migrate import ensure_current

    lang = language()
    try:
        chosen = profiles.find(profile) if profile else None
    except profiles.ProfileError as exc:
        fail(exc.message_id, **exc.fields)
    engine = get_engine()
    ensure_current(engine)
    with Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(table: str, done: int, expected: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=max(expected, done))
            bar.update(tasks[table], completed=done, total=max(expected, done))

        try:
            report = import_path(engine, path, partial=partial, progress=progress, profile=chosen)
        except (DatasetError, profiles.ProfileError) as exc:
            fail(exc.message_id, **exc.fields)
    if json_report:  # message ids and fields for programs, reasons for the operator to read
        json_report.write_text(json.dumps(report.as_dict(lang), ensure_ascii=False, indent=2), encoding="utf-8")
    _print_counts(report, lang)

    def show(kind: str, problem: Any) -> None:
        err.print(t(kind, lang, line=problem.line(lang)), highlight=False, markup=False, soft_wrap=True)

    shown = get_settings().import_errors_shown
    for problem in report.errors[:shown]:
        show("cli.import.error", problem)
    if len(report.errors) > shown:
        err.print(t("cli.import.more_errors", lang, count=len(report.errors) - shown), highlight=False, markup=False)
    if report.warnings:
        for problem in report.warnings[:10]:
            show("cli.import.warning", problem)
        if len(report.warnings) > 10:
            err.print(t("cli.import.more_warnings", lang, count=len(report.warnings) - 10), highlight=False,
                      markup=False)
    if report.outcome == "rejected":
        fail("cli.import.rejected", count=len(report.errors))
    done = "cli.import.done_partial" if report.outcome == "committed_partial" else "cli.import.done"
    console.print(t(done, lang, batch_id=report.batch_id, seconds=report.seconds), highlight=False, markup=False)

# The counts of the import's table, each under its heading (cli.import.heading.<name>).
_COUNTS = ("read", "inserted", "updated", "unchanged", "rejected")

def _print_counts(report: Any, lang: str) -> None:
    from audit.i18n import t

    table = Table(title=t("cli.import.title", lang, source=report.source))
    table.add_column(t("cli.import.heading.table", lang), justify="left")
    for heading in _COUNTS:
        table.add_column(t(f"cli.import.heading.{heading}", lang), justify="right")
    for name, counts in report.counts.items():
        table.add_row(t("cli.import.table", lang, table=name), *(f"{getattr(counts, f):,}" for f in _COUNTS))
    console.print(table)

@app.command("stats", help=h("cli.help.stats"))
def stats(as_json: Annotated[bool, typer.Option("--json", help=h("cli.help.opt.json"))] = False) -> None:
    """Counts and money per table, town and year, and the red flags' learned hit rates."""
    from audit.db import get_engine
    from audit.migrate import ensure_current
    from audit.stats import collect

    engine = get_engine()
    ensure_current(engine)
    data = collect(engine)
    if as_json:
        console.print_json(json.dumps(data, ensure_ascii=False))
        return
    tables = Table(title=text("cli.stats.rows_title"))
    tables.add_column(text("cli.import.heading.table"))
    tables.add_column(text("cli.stats.heading.rows"), justify="right")
    tables.add_column(text("cli.stats.heading.yuan"), justify="right")
    for name, entry in data["tables"].items():
        tables.add_row(text("cli.import.table", table=name), f"{entry['rows']:,}", entry.get("yuan", ""))
    console.print(tables)
    moved = Table(title=text("cli.stats.status_title"))
    for heading in ("table", "status", "rows", "yuan"):
        moved.add_column(text(f"cli.stats.heading.{heading}"), justify="left" if heading in ("table", "status")
                         else "right")
    for name, statuses in data["by_status"].items():
        for status, entry in statuses.items():
            moved.add_row(text("cli.import.table", table=name), text(f"cli.stats.status.{status}"),
                          f"{entry['rows']:,}", entry["yuan"])
    console.print(moved)
    towns = Table(title=text("cli.stats.towns_title"))
    for heading in ("town", "year", "card_payments", "card_yuan", "disbursements", "disbursed_yuan"):
        towns.add_column(text(f"cli.stats.heading.{heading}"), justify="left" if heading == "town" else "right")
    for row in data["by_town_year"]:
        towns.add_row(row["town"], str(row["year"]), f"{row['card_payments']:,}", row["card_yuan"],
                      f"{row['disbursements']:,}", row["disbursed_yuan"])
    console.print(towns)
    learned = data["hit_rates"]
    rates = Table(title=text("cli.stats.hit_rates_title", prior=round(learned["prior"] * 100),
                             weight=f"{learned['weight']:g}"))
    for heading in ("code", "decided", "confirmed", "rate", "low_yield"):
        rates.add_column(text(f"cli.stats.heading.{heading}"), justify="left" if heading == "code" else "right")
    for row in learned["codes"]:
        rates.add_row(row["code"], f"{row['decided']:,}", f"{row['confirmed']:,}", f"{row['rate'] * 100:.1f}%",
                      text("cli.stats.low_yield") if row["low_yield"] else "")
    for row in learned["variants"]:  # a code's variants, after the codes
        variant = text(f"ui.variant.{row['code']}.{row['variant']}")
        rates.add_row(f"{row['code']} · {variant}", f"{row['decided']:,}",
                      f"{row['confirmed']:,}", f"{row['rate'] * 100:.1f}%",
                      text("cli.stats.low_yield") if row["low_yield"] else "")
    console.print(rates)

@profiles_app.command("list", help=h("cli.help.profiles.list"))
def profiles_list() -> None:
    """The import profiles that ship with the service: name, what export it reads, the tables it feeds."""
    from audit.importer import profile as profiles

    table = Table(title=text("cli.profiles.title"))
    for heading in ("name", "title", "tables"):
        table.add_column(text(f"cli.profiles.heading.{heading}"))
    for name in profiles.names():
        found = profiles.find(name)
        table.add_row(found.name, found.title, ", ".join(feed.table for feed in found.feeds))
    console.print(table)
    console.print(text("cli.profiles.copy_hint", folder=str(profiles.SHIPPED)), highlight=False)


@profiles_app.command("show", help=h("cli.help.profiles.show"))
def profiles_show(name: Annotated[str, typer.Argument(help=h("cli.help.opt.profile"))]) -> None:
    """A profile's file as it is (headers, value translations, lookups), to read or copy."""
    from audit.importer import profile as profiles

    try:
        found = profiles.find(name)
    except profiles.ProfileError as exc:
        fail(exc.message_id, **exc.fields)
    console.print(text("cli.profiles.file", path=str(found.path)), highlight=False)
    console.print(found.path.read_text(encoding="utf-8"), highlight=False, markup=False)


@fixtures_app.command("generate", help=h("cli.help.fixtures.generate"))
def fixtures_generate(
    out: Annotated[Path, typer.Option(help=h("cli.help.opt.out_folder"))],
    households: Annotated[int, typer.Option(help=h("cli.help.opt.households"))] = 2000,
    seed: Annotated[int, typer.Option(help=h("cli.help.opt.seed"))] = 2017,
    preset: Annotated[str | None, typer.Option(help=h("cli.help.opt.preset"))] = None,
    exports: Annotated[bool, typer.Option("--exports", help=h("cli.help.opt.exports"))] = False,
    past_years: Annotated[int, typer.Option(min=0, max=10, help=h("cli.help.opt.past_years"))] = 0,
) -> None:
    """Write a synthetic county in interchange-v1, its truth.json and a bad-rows dataset; with
    --exports, also the county as a county holds it: the one-card 发放明细 and the poverty
    system's member list, for the shipped import profiles."""
    from audit.synth.county import PRESETS, generate

    if preset is not None:
        if preset not in PRESETS:
            fail("cli.fixtures.unknown_preset", preset=preset, known=", ".join(PRESETS))
    from audit.synth.plants import TooSmall

    try:
        summary = generate(out, households=households, seed=seed, preset=preset, past_years=past_years)
    except TooSmall as exc:
        fail("cli.fixtures.too_small", what=exc.what)
    say("cli.fixtures.written", rows=f"{summary['rows']:,}", tables=len(summary["tables"]), out=str(out),
        planted=summary["planted"], decoys=summary["decoys"], bad_dir=str(summary["bad_dir"]))
    if exports:
        from audit.synth.exports import write_exports

        folder = out.parent / f"{out.name}-exports"
        written = write_exports(out, folder)
        say("cli.fixtures.exports_written", out=str(folder), files="、".join(path.name for path in written))

findings_app = typer.Typer(help=h("cli.help.findings"), no_args_is_help=True)
cases_app = typer.Typer(help=h("cli.help.cases"), no_args_is_help=True)
app.add_typer(findings_app, name="findings")
app.add_typer(cases_app, name="cases")

def _codes(value: str | None) -> list[str] | None:
    return [c.strip().upper() for c in value.split(",") if c.strip()] if value else None

@app.command("detect", help=h("cli.help.detect"))
def detect_(
    codes: Annotated[str | None, typer.Option(help=h("cli.help.opt.codes_all"))] = None,
    as_of: Annotated[str | None, typer.Option(help=h("cli.help.opt.as_of"))] = None,
    settings: Annotated[Path | None, typer.Option(help=h("cli.help.opt.settings"))] = None,
) -> None:
    """Run the red-flag detectors over the whole store and keep their findings."""
    from datetime import date

    from audit.db import get_engine
    from audit.detection.service import detect
    from audit.auth.service import operator
    from audit.errors import MessageError
    from audit.migrate import ensure_current

    engine = get_engine()
    ensure_current(engine)
    overrides = {}
    if settings is not None:
        try:
            overrides = {k.upper(): v for k, v in json.loads(settings.read_text(encoding="utf-8")).items()}
        except (OSError, ValueError) as exc:
            fail("cli.detect.bad_settings_file", path=str(settings), error=str(exc))
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail("cli.detect.bad_as_of", value=as_of)
    # On a terminal, a bar over the detectors and, under it, the one running with its own
    # time; otherwise (a log, a pipe) one line as each detector ends, so a long run says
    # which detector is working either way.
    live = err.is_terminal
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not live) as bar:
        overall = bar.add_task(text("cli.detect.progress.all"), total=None)
        current = bar.add_task("", total=None)

        def progress(code: str, done: int, total: int) -> None:
            bar.update(overall, completed=done, total=total)
            if done < total:
                bar.reset(current, description=text("cli.detect.progress.running", code=code), total=None)

        def finished(code: str, entry: dict[str, Any]) -> None:
            if not live:
                note("cli.detect.progress.finished", code=code, seconds=f"{entry['seconds']:.1f}",
                     findings=entry["findings"])

        try:
            report = detect(engine, codes=_codes(codes), as_of=day, overrides=overrides, progress=progress,
                            finished=finished, actor=operator())
        except MessageError as exc:
            fail(exc.message_id, **exc.fields)
    table = Table(title=text("cli.detect.title", run_id=report.run_id, as_of=report.as_of.isoformat()))
    for heading in ("code", "findings", "new", "updated", "stale", "seconds", "examined", "missing"):
        table.add_column(text(f"cli.detect.heading.{heading}"),
                         justify="left" if heading in ("code", "missing") else "right")
    for code, entry in report.detectors.items():
        coverage = entry["coverage"]
        # A rule whose registry is missing saw nothing: it says so, instead of finding nothing.
        missing = text("cli.detect.missing", tables=[text(f"enum.table.{t}") for t in coverage["missing"]]) \
            if coverage["missing"] else ""
        table.add_row(code, str(entry["findings"]), str(entry["new"]), str(entry["updated"]), str(entry["stale"]),
                      f"{entry['seconds']:.2f}", f"{coverage['examined']:,}", missing)
    console.print(table)
    say("cli.detect.done", findings=report.findings, seconds=f"{report.seconds:.1f}")

@findings_app.command("export", help=h("cli.help.findings.export"))
def findings_export(
    format_: Annotated[str, typer.Option("--format", help=h("cli.help.opt.format"))] = "json",
    out: Annotated[Path | None, typer.Option(help=h("cli.help.opt.out_file"))] = None,
    codes: Annotated[str | None, typer.Option(help=h("cli.help.opt.codes"))] = None,
    include_stale: Annotated[bool, typer.Option("--include-stale", help=h("cli.help.opt.include_stale"))] = False,
    reveal: Annotated[bool, typer.Option("--reveal", help=h("cli.help.opt.reveal"))]
    = False,
    lang: Annotated[str | None, typer.Option(help=h("cli.help.opt.lang"))] = None,
) -> None:
    """Export findings in the shape of red-flags.md (JSON list) or one per CSV line; personal
    numbers masked unless --reveal, which goes on the audit trail with how many findings."""
    from audit import trail
    from audit.auth.service import operator
    from audit.config import get_settings
    from audit.db import get_engine
    from audit.detection.export import findings_csv, findings_json
    from audit.i18n import language, t
    from audit.migrate import ensure_current

    if format_ not in {"json", "csv"}:
        fail("cli.findings.bad_format")
    engine = get_engine()
    ensure_current(engine)
    reader = language(lang or get_settings().language)
    with engine.begin() as conn:
        text, count = (findings_json if format_ == "json" else findings_csv)(
            conn, _codes(codes), include_stale, lang=reader, masked=not reveal)
        if reveal:
            trail.append(conn, operator(), "findings_revealed", "findings export",
                         {"format": format_, "findings": count, "codes": _codes(codes) or "all"})
    if out:
        out.write_text(text, encoding="utf-8-sig" if format_ == "csv" else "utf-8")
        note("cli.wrote", path=str(out))
    else:
        sys.stdout.write(text)
    if reveal:
        err.print(t("cli.reveal_logged", reader, count=count), highlight=False)

@cases_app.command("list", help=h("cli.help.cases.list"))
def cases_list(top: Annotated[int, typer.Option(help=h("cli.help.opt.top"))] = 20) -> None:
    """The highest-scoring open cases: score, subject, codes and amount at risk (masked)."""
    from audit.config import get_settings
    from audit.db import get_engine
    from audit.detection.queries import top_cases
    from audit.detectors.base import yuan
    from audit.evidence import subject_text
    from audit.i18n import t
    from audit.migrate import ensure_current

    engine = get_engine()
    ensure_current(engine)
    lang = get_settings().language
    with engine.connect() as conn:
        rows = top_cases(conn, top)
    table = Table(title=t("cli.top_cases", lang, count=len(rows)))
    for heading in ("case", "score", "subject", "codes", "at_risk", "owed"):
        table.add_column(t(f"cli.heading.{heading}", lang),
                         justify="right" if heading in {"case", "score", "at_risk", "owed"} else "left")
    for row in rows:
        table.add_row(str(row.id), f"{row.score:.2f}",
                      subject_text(row.subject_kind, row.subject_key, row.label, lang, masked=True),
                      ", ".join(row.codes), yuan(row.amount_at_risk_fen),
                      yuan(row.amount_owed_fen) if row.amount_owed_fen else "")
    console.print(table)

@app.command("eval", help=h("cli.help.eval"))
def eval_(truth: Annotated[Path, typer.Option(help=h("cli.help.opt.truth"))]) -> None:
    """Recall and precision per code of the stored findings against planted cases."""
    from audit.db import get_engine
    from audit.detection.evaluate import evaluate
    from audit.migrate import ensure_current

    engine = get_engine()
    ensure_current(engine)
    try:
        planted = json.loads(truth.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail("cli.eval.bad_truth", path=str(truth), error=str(exc))
    with engine.connect() as conn:
        result = evaluate(conn, planted)
    table = Table(title=text("cli.eval.title"))
    for heading in ("code", "planted", "found", "recall", "findings", "true", "precision", "decoys_flagged"):
        table.add_column(text(f"cli.eval.heading.{heading}"), justify="left" if heading == "code" else "right")
    for code, row in result.items():
        table.add_row(code, str(row["planted"]), str(row["found"]), _pct(row["recall"]), str(row["findings"]),
                      str(row["true"]), _pct(row["precision"]), str(len(row["decoys_flagged"])))
    console.print(table)

def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"

log_app = typer.Typer(help=h("cli.help.log"), no_args_is_help=True)
app.add_typer(log_app, name="log")

def _register_account_commands() -> None:
    from audit.auth.commands import register

    register(app)

_register_account_commands()

@app.command("serve", help=h("cli.help.serve"))
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int | None, typer.Option(help=h("cli.help.opt.workers"))] = None,
          ) -> None:
    """Serve the workspace and the HTTP API (OpenAPI at /docs) on the configured database."""
    import uvicorn

    from audit.config import get_settings
    from audit.db import get_engine
    from audit.jobs.service import mark_interrupted
    from audit.migrate import ensure_current

    settings = get_settings()  # refuses default secrets in production, with how to set them
    ensure_current(get_engine())
    interrupted = mark_interrupted()  # jobs a stopped server left running: say they failed
    if interrupted:
        note("cli.serve.interrupted", count=interrupted)
    # An inspector's query may carry a full number in its URL: the access log masks it.
    uvicorn.run("audit.api.app:app", host=host, port=port, workers=workers or settings.workers,
                log_config=_log_config())

def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with personal numbers masked in every access-log line (also in
    worker processes, which configure logging from this dictionary)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["mask"] = {"()": "audit.masking.MaskingFilter"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("mask")
    return config

@log_app.command("verify", help=h("cli.help.log.verify"))
def log_verify() -> None:
    """Recompute the audit trail's hash chain and hold it to its checkpoints; name the first
    entry that does not hold, a deleted tail, a rewritten chain or a forged checkpoint."""
    from audit import trail
    from audit.db import get_engine
    from audit.migrate import ensure_current

    engine = get_engine()
    ensure_current(engine)
    lang = language()
    with engine.connect() as conn:
        verdict = trail.verify(conn)
    if verdict.first_bad is not None:
        fail("cli.log.broken", entry=verdict.first_bad, reason=verdict.text(lang))
    if not verdict.ok:
        fail("cli.log.bad_checkpoints", reason=verdict.text(lang))
    say("cli.log.holds", entries=verdict.entries, reason=verdict.text(lang))

casefile_app = typer.Typer(help=h("cli.help.casefile"), no_args_is_help=True)
app.add_typer(casefile_app, name="casefile")

@casefile_app.command("verify", help=h("cli.help.casefile.verify"))
def casefile_verify(path: Path) -> None:
    """Recompute every hash a case file's workbook lists (its 校验 sheet) against the store and
    name each row changed or gone since; exit 1 when anything does not hold."""
    from audit.cases import casefile
    from audit.db import get_engine
    from audit.migrate import ensure_current

    if not path.is_file():
        fail("cli.casefile.no_file", path=str(path))
    engine = get_engine()
    ensure_current(engine)
    with engine.connect() as conn:
        verdict = casefile.verify(conn, path.read_bytes())
    lines = verdict.lines(language())
    if not verdict.ok:
        for line in lines:
            error_line(line)
        raise typer.Exit(1)
    console.print(lines[0], markup=False, highlight=False, soft_wrap=True)

def main() -> None:
    """Console entry point: a user sees one line per failure, never a traceback
    (``AUDIT_DEBUG=1`` shows it, for developers)."""
    import logging
    import os

    # The trail's checkpoints go to the log as well as to their file: to standard error
    # (journald or syslog can take them off the machine) unless logging is set up already.
    trail_log = logging.getLogger("audit.trail")
    # At a terminal the operator reads results, not log lines; run by a scheduler or a
    # service manager (no terminal), the lines go where that keeps its logs.
    if not logging.getLogger().handlers and not trail_log.handlers and not sys.stderr.isatty():
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        trail_log.addHandler(handler)
        trail_log.setLevel(logging.INFO)
    try:
        # Without standalone mode click returns (not raises) the code of a typer.Exit.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        note("cli.aborted")
        sys.exit(130)
    except Exception as exc:
        from pydantic import ValidationError

        from audit.errors import MessageError

        if isinstance(exc, ValidationError) and exc.title == "Settings":
            # A setting refused (a default secret in production): its own words, no type name.
            for problem in exc.errors():
                refused = problem.get("ctx", {}).get("error")
                error_line(refused.text(language()) if isinstance(refused, MessageError)
                           else problem["msg"].removeprefix("Value error, "))
            sys.exit(1)
        # Usage errors (typer vendors its own click, so match by shape, not by class).
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("AUDIT_DEBUG"):
            raise
        first_line = (str(exc).splitlines() or [""])[0]
        error_line(text("cli.unexpected", kind=type(exc).__name__, line=first_line))
        sys.exit(1)

if __name__ == "__main__":
    sys.exit(main())

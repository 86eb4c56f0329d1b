"""One place for every setting; each can be overridden by an ``AUDIT_*`` environment variable."""

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.errors import MessageError

DEFAULT_LOG_KEY = "development-key-change-me"
MIN_LOG_KEY_CHARS = 32


class InsecureSettings(MessageError, ValueError):
    """A production deployment configured with a default or weak secret (a ValueError, as
    pydantic wants of a validator's refusal; a message of the catalogue, as the operator reads it)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", env_file=".env", extra="ignore")

    # SQLite in the working directory so a new user needs nothing installed;
    # production sets postgresql+psycopg://user@host/db. On PostgreSQL this is the
    # service's own role, which may not alter or own the audit trail (`audit db
    # create-roles`); migrations run as the owner, `migration_database_url`.
    database_url: str = f"sqlite:///{Path.cwd() / 'audit.db'}"
    migration_database_url: str | None = None
    # production refuses default secrets; the default is production on PostgreSQL
    # (a server database is a deployment) and development on SQLite.
    env: Literal["development", "production"] | None = None
    # Rows handed to the database per batch while importing: large enough to amortise
    # round trips, small enough to keep peak memory flat on million-row tables.
    import_chunk_rows: int = 20_000
    # The longest one detector's statements may run in a scan (seconds): past it the run
    # fails and names the detector, instead of a runaway plan holding the database (and
    # its temporary files) for hours. PostgreSQL: statement_timeout; SQLite: an interrupt.
    detector_timeout_seconds: float = Field(default=900, gt=0)
    # And the temporary files one of its statements may write, in MB (PostgreSQL's
    # temp_file_limit; 0: no bound). A plan that multiplies rows before filtering them spills
    # to disk until the disk is full (63 GB at a million payments): this stops it at the bound.
    detector_temp_file_limit_mb: int = Field(default=1024, ge=0)
    # The memory each sort or hash of a detector's query may take before it spills, in MB
    # (PostgreSQL's work_mem for those statements only; 0 leaves the server's). A scan groups
    # millions of payments; the server's default (4 MB) sends them to disk.
    detector_work_mem_mb: int = Field(default=128, ge=0)
    # How many row errors the terminal prints before summarising (the JSON report has all).
    import_errors_shown: int = 50
    # Keys the audit trail's hash chain (HMAC-SHA256): without it, someone able to write to
    # the database could recompute every later hash. Set a long random value in production.
    log_key: str = DEFAULT_LOG_KEY
    # The trail's checkpoints (entry count, head id and hash, time, HMAC under log_key): one
    # every this many entries, and one at every stop. The chain alone cannot show a deleted
    # tail or a chain rewritten under a known key; a checkpoint kept elsewhere can.
    log_checkpoint_every: int = Field(default=20, ge=1)
    # The append-only file they go to, one JSON object a line. Default: beside the SQLite
    # database file (audit.db -> audit-checkpoints.jsonl), else audit-checkpoints.jsonl in
    # the working directory. Worth most on another volume or shipped off the machine.
    log_checkpoint_path: Path | None = None
    # Lifetime of a bearer token from a password login, and of a machine client's API token.
    session_hours: int = 8
    api_token_days: int = 365
    # PostgreSQL connections each server process keeps: one per request the server runs
    # at once (FastAPI's thread pool runs up to 40), so a burst of checks does not queue
    # for a connection behind slower requests.
    pool_size: int = 20
    # Server processes for `audit serve` (each with its own pool); more than the machine's
    # cores buys nothing, since a check is CPU-bound in Python.
    workers: int = 1

    # Four eyes (red-flags.md: a flag is a lead, and letting a lead drop is a decision):
    # dismissing or referring a case at or above either line waits for a second
    # inspector, as a confirmation always does.
    four_eyes_min_score: float = 0.8
    four_eyes_min_amount: Decimal = Decimal("10000.00")
    # A line held for these codes (the card's money may be going to someone else) is
    # released only with a second finance officer's approval.
    four_eyes_release_codes: tuple[str, ...] = ("DC-02", "DC-06", "DC-08", "DC-12")
    # A payment to the subject of a live case of one of these red flags (an insider or
    # shell contractor, a payee who did not build, a second identity, a shared card, money
    # reaching insiders) is held, naming the case, until the case is decided; its release
    # needs a second finance officer.
    hold_open_case_codes: tuple[str, ...] = ("FP-05", "FP-06", "FP-07", "DC-02", "DC-06", "DC-08", "DC-10",
                                             "DV-03", "DV-05")
    # After an administrator sets an account's password (a new account, a reset), that
    # account gives no four-eyes approval for this long: the real user, locked out of
    # their own account, has time to notice and say so.
    four_eyes_after_reset_hours: int = 24

    # Learned hit rates (audit.cases.triage): a code's rate of confirmation is read through
    # a Beta prior of mean hit_rate_prior worth hit_rate_prior_weight decisions,
    # (confirmed + k·p0) / (decided + k); a code with at least low_yield_min_decided cases
    # decided and a rate below low_yield_rate is shown as low-yield (低效).
    hit_rate_prior: float = Field(default=0.5, gt=0, lt=1)
    hit_rate_prior_weight: float = Field(default=4.0, gt=0)
    low_yield_rate: float = Field(default=0.25, ge=0, le=1)
    low_yield_min_decided: int = Field(default=5, ge=1)
    # Triage tiers (triage.tier_of): 一级 at or above this money at risk, with this many
    # complaints linked, or with a repeat subject and a best code's rate at least
    # tier1_min_rate; 三级 a low-yield code's case below tier3_max_amount with no complaint
    # and no repeat subject; 二级 the rest.
    tier1_min_amount: Decimal = Decimal("10000.00")
    tier1_min_complaints: int = Field(default=1, ge=1)
    tier1_min_rate: float = Field(default=0.6, ge=0, le=1)
    tier3_max_amount: Decimal = Decimal("1000.00")

    # Logins: this many failures for one name, or from one address, within the window
    # lock that name or address out (429) until the window has passed.
    login_failures_per_name: int = 5
    login_failures_per_address: int = 20
    login_window_minutes: int = 15
    password_min_chars: int = 12

    # Browser sessions: the cookie is sent over HTTPS only when this is set (behind TLS).
    cookie_secure: bool = False

    # The villagers' window (/public, 民生资金查询): within the window, an address may look up
    # this many times (matched or not: a village office helps many residents from one
    # address, and a phone network puts many phones behind one), an ID number may fail
    # this many times (a wrong name counts against the ID), and an address and an ID may
    # file this many complaints. Past a limit the page says when to come back and looks
    # nothing up. A form is good for public_form_minutes after the page that holds it.
    public_lookups_per_address: int = Field(default=30, ge=1)
    public_failures_per_id: int = Field(default=5, ge=1)
    public_complaints_per_address: int = Field(default=5, ge=1)
    public_complaints_per_id: int = Field(default=3, ge=1)
    public_window_minutes: int = Field(default=60, ge=1)
    public_form_minutes: int = Field(default=30, ge=1)

    # The language of the command line's output (the web and the API follow each reader).
    language: Literal["zh", "en"] = "zh"


    @property
    def production(self) -> bool:
        if self.env is not None:
            return self.env == "production"
        return self.database_url.startswith("postgresql")

    @property
    def migration_url(self) -> str:
        return self.migration_database_url or self.database_url

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> "Settings":
        if self.production and (self.log_key == DEFAULT_LOG_KEY or len(self.log_key) < MIN_LOG_KEY_CHARS):
            raise InsecureSettings("settings.insecure_log_key", min_chars=MIN_LOG_KEY_CHARS)
        return self
    # ---- Input limits: every request body, archive, sheet, line and cell is bounded, so a
    # bad or hostile input is a clear 4xx or row error, never a hang or a memory blow-up.
    # The defaults are sized from a county's real exports: a month's roster is about 40,000
    # lines and a 3-year card_payments export a few million rows of about 140 bytes each
    # (under 1 GB as CSV, zipped about tenfold), and Excel itself caps a cell at 32,767
    # characters and a sheet at 1,048,576 rows.
    #
    # Request bodies, checked on Content-Length and counted as they stream: an uploaded
    # dataset or roster file; any JSON body (a 20,000-line roster in JSON is about 6 MB);
    # a login (a name and a password; nothing legitimate comes near 16 KB).
    upload_max_bytes: int = 200 * 1024 * 1024
    json_max_bytes: int = 8 * 1024 * 1024
    login_max_bytes: int = 16 * 1024
    # Archives (a .zip dataset, and every .xlsx, which is a zip too), checked on the declared
    # sizes before anything is extracted, and enforced while extracting. A dataset is at most
    # 28 tables, so 1,000 members leaves room for notes, folders and __MACOSX copies. 2 GiB
    # uncompressed holds more than 14 million card payments. County CSV and sheet XML
    # compress 5 to 30 times; a zip bomb hundreds of times (deflate goes up to about 1,000),
    # so a member of 1 MiB or more that would expand over 100 times its compressed size is
    # refused (small members, such as a few repeated lines, may legitimately do more).
    zip_max_members: int = 1_000
    zip_max_total_bytes: int = 2 * 1024 * 1024 * 1024
    zip_max_ratio: int = 100
    # Tables. A cell longer than Excel's own limit is a row error; a CSV line longer than
    # max_line_chars (far beyond any real row, which is a few hundred characters) is a row
    # error and is skipped without being held in memory; a header wider than max_columns (the
    # widest table has 19 columns, an export a few dozen more) is refused; a table of more
    # than max_rows_per_table rows (twice the largest real export) is refused.
    max_cell_chars: int = 32_767
    max_line_chars: int = 1024 * 1024
    max_columns: int = 256
    max_rows_per_table: int = 10_000_000


@lru_cache
def get_settings() -> Settings:
    return Settings()

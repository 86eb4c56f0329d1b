"""One place for every setting; each can be overridden by an ``AUDIT_*`` environment variable."""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUDIT_", env_file=".env", extra="ignore")

    # SQLite in the working directory so a new user needs nothing installed;
    # production sets postgresql+psycopg://user@host/db.
    database_url: str = f"sqlite:///{Path.cwd() / 'audit.db'}"
    # Rows handed to the database per batch while importing: large enough to amortise
    # round trips, small enough to keep peak memory flat on million-row tables.
    import_chunk_rows: int = 20_000
    # How many row errors the terminal prints before summarising (the JSON report has all).
    import_errors_shown: int = 50
    # Keys the audit trail's hash chain (HMAC-SHA256): without it, someone able to write to
    # the database could recompute every later hash. Set a long random value in production.
    log_key: str = "development-key-change-me"
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

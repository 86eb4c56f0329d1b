"""One place for every setting; each can be overridden by an ``AUDIT_*`` environment variable."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
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


@lru_cache
def get_settings() -> Settings:
    return Settings()

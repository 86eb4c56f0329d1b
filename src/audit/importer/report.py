"""What an import tells its user: counts per table, and every error and warning as
``table, row, column, value, reason``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    table: str
    row: int  # spreadsheet row number: the header is row 1
    column: str
    value: str
    reason: str

    def line(self) -> str:
        value = self.value if len(self.value) <= 40 else self.value[:37] + "..."
        return f"{self.table}, row {self.row}, {self.column}, {value!r}: {self.reason}"


@dataclass
class TableCounts:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # Wall time spent on this table: parsing and staging, checks across rows, merging.
    seconds: float = 0.0


@dataclass
class ImportReport:
    source: str
    partial: bool
    outcome: str = "running"  # committed | committed_partial | rejected | failed
    batch_id: int | None = None
    counts: dict[str, TableCounts] = field(default_factory=dict)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    # Keys of the rows stored, per table: only when asked for (pre-release checks).
    keys: dict[str, list[str]] = field(default_factory=dict)
    # The key cell of each rejected row, per table and row number, where it had one: a
    # check names a line with an error by its payment ID, not by its row.
    rejected_keys: dict[str, dict[int, str]] = field(default_factory=dict)

    def table(self, name: str) -> TableCounts:
        return self.counts.setdefault(name, TableCounts())

    @property
    def stored(self) -> bool:
        return self.outcome in {"committed", "committed_partial"}

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "partial": self.partial,
            "outcome": self.outcome,
            "batch_id": self.batch_id,
            "seconds": round(self.seconds, 3),
            "counts": {name: {**asdict(counts), "seconds": round(counts.seconds, 3)}
                       for name, counts in self.counts.items()},
            "errors": [asdict(problem) for problem in self.errors],
            "warnings": [asdict(problem) for problem in self.warnings],
            "files": self.hashes,
        }

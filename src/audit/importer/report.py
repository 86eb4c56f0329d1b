"""What an import tells its user: counts per table, and every error and warning as
``table, row, column, value, reason``.

A problem's reason is a catalogue message (``error.import.*``, ``warning.import.*``) and its
fields, rendered in the reader's language where the report is shown: the command line in
the operator's, the API in the reader's. ``reason`` is the English text, as the report gave
it before it had message ids.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from audit.i18n import t
from audit.masking import mask_cell, mask_fields

# How much of a quoted value one line of the command line's output shows.
_LINE_VALUE_CHARS = 40


@dataclass(frozen=True)
class Problem:
    table: str
    row: int  # spreadsheet row number: the header is row 1
    column: str
    value: str
    message: str  # the reason's message id
    fields: dict[str, Any] = field(default_factory=dict)  # its fields: JSON-friendly values only

    @property
    def reason(self) -> str:
        """The reason in English (logs, and readers of the report before message ids)."""
        return self.text("en")

    def text(self, lang: str) -> str:
        return t(self.message, lang, **self.fields)

    def line(self, lang: str = "en") -> str:
        """The problem as one line of the command line's output."""
        value = self.value if len(self.value) <= _LINE_VALUE_CHARS else self.value[:_LINE_VALUE_CHARS - 3] + "..."
        if not self.table:  # a problem of the dataset as a whole (a file that is no table)
            return t("cli.import.problem_dataset", lang, value=value, reason=self.text(lang))
        return t("cli.import.problem", lang, table=self.table, row=self.row, column=self.column, value=value,
                 reason=self.text(lang))

    def as_dict(self, lang: str = "en", masked: bool = False) -> dict[str, Any]:
        """The problem for JSON, its reason in ``lang``; for a masked reader the quoted cell
        and the fields are masked as their names say, and the reason is rendered from the
        masked fields (a reason quotes its fields, a birth date say)."""
        fields = mask_fields(self.fields) if masked else dict(self.fields)
        return {"table": self.table, "row": self.row, "column": self.column,
                "value": mask_cell(self.column, self.value) if masked else self.value,
                "message": self.message, "fields": fields, "reason": t(self.message, lang, **fields)}


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
    # With the keys: the row of the file each key came from (a check's lines name their row).
    key_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    # The key cell of each rejected row, per table and row number, where it had one: a
    # check names a line with an error by its payment ID, not by its row.
    rejected_keys: dict[str, dict[int, str]] = field(default_factory=dict)

    def table(self, name: str) -> TableCounts:
        return self.counts.setdefault(name, TableCounts())

    @property
    def stored(self) -> bool:
        return self.outcome in {"committed", "committed_partial"}

    def counts_dict(self) -> dict[str, dict[str, Any]]:
        return {name: {**asdict(counts), "seconds": round(counts.seconds, 3)} for name, counts in self.counts.items()}

    def as_dict(self, lang: str = "en", masked: bool = False) -> dict[str, Any]:
        """The report for JSON: each problem with its message id, fields and reason in
        ``lang`` (see :meth:`Problem.as_dict` for ``masked``)."""
        return {
            "source": self.source,
            "partial": self.partial,
            "outcome": self.outcome,
            "batch_id": self.batch_id,
            "seconds": round(self.seconds, 3),
            "counts": self.counts_dict(),
            "errors": [problem.as_dict(lang, masked) for problem in self.errors],
            "warnings": [problem.as_dict(lang, masked) for problem in self.warnings],
            "files": self.hashes,
        }

"""All models, imported here so that ``Base.metadata`` is complete for Alembic."""

from audit.models.base import Base
from audit.models.data import (
    Account,
    Allocation,
    CardPayment,
    Death,
    Disbursement,
    Disclosure,
    Household,
    Kinship,
    Official,
    Organization,
    Person,
    Program,
    Project,
    PublicEmployee,
    Shareholder,
    Town,
    Transfer,
    Vehicle,
    Village,
)
from audit.models.findings import Case, CaseEvent, DetectionRun, Finding
from audit.models.imports import ImportBatch, QuarantinedRow, RowHistory
from audit.models.service import (
    ApiToken,
    AuditEntry,
    CaseDecision,
    CountySetting,
    IdempotencyKey,
    Job,
    LoginAttempt,
    PreReleaseCheck,
    Rectification,
    Release,
    SettingChange,
    Unit,
    User,
)

__all__ = [
    "Account", "Allocation", "Base", "CardPayment", "Case", "CaseEvent", "DetectionRun", "Finding", "Death", "Disbursement", "Disclosure",
    "Household", "ImportBatch", "Kinship", "Official", "Organization", "Person", "Program",
    "Project", "PublicEmployee", "QuarantinedRow", "RowHistory", "ApiToken", "AuditEntry", "CaseDecision",
    "Rectification", "CountySetting", "SettingChange", "User", "PreReleaseCheck", "Release", "IdempotencyKey", "Job", "LoginAttempt", "Unit", "Shareholder", "Town",
    "Transfer", "Vehicle", "Village",
]

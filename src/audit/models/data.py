"""The interchange-v1 tables as stored.

Column names follow the interchange format, except money: every amount is stored as an
integer number of fen (分) in a column suffixed ``_fen``, because SQLite has no exact
decimal type and a float must never hold money. Identifiers (ID, USCC, account and card
numbers) are strings. ``batch_id`` names the import batch that last wrote the row.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from audit.models.base import Base

ID = String(18)  # resident ID or USCC
ACCOUNT = String(32)
KEY = String(64)
ENUM = String(24)
NAME = String(200)


class FromBatch:
    @declared_attr
    def batch_id(cls) -> Mapped[int | None]:  # noqa: N805 - declared_attr takes the class
        return mapped_column(ForeignKey("import_batches.id"), nullable=True)


class Town(FromBatch, Base):
    __tablename__ = "towns"
    town_code: Mapped[str] = mapped_column(KEY, primary_key=True)
    town_name: Mapped[str] = mapped_column(NAME)


class Village(FromBatch, Base):
    __tablename__ = "villages"
    village_code: Mapped[str] = mapped_column(KEY, primary_key=True)
    village_name: Mapped[str] = mapped_column(NAME)
    town_code: Mapped[str] = mapped_column(ForeignKey("towns.town_code"), index=True)
    is_poor_village: Mapped[bool | None] = mapped_column(Boolean)
    exit_year: Mapped[int | None] = mapped_column(Integer)


class Household(FromBatch, Base):
    __tablename__ = "households"
    household_id: Mapped[str] = mapped_column(KEY, primary_key=True)
    village_code: Mapped[str] = mapped_column(ForeignKey("villages.village_code"), index=True)
    head_id_number: Mapped[str] = mapped_column(ID, index=True)
    head_name: Mapped[str] = mapped_column(NAME)
    attribute: Mapped[str] = mapped_column(ENUM)
    registered_on: Mapped[date] = mapped_column(Date)
    exited_on: Mapped[date | None] = mapped_column(Date)
    card_account: Mapped[str | None] = mapped_column(ACCOUNT, index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(Text)


class Person(FromBatch, Base):
    __tablename__ = "persons"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    household_id: Mapped[str] = mapped_column(ForeignKey("households.household_id"), index=True)
    relation: Mapped[str] = mapped_column(ENUM)
    disability_level: Mapped[int | None] = mapped_column(Integer)
    school_stage: Mapped[str | None] = mapped_column(ENUM)
    boarding: Mapped[bool | None] = mapped_column(Boolean)


class Official(FromBatch, Base):
    __tablename__ = "officials"
    official_id: Mapped[str] = mapped_column(KEY, primary_key=True)
    id_number: Mapped[str] = mapped_column(ID, index=True)
    name: Mapped[str] = mapped_column(NAME)
    role: Mapped[str] = mapped_column(ENUM)
    unit: Mapped[str | None] = mapped_column(NAME)
    village_code: Mapped[str | None] = mapped_column(ForeignKey("villages.village_code"), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    from_on: Mapped[date | None] = mapped_column(Date)
    to_on: Mapped[date | None] = mapped_column(Date)


class Kinship(FromBatch, Base):
    __tablename__ = "kinship"
    id_number_a: Mapped[str] = mapped_column(ID, primary_key=True)
    id_number_b: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(ENUM, primary_key=True)
    source: Mapped[str | None] = mapped_column(NAME)


class Organization(FromBatch, Base):
    __tablename__ = "organizations"
    uscc: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    kind: Mapped[str] = mapped_column(ENUM)
    registered_on: Mapped[date | None] = mapped_column(Date)
    legal_rep_id_number: Mapped[str | None] = mapped_column(ID, index=True)
    legal_rep_name: Mapped[str | None] = mapped_column(NAME)
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(40))


class Shareholder(FromBatch, Base):
    __tablename__ = "shareholders"
    uscc: Mapped[str] = mapped_column(ForeignKey("organizations.uscc"), primary_key=True)
    id_number: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    share_pct: Mapped[float | None] = mapped_column(Float)  # a share, not money


class Account(FromBatch, Base):
    __tablename__ = "accounts"
    account_number: Mapped[str] = mapped_column(ACCOUNT, primary_key=True)
    bank: Mapped[str | None] = mapped_column(NAME)
    holder_kind: Mapped[str] = mapped_column(ENUM)
    holder_id: Mapped[str] = mapped_column(ID, index=True)
    opened_on: Mapped[date | None] = mapped_column(Date)


class Program(FromBatch, Base):
    __tablename__ = "programs"
    program_code: Mapped[str] = mapped_column(KEY, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    standard_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    cap_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(ENUM)
    basis: Mapped[str] = mapped_column(ENUM)
    min_disability_level: Mapped[int | None] = mapped_column(Integer)
    school_stage: Mapped[str | None] = mapped_column(ENUM)
    boarding_required: Mapped[bool | None] = mapped_column(Boolean)
    household_attributes: Mapped[str | None] = mapped_column(String(100))
    exclusive_group: Mapped[str | None] = mapped_column(KEY)
    # v1.1: the other names the county's files use for the program, pipe-separated
    # (农村低保金|低保金); a file may name the program by its code, its name or one of these.
    aliases: Mapped[str | None] = mapped_column(String(500))
    means_tested: Mapped[bool | None] = mapped_column(Boolean)


class Allocation(FromBatch, Base):
    __tablename__ = "allocations"
    allocation_id: Mapped[str] = mapped_column(KEY, primary_key=True)
    doc_number: Mapped[str] = mapped_column(NAME)
    source_level: Mapped[str] = mapped_column(ENUM)
    purpose: Mapped[str] = mapped_column(ENUM)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    issued_on: Mapped[date] = mapped_column(Date)
    recipient_unit: Mapped[str | None] = mapped_column(NAME)


class Project(FromBatch, Base):
    __tablename__ = "projects"
    project_id: Mapped[str] = mapped_column(KEY, primary_key=True)
    name: Mapped[str] = mapped_column(NAME)
    category: Mapped[str] = mapped_column(ENUM)
    village_code: Mapped[str] = mapped_column(ForeignKey("villages.village_code"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    budget_fen: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[float | None] = mapped_column(Float)  # a physical size, not money
    unit: Mapped[str | None] = mapped_column(ENUM)
    implementing_uscc: Mapped[str | None] = mapped_column(ForeignKey("organizations.uscc"), index=True)
    contractor_uscc: Mapped[str | None] = mapped_column(ForeignKey("organizations.uscc"), index=True)
    approved_on: Mapped[date] = mapped_column(Date)
    approval_doc: Mapped[str | None] = mapped_column(NAME)
    approver_official_id: Mapped[str | None] = mapped_column(ForeignKey("officials.official_id"), index=True)
    planned_start: Mapped[date | None] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    acceptance_result: Mapped[str | None] = mapped_column(ENUM)
    beneficiary_households: Mapped[int | None] = mapped_column(Integer)


class Disbursement(FromBatch, Base):
    __tablename__ = "disbursements"
    disbursement_id: Mapped[str] = mapped_column(KEY, primary_key=True)
    allocation_id: Mapped[str] = mapped_column(ForeignKey("allocations.allocation_id"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.project_id"), index=True)
    payer_unit: Mapped[str] = mapped_column(NAME, index=True)
    payee_kind: Mapped[str] = mapped_column(ENUM)
    payee_id: Mapped[str] = mapped_column(ID, index=True)
    payee_account: Mapped[str] = mapped_column(ACCOUNT, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    voucher_number: Mapped[str | None] = mapped_column(KEY, index=True)
    invoice_number: Mapped[str | None] = mapped_column(KEY, index=True)
    purpose_text: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("officials.official_id"), index=True)
    # v1.1: a returned disbursement, or one another's correction_of names, moved no money.
    status: Mapped[str] = mapped_column(ENUM, server_default="paid")
    correction_of: Mapped[str | None] = mapped_column(KEY, index=True)


class CardPayment(FromBatch, Base):
    __tablename__ = "card_payments"
    payment_id: Mapped[str] = mapped_column(KEY, primary_key=True)
    program_code: Mapped[str] = mapped_column(ForeignKey("programs.program_code"))
    id_number: Mapped[str] = mapped_column(ID, index=True)
    household_id: Mapped[str | None] = mapped_column(ForeignKey("households.household_id"), index=True)
    card_account: Mapped[str] = mapped_column(ACCOUNT, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(String(7))
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    paying_unit: Mapped[str] = mapped_column(NAME)
    allocation_id: Mapped[str | None] = mapped_column(ForeignKey("allocations.allocation_id"), index=True)
    # v1.1: only a paid payment moved money (failed and returned ones did not); a reissue
    # names the payment it pays again. Checked by the importer, not a foreign key: a
    # reissue and its original may arrive in one file, in any order.
    status: Mapped[str] = mapped_column(ENUM, server_default="paid")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    reissue_of: Mapped[str | None] = mapped_column(KEY, index=True)

    __table_args__ = (Index("ix_card_payments_program_period", "program_code", "period"),)


class Disclosure(FromBatch, Base):
    __tablename__ = "disclosures"
    disclosure_id: Mapped[str] = mapped_column(KEY, primary_key=True)
    subject_kind: Mapped[str] = mapped_column(ENUM)
    subject_ref: Mapped[str] = mapped_column(String(160), index=True)
    channel: Mapped[str] = mapped_column(ENUM)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(Text)


class Death(FromBatch, Base):
    __tablename__ = "deaths"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    died_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(NAME)


class PublicEmployee(FromBatch, Base):
    __tablename__ = "public_employees"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    employer: Mapped[str] = mapped_column(NAME, primary_key=True)
    from_on: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str | None] = mapped_column(NAME)
    to_on: Mapped[date | None] = mapped_column(Date)


class Vehicle(FromBatch, Base):
    __tablename__ = "vehicles"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), primary_key=True)
    registered_on: Mapped[date] = mapped_column(Date)
    vehicle_type: Mapped[str | None] = mapped_column(String(60))


# ---------------------------------------------------------------- v1.1 registries
# Other departments' registers, compared with the beneficiary lists. They may name people
# the store has never seen: no foreign keys, an index on the ID number.


class RealEstate(FromBatch, Base):
    """不动产登记: one row per owner and property (co-owners each have theirs)."""

    __tablename__ = "real_estate"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    property_id: Mapped[str] = mapped_column(KEY, primary_key=True)
    kind: Mapped[str] = mapped_column(ENUM)
    location: Mapped[str | None] = mapped_column(Text)
    area_m2: Mapped[float | None] = mapped_column(Float)
    registered_on: Mapped[date] = mapped_column(Date)
    deregistered_on: Mapped[date | None] = mapped_column(Date)


class HouseholdEvent(FromBatch, Base):
    """户籍变动: a split, a move or a marriage, in or out."""

    __tablename__ = "household_events"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    event: Mapped[str] = mapped_column(ENUM, primary_key=True)
    event_on: Mapped[date] = mapped_column(Date, primary_key=True)
    from_household: Mapped[str | None] = mapped_column(KEY, index=True)
    to_household: Mapped[str | None] = mapped_column(KEY, index=True)
    place: Mapped[str | None] = mapped_column(NAME)


class Detention(FromBatch, Base):
    """服刑/羁押."""

    __tablename__ = "detentions"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    from_on: Mapped[date] = mapped_column(Date, primary_key=True)
    to_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(NAME)


class Pension(FromBatch, Base):
    """养老金/退休金: a monthly amount over a span of time."""

    __tablename__ = "pensions"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    from_on: Mapped[date] = mapped_column(Date, primary_key=True)
    monthly_amount_fen: Mapped[int] = mapped_column(BigInteger)
    to_on: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str | None] = mapped_column(NAME)


class SchoolEnrolment(FromBatch, Base):
    """学籍: a pupil's stage and boarding in a school year (2017 = the year from September 2017)."""

    __tablename__ = "school_enrolments"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    school_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(ENUM)
    boarding: Mapped[bool | None] = mapped_column(Boolean)
    school: Mapped[str | None] = mapped_column(NAME)


class DisabilityCertificate(FromBatch, Base):
    """残疾证: the certified level (1 most severe … 4) from its issue to its revocation."""

    __tablename__ = "disability_certificates"
    id_number: Mapped[str] = mapped_column(ID, primary_key=True)
    issued_on: Mapped[date] = mapped_column(Date, primary_key=True)
    level: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(60))
    revoked_on: Mapped[date | None] = mapped_column(Date)


class Transfer(FromBatch, Base):
    __tablename__ = "transfers"
    transfer_id: Mapped[str] = mapped_column(KEY, primary_key=True)
    from_account: Mapped[str] = mapped_column(ACCOUNT, index=True)
    to_account: Mapped[str] = mapped_column(ACCOUNT, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    transferred_on: Mapped[date] = mapped_column(Date, index=True)
    memo: Mapped[str | None] = mapped_column(Text)

"""Every text a person reads has its Chinese form: the catalogues are complete and agree,
and every message the code names, every code, role, operation and enumeration value
exists in them."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from audit.api.policy import POLICY
from audit.auth.service import ROLES
from audit.detectors.catalogue import CODES, FAMILIES
from audit.i18n import LANGUAGES, catalogue, negotiate, t
from audit.importer import spec as importer_spec

SOURCE = Path(__file__).resolve().parents[1] / "src" / "audit"
PREFIXES = ("error", "evidence", "note", "clause", "criterion", "when", "feature", "flag", "family", "case", "cli",
            "validation", "power", "ui", "page", "enum")
# Ids the code builds from a value (f"note.above_{kind}"): each value it can take.
DYNAMIC = [f"note.above_{k}" for k in ("standard", "cap")] + [f"evidence.program_{k}" for k in ("standard", "cap")] \
    + [f"note.{w}_{s}" for w in ("invoice", "voucher") for s in ("number", "reused")] \
    + [f"note.member_is_{r}" for r in ("legal_rep", "shareholder")] \
    + [f"feature.{f}" for f in ("amount_vs_program", "batch_size", "unit_share", "card_payments")] \
    + [f"cli.import.heading.{h}" for h in ("read", "inserted", "updated", "unchanged", "rejected")]


def _fields(template: str) -> set[tuple[str, str]]:
    return {(name, spec or "") for _, name, spec, _ in string.Formatter().parse(template) if name}


def test_both_catalogues_hold_the_same_messages_with_the_same_fields() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en), (set(zh) ^ set(en))
    for message_id in zh:
        assert zh[message_id].strip() and en[message_id].strip(), message_id
        assert _fields(zh[message_id]) == _fields(en[message_id]), message_id


def test_chinese_texts_are_chinese() -> None:
    """A Chinese text holds Chinese characters, unless it is only a code or a number."""
    for message_id, text in catalogue("zh").items():
        bare = re.sub(r"\{[^}]*\}", "", text)
        if re.search(r"[A-Za-z]{4,}", bare) and not re.search(r"[\u4e00-\u9fff]", bare):
            pytest.fail(f"{message_id} reads English in Chinese: {text}")


def test_every_message_the_code_names_exists() -> None:
    named = set(DYNAMIC)
    pattern = re.compile(r"""["']((?:%s)\.[A-Za-z0-9_.:-]+)["']""" % "|".join(PREFIXES))
    for path in SOURCE.rglob("*"):
        if path.suffix in {".py", ".html"}:
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                if not match.group(1).endswith((".", "_")):
                    named.add(match.group(1))
    known = catalogue("zh")
    # "enum.purpose" alone is a format spec's prefix, not a message.
    complete = {m for m in named if not m.startswith("enum.") or m.count(".") >= 2}
    assert sorted(complete - set(known)) == []


def test_every_code_family_role_operation_and_value_has_its_words() -> None:
    known = catalogue("zh")
    assert all(f"flag.{code}" in known for code in CODES)
    assert all(f"family.{family}" in known for family in FAMILIES)
    assert all(f"enum.user_role.{role}" in known for role in ROLES)
    assert all(f"enum.operation.{operation}" in known for operation in POLICY)
    assert all(f"enum.table.{table}" in known for table in importer_spec.BY_NAME)  # a message names a table
    # An evidence step names its record's kind (the case page shows it).
    assert [t.kind for t in importer_spec.TABLES if f"enum.record_kind.{t.kind}" not in known] == []
    enums = {"ATTRIBUTE": "attribute", "RELATION": "relation", "SCHOOL_STAGE": "school_stage", "ROLE": "role",
             "KINSHIP_KIND": "kinship", "ORG_KIND": "org_kind", "HOLDER_KIND": "holder_kind", "PERIOD_KIND": "period",
             "BASIS": "basis", "SOURCE_LEVEL": "source_level", "PURPOSE": "purpose", "UNIT": "unit",
             "ACCEPTANCE": "acceptance", "SUBJECT_KIND": "disclosure_subject", "CHANNEL": "channel",
             "PAYMENT_STATUS": "payment_status", "DISBURSEMENT_STATUS": "disbursement_status",
             "PROPERTY_KIND": "property_kind", "HOUSEHOLD_EVENT": "household_event"}
    for attribute, kind in enums.items():
        for code in getattr(importer_spec, attribute).codes:
            assert f"enum.{kind}.{code}" in known, (kind, code)


def test_a_message_renders_its_fields_in_the_readers_language() -> None:
    assert t("error.no_case", "zh", case_id=7) == "没有编号为 7 的案件"
    assert t("error.no_case", "en", case_id=7) == "no case 7"
    assert t("evidence.project", "zh", name="红黄村灌溉渠道", project_id="XM1", town="古培镇", village="红黄村",
             category="infrastructure", budget="366900.00", approved_on="2017-06-21", approval_doc="汨扶办发〔2017〕11号",
             contractor="") .startswith("项目「红黄村灌溉渠道」（XM1），古培镇红黄村，基础设施类，预算 366,900.00 元")
    assert t("error.forbidden", "zh", role="finance", operation="cases:read") == "您的角色（财政人员）无权查看案件"
    assert set(LANGUAGES) == {"zh", "en"}


@pytest.mark.parametrize("header, expected", [(None, "zh"), ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
                                              ("fr-FR, en;q=0.5", "en"), ("de", "zh"), ("en;q=0, zh;q=0.1", "zh")])
def test_the_language_follows_accept_language_and_defaults_to_chinese(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected
    assert negotiate(header, "en") == "en"  # a user's own setting wins


def test_every_setting_of_every_detector_has_its_words() -> None:
    """The settings screen names each red flag's thresholds in the reader's language."""
    from audit.detectors.registry import REGISTRY

    known = catalogue("zh")
    missing = sorted({f"{d.code}: {name}" for d in REGISTRY for name in d.defaults
                      if f"ui.admin.param.{name}" not in known})
    assert missing == []

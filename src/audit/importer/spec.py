"""Interchange-v1 as data: every table, its columns (English and Chinese headers), parsers,
keys and references. The importer, the generator and the tests all read this one place.

Where the spec gives no Chinese header or term, the ones here are those county exports
commonly use; the English names always work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from audit import models
from audit.importer import parse as p

# ---------------------------------------------------------------- enumerations

ATTRIBUTE = p.Enum({
    "general": ("一般贫困户", "一般户"),
    "low_income": ("低保贫困户", "低保户"),
    "extreme_poor": ("特困供养贫困户", "特困户", "五保户"),
})
RELATION = p.Enum({
    "head": ("户主",), "spouse": ("配偶",), "child": ("子女", "之子", "之女"),
    "parent": ("父母", "之父", "之母"), "grandchild": ("孙子女", "之孙子", "之孙女"),
    "other": ("其他",),
})
SCHOOL_STAGE = p.Enum({
    "preschool": ("学前", "学前教育", "幼儿园"), "primary": ("小学",), "junior": ("初中",),
    "senior": ("高中",), "vocational": ("中职",), "college": ("大学", "大专"),
})
ROLE = p.Enum({
    "village_secretary": ("村支书", "村党支部书记"), "village_director": ("村主任", "村委会主任"),
    "village_committee": ("村两委委员", "村委委员"), "town_official": ("乡镇干部",),
    "assistance_cadre": ("帮扶干部", "驻村干部"), "finance_officer": ("财务人员", "会计", "报账员"),
    "approver": ("项目审批人", "审批人"),
})
KINSHIP_KIND = p.Enum({
    "spouse": ("配偶", "夫妻"), "parent": ("父母",), "child": ("子女",),
    "sibling": ("兄弟姐妹",), "in_law": ("姻亲",), "other": ("其他",),
})
ORG_KIND = p.Enum({
    "company": ("企业", "公司"), "cooperative": ("合作社", "专业合作社"),
    "government_unit": ("机关单位", "政府单位", "事业单位"), "village_committee": ("村委会", "村民委员会"),
})
HOLDER_KIND = p.Enum({"person": ("个人",), "org": ("单位", "组织")})
PAYEE_KIND = HOLDER_KIND
PERIOD_KIND = p.Enum({"year": ("年", "按年"), "month": ("月", "按月"), "once": ("一次性",)})
BASIS = p.Enum({"person": ("人", "按人"), "household": ("户", "按户")})
SOURCE_LEVEL = p.Enum({
    "central": ("中央",), "provincial": ("省级", "省"), "municipal": ("市级", "市"),
    "county": ("县级", "县"), "backer_unit": ("后盾单位",), "social": ("社会", "社会资金"),
})
PURPOSE = p.Enum({
    "industry": ("产业", "产业发展"), "infrastructure": ("基础设施",), "housing": ("住房", "危房改造"),
    "relocation": ("易地扶贫搬迁", "易地搬迁"), "education": ("教育",), "medical": ("医疗",),
    "social_security": ("社会保障", "社保"), "training": ("培训",), "finance": ("金融",),
    "village_operation": ("村级运转",),
})
UNIT = p.Enum({
    "km": ("公里", "千米"), "m": ("米",), "kW": ("千瓦",), "household": ("户",), "head": ("头", "只"),
    "mu": ("亩",), "item": ("个", "项", "处"),
})
ACCEPTANCE = p.Enum({"pass": ("合格", "通过"), "fail": ("不合格", "未通过")})
SUBJECT_KIND = p.Enum({"project": ("项目",), "payment_batch": ("发放批次", "资金发放")})
# v1.1: a payment's status as the one-card systems write it (发放状态), and a treasury's.
PAYMENT_STATUS = p.Enum({
    "paid": ("成功", "发放成功", "已发放", "已支付", "支付成功"), "failed": ("失败", "发放失败", "支付失败"),
    "returned": ("退回", "已退回", "退票"), "pending": ("发放中", "处理中", "待发放", "未发放"),
})
DISBURSEMENT_STATUS = p.Enum({"paid": ("已支付", "已拨付", "支付成功", "成功"), "returned": ("退回", "已退回", "退票")})
# v1.1 registries.
PROPERTY_KIND = p.Enum({
    "urban_home": ("城镇住宅", "住宅", "商品房", "城镇住房"), "shop": ("商铺", "商业用房", "门面", "商业"),
    "rural_home": ("农村住房", "农村住宅", "宅基地房屋"), "other": ("其他",),
})
HOUSEHOLD_EVENT = p.Enum({
    "split": ("分户",), "move_in": ("迁入",), "move_out": ("迁出",), "marry_in": ("婚入", "婚迁入"),
    "marry_out": ("婚出", "婚迁出"),
})
CHANNEL = p.Enum({"portal": ("门户网站", "政府网站"), "village_board": ("村务公开栏", "公示栏"),
                  "both": ("两者", "网站和公示栏")})

# ---------------------------------------------------------------- columns and tables

Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    name: str
    parser: Parser
    required: bool = False
    chinese: tuple[str, ...] = ()
    # Stored column name when it differs (money is stored in fen).
    stored: str | None = None
    # Cache parsed values: worth it where values repeat (IDs, dates, amounts, enums).
    cached: bool = True
    # What an empty cell means, where the spec gives it a meaning (a status: paid).
    default: Any = None

    @property
    def db_name(self) -> str:
        return self.stored or self.name


def col(name: str, parser: Parser, *chinese: str, required: bool = False,
        stored: str | None = None, cached: bool = True, default: Any = None) -> Column:
    return Column(name, parser, required, tuple(chinese), stored, cached, default)


def money(name: str, *chinese: str, required: bool = False) -> Column:
    return col(name, p.money_fen, *chinese, required=required, stored=f"{name}_fen")


def key(name: str, *chinese: str, required: bool = True) -> Column:
    return col(name, p.key_text, *chinese, required=required, cached=False)


@dataclass(frozen=True)
class Reference:
    column: str
    table: str
    target: str


@dataclass(frozen=True)
class RowProblem:
    """A problem of a row that only several of its cells show: the reason is the message
    ``message_id`` with ``fields`` (JSON-friendly values)."""

    column: str
    value: object
    message_id: str
    fields: dict[str, Any] = field(default_factory=dict)


RowCheck = Callable[[dict[str, Any]], list[RowProblem]]


@dataclass(frozen=True)
class Table:
    name: str
    model: type[models.Base]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    # Checks that need more than one column (payee kind decides which ID rule applies).
    row_check: RowCheck | None = None
    # Singular record kind used in evidence chains (red-flags.md).
    kind: str = ""
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})

    def header_lookup(self) -> dict[str, str]:
        """Every accepted header (folded by :func:`fold_header`) to its English column name."""
        lookup: dict[str, str] = {}
        for column in self.columns:
            lookup[fold_header(column.name)] = column.name
            for chinese in column.chinese:
                lookup[fold_header(chinese)] = column.name
        return lookup


# What a county's own header adds around the name: spaces (full-width too), a required
# marker, a colon, the unit in brackets (发放金额（元）, 金额(万元) is never money here).
_HEADER_NOISE = re.compile(r"[\s\u3000*＊:：]+")
_HEADER_UNIT = re.compile(r"[(（\[【](?:元|人民币元|人民币|yuan|rmb)[)）\]】]$", re.IGNORECASE)


def fold_header(heading: str) -> str:
    """A header as the lookup compares it: ``发放金额（元）``, ``发放金额 (元)`` and ``发放金额``
    are one header, ``Payment_ID`` and ``payment_id`` another."""
    folded = _HEADER_NOISE.sub("", heading.replace("\ufeff", "")).lower()
    return _HEADER_UNIT.sub("", folded)


def _ordered(first: str, second: str, message_id: str) -> RowCheck:
    """``second`` (a date) is not before ``first``; the message names both dates."""
    def check(row: dict[str, Any]) -> list[RowProblem]:
        a, b = row.get(first), row.get(second)
        if a is not None and b is not None and b < a:
            return [RowProblem(second, b, message_id, {"start": a.isoformat(), "end": b.isoformat()})]
        return []
    return check


def _typed_id(kind_column: str, id_column: str) -> RowCheck:
    """Validate an ID as a resident ID or a credit code, as the kind column says."""
    def check(row: dict[str, Any]) -> list[RowProblem]:
        value = row.get(id_column)
        if value is None:
            return []
        try:
            row[id_column] = p.person_or_org_id(row.get(kind_column), value)
        except p.CellWarning as warning:
            row[id_column] = warning.value
        except p.CellError as error:
            message_id = "error.import.org_needs_uscc" if row.get(kind_column) == "org" \
                else "error.import.person_needs_id_number"
            return [RowProblem(id_column, value, message_id,
                               {"kind_column": kind_column, "kind": row.get(kind_column), "error": error.as_message()})]
        return []
    return check


def _all(*checks: RowCheck) -> RowCheck:
    def check(row: dict[str, Any]) -> list[RowProblem]:
        return [problem for one in checks for problem in one(row)]
    return check


def _not_self(row: dict[str, Any]) -> list[RowProblem]:
    if row.get("id_number_a") and row.get("id_number_a") == row.get("id_number_b"):
        return [RowProblem("id_number_b", row["id_number_b"], "error.import.own_kin")]
    return []


def _not_own(key_column: str, column: str) -> RowCheck:
    """A reissue or a correction names another row, never its own."""
    def check(row: dict[str, Any]) -> list[RowProblem]:
        if row.get(column) is not None and row.get(column) == row.get(key_column):
            return [RowProblem(column, row[column], "error.import.names_itself", {"column": key_column})]
        return []
    return check


def _not_future(column: str) -> RowCheck:
    def check(row: dict[str, Any]) -> list[RowProblem]:
        value = row.get(column)
        if isinstance(value, date) and value > date.today():
            return [RowProblem(column, value.isoformat(), "error.import.date_in_future", {"date": value.isoformat()})]
        return []
    return check


TABLES: tuple[Table, ...] = (
    Table("towns", models.Town, (
        key("town_code", "乡镇代码"), col("town_name", p.key_text, "乡镇名称", required=True),
    ), key=("town_code",), kind="town"),
    Table("villages", models.Village, (
        key("village_code", "村代码"), col("village_name", p.key_text, "村名称", required=True),
        col("town_code", p.key_text, "乡镇代码", required=True),
        col("is_poor_village", p.boolean, "是否贫困村"), col("exit_year", p.year, "退出年度"),
    ), key=("village_code",), references=(Reference("town_code", "towns", "town_code"),),
        kind="village"),
    Table("households", models.Household, (
        key("household_id", "户编号"), col("village_code", p.key_text, "村代码", required=True),
        col("head_id_number", p.id_number, "户主身份证号", required=True),
        col("head_name", p.key_text, "户主姓名", required=True),
        col("attribute", ATTRIBUTE, "贫困户属性", required=True),
        col("registered_on", p.a_date, "识别日期", required=True), col("exited_on", p.a_date, "脱贫日期"),
        col("card_account", p.account_number, "明白卡账号"), col("phone", p.key_text, "联系电话", cached=False),
        col("address", p.key_text, "住址", cached=False),
    ), key=("household_id",), references=(Reference("village_code", "villages", "village_code"),),
        row_check=_ordered("registered_on", "exited_on", "error.import.exit_before_registration"),
        kind="household"),
    Table("persons", models.Person, (
        col("id_number", p.id_number, "身份证号", required=True, cached=False),
        col("name", p.key_text, "姓名", required=True),
        col("household_id", p.key_text, "户编号", required=True),
        col("relation", RELATION, "与户主关系", required=True),
        col("disability_level", p.disability_level, "残疾等级"),
        col("school_stage", SCHOOL_STAGE, "在校阶段"), col("boarding", p.boolean, "是否寄宿"),
    ), key=("id_number",), references=(Reference("household_id", "households", "household_id"),),
        kind="person"),
    Table("officials", models.Official, (
        key("official_id", "干部编号"), col("id_number", p.id_number, "身份证号", required=True),
        col("name", p.key_text, "姓名", required=True), col("role", ROLE, "职务", required=True),
        col("unit", p.key_text, "单位"), col("village_code", p.key_text, "联系村"),
        col("phone", p.key_text, "联系电话", cached=False),
        col("from_on", p.a_date, "任职起"), col("to_on", p.a_date, "任职止"),
    ), key=("official_id",), references=(Reference("village_code", "villages", "village_code"),),
        row_check=_ordered("from_on", "to_on", "error.import.term_ends_before_start"), kind="official"),
    Table("kinship", models.Kinship, (
        col("id_number_a", p.id_number, "身份证号A", "甲方身份证号", required=True),
        col("id_number_b", p.id_number, "身份证号B", "乙方身份证号", required=True),
        col("kind", KINSHIP_KIND, "关系", "亲属关系", required=True), col("source", p.key_text, "来源"),
    ), key=("id_number_a", "id_number_b", "kind"), row_check=_not_self, kind="kinship"),
    Table("organizations", models.Organization, (
        col("uscc", p.uscc_code, "统一社会信用代码", required=True, cached=False),
        col("name", p.key_text, "名称", "单位名称", required=True),
        col("kind", ORG_KIND, "类型", "单位类型", required=True),
        col("registered_on", p.a_date, "成立日期"),
        col("legal_rep_id_number", p.id_number, "法定代表人身份证号"),
        col("legal_rep_name", p.key_text, "法定代表人", "法定代表人姓名"),
        col("address", p.key_text, "地址", "住所", cached=False), col("phone", p.key_text, "联系电话", cached=False),
    ), key=("uscc",), row_check=_not_future("registered_on"), kind="organization"),
    Table("shareholders", models.Shareholder, (
        col("uscc", p.uscc_code, "统一社会信用代码", required=True),
        col("id_number", p.id_number, "股东身份证号", required=True),
        col("share_pct", p.percentage, "持股比例"),
    ), key=("uscc", "id_number"), references=(Reference("uscc", "organizations", "uscc"),),
        kind="shareholder"),
    Table("accounts", models.Account, (
        col("account_number", p.account_number, "账号", "银行账号", required=True, cached=False),
        col("bank", p.key_text, "开户行", "开户银行"),
        col("holder_kind", HOLDER_KIND, "户主类型", "持有人类型", required=True),
        col("holder_id", p.key_text, "持有人证件号", "持有人身份证号或信用代码", required=True),
        col("opened_on", p.a_date, "开户日期"),
    ), key=("account_number",), row_check=_typed_id("holder_kind", "holder_id"), kind="account"),
    Table("programs", models.Program, (
        key("program_code", "项目代码", "补贴项目代码"), col("name", p.key_text, "名称", "补贴项目名称", required=True),
        money("standard_amount", "标准"), money("cap_amount", "上限"),
        col("period", PERIOD_KIND, "发放周期", required=True), col("basis", BASIS, "发放对象", required=True),
        col("min_disability_level", p.disability_level, "残疾等级要求"),
        col("school_stage", SCHOOL_STAGE, "在校阶段"), col("boarding_required", p.boolean, "需寄宿"),
        col("household_attributes", p.key_text, "适用贫困户属性"),
        col("exclusive_group", p.key_text, "互斥组"),
        col("aliases", p.key_text, "别名"), col("means_tested", p.boolean, "是否家计调查"),
    ), key=("program_code",), kind="program"),
    Table("allocations", models.Allocation, (
        key("allocation_id", "资金编号", "指标编号"), col("doc_number", p.key_text, "文号", required=True),
        col("source_level", SOURCE_LEVEL, "资金来源", "资金级次", required=True),
        col("purpose", PURPOSE, "资金用途", "用途", required=True),
        money("amount", "金额", "下达金额", required=True),
        col("issued_on", p.a_date, "下达日期", required=True), col("recipient_unit", p.key_text, "接收单位"),
    ), key=("allocation_id",), kind="allocation"),
    Table("projects", models.Project, (
        key("project_id", "项目编号"), col("name", p.key_text, "项目名称", required=True, cached=False),
        col("category", PURPOSE, "项目类别", required=True),
        col("village_code", p.key_text, "村代码", required=True),
        col("description", p.key_text, "建设内容", "项目描述", cached=False),
        money("budget", "预算", "项目预算", required=True), col("quantity", p.number, "建设规模"),
        col("unit", UNIT, "单位", "计量单位"),
        col("implementing_uscc", p.uscc_code, "实施单位"), col("contractor_uscc", p.uscc_code, "施工/供货单位", "施工单位"),
        col("approved_on", p.a_date, "批复日期", required=True), col("approval_doc", p.key_text, "批复文号"),
        col("approver_official_id", p.key_text, "审批人"),
        col("planned_start", p.a_date, "计划开工", "计划开工日期"), col("planned_end", p.a_date, "计划完工", "计划完工日期"),
        col("completed_on", p.a_date, "完工日期"), col("accepted_on", p.a_date, "验收日期"),
        col("acceptance_result", ACCEPTANCE, "验收结果"),
        col("beneficiary_households", p.integer, "受益户数"),
    ), key=("project_id",), references=(
        Reference("village_code", "villages", "village_code"),
        Reference("implementing_uscc", "organizations", "uscc"),
        Reference("contractor_uscc", "organizations", "uscc"),
        Reference("approver_official_id", "officials", "official_id"),
    ), row_check=_ordered("planned_start", "planned_end", "error.import.planned_end_before_start"),
        kind="project"),
    Table("disbursements", models.Disbursement, (
        key("disbursement_id", "拨付编号"), col("allocation_id", p.key_text, "资金编号", required=True),
        col("project_id", p.key_text, "项目编号"), col("payer_unit", p.key_text, "付款单位", "拨付单位", required=True),
        col("payee_kind", PAYEE_KIND, "收款人类型", required=True),
        col("payee_id", p.key_text, "收款人证件号", "收款人身份证号或信用代码", required=True),
        col("payee_account", p.account_number, "收款账号", required=True),
        money("amount", "金额", "拨付金额", required=True),
        col("paid_on", p.a_date, "拨付日期", "支付日期", required=True),
        col("voucher_number", p.key_text, "凭证号", cached=False), col("invoice_number", p.key_text, "发票号", cached=False),
        col("purpose_text", p.key_text, "用途", cached=False), col("approved_by", p.key_text, "审批人"),
        col("status", DISBURSEMENT_STATUS, "支付状态", "拨付状态", "状态", default="paid"),
        col("correction_of", p.key_text, "更正", "更正原拨付编号", "被更正拨付编号"),
    ), key=("disbursement_id",), references=(
        Reference("allocation_id", "allocations", "allocation_id"),
        Reference("project_id", "projects", "project_id"),
        Reference("approved_by", "officials", "official_id"),
        Reference("correction_of", "disbursements", "disbursement_id"),
    ), row_check=_all(_typed_id("payee_kind", "payee_id"), _not_own("disbursement_id", "correction_of")),
        kind="disbursement"),
    Table("card_payments", models.CardPayment, (
        # Beside the spec's headers, those the one-card systems' 发放明细 exports carry.
        key("payment_id", "发放编号", "流水号", "发放流水号", "明细编号"),
        col("program_code", p.key_text, "补贴项目代码", "项目代码", "补贴项目", "补贴项目名称", "补贴类别",
            "补贴名称", "资金项目", required=True),
        col("id_number", p.id_number, "身份证号", "身份证号码", "证件号码", "公民身份号码", required=True),
        col("household_id", p.key_text, "户编号", "户号"),
        col("card_account", p.account_number, "明白卡账号", "卡号", "银行卡号", "一卡通账号", "社保卡号",
            "银行账号", required=True),
        money("amount", "金额", "发放金额", "补贴金额", required=True),
        col("period", p.period, "所属期", "发放期间", "发放期号", "所属年月", "发放年月", required=True),
        col("paid_on", p.a_date, "发放日期", "发放时间", required=True),
        col("paying_unit", p.key_text, "发放单位", "发放机构", "发放部门", required=True),
        col("allocation_id", p.key_text, "资金编号"),
        col("status", PAYMENT_STATUS, "发放状态", "状态", "支付状态", default="paid"),
        col("failure_reason", p.key_text, "失败原因", "退回原因", cached=False),
        col("reissue_of", p.key_text, "补发", "补发原流水号", "原发放编号", "原流水号"),
    ), key=("payment_id",), references=(
        Reference("program_code", "programs", "program_code"),
        Reference("household_id", "households", "household_id"),
        Reference("allocation_id", "allocations", "allocation_id"),
        Reference("reissue_of", "card_payments", "payment_id"),
    ), row_check=_not_own("payment_id", "reissue_of"), kind="card_payment"),
    Table("disclosures", models.Disclosure, (
        key("disclosure_id", "公示编号"), col("subject_kind", SUBJECT_KIND, "公示对象类型", required=True),
        col("subject_ref", p.key_text, "公示对象", required=True, cached=False),
        col("channel", CHANNEL, "公示渠道", required=True),
        col("start_on", p.a_date, "公示开始", "开始日期", required=True),
        col("end_on", p.a_date, "公示结束", "结束日期", required=True), col("url", p.key_text, "网址", cached=False),
    ), key=("disclosure_id",), row_check=_ordered("start_on", "end_on", "error.import.notice_ends_before_start"),
        kind="disclosure"),
    Table("deaths", models.Death, (
        col("id_number", p.id_number, "身份证号", required=True, cached=False),
        col("died_on", p.a_date, "死亡日期", required=True), col("source", p.key_text, "来源"),
    ), key=("id_number",), kind="death"),
    Table("public_employees", models.PublicEmployee, (
        col("id_number", p.id_number, "身份证号", required=True), col("name", p.key_text, "姓名"),
        col("employer", p.key_text, "工作单位", "单位", required=True),
        col("from_on", p.a_date, "起始日期", required=True), col("to_on", p.a_date, "终止日期"),
    ), key=("id_number", "employer", "from_on"),
        row_check=_ordered("from_on", "to_on", "error.import.employment_ends_before_start"), kind="public_employee"),
    Table("vehicles", models.Vehicle, (
        col("id_number", p.id_number, "身份证号", required=True), col("plate", p.key_text, "号牌", "车牌号", required=True),
        col("registered_on", p.a_date, "登记日期", required=True), col("vehicle_type", p.key_text, "车辆类型"),
    ), key=("id_number", "plate"), kind="vehicle"),
    # v1.1: other departments' registers. No references: they may name people the store has
    # never seen (a county's whole property register, not only its poor households).
    Table("real_estate", models.RealEstate, (
        col("id_number", p.id_number, "身份证号", "权利人身份证号", "证件号码", required=True),
        col("property_id", p.key_text, "不动产权证号", "不动产单元号", "产权证号", required=True, cached=False),
        col("kind", PROPERTY_KIND, "房屋类型", "用途", "类型", required=True),
        col("location", p.key_text, "坐落", "房屋坐落", cached=False), col("area_m2", p.number, "面积", "建筑面积"),
        col("registered_on", p.a_date, "登记日期", "登簿日期", required=True),
        col("deregistered_on", p.a_date, "注销或转移日期", "注销日期", "转移日期"),
    ), key=("id_number", "property_id"),
        row_check=_ordered("registered_on", "deregistered_on", "error.import.deregistered_before_registered"),
        kind="real_estate"),
    Table("household_events", models.HouseholdEvent, (
        col("id_number", p.id_number, "身份证号", "公民身份号码", required=True),
        col("event", HOUSEHOLD_EVENT, "变动类型", "变动事项", required=True),
        col("event_on", p.a_date, "变动日期", required=True),
        col("from_household", p.key_text, "原户编号", "原户号"), col("to_household", p.key_text, "现户编号", "现户号"),
        col("place", p.key_text, "迁往或迁自地区", "迁往地", "迁自地"),
    ), key=("id_number", "event", "event_on"), kind="household_event"),
    Table("detentions", models.Detention, (
        col("id_number", p.id_number, "身份证号", required=True),
        col("from_on", p.a_date, "收监或羁押日期", "收监日期", "羁押日期", required=True),
        col("to_on", p.a_date, "释放日期", "刑满释放日期"), col("source", p.key_text, "来源"),
    ), key=("id_number", "from_on"),
        row_check=_ordered("from_on", "to_on", "error.import.released_before_detained"), kind="detention"),
    Table("pensions", models.Pension, (
        col("id_number", p.id_number, "身份证号", required=True),
        money("monthly_amount", "月领取金额", "月养老金", "月发放金额", required=True),
        col("from_on", p.a_date, "起始日期", "领取起始日期", required=True),
        col("to_on", p.a_date, "终止日期", "领取终止日期"), col("source", p.key_text, "来源", "险种"),
    ), key=("id_number", "from_on"),
        row_check=_ordered("from_on", "to_on", "error.import.pension_ends_before_start"), kind="pension"),
    Table("school_enrolments", models.SchoolEnrolment, (
        col("id_number", p.id_number, "身份证号", "学生身份证号", required=True),
        col("school_year", p.year, "学年", "学年度", required=True),
        col("stage", SCHOOL_STAGE, "学段", "在校阶段", required=True), col("boarding", p.boolean, "是否寄宿", "寄宿"),
        col("school", p.key_text, "学校", "就读学校"),
    ), key=("id_number", "school_year"), kind="school_enrolment"),
    Table("disability_certificates", models.DisabilityCertificate, (
        col("id_number", p.id_number, "身份证号", required=True),
        col("level", p.disability_level, "残疾等级", required=True),
        col("category", p.key_text, "残疾类别"),
        col("issued_on", p.a_date, "发证日期", "办证日期", required=True),
        col("revoked_on", p.a_date, "注销日期", "失效日期"),
    ), key=("id_number", "issued_on"),
        row_check=_ordered("issued_on", "revoked_on", "error.import.certificate_revoked_before_issued"),
        kind="disability_certificate"),
    Table("transfers", models.Transfer, (
        key("transfer_id", "流水号", "交易编号"), col("from_account", p.account_number, "付款账号", required=True),
        col("to_account", p.account_number, "收款账号", required=True),
        money("amount", "金额", "交易金额", required=True),
        col("transferred_on", p.a_date, "交易日期", required=True), col("memo", p.key_text, "摘要", "附言", cached=False),
    ), key=("transfer_id",), kind="transfer"),
)

BY_NAME: dict[str, Table] = {table.name: table for table in TABLES}

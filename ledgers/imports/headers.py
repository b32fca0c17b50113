"""Header spellings seen in real ledgers, mapped to fields, and the labels used in plans."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from transfers import places
from transfers.models import MobilityEpisode

from ..models import LedgerRecord

# --- headers ---------------------------------------------------------------------------------

# field -> the header spellings seen in real ledgers (DESIGN.md), the first is the standard one.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名",),
    "gender": ("性别",),
    "ethnicity": ("民族",),
    "birth_date": ("出生日期", "出生年月"),
    "national_id": ("公民身份号码", "身份证号", "身份证号码", "公民身份证号码", "身份证"),
    "phone": ("手机号码", "联系电话", "联系方式", "手机号", "手机"),
    "branch": ("所在党支部", "所在支部", "所在党组织"),
    "joined_on": ("入党日期", "入党时间"),
    "confirmed_on": ("转正日期", "转正时间"),
    "category": ("人员类别", "党员类别"),
    "left_on": ("流出时间", "流出日期", "外出时间"),
    "destination": ("去向", "外出地点", "流入地", "现居住地"),
    "mobility_type": ("流动类型", "流动原因", "外出原因"),
    "occupation": ("职业", "工作岗位", "原职业"),
    "inflow": ("流入党组织", "流入党支部"),
    "inflow_contact": ("流入地联系人", "流入党支部联系方式"),
    "certificate": ("流动证号", "活动证编号"),
    "conduct": ("思想动态", "表现情况"),
    "is_mobile": ("是否流动党员",),
    "is_lost": ("是否失联党员",),
    "lost_on": ("失联时间",),
    "last_contact": ("最近联系时间", "最近联系日期", "上次联系时间", "最后联系时间"),
    "last_life": (
        "最近参加组织生活",
        "最近参加组织生活时间",
        "最后一次参加组织生活",
        "最近一次组织生活",
    ),
    "dues_paid_to": ("党费交至", "党费缴至", "党费交纳至", "党费已交至"),
}
HEADER_FIELDS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
LABEL = {name: aliases[0] for name, aliases in ALIASES.items()}
HEADER_SEARCH_ROWS = 10
MIN_KNOWN_HEADERS = 3
REQUIRED_COLUMNS = ("name", "national_id")

# the sheet's evidence of life before the import -> the EvidenceBaseline field it fills
EVIDENCE_FIELDS = {
    "last_contact": "last_contact_on",
    "last_life": "last_life_on",
    "dues_paid_to": "dues_paid_to",
}
DUES_PREPAID_MONTHS = 12  # 党费交至 may be this many months after the import day, no more
IMPORT_SOURCE = "台账导入 {file_name}"
CANNOT_IMPORT_HERE = "该公民身份号码不能在此导入；已通知县委组织部核实，会与您联系"

CHUNK = 500  # rows written (and progress reported) per step
QUERY_CHUNK = 1000  # digests per `IN (...)` query

IMPORT_LOST_NOTE = "导入：台账标记为失联"
YES = {"是", "Y", "YES", "1", "TRUE", "√", "✓", "对"}
NO = {"否", "N", "NO", "0", "FALSE", "×", "无", "不是"}

MEMBER_LABELS = {
    "name": "姓名",
    "gender": "性别",
    "ethnicity": "民族",
    "birth_date": "出生日期",
    "phone": "手机号码",
    "category": "人员类别",
    "joined_on": "入党日期",
    "confirmed_on": "转正日期",
    "home_branch_id": "所在党支部",
}
EPISODE_LABELS = {
    "left_on": "流出时间",
    "mobility_type": "流动类型",
    "destination": "去向",
    "occupation": "职业",
    "inflow": "流入党组织",
}
ITEM_LABELS = {
    "left": "流出时间",
    "where": "去向",
    "occupation": "职业",
    "contact": "联系方式",
    "conduct": "思想动态",
}
CONFIRMATION_FIELDS = {
    item: (f"{item}_confirmed_on", f"{item}_confirmed_by_id") for item in ITEM_LABELS
}
DESTINATION_FIELDS = places.FIELDS

MOBILITY_KEYWORDS = (  # first match wins: "出国务工" is abroad, not work
    (MobilityEpisode.Type.ABROAD, ("出国", "出境", "国外", "境外")),
    (MobilityEpisode.Type.STUDY, ("学习", "上学", "读书", "求学", "毕业", "升学")),
    (MobilityEpisode.Type.SETTLED, ("定居", "随子女", "投亲", "随迁")),
    (MobilityEpisode.Type.TEMPORARY, ("临时", "季节", "短期")),
    (MobilityEpisode.Type.WORK, ("务工", "就业", "打工", "经商", "工作")),
)
ASSESSMENT_LABELS = {  # the exporter writes "良好：note"; read the label back
    "良好": LedgerRecord.Assessment.GOOD,
    "一般": LedgerRecord.Assessment.FAIR,
    "需关注": LedgerRecord.Assessment.CONCERN,
}
ASSESSMENT_NAMES = {value: label for label, value in ASSESSMENT_LABELS.items()}
CONDUCT_UNCLEAR = "不清"  # 思想动态 text no keyword places: the item stays unclear
MOBILITY_LABELS = {  # as the exporter writes 流动类型
    MobilityEpisode.Type.WORK: "就业流动",
    MobilityEpisode.Type.STUDY: "学习流动",
    MobilityEpisode.Type.SETTLED: "定居流动",
    MobilityEpisode.Type.TEMPORARY: "临时流动",
    MobilityEpisode.Type.ABROAD: "出国（境）",
}
ASSESSMENT_KEYWORDS = (  # first match wins: "较好" is fair although it contains "好"
    (LedgerRecord.Assessment.CONCERN, ("不积极", "差", "消极", "关注", "不稳定", "异常")),
    (LedgerRecord.Assessment.FAIR, ("一般", "较好", "尚可")),
    (LedgerRecord.Assessment.GOOD, ("好", "优秀", "良好", "积极", "正常", "稳定", "端正")),
)
# Columns the import does not read, and why: said in the preview before the user confirms.
UNREAD = "未读取的列：{header}（{why}）"
NOT_IMPORTED = "本系统不导入此列"
NOT_IMPORTED_FIELDS = ("certificate",)  # recognised, but kept elsewhere (the certificate)
NOT_IMPORTED_HEADERS = ("序号", "编号", "五清情况", "备注")  # the exporter's and the usual
REASONS_HEADER = "错误原因"  # the last column of the broken rows sent back to be fixed
REASONS_NOT_IMPORTED = "上次导入时附上的错误说明，此列不导入"
UNNAMED = "没有列名，第{row}行起有内容，此列不导入"
UNKNOWN_HEADER = "无法识别的列名，此列不导入：如需导入，请改用模板中的列名"
MOBILE_ONLY_FIELDS = (  # read only on a mobile member's row
    "mobility_type",
    "destination",
    "occupation",
    "inflow",
    "inflow_contact",
    "conduct",
)
NO_DEPARTURE = "表中没有“流出时间”或“是否流动党员”列，看不出谁是流动党员，此列不导入"
PHONE_IN_TEXT = re.compile(r"(?:\+?86)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:-\d{1,6})?")


def normalise_text(value) -> str:
    """Full-width digits and letters to ASCII, no-break and ideographic spaces collapsed."""
    if type(value) is str:  # most cells: the same as below, without the other checks
        return " ".join(unicodedata.normalize("NFKC", value).split())
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return " ".join(text.split())  # all Unicode spaces, collapsed and stripped


def _header_key(value) -> str:
    return re.sub(r"[\s*:]", "", unicodedata.normalize("NFKC", str(value)))


def field_of_header(value) -> str | None:
    """The field a header cell names, or None. Ignores spaces, '*' and a hint in brackets."""
    if value is None:
        return None
    key = _header_key(value)
    if key in HEADER_FIELDS:
        return HEADER_FIELDS[key]
    base = re.sub(r"\(.*\)$", "", key)
    return HEADER_FIELDS.get(base)

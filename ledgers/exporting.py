"""The ledger as a spreadsheet, in the standard layout with Chinese headers.

Written with XlsxWriter (XlsxBook, the one .xlsx writer) and the csv module rather than a
django-import-export Resource: a county exports 100,000 rows, and per-field dehydration costs
too much there.
The headers are ones the importer reads back, so an exported sheet re-imports unchanged: the
.xlsx has a title row and a date row above them, which the importer's header search
(ledgers/imports/headers.py HEADER_SEARCH_ROWS) passes over; the .csv is the bare table.
"""

import csv
import io
from collections.abc import Iterable
from datetime import date

from django.utils import timezone

from infrastructure.xlsx import XlsxBook, escape
from members.models import Member, Organisation
from transfers.models import MobilityEpisode

from .models import LedgerRecord

HEADERS = [
    "序号",
    "姓名",
    "性别",
    "民族",
    "出生日期",
    "公民身份号码",
    "手机号码",
    "所在党支部",
    "入党日期",
    "转正日期",
    "人员类别",
    "是否流动党员",
    "流出时间",
    "流动类型",
    "去向",
    "职业",
    "流入党组织",
    "流入地联系人",
    "流动证号",
    "思想动态",
    "最近联系日期",
    "五清情况",
]
CATEGORY = {Member.Category.FULL: "正式党员", Member.Category.PROBATIONARY: "预备党员"}
GENDER = {Member.Gender.MALE: "男", Member.Gender.FEMALE: "女"}
TYPE = {
    MobilityEpisode.Type.WORK: "就业流动",
    MobilityEpisode.Type.STUDY: "学习流动",
    MobilityEpisode.Type.SETTLED: "定居流动",
    MobilityEpisode.Type.TEMPORARY: "临时流动",
    MobilityEpisode.Type.ABROAD: "出国（境）",
}
ASSESSMENT = {
    LedgerRecord.Assessment.GOOD: "良好",
    LedgerRecord.Assessment.FAIR: "一般",
    LedgerRecord.Assessment.CONCERN: "需关注",
}
ITEM_NAMES = {
    "left": "流出时间",
    "where": "去向",
    "occupation": "职业",
    "contact": "联系方式",
    "conduct": "思想动态",
}


def _destination(episode: MobilityEpisode) -> str:
    parts = [
        episode.destination_country,
        episode.destination_province,
        "" if episode.destination_city == "市辖区" else episode.destination_city,
        episode.destination_county,
        episode.address,
    ]
    return "".join(part for part in parts if part)


def _inflow_contact(episode: MobilityEpisode) -> str:
    inflow = episode.inflow
    if inflow is None:
        return ""
    return " ".join(part for part in (inflow.contact_person, inflow.phone) if part)


def _conduct(record: LedgerRecord | None) -> str:
    if record is None:
        return ""
    label = ASSESSMENT.get(record.conduct_assessment, "")
    return "：".join(part for part in (label, record.conduct_note) if part)


def _five_clears(episode) -> str:
    missing = [
        name for item, name in ITEM_NAMES.items() if not getattr(episode, f"{item}_clear", True)
    ]
    return "五清" if not missing else "不清：" + "、".join(missing)


def ledger_row(number: int, episode, *, full_id: bool = True) -> list:
    """One ledger line; the inflow side's export has neither the birth date nor more than the
    last four characters of the ID number (the full number is the home side's)."""
    member: Member = episode.member
    record = getattr(member, "ledger", None)  # the reverse one-to-one may be missing
    cells = [
        number,
        member.name,
        GENDER.get(member.gender, ""),
        member.ethnicity,
        # The hosting side: no birth date and four characters, which no search can complete.
        member.birth_date if full_id else None,
        member.national_id if full_id else member.national_id_tail,
        member.phone,
        member.home_branch.name,
        member.joined_on,
        member.confirmed_on,
        CATEGORY.get(member.category, ""),
        "是",
        episode.left_on,
        TYPE.get(episode.mobility_type, ""),
        _destination(episode),
        episode.occupation,
        str(episode.inflow or ""),
        _inflow_contact(episode),
        getattr(episode, "certificate_number", None) or "",
        _conduct(record),
        getattr(episode, "last_reached_on", None),
        _five_clears(episode),
    ]
    return [escape(cell) for cell in cells]


def _rows(episodes: Iterable, full_ids: bool) -> Iterable[list]:
    for number, episode in enumerate(episodes, start=1):
        yield ledger_row(number, episode, full_id=full_ids)


SIDE_TITLES = {"outflow": "流出党员五清台账", "inflow": "流入党员五清台账"}


def ledger_heading(
    *, organisation: Organisation | None = None, side: str = "", today: date | None = None
) -> tuple[str, str]:
    """The title row and the date row above the ledger's header: whose ledger, which side, and
    the day it was exported (the importer looks for the header below them)."""
    name = SIDE_TITLES.get(side, "流动党员五清台账")
    title = f"{organisation.name} {name}" if organisation is not None else name
    return title, f"导出日期：{(today or timezone.localdate()).isoformat()}"


def export_ledger_xlsx(
    episodes: Iterable,
    *,
    full_ids: bool = True,
    organisation: Organisation | None = None,
    side: str = "",
    today: date | None = None,
) -> bytes:
    """The ledger as one sheet, written row by row as `episodes` yields them (a county's
    100,000 rows are never a list): a title row (`organisation`'s ledger of `side`, when
    given) and the date above the standard header, frozen below it."""
    title, subtitle = ledger_heading(organisation=organisation, side=side, today=today)
    book = XlsxBook()
    book.add_sheet("五清台账", HEADERS, _rows(episodes, full_ids), title=title, subtitle=subtitle)
    return book.to_bytes()


def export_ledger_csv(episodes: Iterable, *, full_ids: bool = True) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    for row in _rows(episodes, full_ids):
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes Excel read it as UTF-8


def template_xlsx() -> bytes:
    """A blank ledger with the headers and one example row to copy."""
    example = [
        1,
        "张三（示例，请删除本行）",
        "男",
        "汉族",
        "1985-03-14",
        "11010519491231002X",
        "13800138000",
        "城关镇东街社区党支部",
        "2010-07-01",
        "2011-07-01",
        "正式党员",
        "是",
        "2024-05-01",
        "就业流动",
        "广东省深圳市南山区科技园",
        "电子厂工人",
        "深圳市南山区科技园流动党员党支部",
        "陈立新 0755-86012345",
        "",
        "良好：积极参加流入地组织生活",
        "",
        "",
    ]
    widths = [6, 10, 6, 8, 12, 22, 14, 22, 12, 12, 10, 8, 12, 10, 28, 12, 28, 20, 16, 28, 12, 16]
    book = XlsxBook()
    book.add_sheet("五清台账", HEADERS, [example], widths=widths)
    return book.to_bytes()

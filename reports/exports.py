"""The dashboard and the yearly statistics as workbooks: Chinese headers, one sheet per section,
no personal data (destinations without names)."""

from datetime import date

from django.conf import settings
from django.utils import timezone, translation

from infrastructure.xlsx import XlsxBook
from ledgers.exporting import TYPE
from members.models import Organisation
from transfers.classification import Arrangement

from . import dashboard

ARRANGEMENT_ZH = {
    Arrangement.TRANSFER_REQUIRED: "应转接组织关系",
    Arrangement.CERTIFICATE: "持流动党员活动证",
    Arrangement.OVERSEAS: "出国（境）保留组织关系",
    Arrangement.GRADUATE: "毕业生保留组织关系",
    Arrangement.NONE: "无需安排",
}


def _sheet(workbook: XlsxBook, heading, name: str, headers: list[str], rows) -> None:
    """A sheet whose first rows say whose figures they are and as of when (`heading`: the title
    and the date line), then the header, frozen below it."""
    title, subtitle = heading
    workbook.add_sheet(
        name,
        headers,
        (
            [str(cell) if not isinstance(cell, int | float) else cell for cell in row]
            for row in rows
        ),
        title=title,
        subtitle=subtitle,
    )


def dashboard_heading(*, organisation: Organisation, as_of: date | None, today: date):
    """The title and date rows of the dashboard's sheets: the figures' day, and the night they
    were counted when they are last night's."""
    day = as_of or today
    title = f"{organisation.name} 流动党员统计（截至{day.isoformat()}）"
    if as_of is not None:
        subtitle = f"数据统计于{as_of.isoformat()}，正在重新统计；导出日期：{today.isoformat()}"
    else:
        subtitle = f"导出日期：{today.isoformat()}"
    return title, subtitle


def yearly_heading(*, organisation: Organisation, year: int, as_of: date, today: date):
    title = f"{organisation.name} {year}年度流动党员统计（截至{as_of.isoformat()}）"
    return title, f"导出日期：{today.isoformat()}"


@translation.override("zh-hans")  # the sheet's words, whatever the page's language
def dashboard_workbook(
    *, report: dashboard.Report, organisation: Organisation, places: list[dict], today: date
) -> XlsxBook:
    f = report.figures
    workbook = XlsxBook()
    campaign = f["campaign"]
    heading = dashboard_heading(organisation=organisation, as_of=f.get("as_of"), today=today)
    _sheet(
        workbook,
        heading,
        "概况",
        ["指标", "数值"],
        [
            ("党组织", organisation.name),
            ("统计日期", (f.get("as_of") or today).isoformat()),
            ("党员人数（正常）", f["members"]),
            ("流动党员（流出）", f["mobile"]),
            ("流入党员（外来）", f["hosted"]),
            *[(ARRANGEMENT_ZH[v], f[v]) for v in dashboard.ARRANGEMENTS],
            ("五清台账完整人数", f["clear"]),
            ("五清完整率（%）", f["completeness_percent"]),
            ("连续6个月未参加组织生活", f["no_life"]),
            ("未参加组织生活比例（%）", f["no_life_percent"]),
            ("参照比例（%）", f["no_life_reference"]),
            ("失联党员", f["lost_contact"]),
            ("活动证待年审", f["certificates_due"]),
            ("待审批转接", f["transfers_submitted"]),
            ("已开介绍信待接收", f["transfers_approved"]),
            ("回执逾期", f["receipts_overdue"]),
            ("未处理预警", f["alerts"]),
            ("摸排活动", campaign["campaign"].name if campaign else "—"),
            ("摸排已核实", campaign["verified"] if campaign else 0),
            ("摸排应核实", campaign["total"] if campaign else 0),
        ],
    )
    _sheet(
        workbook,
        heading,
        "流动类型",
        ["流动类型", "人数"],
        [(TYPE.get(r["value"], r["value"]), r["count"]) for r in f["by_type"]],
    )
    _sheet(
        workbook,
        heading,
        "流入省份",
        ["省份", "人数"],
        [(r["label"], r["count"]) for r in f["by_province"]],
    )
    _sheet(
        workbook,
        heading,
        "管理方式",
        ["管理方式", "人数"],
        [(ARRANGEMENT_ZH[r["value"]], r["count"]) for r in f["arrangements"]],
    )
    _sheet(
        workbook,
        heading,
        "预警",
        ["预警类型", "数量"],
        [(str(r["label"]), r["count"]) for r in f["alerts_by_kind"]],
    )
    _sheet(
        workbook,
        heading,
        "下级单位",
        [
            "单位",
            "党员人数",
            "流动党员",
            "应转接",
            "五清完整率（%）",
            "6个月未参加组织生活",
            "比例（%）",
            "失联",
            "活动证待年审",
            "待办转接",
            "回执逾期",
            "未处理预警",
            "流入党员",
        ],
        [
            (
                u["name"],
                u["members"],
                u["mobile"],
                u[Arrangement.TRANSFER_REQUIRED],
                u["completeness_percent"],
                u["no_life"],
                u["no_life_percent"],
                u["lost_contact"],
                u["certificates_due"],
                u["transfers_pending"],
                u["receipts_overdue"],
                u["alerts"],
                u["hosted"],
            )
            for u in report.units
        ],
    )
    _sheet(
        workbook,
        heading,
        "流动去向",
        ["去向（城市）", "人数", f"可建立流动党组织（≥{settings.MOBILE_GROUP_MIN_MEMBERS}人）"],
        [(p["label"], p["count"], "是" if p["can_form_group"] else "否") for p in places],
    )
    return workbook


@translation.override("zh-hans")
def yearly_workbook(
    *, stats: dict, organisation: Organisation, year: int, today: date | None = None
) -> XlsxBook:
    s = stats
    workbook = XlsxBook()
    heading = yearly_heading(
        organisation=organisation, year=year, as_of=s["as_of"], today=today or timezone.localdate()
    )
    _sheet(
        workbook,
        heading,
        "年度统计",
        ["指标", "数值"],
        [
            ("党组织", organisation.name),
            ("年度", year),
            ("统计截止日期", s["as_of"].isoformat()),
            ("流动党员（年末）", s["mobile"]),
            ("新增流出", s["new_outflows"]),
            ("返回", s["returns"]),
            ("转入（完成）", s["transfers_in"]),
            ("转出（完成）", s["transfers_out"]),
            ("停止党籍", s["suspensions"]),
            ("除名", s["removals"]),
        ],
    )
    _sheet(
        workbook,
        heading,
        "流动类型",
        ["流动类型", "人数"],
        [(TYPE.get(r["value"], r["value"]), r["count"]) for r in s["by_type"]],
    )
    _sheet(
        workbook,
        heading,
        "流入省份",
        ["省份", "人数"],
        [(r["label"], r["count"]) for r in s["by_province"]],
    )
    _sheet(
        workbook,
        heading,
        "管理方式",
        ["管理方式", "人数"],
        [(ARRANGEMENT_ZH[r["value"]], r["count"]) for r in s["by_arrangement"]],
    )
    return workbook

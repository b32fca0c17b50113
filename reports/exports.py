"""The dashboard and the yearly statistics as workbooks: Chinese headers, one sheet per section,
no personal data (destinations without names)."""

from datetime import date

from django.conf import settings
from django.utils import translation

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


def _sheet(workbook: XlsxBook, title: str, headers: list[str], rows) -> None:
    workbook.add_sheet(
        title,
        headers,
        (
            [str(cell) if not isinstance(cell, int | float) else cell for cell in row]
            for row in rows
        ),
    )


@translation.override("zh-hans")  # the sheet's words, whatever the page's language
def dashboard_workbook(
    *, report: dashboard.Report, organisation: Organisation, places: list[dict], today: date
) -> XlsxBook:
    f = report.figures
    workbook = XlsxBook()
    campaign = f["campaign"]
    _sheet(
        workbook,
        "概况",
        ["指标", "数值"],
        [
            ("党组织", organisation.name),
            ("统计日期", today.isoformat()),
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
        "流动类型",
        ["流动类型", "人数"],
        [(TYPE.get(r["value"], r["value"]), r["count"]) for r in f["by_type"]],
    )
    _sheet(
        workbook,
        "流入省份",
        ["省份", "人数"],
        [(r["label"], r["count"]) for r in f["by_province"]],
    )
    _sheet(
        workbook,
        "管理方式",
        ["管理方式", "人数"],
        [(ARRANGEMENT_ZH[r["value"]], r["count"]) for r in f["arrangements"]],
    )
    _sheet(
        workbook,
        "预警",
        ["预警类型", "数量"],
        [(str(r["label"]), r["count"]) for r in f["alerts_by_kind"]],
    )
    _sheet(
        workbook,
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
        "流动去向",
        ["去向（城市）", "人数", f"可建立流动党组织（≥{settings.MOBILE_GROUP_MIN_MEMBERS}人）"],
        [(p["label"], p["count"], "是" if p["can_form_group"] else "否") for p in places],
    )
    return workbook


@translation.override("zh-hans")
def yearly_workbook(*, stats: dict, organisation: Organisation, year: int) -> XlsxBook:
    s = stats
    workbook = XlsxBook()
    _sheet(
        workbook,
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
        "流动类型",
        ["流动类型", "人数"],
        [(TYPE.get(r["value"], r["value"]), r["count"]) for r in s["by_type"]],
    )
    _sheet(
        workbook,
        "流入省份",
        ["省份", "人数"],
        [(r["label"], r["count"]) for r in s["by_province"]],
    )
    _sheet(
        workbook,
        "管理方式",
        ["管理方式", "人数"],
        [(ARRANGEMENT_ZH[r["value"]], r["count"]) for r in s["by_arrangement"]],
    )
    return workbook

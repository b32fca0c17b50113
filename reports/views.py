"""The reviewer's dashboard, its printable report and exports, and the yearly statistics.

Thin views over dashboard.py (figures), yearly.py and exports.py (workbooks). Every number links to the list behind it; where no list
can filter to exactly that figure, the link goes to the nearest one (see `links`).
"""

from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from infrastructure.client_address import client_address
from infrastructure.db_router import lagging_reads_ok
from infrastructure.xlsx import XlsxBook
from members import selectors as member_selectors
from members.access_log import log_sensitive_access
from members.models import Member, Organisation, SensitiveAccess

from . import dashboard as board
from . import exports, snapshots
from . import yearly as statistics

CHART_WIDTH = 520
CHART_LABEL = 190
CHART_ROW = 28


def _organisation(request) -> Organisation | None:
    """?org=<pk> within the user's scope (404 otherwise); by default the user's scope root."""
    user = request.user
    chosen = member_selectors.organisation_from_query(request)
    if chosen is not None:
        return chosen
    root = member_selectors.scope_root_of(user)
    if root is None and member_selectors.sees_everything(user):
        root = Organisation.objects.get_first_root_node()
    return root


def _url(name: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in ("", None)})
    return reverse(name) + (f"?{query}" if query else "")


def links(organisation: Organisation) -> dict:
    """The list behind each figure, filtered to the organisation's subtree.

    Members: the member list (subtree, active). Mobile figures: the five-clears ledger (subtree,
    arrangement, type, province). Rule figures (no life, lost contact, certificates due, receipts
    overdue): the dashboard's own member list, built from the very query that counts them.
    Alerts: the alert inbox (subtree, kind). Transfers: the transfer list (sending branch in the
    subtree, state). Hosted: the inflow ledger.
    """
    branch = organisation.pk
    ledger = "ledgers:ledger"
    return {
        "members": _url("members:list", branch=branch, status=Member.Status.ACTIVE),
        "mobile": _url(ledger, branch=branch),
        "hosted": _url(ledger, side="inflow", branch=branch),
        "not_clear": _url(ledger, branch=branch, not_clear_only="on"),
        **{
            figure: _url("reports:dashboard_members", org=branch, figure=figure)
            for figure in board.FIGURE_TITLES
        },
        "transfers_submitted": _url("transfers:transfer_list", org=branch, state="submitted"),
        "transfers_approved": _url("transfers:transfer_list", org=branch, state="approved"),
        "alerts": _url("alerts:inbox", org=branch),
        **{
            f"arrangement_{value}": _url(ledger, branch=branch, arrangement=value)
            for value in board.ARRANGEMENTS
        },
    }


def bar_chart(rows: list[dict], *, url) -> dict:
    """Geometry for a horizontal bar chart drawn in the template as SVG (no JavaScript)."""
    top = max((row["count"] for row in rows), default=0) or 1
    span = CHART_WIDTH - CHART_LABEL - 60
    bars = [
        {
            **row,
            "y": index * CHART_ROW,
            "text_y": index * CHART_ROW + CHART_ROW * 0.62,
            "width": round(span * row["count"] / top, 1),
            "value_x": CHART_LABEL + round(span * row["count"] / top, 1) + 6,
            "url": url(row),
        }
        for index, row in enumerate(rows)
    ]
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "label_width": CHART_LABEL,
        "label_x": CHART_LABEL - 8,
        "height": max(len(bars), 1) * CHART_ROW,
    }


def unit_columns() -> list[tuple[str, str]]:
    return [
        ("name", _("Unit")),
        ("members", _("Members")),
        ("mobile", _("Mobile")),
        ("transfer_required", _("Transfer required")),
        ("completeness_percent", _("Five clears")),
        ("no_life", _("No life 6 months")),
        ("no_life_percent", _("No life share")),
        ("lost_contact", _("Lost contact")),
        ("certificates_due", _("Certificates due")),
        ("transfers_pending", _("Transfers pending")),
        ("receipts_overdue", _("Receipts overdue")),
        ("alerts", _("Open alerts")),
        ("hosted", _("Hosted")),
    ]


def _context(request, *, sort: str = "name") -> dict:
    user = request.user
    organisation = _organisation(request)
    today = timezone.localdate()
    if organisation is None:
        return {"organisation": None, "today": today}
    report = board.report(user=user, organisation=organisation, today=today, sort=sort)
    figures = report.figures
    branch = organisation.pk
    for unit in report.units:
        target = unit["organisation"] or organisation
        unit["links"] = links(target)
        unit["drill"] = (
            _url("reports:dashboard", org=unit["organisation"].pk) if unit["organisation"] else ""
        )
    return {
        "organisation": organisation,
        "today": today,
        "ancestors": member_selectors.organisation_ancestors(user=user, organisation=organisation),
        "figures": figures,
        "links": links(organisation),
        "units": report.units,
        "sort": sort,
        "unit_columns": unit_columns(),
        "type_chart": bar_chart(
            figures["by_type"],
            url=lambda row: _url("ledgers:ledger", branch=branch, mobility_type=row["value"]),
        ),
        "province_chart": bar_chart(
            figures["by_province"],
            url=lambda row: _url("ledgers:ledger", branch=branch, province=row["value"]),
        ),
        "arrangement_chart": bar_chart(
            figures["arrangements"],
            url=lambda row: _url("ledgers:ledger", branch=branch, arrangement=row["value"]),
        ),
        "destinations": board.destinations(
            user=user,
            organisation=organisation,
            places=figures["places"],
            names=not figures["kept"],  # a large subtree: the names query reads every member
        ),
        "group_min": settings.MOBILE_GROUP_MIN_MEMBERS,
        "trends": (trends := snapshots.trends_for(organisation, today=today)),
        "trend_series": [
            (key, label, snapshots.series(trends, key))
            for key, label in (
                ("mobile", _("Mobile members")),
                ("completeness_percent", _("Five clears (%)")),
                ("no_life_percent", _("No organisational life 6 months (%)")),
                ("lost_contact", _("Lost contact")),
            )
        ],
    }


@require_GET
@lagging_reads_ok
def dashboard(request):
    sort = request.GET.get("sort", "name")
    return render(request, "reports/dashboard.html", _context(request, sort=sort))


def _log_report(request, detail: str) -> None:
    log_sensitive_access(
        user=request.user,
        action=SensitiveAccess.Action.EXPORT_REPORT,
        detail=detail,
        ip_address=client_address(request),
    )


@require_GET
@lagging_reads_ok
def dashboard_members(request):
    """The members one rule-based figure counts (?org=&figure=), paginated like the member list."""
    organisation = _organisation(request)
    figure = request.GET.get("figure", "")
    if organisation is None:
        raise Http404
    place = request.GET.get("place", "")
    members = board.figure_members(
        user=request.user,
        organisation=organisation,
        figure=figure,
        today=timezone.localdate(),
        place=place,
    )
    if members is None:
        raise Http404
    title = board.place_title(place) if figure == "place" else board.FIGURE_TITLES[figure]
    members = members.select_related("home_branch").order_by("home_branch__path", "name", "pk")
    query_string = request.GET.copy()
    query_string.pop("page", None)
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/figure_members.html",
        {
            "organisation": organisation,
            "title": title,
            "page": page,
            "home_side": member_selectors.home_side_ids(user=request.user, members=list(page)),
            "query_string": query_string.urlencode(),
        },
    )


@require_GET
@lagging_reads_ok
def dashboard_print(request):
    context = _context(request, sort=request.GET.get("sort", "name"))
    context["printed_by"] = request.user.get_full_name() or request.user.get_username()
    context["printed_at"] = timezone.localtime()
    return render(request, "reports/print.html", context)


def _xlsx_response(workbook: XlsxBook, filename: str) -> HttpResponse:
    response = HttpResponse(
        workbook.to_bytes(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@lagging_reads_ok
def dashboard_export(request):
    """One sheet per section, Chinese headers; no personal data (destinations without names)."""
    organisation = _organisation(request)
    if organisation is None:
        raise Http404
    user, today = request.user, timezone.localdate()
    report = board.report(user=user, organisation=organisation, today=today)
    _log_report(request, f"dashboard.xlsx · {organisation.name}")
    places = board.destinations(
        user=user, organisation=organisation, places=report.figures["places"], limit=0
    )
    workbook = exports.dashboard_workbook(
        report=report, organisation=organisation, places=places, today=today
    )
    return _xlsx_response(workbook, f"dashboard-{organisation.pk}-{today:%Y%m%d}.xlsx")


def _year(request) -> int:
    today = timezone.localdate()
    value = request.GET.get("year", "")
    year = int(value) if value.isdigit() else today.year
    if not 2000 <= year <= today.year:
        raise Http404
    return year


@require_GET
@lagging_reads_ok
def yearly(request):
    organisation = _organisation(request)
    today = timezone.localdate()
    context = {"organisation": organisation, "today": today}
    if organisation is not None:
        year = _year(request)
        context.update(
            year=year,
            years=range(today.year, max(today.year - 6, 1999), -1),
            stats=statistics.yearly_statistics(
                user=request.user, organisation=organisation, year=year, today=today
            ),
        )
    return render(request, "reports/yearly.html", context)


@require_GET
@lagging_reads_ok
def yearly_export(request):
    organisation = _organisation(request)
    if organisation is None:
        raise Http404
    today = timezone.localdate()
    year = _year(request)
    _log_report(request, f"yearly.xlsx {year} · {organisation.name}")
    s = statistics.yearly_statistics(
        user=request.user, organisation=organisation, year=year, today=today
    )
    workbook = exports.yearly_workbook(stats=s, organisation=organisation, year=year)
    return _xlsx_response(workbook, f"yearly-{organisation.pk}-{year}.xlsx")

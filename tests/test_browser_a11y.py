"""Accessible to everyone (GB/T 37668, WCAG 2.1 AA): axe-core on every page people use.

Each page a branch secretary, a county reviewer, an administrator and a member (the public
self-report link, the certificate check behind the QR code) opens is loaded in the Debian
Chromium (/usr/bin/chromium) through Playwright against pytest-django's live server, and
axe-core (tests/vendor/axe.min.js, see tests/vendor/README.md) checks it against the WCAG 2.0
and 2.1 A and AA rules, at laptop size (1280×800) and at phone size (390×844). Any violation
fails the test of that page and names, for each size, the rule, its impact, the elements (CSS
selectors) and the rule's help page; a full-page screenshot goes to test-artifacts/.

Skipped on a machine without Chromium, a failure when REQUIRE_SERVICES=1.

The app sends a strict Content-Security-Policy (script-src 'self'), so the script is served
from the page's own origin by a Playwright route instead of being injected inline: the page is
checked exactly as the CSP leaves it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.auth.models import User
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from activities import services as activity_services
from activities.models import Activity, Attendance
from alerts import scanning
from alerts.models import Alert
from ledgers import selfreport
from ledgers.models import ContactAttempt
from members.models import StaffAssignment
from transfers import services as transfer_services
from transfers.models import MobilityEpisode

from .browser import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]

AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_PATH = "/__a11y__/axe.min.js"  # answered by the test's route, never by Django
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# Closed <details> are opened first, so that what they hide is checked too. Of the results axe
# leaves "to review", an aria-describedby or aria-labelledby naming no element on the page is a
# fault here: the pages are rendered on the server and no script adds elements later.
RUN_AXE = """async (tags) => {
  document.querySelectorAll("details").forEach((details) => { details.open = true; });
  const results = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations", "incomplete"],
  });
  const faults = results.violations.concat(
    results.incomplete.filter((r) => r.id === "aria-valid-attr-value")
  );
  return faults.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({
      target: n.target.map((t) => (Array.isArray(t) ? t.join(" >>> ") : t)).join(", "),
      summary: (n.failureSummary || "").split("\\n").slice(0, 3).join(" "),
    })),
  }));
}"""


@dataclass
class World:
    """What the pages show: a small county with members away, alerts, a transfer, a meeting."""

    county: object
    resident: object
    lost: object  # away a year, never reached: a 失联 alert
    worker: object  # away 8 months at a fixed place: transfer required, transfer asked for
    carrier: object  # away 3 months, holds an activity certificate
    activity: Activity
    transfer: object
    certificate: object
    self_report_token: str
    alert: Alert = field(init=False)

    def __post_init__(self):
        self.alert = Alert.objects.get(member=self.lost, kind="lost_contact", closed_at=None)


def build_world(county, settings) -> World:
    today = timezone.localdate()
    # Dues counted from four months ago: warnings (3 months unpaid) beside the serious alerts.
    settings.DUES_TRACKING_START = (today.replace(day=1) - relativedelta(months=4)).isoformat()
    county.county.code = "511925"
    county.county.save()
    secretary = county.secretary(county.branch_a, "sec")
    county.reviewer(county.county, "rev")
    county.reviewer(county.county, "rev_otp")
    county.user("admin", county.county, StaffAssignment.Role.ADMINISTRATOR)
    resident = county.member(county.branch_a, name="在家甲", email="zj@example.org")
    lost = county.member(county.branch_a, name="失联甲", phone="13800138001")
    worker = county.member(county.branch_a, name="外出乙", phone="13800138002")
    carrier = county.member(county.branch_a, name="持证丙", phone="13800138003")
    quiet = county.member(county.branch_a, name="待联系丁", phone="13800138004")
    county.member(county.branch_a2, name="乙村丁")
    county.member(county.branch_b, name="丙村戊")

    MobilityEpisode.objects.create(
        member=lost,
        mobility_type=MobilityEpisode.Type.TEMPORARY,
        left_on=today - timedelta(days=365),
        destination_province="广东省",
        destination_city="深圳市",
    )
    MobilityEpisode.objects.create(
        member=worker,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=today - timedelta(days=240),
        destination_province="浙江省",
        destination_city="杭州市",
        occupation="快递员",
        is_fixed_place=True,
    )
    MobilityEpisode.objects.create(
        member=carrier,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=today - timedelta(days=90),
        destination_province="四川省",
        destination_city="成都市",
        occupation="建筑工人",
    )
    MobilityEpisode.objects.create(
        member=quiet,
        mobility_type=MobilityEpisode.Type.WORK,
        left_on=today - timedelta(days=200),
        destination_province="江苏省",
        destination_city="苏州市",
        occupation="电子厂工人",
    )
    ContactAttempt.objects.create(
        member=quiet,
        on=today - timedelta(days=120),
        channel="phone",
        reached=True,
        recorded_by=secretary,
    )
    certificate = transfer_services.certificate_issue(
        actor=secretary,
        member=carrier,
        issued_on=today - timedelta(days=88),
        reason="外出务工",
        destination="四川省成都市",
    )
    transfer = transfer_services.transfer_request(
        actor=secretary,
        member=worker,
        reason="在杭州市相对固定工作已满六个月，转接组织关系",
        to_organisation=county.branch_b,
    )
    ContactAttempt.objects.create(
        member=lost,
        on=today - timedelta(days=200),
        channel="phone",
        reached=False,
        recorded_by=secretary,
    )
    Status = Attendance.Status
    activity = activity_services.activity_record(
        actor=secretary,
        branch=county.branch_a,
        kind=Activity.Kind.THEME_DAY,
        held_on=today - timedelta(days=3),
        title="主题党日：学习党章",
        place="村委会会议室",
        attendance={
            resident.pk: (Status.PRESENT, "", False),
            lost.pk: (Status.ABSENT, "", False),
            worker.pk: (Status.ONLINE, "", False),
            carrier.pk: (Status.EXCUSED, "在外务工，已请假", False),
        },
    )
    activity_services.dues_amount_set(
        actor=secretary,
        member=worker,
        year=today.year,
        basis="income",
        monthly_income=Decimal("4000"),
    )
    period = selfreport.period_of(today)
    selfreport.submit(
        member=worker,
        period=period,
        where="浙江省杭州市西湖区",
        occupation="快递员",
        phone="13911112222",
        note="一切安好",
    )
    scanning.scan()
    return World(
        county=county,
        resident=resident,
        lost=lost,
        worker=worker,
        carrier=carrier,
        activity=activity,
        transfer=transfer,
        certificate=certificate,
        self_report_token=selfreport.make_token(carrier, period),
    )


@dataclass(frozen=True)
class Page:
    name: str
    path: Callable[[World], str]
    user: str = ""  # "" is nobody logged in
    otp_required: bool = False
    viewports: tuple[dict, ...] = (LAPTOP, PHONE)
    then: Callable | None = None  # what the user does on the page before it is checked


def fixed(path: str) -> Callable[[World], str]:
    return lambda world: path


def submit(page, fields: dict[str, str]) -> None:
    """Fill the page's main form and send it; the form comes back with its errors."""
    for selector, value in fields.items():
        page.fill(selector, value)
    with page.expect_navigation():
        page.locator("main form[method=post] button[type=submit].primary").first.click()
    assert page.locator("main .error").count() > 0, "the form was accepted"


def wrong_password(page) -> None:
    submit(page, {"#id_username": "sec", "#id_password": "not-the-password"})


def invalid_member(page) -> None:
    submit(page, {"#id_phone": "12345", "#id_name": ""})


PAGES = [
    # Nobody logged in: the login, password reset and a member's self-report link.
    Page("login", fixed("/accounts/login/")),
    Page("login-failed", fixed("/accounts/login/"), then=wrong_password),
    Page("password-reset", fixed("/accounts/password_reset/")),
    Page("self-report", lambda w: f"/report/{w.self_report_token}/"),
    Page("certificate-check", lambda w: f"/verify/certificate/{w.certificate.verify_code}/"),
    # The branch secretary.
    Page("home-secretary", fixed("/"), "sec"),
    Page("member-list", fixed("/members/"), "sec"),
    Page("member-detail", lambda w: f"/members/{w.lost.pk}/", "sec"),
    Page("member-detail-self-report", lambda w: f"/members/{w.worker.pk}/", "sec"),
    Page("member-form", lambda w: f"/members/{w.lost.pk}/edit/", "sec"),
    Page(
        "member-form-errors",
        lambda w: f"/members/{w.lost.pk}/edit/",
        "sec",
        then=invalid_member,
    ),
    Page("member-new", fixed("/members/new/"), "sec"),
    Page("contact-form", lambda w: f"/members/{w.lost.pk}/contacts/new/", "sec"),
    Page("alert-inbox", fixed("/alerts/"), "sec"),
    Page("alert-detail", lambda w: f"/alerts/{w.alert.pk}/", "sec"),
    Page("rule-book", fixed("/rules/"), "sec"),
    Page("email-preferences", fixed("/preferences/"), "sec"),
    Page("mobile-list", fixed("/mobile/"), "sec"),
    Page("ledger", fixed("/ledger/"), "sec"),
    Page("import-upload", fixed("/ledger/import/"), "sec"),
    Page("certificate", lambda w: f"/certificates/{w.certificate.pk}/", "sec"),
    Page("transfer-list", fixed("/transfers/"), "sec"),
    Page("transfer-detail", lambda w: f"/transfers/{w.transfer.pk}/", "sec"),
    Page("activity-list", fixed("/activities/"), "sec"),
    Page("activity-form", lambda w: f"/activities/new/?branch={w.county.branch_a.pk}", "sec"),
    Page("activity-detail", lambda w: f"/activities/{w.activity.pk}/", "sec"),
    Page("dues-ledger", fixed("/dues/"), "sec"),
    Page("census-list", fixed("/campaigns/"), "sec"),
    Page("organisation-tree", fixed("/organisations/"), "sec"),
    Page("password-change", fixed("/accounts/password_change/"), "sec"),
    # The county reviewer.
    Page("home-reviewer", fixed("/"), "rev"),
    Page("dashboard", fixed("/dashboard/"), "rev"),
    Page("dashboard-township", lambda w: f"/dashboard/?org={w.county.township_a.pk}", "rev"),
    Page(
        "dashboard-figure-members",
        lambda w: f"/dashboard/members/?org={w.county.county.pk}&figure=lost_contact",
        "rev",
    ),
    Page("yearly", fixed("/dashboard/yearly/"), "rev"),
    Page("alert-inbox-reviewer", fixed("/alerts/"), "rev"),
    Page("transfer-list-reviewer", fixed("/transfers/"), "rev"),
    Page("transfer-detail-reviewer", lambda w: f"/transfers/{w.transfer.pk}/", "rev"),
    Page("organisation-tree-reviewer", fixed("/organisations/"), "rev"),
    Page("organisation-detail", lambda w: f"/organisations/{w.county.branch_a.pk}/", "rev"),
    # An administrator's access log.
    Page("access-log", fixed("/access-log/"), "admin"),
    # Two-step login: enrolling an app when it is required, and giving a code.
    Page("two-step-enrol", fixed("/accounts/two-factor/enrol/"), "rev", otp_required=True),
    Page("two-step-code", fixed("/accounts/two-factor/"), "rev_otp"),
]


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        lines += [f"    {node['target']}  — {node['summary']}" for node in violation["nodes"]]
    return "\n".join(lines)


@pytest.mark.parametrize("spec", PAGES, ids=[spec.name for spec in PAGES])
def test_page_has_no_wcag_21_aa_violations(spec, live_server, county, browser_page, settings):
    settings.OTP_REQUIRED_FOR_STAFF = spec.otp_required
    world = build_world(county, settings)
    if spec.user == "rev_otp":
        user = User.objects.get(username="rev_otp")
        TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    page = browser_page
    base = live_server.url
    axe = AXE_SOURCE.read_text(encoding="utf-8")
    page.route(
        f"{base}{AXE_PATH}",
        lambda route: route.fulfill(body=axe, content_type="text/javascript; charset=utf-8"),
    )
    page.set_viewport_size(spec.viewports[0])
    if spec.user:
        log_in(page, base, spec.user)
    path = spec.path(world)
    response = page.goto(f"{base}{path}")
    assert response is not None and response.status == 200, (
        f"{path}: {response and response.status}"
    )
    assert page.url == f"{base}{path}", f"{path} was redirected to {page.url}"
    if spec.then is not None:
        spec.then(page)
        assert page.url == f"{base}{path}", f"{path}: the form went on to {page.url}"
    page.add_script_tag(url=f"{base}{AXE_PATH}")
    assert page.evaluate("axe.version").startswith("4."), "tests/vendor/axe.min.js is not axe 4"

    failures = []
    for viewport in spec.viewports:
        page.set_viewport_size(viewport)
        violations = page.evaluate(RUN_AXE, WCAG_TAGS)
        if violations:
            size = f"{viewport['width']}×{viewport['height']}"
            count = sum(len(v["nodes"]) for v in violations)
            failures.append(
                f"at {size}: {len(violations)} rule(s) on {count} element(s):\n"
                + describe(violations)
            )
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"a11y-{spec.name}-{viewport['width']}.png"
            page.screenshot(path=str(shot), full_page=True)
    assert not failures, f"{spec.name} ({path}) violates WCAG 2.1 A/AA " + "\n".join(failures)

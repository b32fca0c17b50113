"""The permission matrix: one county, eight roles (a member's phone among them), and what every
URL pattern must answer.

`MATRIX` declares, per URL pattern name, the objects it is tried on and the expected outcome
for each role, for a GET and for a POST. tests/test_permission_matrix.py walks the URL
resolver and fails for any pattern that is neither declared here nor in `SKIPPED`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

# --- roles ------------------------------------------------------------------------------------

ANON = "anonymous"
SEC_A = "secretary_A1"
SEC_B = "secretary_B1"
HOST = "secretary_hosting_A"  # secretary of branch B2, which hosts A1's mobile member
REV_A = "reviewer_township_A"
COUNTY = "reviewer_county"
ADMIN = "administrator"
# Issue #19: a phone signed in with member A's personal link (no staff login). On every staff
# page it is anonymous; on the member's own pages it sees member A's things and nothing else.
MEMBER = "member_A_phone"
ROLES = (ANON, SEC_A, SEC_B, HOST, REV_A, COUNTY, ADMIN, MEMBER)
SIGNED_IN = frozenset({SEC_A, SEC_B, HOST, REV_A, COUNTY, ADMIN})

# Who sees and who may change each side's members (and their alerts, certificates...).
SEES_A = frozenset({SEC_A, HOST, REV_A, COUNTY, ADMIN})
EDITS_A = frozenset({SEC_A, REV_A, COUNTY, ADMIN})
SEES_B = EDITS_B = frozenset({SEC_B, COUNTY, ADMIN})
REVIEWERS = frozenset({REV_A, COUNTY, ADMIN})
# Organisation subtrees: branch A1 (not the hosting branch B2), branch B1.
ORG_A = EDITS_A
ORG_B = SEES_B
# Census campaigns are seen above, at and below their organisation (township A or B).
CAMPAIGN_A = frozenset({SEC_A, REV_A, COUNTY, ADMIN})
CAMPAIGN_B = frozenset({SEC_B, HOST, COUNTY, ADMIN})

# Member names, unique in every page: a role must never see the names it has no right to.
NAME_A, NAME_A_HOME, NAME_B, NAME_B_HOME = "甲流动", "甲留守", "丙流动", "丙留守"
NAMES_SEEN = {
    ANON: set(),
    SEC_A: {NAME_A, NAME_A_HOME},
    SEC_B: {NAME_B, NAME_B_HOME},
    HOST: {NAME_A},
    REV_A: {NAME_A, NAME_A_HOME},
    COUNTY: {NAME_A, NAME_A_HOME, NAME_B, NAME_B_HOME},
    ADMIN: {NAME_A, NAME_A_HOME, NAME_B, NAME_B_HOME},
    MEMBER: {NAME_A},
}
ALL_NAMES = NAMES_SEEN[ADMIN]
# The full ID number belongs to the home side: the hosting branch sees the member, not it.
NAMES_EDITED = {**NAMES_SEEN, HOST: set(), MEMBER: set()}
CONDUCT_NOTE = "思想动态备注：不得随页面显示"

# --- outcomes ---------------------------------------------------------------------------------

OK = "200"  # the page; for a POST, 200 whether or not it wrote (a logged reveal)
REFUSED = "200, nothing written"  # POST: the form again, with errors or the rules' refusal
DONE = "302"  # POST: done, redirected (it may write)
BOUNCED = "302, nothing written"  # POST: refused with a message, redirected back
LOGIN = "302 to login"
FORBIDDEN = "403"
NOT_FOUND = "404"
NOT_ALLOWED = "405"
UNCHANGED = {REFUSED, BOUNCED, LOGIN, FORBIDDEN, NOT_FOUND, NOT_ALLOWED}


def outcomes(allowed, yes: str, no: str = NOT_FOUND, *, anon: str = LOGIN, **more) -> dict:
    """yes for the allowed roles, no for the other signed-in ones; `more` maps a role to its own."""
    table = {role: (yes if role in allowed else no) for role in SIGNED_IN}
    table[ANON] = table[MEMBER] = anon  # a member's phone has no staff login
    table.update({globals()[key]: value for key, value in more.items()})
    return table


@dataclass(frozen=True)
class Case:
    """One object (or query) a pattern is tried on, with the outcome per role per method."""

    variant: str
    get: dict
    post: dict
    kwargs: Callable | None = None  # scenario -> URL kwargs
    query: Callable | None = None  # scenario -> query string
    data: Callable | None = None  # scenario -> POST data (empty by default)
    shows_note: frozenset = frozenset()  # roles that may see the conduct note here (an edit form)
    shows_id: frozenset = frozenset()  # roles that may see a full ID number in this HTML page
    # (method, role) -> "LEAK: ..." or "BUG: ...": known failures, strict xfail until fixed.
    known: dict = field(default_factory=dict)


def page(variant: str, sees=SIGNED_IN, **options) -> Case:
    """A read-only page (GET only): 200 in scope, 404 outside."""
    return Case(variant, get=outcomes(sees, OK), post=outcomes(SIGNED_IN, NOT_ALLOWED), **options)


def step(variant: str, sees=SIGNED_IN, acts=None, *, done=DONE, **options) -> Case:
    """A form: GET shows it in scope; a POST is done by `acts`, refused for the rest in scope."""
    acts = sees if acts is None else acts
    post = outcomes(sees, REFUSED)
    post.update({role: done for role in acts})
    return Case(variant, get=outcomes(sees, OK), post=post, **options)


def action(variant: str, sees, acts=None, *, done=DONE, refused=BOUNCED, **options) -> Case:
    """A POST-only button: GET is 405; POST done by `acts`, refused for the rest in scope."""
    acts = sees if acts is None else acts
    post = outcomes(sees, refused)
    post.update({role: done for role in acts})
    return Case(variant, get=outcomes(SIGNED_IN, NOT_ALLOWED), post=post, **options)


def public(variant: str, get: str, post: str, **options) -> Case:
    """No login needed: the same answer for everyone."""
    return Case(variant, get={r: get for r in ROLES}, post={r: post for r in ROLES}, **options)


# --- the scenario -----------------------------------------------------------------------------

TODAY = timezone.localdate()


def _pk(name: str) -> Callable:
    return lambda s: {"pk": getattr(s, name).pk}


def _member(name: str) -> Callable:
    return lambda s: {"member_pk": getattr(s, name).pk}


class Scenario:
    """Township A (branches A1, A2), township B (branches B1, B2); B2 hosts A1's mobile member."""

    def __init__(self):
        from activities import services as activity_services
        from activities.models import AssignedWork
        from alerts.models import Alert
        from ledgers import selfreport, staging
        from ledgers import services as ledger_services
        from ledgers.models import (
            ContactAttempt,
            LedgerExport,
            LedgerImport,
            LedgerRecord,
            SelfReport,
        )
        from members.models import ExternalOrganisation, Organisation, StaffAssignment
        from transfers import services as transfer_services
        from transfers.models import MobilityEpisode

        from .conftest import County

        county = County()
        self.county = county
        county.county.code = "511925"
        county.county.save()
        self.branch_a, self.branch_b = county.branch_a, county.branch_b
        township_b = Organisation.objects.get(pk=county.township_b.pk)  # fresh numchild
        self.host_branch = Organisation.objects.add_child(
            township_b, {"name": "丁村党支部", "kind": Organisation.Kind.BRANCH}
        )
        role = StaffAssignment.Role
        self.users = {ANON: None, MEMBER: None}
        for name, organisation, kind in [
            (SEC_A, county.branch_a, role.SECRETARY),
            (SEC_B, county.branch_b, role.SECRETARY),
            (HOST, self.host_branch, role.SECRETARY),
            (REV_A, county.township_a, role.REVIEWER),
            (COUNTY, county.county, role.REVIEWER),
            (ADMIN, county.county, role.ADMINISTRATOR),
        ]:
            # No password: the matrix logs in with force_login (and hashing is slow).
            user = User.objects.create_user(name, is_staff=kind == role.ADMINISTRATOR)
            user.is_superuser = kind == role.ADMINISTRATOR
            user.save()
            StaffAssignment.objects.create(user=user, organisation=organisation, role=kind)
            self.users[name] = user
        sec_a, sec_b, rev_a = self.users[SEC_A], self.users[SEC_B], self.users[REV_A]
        self.external = ExternalOrganisation.objects.create(name="深圳某党支部", region="广东省")

        self.member_a = county.member(county.branch_a, name=NAME_A)
        self.member_a_home = county.member(county.branch_a, name=NAME_A_HOME, phone="13800138001")
        self.member_b = county.member(county.branch_b, name=NAME_B, phone="13800138002")
        self.member_b_home = county.member(county.branch_b, name=NAME_B_HOME, phone="13800138003")

        self.national_ids = {
            member.name: member.national_id
            for member in (self.member_a, self.member_a_home, self.member_b, self.member_b_home)
        }

        left = TODAY - timedelta(days=120)
        self.episode_a = MobilityEpisode.objects.create(
            member=self.member_a,
            mobility_type="work",
            left_on=left,
            destination_province="广东省",
            inflow_organisation=self.host_branch,
        )
        self.episode_b = MobilityEpisode.objects.create(
            member=self.member_b,
            mobility_type="work",
            left_on=left,
            destination_province="浙江省",
            inflow_external=self.external,
        )
        for member in (self.member_a, self.member_b):
            LedgerRecord.objects.create(
                member=member, conduct_assessment="concern", conduct_note=CONDUCT_NOTE
            )
            ContactAttempt.objects.create(
                member=member, on=left, channel="phone", reached=True, recorded_by=sec_a
            )
        self.cert_a = transfer_services.certificate_issue(
            actor=sec_a,
            member=self.member_a,
            issued_on=left,
            reason="务工",
            destination="广东省深圳市",
            inflow_organisation=self.host_branch,
        )
        self.cert_b = transfer_services.certificate_issue(
            actor=sec_b,
            member=self.member_b,
            issued_on=left,
            reason="务工",
            destination="浙江省杭州市",
            inflow_external=self.external,
        )
        self.transfer_a = self._approved_transfer(
            transfer_services, self.member_a_home, sec_a, rev_a, to_organisation=county.branch_a2
        )
        self.transfer_b = self._approved_transfer(
            transfer_services,
            self.member_b_home,
            sec_b,
            self.users[COUNTY],
            to_external=self.external,
        )
        # The hosted member is being transferred too: its letter carries the full ID number.
        self.transfer_hosted = self._approved_transfer(
            transfer_services, self.member_a, sec_a, rev_a, to_external=self.external
        )
        now = timezone.now()
        self.alert_a, self.alert_b = (
            Alert.objects.create(
                member=member,
                kind="lost_contact",
                severity="warning",
                opened_at=now,
                last_seen_at=now,
            )
            for member in (self.member_a, self.member_b)
        )
        self.activity_a = activity_services.activity_record(
            actor=sec_a,
            branch=county.branch_a,
            kind="theme_day",
            held_on=TODAY - timedelta(days=3),
            title="主题党日",
            attendance={self.member_a_home.pk: ("present", "", False)},
        )
        self.activity_b = activity_services.activity_record(
            actor=sec_b,
            branch=county.branch_b,
            kind="theme_day",
            held_on=TODAY - timedelta(days=3),
            title="主题党日",
            attendance={self.member_b_home.pk: ("present", "", False)},
        )
        self.work_a, self.work_b = (
            AssignedWork.objects.create(
                member=member,
                side="home",
                title="联系群众",
                assigned_on=left,
                due_on=TODAY,
                recorded_by=sec_a,
            )
            for member in (self.member_a, self.member_b)
        )
        self.campaign_a = ledger_services.campaign_open(
            actor=rev_a,
            organisation=county.township_a,
            name="春节摸排",
            starts_on=TODAY - timedelta(days=5),
            ends_on=TODAY + timedelta(days=20),
        )
        self.campaign_b = ledger_services.campaign_open(
            actor=self.users[COUNTY],
            organisation=county.township_b,
            name="国庆摸排",
            starts_on=TODAY - timedelta(days=5),
            ends_on=TODAY + timedelta(days=20),
        )
        last_month = selfreport.period_of(TODAY.replace(day=1) - timedelta(days=1))
        self.report_a, self.report_b = (
            SelfReport.objects.create(
                member=member,
                period=last_month,
                where="深圳",
                occupation="工人",
                phone="13800138009",
            )
            for member in (self.member_a, self.member_b)
        )
        self.self_report_token = selfreport.make_token(self.member_a, selfreport.period_of(TODAY))
        self.verify_token = self.cert_a.verify_code
        self.import_a, self.import_b = (
            LedgerImport.objects.create(
                user=user,
                branch=branch,
                file_name="台账.xlsx",
                file_sha256="0" * 64,
                status="previewed",
            )
            for user, branch in ((sec_a, county.branch_a), (sec_b, county.branch_b))
        )
        self.export_a, self.export_b = (
            LedgerExport.objects.create(user=user, file_format="csv", status="ready")
            for user in (sec_a, sec_b)
        )
        for job in (self.export_a, self.export_b):
            staging.stash_as(f"export-{job.pk}", b"name\n")
        for job in (self.import_a, self.import_b):
            staging.stash_as(f"import-errors-{job.pk}", b"xlsx")
        self.reason_a, self.reason_b = (
            activity_services.good_reason_record(
                actor=user,
                member=member,
                kind="illness",
                starts_on=TODAY - timedelta(days=60),
                ends_on=TODAY,
                note="住院治疗",
                approved_by="支部委员会",
            )
            for user, member in ((sec_a, self.member_a), (sec_b, self.member_b))
        )
        self.alert_life_a, self.alert_life_b = (
            Alert.objects.create(
                member=member,
                kind="no_life_6_months",
                severity="serious",
                opened_at=now,
                last_seen_at=now,
            )
            for member in (self.member_a, self.member_b)
        )
        from .matrix_more import build

        build(self)

    def drop_cached_files(self) -> None:
        """The cache is not rolled back with the database: leave no export behind."""
        from ledgers import staging

        for job in (self.export_a, self.export_b):
            staging.drop(f"export-{job.pk}")
        for job in (self.import_a, self.import_b):
            staging.drop(f"import-errors-{job.pk}")

    @staticmethod
    def _approved_transfer(services, member, requester, decider, **destination):
        transfer = services.transfer_draft(
            actor=requester, member=member, reason="在外地定居", **destination
        )
        services.transfer_submit(actor=requester, transfer=transfer)
        services.transfer_approve(
            actor=decider,
            transfer=transfer,
            issued_on=TODAY,
            valid_days=30,
            dues_paid_until=TODAY.replace(day=1),
        )
        return transfer


# --- the data a POST sends, valid where it matters (a refusal must not be a form error) ------


def _member_form(s, *, member=None) -> dict:
    import random

    from members.demo import make_national_id

    born = date(1985, 3, 14)
    return {
        "name": member.name if member else "新党员",
        "national_id_input": "" if member else make_national_id(random.Random(99), born, True),
        "gender": "M",
        "ethnicity": "汉族",
        "birth_date": (member.birth_date if member else born).isoformat(),
        "phone": "13912345678",
        "email": "",
        "category": "full",
        "joined_on": "2010-07-01",
        "confirmed_on": "2011-07-01",
        "home_branch": (member.home_branch_id if member else s.branch_a.pk),
        "status": "active",
    }


def _inflow(_s) -> dict:
    return {"side": "inflow"}


def _org_b(s) -> dict:
    return {"org": s.branch_b.pk}


def _on(_s) -> dict:
    return {"on": TODAY.isoformat()}


def _episode_form(_s) -> dict:
    return {
        "mobility_type": "work",
        "left_on": TODAY.isoformat(),
        "moved_on": TODAY.isoformat(),
        "destination_province": "广东省",
        "destination_city": "深圳市",
        "occupation": "工人",
    }


def _decision(_s) -> dict:
    return {
        "kind": "suspension",
        "decided_on": TODAY.isoformat(),
        "deciding_organisation": "党支部",
        "ground": "lost_contact",
    }


def _reason(_s) -> dict:
    return {
        "kind": "illness",
        "starts_on": (TODAY - timedelta(days=10)).isoformat(),
        "ends_on": TODAY.isoformat(),
        "note": "住院",
        "approved_by": "支部委员会",
    }


def _term(_s) -> dict:
    return {"educated_on": TODAY.isoformat(), "months": "6", "note": "谈心谈话，限期改正"}


def _purpose(_s) -> dict:
    return {"purpose": "study"}


def _deferral(_s) -> dict:
    return {"reason": "short_contract", "until": (TODAY + timedelta(days=30)).isoformat()}


def _note(_s) -> dict:
    return {"note": "已电话联系"}  # an empty POST would leave the form unbound


def _certificate(_s) -> dict:
    return {"issued_on": TODAY.isoformat(), "reason": "务工", "destination": "广东省深圳市"}


def _departure(_s) -> dict:
    return {"departed_on": TODAY.isoformat(), "participation": "按时参加", "dues": "已交"}


def _contact(_s) -> dict:
    return {"on": TODAY.isoformat(), "channel": "phone", "reached": "on", "note": ""}


# --- the declarations -------------------------------------------------------------------------

# Framework patterns not tried here, each with the reason.
SKIPPED = {
    "set_language": "Django's language switch: POST-only redirect, no object, nothing scoped",
    "healthz": "operational probe (200/503 by service health), no data; tests/test_health.py",
}
# The admin site is not declared pattern by pattern; test_admin_site_is_staff_only covers it.
SKIPPED_NAMESPACES = {"admin": "Django admin: staff-only as a whole (see test_admin_site...)"}

A, B = "A-side object", "B-side object"


def known_applies(reasons: list[str]) -> bool:
    """A known failure that shows on one database only says so in its reason."""
    from django.db import connection

    return all(
        "PostgreSQL" not in reason or connection.vendor == "postgresql" for reason in reasons
    )


MATRIX: dict[str, list[Case]] = {
    # --- accounts and the home page -----------------------------------------------------------
    "home": [page("")],
    "login": [public("", get=OK, post=REFUSED)],
    # Logging out is a POST that ends on the login page.
    "logout": [Case("", get=outcomes(SIGNED_IN, NOT_ALLOWED), post=outcomes(SIGNED_IN, LOGIN))],
    "password_change": [step("", acts=frozenset())],
    "password_change_done": [page("")],
    "password_reset": [public("", get=OK, post=REFUSED)],
    "password_reset_done": [public("", get=OK, post=NOT_ALLOWED)],
    "password_reset_confirm": [
        public("bad link", get=OK, post=OK, kwargs=lambda s: {"uidb64": "MQ", "token": "bad-token"})
    ],
    "password_reset_complete": [public("", get=OK, post=NOT_ALLOWED)],
    "accounts:otp_verify": [
        Case("", get=outcomes(SIGNED_IN, DONE), post=outcomes(SIGNED_IN, DONE))
    ],
    "accounts:otp_enrol": [step("", acts=frozenset())],
    # --- members --------------------------------------------------------------------------
    "members:list": [
        page(""),
        # Out of scope, or not a number: refused like any object outside scope (#15).
        page("?branch=B1", ORG_B, query=lambda s: {"branch": s.branch_b.pk}),
        page("?branch=abc", frozenset(), query=lambda s: {"branch": "abc"}),
    ],
    "members:create": [
        step("new member in A1", acts=EDITS_A, data=lambda s: _member_form(s)),
    ],
    "members:detail": [
        page(A, SEES_A, kwargs=_pk("member_a")),
        page(B, SEES_B, kwargs=_pk("member_b")),
    ],
    "members:edit": [
        step(A, EDITS_A, kwargs=_pk("member_a"), data=lambda s: _member_form(s, member=s.member_a)),
        step(B, EDITS_B, kwargs=_pk("member_b"), data=lambda s: _member_form(s, member=s.member_b)),
    ],
    "members:reveal_national_id": [
        action(A, EDITS_A, done=OK, kwargs=_pk("member_a"), shows_id=EDITS_A),
        action(B, EDITS_B, done=OK, kwargs=_pk("member_b"), shows_id=EDITS_B),
    ],
    "alerts:email_preferences": [step("", data=lambda s: {"digests": "on"})],
    "alerts:rule_book": [page("")],
    # A POST (the number never in a URL); only the home side's members are found (#15).
    # Not found (200) is logged too, hence OK rather than "nothing written".
    "members:find_by_id": [
        Case(
            "A1's member",
            get=outcomes(SIGNED_IN, OK),
            post=outcomes(EDITS_A, DONE, OK),
            data=lambda s: {"number": s.national_ids[NAME_A]},
        )
    ],
    "members:duplicate_cases": [page("", REVIEWERS)],
    "members:decision_new": [
        step(A, EDITS_A, kwargs=_pk("member_a"), data=_decision),
        step(B, EDITS_B, kwargs=_pk("member_b"), data=_decision),
    ],
    "alerts:correction_term_new": [
        step(A, SEES_A, EDITS_A, kwargs=_pk("alert_life_a"), data=_term),
        step(B, SEES_B, kwargs=_pk("alert_life_b"), data=_term),
        # Not a six-month rule: the form shows, the service refuses.
        step(A + " 失联", SEES_A, frozenset(), kwargs=_pk("alert_a"), data=_term),
    ],
    "alerts:inbox": [page("")],
    "alerts:detail": [
        page(A, SEES_A, kwargs=_pk("alert_a")),
        page(B, SEES_B, kwargs=_pk("alert_b")),
    ],
    "alerts:acknowledge": [
        step(A, SEES_A, EDITS_A, kwargs=_pk("alert_a"), data=_note),
        step(B, SEES_B, kwargs=_pk("alert_b"), data=_note),
    ],
    "alerts:snooze": [
        step(
            A,
            SEES_A,
            EDITS_A,
            kwargs=_pk("alert_a"),
            data=lambda s: {"until": (TODAY + timedelta(days=30)).isoformat(), "reason": "外出"},
        ),
        step(
            B,
            SEES_B,
            kwargs=_pk("alert_b"),
            data=lambda s: {"until": (TODAY + timedelta(days=30)).isoformat(), "reason": "外出"},
        ),
    ],
    "alerts:resolve": [
        step(A, SEES_A, EDITS_A, kwargs=_pk("alert_a"), data=_note),
        step(B, SEES_B, kwargs=_pk("alert_b"), data=_note),
    ],
    "members:organisation_tree": [page("")],
    "members:organisation_detail": [
        page("branch A1", ORG_A, kwargs=lambda s: {"pk": s.branch_a.pk}),
        page("branch B1", ORG_B, kwargs=lambda s: {"pk": s.branch_b.pk}),
    ],
    "accounts:access_log": [
        Case(
            "",
            get=outcomes({ADMIN}, OK, FORBIDDEN),
            post=outcomes(SIGNED_IN, NOT_ALLOWED),
        )
    ],
    # --- transfers: mobility, certificates, transfers ---------------------------------------
    "transfers:mobile_list": [page("")],
    "transfers:episode_start": [
        step(A, EDITS_A, kwargs=_member("member_a_home"), data=_episode_form),
        step(B, EDITS_B, kwargs=_member("member_b_home"), data=_episode_form),
    ],
    "transfers:episode_move": [
        step(A, EDITS_A, kwargs=_pk("episode_a"), data=_episode_form),
        step(B, EDITS_B, kwargs=_pk("episode_b"), data=_episode_form),
    ],
    "transfers:episode_return": [
        step(A, EDITS_A, kwargs=_pk("episode_a"), data=_on),
        step(B, EDITS_B, kwargs=_pk("episode_b"), data=_on),
    ],
    "transfers:episode_defer": [
        step(A, EDITS_A, kwargs=_member("member_a"), data=_deferral),
        step(B, EDITS_B, kwargs=_member("member_b"), data=_deferral),
    ],
    # Neither member is abroad: in scope the rules refuse a purpose of a stay abroad.
    "transfers:episode_abroad_purpose": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_member("member_a"), data=_purpose),
        step(B, EDITS_B, acts=frozenset(), kwargs=_member("member_b"), data=_purpose),
    ],
    # Both hold a valid certificate already: in scope the rules refuse a second one.
    "transfers:certificate_issue": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_member("member_a"), data=_certificate),
        step(B, EDITS_B, acts=frozenset(), kwargs=_member("member_b"), data=_certificate),
    ],
    "transfers:certificate_detail": [
        page(A, SEES_A, kwargs=_pk("cert_a")),
        page(B, SEES_B, kwargs=_pk("cert_b")),
    ],
    "transfers:certificate_pdf": [
        page(A, SEES_A, kwargs=_pk("cert_a")),
        page(B, SEES_B, kwargs=_pk("cert_b")),
    ],
    "transfers:certificate_arrival": [
        step(
            A,
            SEES_A,
            kwargs=_pk("cert_a"),
            data=lambda s: {"arrived_on": TODAY.isoformat(), "inflow_contact": "李四"},
        ),
        step(
            B,
            SEES_B,
            kwargs=_pk("cert_b"),
            data=lambda s: {"arrived_on": TODAY.isoformat(), "inflow_contact": "李四"},
        ),
    ],
    "transfers:certificate_departure": [
        step(A, SEES_A, kwargs=_pk("cert_a"), data=_departure),
        step(B, SEES_B, kwargs=_pk("cert_b"), data=_departure),
    ],
    "transfers:certificate_review": [
        step(A, SEES_A, acts=frozenset(), kwargs=_pk("cert_a")),
        step(B, SEES_B, acts=frozenset(), kwargs=_pk("cert_b")),
    ],
    "transfers:certificate_end": [
        step(
            A, SEES_A, EDITS_A, kwargs=_pk("cert_a"), data=lambda s: _on(s) | {"status": "returned"}
        ),
        step(B, SEES_B, kwargs=_pk("cert_b"), data=lambda s: _on(s) | {"status": "returned"}),
    ],
    "transfers:certificate_reissue": [
        step(A, SEES_A, EDITS_A, kwargs=_pk("cert_a"), data=_on),
        step(B, SEES_B, kwargs=_pk("cert_b"), data=_on),
    ],
    "transfers:certificate_verify": [
        public("valid token", get=OK, post=NOT_ALLOWED, kwargs=lambda s: {"token": s.verify_token}),
        public("forged token", get=NOT_FOUND, post=NOT_ALLOWED, kwargs=lambda s: {"token": "1:x"}),
    ],
    "transfers:transfer_list": [page("")],
    "transfers:incoming_register": [step("", acts=frozenset())],
    "transfers:transfer_draft": [
        step(  # the hosted member A already has a transfer in progress: refused
            A,
            EDITS_A,
            acts=frozenset(),
            kwargs=_member("member_a"),
            data=lambda s: {"to_organisation": s.county.branch_a2.pk, "reason": "定居"},
        ),
        step(
            B,
            EDITS_B,
            kwargs=_member("member_b"),
            data=lambda s: {"to_organisation": s.county.branch_a2.pk, "reason": "定居"},
        ),
        # The receiving organisation typed in (#17): added only by those who may transfer.
        step(
            "B, to a new external organisation",
            EDITS_B,
            kwargs=_member("member_b"),
            data=lambda s: {
                "new_external_name": "矩阵新增党支部",
                "new_external_region": "广东省深圳市",
                "new_external_phone": "13800138000",
                "reason": "定居",
            },
        ),
    ],
    "transfers:transfer_detail": [
        page(A, EDITS_A, kwargs=_pk("transfer_a")),
        page("hosted member's transfer", SEES_A, kwargs=_pk("transfer_hosted")),
        page(B, EDITS_B, kwargs=_pk("transfer_b")),
    ],
    "transfers:transfer_submit": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_pk("transfer_a"), data=_on),
        step(B, EDITS_B, acts=frozenset(), kwargs=_pk("transfer_b"), data=_on),
    ],
    "transfers:transfer_withdraw": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_pk("transfer_a"), data=_on),
        step(B, EDITS_B, acts=frozenset(), kwargs=_pk("transfer_b"), data=_on),
    ],
    "transfers:transfer_approve": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_pk("transfer_a")),
        step(B, EDITS_B, acts=frozenset(), kwargs=_pk("transfer_b")),
    ],
    "transfers:transfer_reject": [
        step(
            A, EDITS_A, acts=frozenset(), kwargs=_pk("transfer_a"), data=lambda s: {"reason": "x"}
        ),
        step(
            B, EDITS_B, acts=frozenset(), kwargs=_pk("transfer_b"), data=lambda s: {"reason": "x"}
        ),
    ],
    "transfers:transfer_reissue": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_pk("transfer_a")),
        step(B, EDITS_B, acts=frozenset(), kwargs=_pk("transfer_b")),
    ],
    "transfers:transfer_accept": [
        step(A, EDITS_A, acts=REVIEWERS, kwargs=_pk("transfer_a"), data=_on),
        step(B, EDITS_B, acts=frozenset(), kwargs=_pk("transfer_b"), data=_on),
    ],
    # Transfer A goes to one of our branches, which receives the letter by accepting: refused.
    "transfers:transfer_letter_received": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_pk("transfer_a"), data=_on),
        step("hosted member's transfer", SEES_A, EDITS_A, kwargs=_pk("transfer_hosted"), data=_on),
        step(B, EDITS_B, kwargs=_pk("transfer_b"), data=_on),
    ],
    "transfers:transfer_receipt": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_pk("transfer_a"), data=_on),
        step("hosted member's transfer", SEES_A, EDITS_A, kwargs=_pk("transfer_hosted"), data=_on),
        step(B, EDITS_B, kwargs=_pk("transfer_b"), data=_on),
    ],
    "transfers:letter_pdf": [
        page(A, EDITS_A, kwargs=_pk("transfer_a")),
        page(
            "hosted member's transfer",
            EDITS_A,
            kwargs=_pk("transfer_hosted"),
        ),
        page(B, EDITS_B, kwargs=_pk("transfer_b")),
    ],
    # --- ledgers: dashboard, ledger, imports, exports, self-report, campaigns ----------------
    "reports:dashboard": [
        page(""),
        page("?org=B1", ORG_B, query=_org_b),
    ],
    "reports:dashboard_export": [
        page(""),
        page("?org=B1", ORG_B, query=_org_b),
    ],
    "reports:dashboard_print": [
        page(""),
        page("?org=B1", ORG_B, query=_org_b),
    ],
    "reports:dashboard_members": [
        page("no_life", query=lambda s: {"figure": "no_life"}),
        page("no_life ?org=B1", ORG_B, query=lambda s: {"figure": "no_life", "org": s.branch_b.pk}),
    ],
    "reports:dashboard_yearly": [
        page(""),
        page("?org=B1", ORG_B, query=_org_b),
    ],
    "reports:dashboard_yearly_export": [
        page(""),
        page("?org=B1", ORG_B, query=_org_b),
    ],
    "ledgers:ledger": [page(""), page("?branch=B1", query=lambda s: {"branch": s.branch_b.pk})],
    "ledgers:export": [
        page("csv", kwargs=lambda s: {"file_format": "csv"}),
        page(
            "csv ?side=inflow",
            kwargs=lambda s: {"file_format": "csv"},
            query=_inflow,
        ),
        page(
            "csv ?branch=B1",
            kwargs=lambda s: {"file_format": "csv"},
            query=lambda s: {"branch": s.branch_b.pk},
        ),
    ],
    "ledgers:template": [page("")],
    # The hosting side keeps the inflow items of its members' ledgers (issue #20).
    "ledgers:confirm": [
        action(A, SEES_A, kwargs=_member("member_a")),
        action(B, EDITS_B, kwargs=_member("member_b")),
    ],
    "ledgers:item_edit": [
        step(
            A,
            SEES_A,
            kwargs=lambda s: {"member_pk": s.member_a.pk, "item": "conduct"},
            data=lambda s: {"conduct_assessment": "good", "conduct_note": "好"},
            shows_note=SEES_A,
        ),
        step(
            f"{A}, when they left (the home side's item)",
            EDITS_A,
            kwargs=lambda s: {"member_pk": s.member_a.pk, "item": "left"},
            data=lambda s: {
                "left_on": s.member_a.mobility_episodes.current().get().left_on.isoformat()
            },
        ),
        step(
            B,
            EDITS_B,
            kwargs=lambda s: {"member_pk": s.member_b.pk, "item": "conduct"},
            data=lambda s: {"conduct_assessment": "good", "conduct_note": "好"},
            shows_note=EDITS_B,
        ),
    ],
    "ledgers:reached_today": [
        action(A, SEES_A, kwargs=_member("member_a")),
        action(B, SEES_B, kwargs=_member("member_b")),
    ],
    "ledgers:conduct_note": [
        action(A, SEES_A, done=OK, kwargs=_member("member_a"), shows_note=SEES_A),
        action(B, SEES_B, done=OK, kwargs=_member("member_b"), shows_note=SEES_B),
    ],
    "ledgers:contact_new": [
        step(A, SEES_A, kwargs=_member("member_a"), data=_contact),
        step(B, SEES_B, kwargs=_member("member_b"), data=_contact),
    ],
    "ledgers:import_upload": [step("", acts=frozenset())],
    "ledgers:import_apply": [
        action("own import of secretary A1", {SEC_A}, kwargs=_pk("import_a")),
        action("own import of secretary B1", {SEC_B}, kwargs=_pk("import_b")),
    ],
    "ledgers:import_detail": [
        page("own import of secretary A1", {SEC_A}, kwargs=_pk("import_a")),
        page("own import of secretary B1", {SEC_B}, kwargs=_pk("import_b")),
    ],
    "ledgers:import_errors": [
        page("own import of secretary A1", {SEC_A}, kwargs=_pk("import_a")),
        page("own import of secretary B1", {SEC_B}, kwargs=_pk("import_b")),
    ],
    "ledgers:jobs": [page("")],
    "ledgers:export_download": [
        page("own export of secretary A1", {SEC_A}, kwargs=_pk("export_a")),
        page("own export of secretary B1", {SEC_B}, kwargs=_pk("export_b")),
    ],
    "ledgers:self_report": [
        public(
            "valid token",
            get=OK,
            post=OK,
            kwargs=lambda s: {"token": s.self_report_token},
            data=lambda s: {
                "where": "广东省深圳市",
                "occupation": "工人",
                "phone": "13800138010",
                "note": "",
            },
        ),
        public("forged token", get=NOT_FOUND, post=NOT_FOUND, kwargs=lambda s: {"token": "1:x"}),
    ],
    "ledgers:self_report_decide": [
        action(A, EDITS_A, kwargs=_pk("report_a"), data=lambda s: {"accept": "1"}),
        action(B, EDITS_B, kwargs=_pk("report_b"), data=lambda s: {"accept": "1"}),
    ],
    "ledgers:campaign_list": [page("")],
    "ledgers:campaign_new": [
        step(
            "",
            acts=REVIEWERS,
            data=lambda s: {
                "name": "新摸排",
                "starts_on": TODAY.isoformat(),
                "ends_on": (TODAY + timedelta(days=10)).isoformat(),
            },
        )
    ],
    "ledgers:campaign_detail": [
        page("township A", CAMPAIGN_A, kwargs=_pk("campaign_a")),
        page("township B", CAMPAIGN_B, kwargs=_pk("campaign_b")),
    ],
    "ledgers:campaign_close": [
        # The reviewer who opened it, or an administrator.
        action("township A", CAMPAIGN_A, {REV_A, ADMIN}, kwargs=_pk("campaign_a")),
        action("township B", CAMPAIGN_B, {COUNTY, ADMIN}, kwargs=_pk("campaign_b")),
    ],
    "ledgers:campaign_export": [
        page("township A", CAMPAIGN_A, kwargs=_pk("campaign_a")),
        page("township B", CAMPAIGN_B, kwargs=_pk("campaign_b")),
    ],
    # --- activities: organisational life, dues, the member's life pages --------------------
    "activities:activity_list": [
        page(""),
        page("?branch=B1", ORG_B, query=lambda s: {"branch": s.branch_b.pk}),
    ],
    "activities:activity_create": [
        step("", acts=frozenset()),
        step("?branch=B1", ORG_B, acts=frozenset(), query=lambda s: {"branch": s.branch_b.pk}),
    ],
    "activities:activity_detail": [
        page("branch A1", ORG_A, kwargs=_pk("activity_a")),
        page("branch B1", ORG_B, kwargs=_pk("activity_b")),
    ],
    "activities:attendance_edit": [
        step("branch A1", ORG_A, kwargs=_pk("activity_a")),
        step("branch B1", ORG_B, kwargs=_pk("activity_b")),
    ],
    "activities:dues_ledger": [
        page(""),
        page("?branch=B1", ORG_B, query=lambda s: {"branch": s.branch_b.pk}),
    ],
    "activities:dues_export": [
        page(""),
        page("?branch=B1", ORG_B, query=lambda s: {"branch": s.branch_b.pk}),
    ],
    "activities:participation_new": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_member("member_a")),
        step(B, EDITS_B, acts=frozenset(), kwargs=_member("member_b")),
    ],
    "activities:good_reason_new": [
        step(A, EDITS_A, kwargs=_member("member_a"), data=_reason),
        step(B, EDITS_B, kwargs=_member("member_b"), data=_reason),
    ],
    "activities:good_reason_end": [
        step(
            A,
            EDITS_A,
            kwargs=lambda s: {"member_pk": s.member_a.pk, "pk": s.reason_a.pk},
            data=lambda s: {"ends_on": TODAY.isoformat()},
        ),
        step(
            B,
            EDITS_B,
            kwargs=lambda s: {"member_pk": s.member_b.pk, "pk": s.reason_b.pk},
            data=lambda s: {"ends_on": TODAY.isoformat()},
        ),
    ],
    "activities:dues_amount_set": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_member("member_a")),
        step(B, EDITS_B, acts=frozenset(), kwargs=_member("member_b")),
    ],
    "activities:dues_payment_new": [
        step(A, SEES_A, acts=frozenset(), kwargs=_member("member_a")),
        step(B, SEES_B, acts=frozenset(), kwargs=_member("member_b")),
    ],
    "activities:evaluation_new": [
        step(A, SEES_A, acts=frozenset(), kwargs=_member("member_a")),
        step(B, SEES_B, acts=frozenset(), kwargs=_member("member_b")),
    ],
    "activities:work_new": [
        step(A, SEES_A, acts=frozenset(), kwargs=_member("member_a")),
        step(B, SEES_B, acts=frozenset(), kwargs=_member("member_b")),
    ],
    "activities:work_close": [
        step(
            A,
            SEES_A,
            acts=frozenset(),
            kwargs=lambda s: {"member_pk": s.member_a.pk, "pk": s.work_a.pk},
        ),
        step(
            B,
            SEES_B,
            acts=frozenset(),
            kwargs=lambda s: {"member_pk": s.member_b.pk, "pk": s.work_b.pk},
        ),
    ],
    "activities:service_request_new": [
        step(A, SEES_A, acts=frozenset(), kwargs=_member("member_a")),
        step(B, EDITS_B, acts=frozenset(), kwargs=_member("member_b")),
    ],
    "activities:honour_new": [
        step(A, EDITS_A, acts=frozenset(), kwargs=_member("member_a")),
        step(B, EDITS_B, acts=frozenset(), kwargs=_member("member_b")),
    ],
}


# --- walking the resolver ---------------------------------------------------------------------


def _merge_more() -> None:
    from .matrix_more import MATRIX_MORE

    MATRIX.update(MATRIX_MORE)


_merge_more()


def url_patterns() -> list[tuple[str, str]]:
    """(name, route) of every pattern, namespaces included; unnamed ones by their route."""
    found = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if pattern.name:
                    name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                else:
                    name = f"(unnamed) {route}"
                found.append((name, route))

    walk(get_resolver().url_patterns, "", "")
    return found


def skipped(name: str, route: str) -> bool:
    top = name.split(":", 1)[0] if ":" in name else ""
    return name in SKIPPED or top in SKIPPED_NAMESPACES or route.startswith("admin/")


# --- "nothing written": no INSERT, UPDATE or DELETE while the request runs ------------------

# Logging in and out writes the session; django-axes logs access. Neither is the app's data.
# The API logs every call, refused ones too (api_apicall): that is the access log, not data.
NOT_WATCHED = ("django_session", "axes_", "api_apicall")
WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def written_tables(queries) -> list[str]:
    tables = set()
    for query in queries:
        match = WRITE.match(query["sql"])
        if match and not match.group(2).startswith(NOT_WATCHED):
            tables.add(match.group(2))
    return sorted(tables)

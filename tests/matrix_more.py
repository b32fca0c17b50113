"""The permission matrix's part for the member's own page (issue #19) and for what crosses
deployments (issue #20: the national format, partners' letters, the JSON API).

A member's phone (`MEMBER`, signed in with member A's link) is its own role: every page under
/me/ answers it and nobody else (403: staff logins do not open a member's page), and an
object of member B answers it 404. The branch's pages under /self-service/ treat the phone as
anonymous and are scoped like the rest.
"""

from datetime import timedelta
from decimal import Decimal

from .matrix import (
    COUNTY,
    DONE,
    EDITS_A,
    FORBIDDEN,
    HOST,
    MEMBER,
    NOT_ALLOWED,
    NOT_FOUND,
    OK,
    REFUSED,
    ROLES,
    TODAY,
    Case,
    action,
    outcomes,
    page,
    public,
    step,
)


def build(scenario) -> None:
    """Member A's and member B's things, one of each kind, each waiting for its branch."""
    from django.core.files.base import ContentFile

    from activities.models import Activity
    from selfservice import access, check_in, help, meetings, study
    from selfservice.models import DuesClaim

    s = scenario
    sec_a, sec_b = s.users["secretary_A1"], s.users["secretary_B1"]
    s.own_links = {m.pk: access.issue_link(member=m, actor=None) for m in (s.member_a, s.member_b)}
    s.claim_a, s.claim_b = (
        _claim(DuesClaim, ContentFile, member) for member in (s.member_a, s.member_b)
    )
    s.item_a, s.item_b = (
        study.publish(
            actor=user,
            organisation=branch,
            audience="members",
            title="学习材料",
            due_on=TODAY + timedelta(days=7),
        )
        for user, branch in ((sec_a, s.branch_a), (sec_b, s.branch_b))
    )
    s.meeting_a, s.meeting_b = (
        Activity.objects.create(
            branch=branch,
            kind="theme_day",
            held_on=TODAY + timedelta(days=5),
            title="下周主题党日",
            recorded_by=user,
        )
        for user, branch in ((sec_a, s.branch_a), (sec_b, s.branch_b))
    )
    s.reply_a, s.reply_b = (
        meetings.record_reply(member=member, activity=meeting, answer="excused", reason="出差")
        for member, meeting in ((s.member_a, s.meeting_a), (s.member_b, s.meeting_b))
    )
    s.check_in_a = check_in.submit(
        member=s.member_a,
        place=check_in.read_place("广东省深圳市"),
        workplace="某厂",
        phone="13800138010",
        inflow_organisation=s.host_branch,
    )
    s.check_in_b = check_in.submit(
        member=s.member_b, place=check_in.read_place("浙江省杭州市"), workplace="某店", phone=""
    )
    s.help_a, s.help_b = (
        help.raise_request(member=member, kind="legal", description="劳动合同纠纷")
        for member in (s.member_a, s.member_b)
    )
    _incoming_letter(s)
    from members.models import Organisation

    s.outpost = Organisation.objects.add_child(
        Organisation.objects.get(pk=s.county.county.pk),
        {
            "name": "测试县驻深圳党建工作站",
            "kind": Organisation.Kind.OUTPOST,
            "serves_province": "广东省",
            "serves_city": "深圳市",
        },
    )


def _incoming_letter(s) -> None:
    """A letter a partner deployment sent electronically to branch A1."""
    import random

    from members.demo import make_national_id
    from partners import services as partner_services
    from partners.models import IncomingTransfer

    s.branch_a.code = "A1"
    s.branch_a.save()
    partner = partner_services.partner_register(
        name="乙省",
        base_url="https://b.example.org",
        our_key_id="a",
        their_key_id="b",
        sending_secret="s" * 32,
        receiving_secret="r" * 32,
        organisation=s.county.county,
    )
    born = TODAY.replace(year=TODAY.year - 40)
    s.incoming_a = IncomingTransfer.objects.create(
        partner=partner,
        transfer_ref="77",
        letter_number="乙〔2026〕77号",
        to_organisation=s.branch_a,
        from_name="乙省某党支部",
        issued_on=TODAY,
        valid_days=30,
        expires_on=TODAY + timedelta(days=30),
        dues_paid_until=TODAY.replace(day=1),
        name="戊来函",
        gender="F",
        ethnicity="汉族",
        birth_date=born,
        national_id=make_national_id(random.Random(77), born, False),
        category="full",
        joined_on=born.replace(year=born.year + 25),
    )
    from partners.models import IncomingCertificate

    s.incoming_certificate_a = IncomingCertificate.objects.create(
        partner=partner,
        number="乙证〔2026〕9号",
        verify_code="v" * 16,
        to_organisation=s.branch_a,
        name="己持证",
        gender="M",
        birth_date=born,
        joined_on=born.replace(year=born.year + 25),
        category="full",
        issuing_branch="乙省某党支部",
        stamping_committee="乙省某党委",
        issued_on=TODAY,
    )


def _claim(model, content, member):
    claim = model(
        member=member,
        from_month=TODAY.replace(day=1),
        to_month=TODAY.replace(day=1),
        amount=Decimal("20.00"),
        paid_on=TODAY,
        token=f"matrix{member.pk}",
        receipt_suffix=".png",
    )
    claim.receipt.save("r.png", content(b"\x89PNG\r\n\x1a\n" + b"0" * 64), save=False)
    claim.save()
    return claim


def _token(member_name: str):
    from selfservice import access

    return lambda s: {"token": access.token_for(s.own_links[getattr(s, member_name).pk])}


def _pk(name: str):
    return lambda s: {"pk": getattr(s, name).pk}


def own(variant: str, *, get: str = OK, post: str = NOT_ALLOWED, **options) -> Case:
    """A page of the member's own: the phone gets `get`/`post`; any login or none, 403."""
    closed = {role: FORBIDDEN for role in ROLES}
    if post == NOT_ALLOWED:  # the method is refused first, for everyone
        return Case(
            variant, get={**closed, MEMBER: get}, post=dict.fromkeys(ROLES, post), **options
        )
    return Case(variant, get={**closed, MEMBER: get}, post={**closed, MEMBER: post}, **options)


def own_action(variant: str, *, post: str = DONE, **options) -> Case:
    """A button of the member's own (POST only): the phone gets `post`; any login or none, 403."""
    return Case(
        variant,
        get=dict.fromkeys(ROLES, NOT_ALLOWED),
        post={**dict.fromkeys(ROLES, FORBIDDEN), MEMBER: post},
        **options,
    )


def another_members(variant: str, **options) -> Case:
    """Member B's object on member A's phone: not found."""
    return own(variant, get=NOT_FOUND, post=NOT_FOUND, **options)


def the_link(variant: str, *, phone: str, **options) -> Case:
    """The link itself is public: the device check for anyone; the signed-in phone goes in."""
    table = {role: OK for role in ROLES}
    return Case(variant, get={**table, MEMBER: phone}, post={**table, MEMBER: phone}, **options)


def _api(name: str) -> Case:
    ids = {"member": "member_a", "episode": "episode_a", "certificate": "cert_a"}
    ids |= {"transfer": "transfer_a", "alert": "alert_a"}
    if name in ids:
        key = "organisation_id" if name == "organisation_figures" else f"{name}_id"
        kwargs = (lambda attr, key: lambda s: {key: getattr(s, attr).pk})(ids[name], key)
    elif name == "organisation_figures":
        kwargs = lambda s: {"organisation_id": s.branch_a.pk}  # noqa: E731
    else:
        kwargs = None
    return Case(
        "no token",
        get=dict.fromkeys(ROLES, "401"),
        post=dict.fromkeys(ROLES, NOT_ALLOWED),
        kwargs=kwargs,
    )


COUNTY_LEVEL = frozenset({COUNTY, "administrator"})  # who sets up outposts
A_INFLOW = frozenset({HOST, COUNTY, "administrator"})  # the hosting branch and above it

MATRIX_MORE = {
    # --- the member's phone --------------------------------------------------------------------
    "selfservice:open_link": [
        the_link("member A's link", phone=DONE, kwargs=_token("member_a")),
        the_link("member B's link", phone=OK, kwargs=_token("member_b")),
    ],
    "selfservice:home": [own("")],
    "selfservice:sign_out": [own_action("", post=OK)],
    "selfservice:preferences": [own("", post=REFUSED)],
    "selfservice:replace_link": [own_action("")],
    "selfservice:check_in": [own("", post=REFUSED)],
    "selfservice:check_in_withdraw": [
        own_action("A's check-in", kwargs=_pk("check_in_a")),
        own_action("B's check-in", post=NOT_FOUND, kwargs=_pk("check_in_b")),
    ],
    "selfservice:dues": [own("", post=REFUSED)],
    "selfservice:study_list": [own("")],
    "selfservice:study_detail": [
        own("A's item", post=DONE, kwargs=_pk("item_a")),
        another_members("B's item", kwargs=_pk("item_b")),
    ],
    "selfservice:meetings": [own("")],
    "selfservice:meeting_reply": [
        own("A's meeting", post=REFUSED, kwargs=_pk("meeting_a")),
        another_members("B's meeting", kwargs=_pk("meeting_b")),
    ],
    "selfservice:help": [own("", post=REFUSED)],
    # --- the branch's side ---------------------------------------------------------------------
    "selfservice:inbox": [page("")],
    "selfservice:member_link": [
        action("A", EDITS_A, frozenset(), kwargs=lambda s: {"member_pk": s.member_a.pk}),
        action(
            "A, issue",
            EDITS_A,
            data=lambda s: {"action": "issue"},
            kwargs=lambda s: {"member_pk": s.member_a.pk},
        ),
    ],
    "selfservice:dues_receipt": [page("A", EDITS_A, kwargs=_pk("claim_a"))],
    "selfservice:dues_confirm": [action("A", EDITS_A, kwargs=_pk("claim_a"))],
    "selfservice:dues_return": [
        action("A, no reason", EDITS_A, frozenset(), kwargs=_pk("claim_a")),
    ],
    "selfservice:meeting_excuse": [action("A", EDITS_A, kwargs=_pk("reply_a"))],
    "selfservice:study_items": [step("", acts=frozenset())],
    "selfservice:study_item": [page("A", EDITS_A, kwargs=_pk("item_a"))],
    "selfservice:check_in_decide": [action("A", EDITS_A, kwargs=_pk("check_in_a"))],
    "selfservice:check_in_accept": [action("A", A_INFLOW, kwargs=_pk("check_in_a"))],
    # --- issue #20: the national format (ledgers/national/) -----------------------------------
    "ledgers:national_export": [page("")],
    "ledgers:national_reconcile": [step("", acts=frozenset())],
    "ledgers:national_reconcile_download": [
        page("nothing uploaded", frozenset(), kwargs=lambda s: {"token": "0" * 32})
    ],
    # --- issue #20: outposts in an inflow city (transfers/outposts.py) -------------------------
    "transfers:outpost_list": [page("")],
    "transfers:outpost_new": [step("", COUNTY_LEVEL, acts=frozenset())],
    "transfers:outpost_detail": [page("", COUNTY_LEVEL, kwargs=_pk("outpost"))],
    "transfers:outpost_propose": [
        Case(
            "nobody there",
            get=outcomes(frozenset(), OK),
            post=outcomes(frozenset(), OK),
            query=lambda s: {"org": s.county.county.pk, "place": "|西藏自治区|拉萨市"},
        )
    ],
    # --- issue #20: letters from partner deployments (partners/) ------------------------------
    "partners:inbox": [
        Case("unsigned", get=dict.fromkeys(ROLES, NOT_ALLOWED), post=dict.fromkeys(ROLES, "401"))
    ],
    "partners:incoming_list": [page("")],
    "partners:certificate_list": [page("")],
    "partners:certificate_detail": [page("A", EDITS_A, kwargs=_pk("incoming_certificate_a"))],
    "partners:certificate_arrival": [
        step("A", EDITS_A, frozenset(), kwargs=_pk("incoming_certificate_a"))
    ],
    "partners:certificate_departure": [
        step("A", EDITS_A, frozenset(), kwargs=_pk("incoming_certificate_a"))
    ],
    "partners:incoming_detail": [page("A", EDITS_A, kwargs=_pk("incoming_a"))],
    "partners:incoming_accept": [step("A", EDITS_A, frozenset(), kwargs=_pk("incoming_a"))],
    "partners:incoming_return": [step("A", EDITS_A, frozenset(), kwargs=_pk("incoming_a"))],
    # --- issue #20: the JSON API. A session is no credential there: 401 for every role; each
    # endpoint × (no token, another partner's token, a token without the scope, the right one)
    # is tried in tests/test_api_permissions.py, which lists the endpoints from the API itself.
    **{
        f"api:{name}": [_api(name)]
        for name in (
            "members",
            "member",
            "episodes",
            "episode",
            "certificates",
            "certificate",
            "transfers",
            "transfer",
            "alerts",
            "alert",
            "figures",
            "organisation_figures",
        )
    },
    "api:openapi-json": [public("", get=OK, post=NOT_ALLOWED)],
    "api:openapi-view": [public("", get=OK, post=NOT_ALLOWED)],
    "api:api-root": [public("", get=NOT_FOUND, post=NOT_FOUND)],
    "selfservice:help_answer": [
        action("A, nothing said", EDITS_A, frozenset(), kwargs=_pk("help_a")),
    ],
}

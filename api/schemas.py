"""What the API answers. Members carry a masked ID number only, never the full one."""

from datetime import date, datetime

from ninja import Schema

from members.selectors import organisation_in_scope


class OrganisationRef(Schema):
    id: int
    name: str


class MemberRef(Schema):
    id: int
    name: str


class MemberOut(Schema):
    id: int
    name: str
    gender: str
    ethnicity: str
    category: str
    status: str
    joined_on: date
    confirmed_on: date | None
    phone: str
    home_branch: OrganisationRef
    national_id_masked: str
    held_here: bool

    @staticmethod
    def resolve_held_here(member, context) -> bool:
        """True on the home side; a hosting side sees the member read-only."""
        return organisation_in_scope(context["request"].auth.client.user, member.home_branch)

    @staticmethod
    def resolve_national_id_masked(member, context) -> str:
        # The hosting side sees the last four characters only, as on the member page.
        if MemberOut.resolve_held_here(member, context):
            return member.national_id_masked
        return member.national_id_tail


class EpisodeOut(Schema):
    id: int
    member: MemberRef
    mobility_type: str
    left_on: date
    destination: str
    destination_country: str
    destination_province: str
    destination_city: str
    destination_county: str
    is_fixed_place: bool
    expected_return_on: date | None
    graduated_on: date | None
    inflow: str
    ended_on: date | None
    end_reason: str

    @staticmethod
    def resolve_inflow(episode) -> str:
        return str(episode.inflow or "")


class CertificateOut(Schema):
    id: int
    number: str
    member: MemberRef
    issuing_branch: OrganisationRef
    issued_on: date
    destination: str
    inflow: str
    arrived_on: date | None
    departed_on: date | None
    status: str
    ended_on: date | None

    @staticmethod
    def resolve_inflow(certificate) -> str:
        return str(certificate.inflow or "")


class TransferOut(Schema):
    id: int
    member: MemberRef
    direction: str
    origin: str
    destination: str
    reason: str
    state: str
    created_at: datetime
    completed_on: date | None

    @staticmethod
    def resolve_origin(transfer) -> str:
        return str(transfer.origin or "")

    @staticmethod
    def resolve_destination(transfer) -> str:
        return str(transfer.destination or "")


class AlertOut(Schema):
    id: int
    member: MemberRef
    kind: str
    severity: str
    state: str
    opened_at: datetime
    last_seen_at: datetime
    snoozed_until: date | None
    closed_at: datetime | None


class Count(Schema):
    value: str
    label: str
    count: int


class FiguresOut(Schema):
    """The dashboard's headline figures of one organisation's subtree (reports.dashboard)."""

    organisation: OrganisationRef
    as_of: date | None
    members: int
    mobile: int
    clear: int
    completeness_percent: int
    no_life: int
    no_life_percent: float
    lost_contact: int
    certificates_due: int
    receipts_overdue: int
    transfers_pending: int
    transfers_submitted: int
    transfers_approved: int
    alerts: int
    hosted: int
    by_type: list[Count]
    by_province: list[Count]
    arrangements: list[Count]
    alerts_by_kind: list[Count]


class Error(Schema):
    detail: str

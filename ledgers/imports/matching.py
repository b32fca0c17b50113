"""What the rows are checked against: the user's organisations, the external ones, and the
members the file names, a few queries per thousand rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.db.models import F, Lookup, Max, Q
from django.utils import translation

from members.models import EvidenceBaseline, ExternalOrganisation, Member, Organisation
from members.selectors import members_editable_by, organisations_visible_to
from transfers.models import MobilityEpisode

from ..models import ContactAttempt, LedgerRecord
from .api import (
    RowIssue,
)
from .headers import (
    IMPORT_LOST_NOTE,
    QUERY_CHUNK,
    normalise_text,
)
from .rows import (
    _Row,
)

# --- planning --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Work:
    """What apply does for one row. Instances are built here only for existing objects."""

    parsed: _Row
    member: Member | None = None  # existing member (None: create one)
    member_id: int | None = None  # set as the member is written
    member_values: dict | None = None  # for a new member
    member_fields: list[str] | tuple = ()
    episode: MobilityEpisode | None = None  # existing episode (changed in place)
    episode_values: dict | None = None  # for a new episode
    episode_new: bool = False
    episode_fields: list[str] | tuple = ()
    external_key: tuple[str, str] | None = None  # an external organisation to create
    record: LedgerRecord | None = None  # existing record (changed in place)
    record_values: dict | None = None  # for a new record
    record_new: bool = False
    record_fields: list[str] | tuple = ()
    contact_on: date | None = None
    baseline: EvidenceBaseline | None = None  # existing baseline (moved forward in place)
    baseline_fields: list[str] | tuple = ()
    labels: list[str] | tuple = ()

    @property
    def writes(self) -> bool:
        return bool(
            self.member is None
            or self.member_fields
            or self.episode_new
            or self.episode_fields
            or self.record_new
            or self.record_fields
            or self.contact_on
            or self.baseline_fields
        )


@dataclass
class _Externals:
    by_name: dict[str, list[ExternalOrganisation]]
    by_key: dict[tuple[str, str], ExternalOrganisation]
    new: dict[tuple[str, str], dict]  # key -> fields for the organisation to create
    new_by_name: dict[str, tuple[str, str]] = field(default_factory=dict)


MEMBER_KINDS = Organisation.MEMBER_KINDS


class _Context:
    """Everything the rows are checked against, loaded with a handful of queries."""

    def __init__(self, *, user, default_branch, today: date):
        self.user = user
        self.today = today
        self.default_branch = default_branch
        self.held_elsewhere: list[tuple[int, str]] = []
        visible = list(
            organisations_visible_to(user).values_list("pk", "name", "code", "kind", "hosts_only")
        )
        # A mobile-member branch under an outpost hosts members but holds none (issue #20).
        holds = {pk for pk, _n, _c, kind, only in visible if kind in MEMBER_KINDS and not only}
        self.branch_ids = holds
        self.visible_by_name: dict[str, list[tuple[int, str]]] = {}
        self.by_code: dict[str, int] = {}
        for pk, name, code, kind, _only in visible:
            self.visible_by_name.setdefault(normalise_text(name), []).append((pk, kind))
            if code and pk in holds:
                self.by_code[normalise_text(code)] = pk
        self.internal_by_name: dict[str, list[int]] = {}
        for pk, name in Organisation.objects.values_list("pk", "name"):
            self.internal_by_name.setdefault(normalise_text(name), []).append(pk)
        self.externals = _Externals({}, {}, {})
        for organisation in ExternalOrganisation.objects.all():
            key = (normalise_text(organisation.name), normalise_text(organisation.region))
            self.externals.by_key[key] = organisation
            self.externals.by_name.setdefault(key[0], []).append(organisation)
        self.kind_labels = dict(Organisation.Kind.choices)

    def branch_of(self, text: str) -> tuple[int | None, str | None]:
        """(organisation id, None) or (None, Chinese error)."""
        key = normalise_text(text)
        if key in self.by_code:
            return self.by_code[key], None
        matches = self.visible_by_name.get(key, [])
        holding = [pk for pk, _kind in matches if pk in self.branch_ids]
        if len(holding) == 1:
            return holding[0], None
        if len(holding) > 1:
            return None, f"有{len(holding)}个党组织都叫“{text}”：请改填组织编码"
        if matches:
            with translation.override("zh-hans"):
                kind = str(self.kind_labels.get(matches[0][1], ""))
            if matches[0][1] in MEMBER_KINDS:  # a unit that only hosts, under an outpost
                kind = "流动党员党组织（只服务流入党员）"
            return None, (
                f"“{text}”是{kind}，不能直接管理党员组织关系：请填写党支部、党总支或党小组"
            )
        return None, f"找不到党组织“{text}”，或它不在您的管理范围内：请填写党支部的全称或编码"


def _file_issue(message: str, column: str = "") -> RowIssue:
    return RowIssue(0, column, message)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _AnyOf(Lookup):
    """`column = ANY(%s)`: the values as one array parameter. Django's `__in` makes a
    parameter of each (a thousand a query here), which Django and psycopg handle one by one."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, self.rhs]


def _one_of(field: str, values: list):
    """A filter: `field` is one of `values` (an array on PostgreSQL, `IN` elsewhere)."""
    if connection.vendor == "postgresql":
        return _AnyOf(F(field), list(values))
    return Q(**{f"{field}__in": values})


@dataclass
class _Existing:
    digests: dict[str, int] = field(default_factory=dict)  # digest -> member, anywhere
    editable: dict[str, Member] = field(default_factory=dict)  # digest -> member (ours)
    episodes: dict[int, MobilityEpisode] = field(default_factory=dict)  # current, by member
    records: dict[int, LedgerRecord] = field(default_factory=dict)
    lost: dict[int, set[date]] = field(default_factory=dict)  # imported "lost" attempts
    baselines: dict[int, EvidenceBaseline] = field(default_factory=dict)  # by member
    last_reached: dict[int, date] = field(default_factory=dict)  # members with a baseline


def _lookup_existing(ctx: _Context, digests: list[str]) -> _Existing:
    """The members the file names, with their current episode and ledger record.

    A few queries per thousand rows; the clear ID number is not decrypted (not needed).
    """
    found = _Existing()
    existing, editable, episodes = found.digests, found.editable, found.episodes
    records, lost, baselines = found.records, found.lost, found.baselines
    for chunk in _chunks(digests, QUERY_CHUNK):
        held = dict(
            Member.objects.filter(_one_of("national_id_digest", chunk))
            .order_by()
            .values_list("national_id_digest", "pk")
        )
        if not held:  # all new: nothing more to look up
            continue
        existing.update(held)
        members = list(
            members_editable_by(ctx.user)
            .filter(_one_of("national_id_digest", list(held)))
            .order_by()
            .defer("national_id")
        )
        ids = [member.pk for member in members]
        for member in members:
            editable[member.national_id_digest] = member
        if not ids:
            continue
        for episode in MobilityEpisode.objects.current().filter(_one_of("member_id", ids)):
            episodes[episode.member_id] = episode
        for record in LedgerRecord.objects.filter(_one_of("member_id", ids)):
            records[record.member_id] = record
        for member_id, on in (
            ContactAttempt.objects.filter(_one_of("member_id", ids))
            .filter(reached=False, note=IMPORT_LOST_NOTE)
            .values_list("member_id", "on")
        ):
            lost.setdefault(member_id, set()).add(on)
        with_baseline = []
        for baseline in EvidenceBaseline.objects.filter(_one_of("member_id", ids)):
            baselines[baseline.member_id] = baseline
            with_baseline.append(baseline.member_id)
        if with_baseline:  # a contact recorded here is known: the sheet need not repeat it
            found.last_reached.update(
                ContactAttempt.objects.filter(_one_of("member_id", with_baseline))
                .filter(reached=True)
                .values("member_id")
                .annotate(last=Max("on"))
                .values_list("member_id", "last")
            )
    return found

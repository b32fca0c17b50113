"""The national-format export: one row per member on the roll of the user's scope.

Written with the project's one .xlsx writer (XlsxBook). Members are read in batches; each
batch's current episodes and valid certificates are read in one query each, so a county's
100,000 rows are neither a list nor 100,000 queries. The home side gets the full ID number
and the birth date; the hosting (inflow) side the last four characters and no birth date,
as in the ledger export. The caller logs the export (SensitiveAccess EXPORT_LEDGER) before
the data leaves.
"""

from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice

from django.db.models import QuerySet
from django.utils import timezone

from infrastructure.xlsx import XlsxBook
from members.models import Member, Organisation
from members.selectors import home_side_ids, members_visible_to, scope_root_of
from transfers.models import ActivityCertificate, MobilityEpisode

from ..models import LedgerExport
from .columns import CATEGORY, EXPORTED_STATUSES, GENDER, HEADERS, STANDING

SHEET = "党员信息采集表"
TITLE = "党员信息（全国党员管理信息系统格式）"
BATCH = 2000
LAYOUT = "national"  # a LedgerExport job's filters["layout"] for this export


def roll_of(user) -> QuerySet[Member]:
    """The members on the roll of the user's scope (home and hosted), branch by branch."""
    return (
        members_visible_to(user)
        .filter(status__in=EXPORTED_STATUSES)
        .select_related("home_branch")
        .order_by("home_branch__path", "name", "id")
    )


def destination_of(episode: MobilityEpisode) -> str:
    """外出流向: province and city (a municipality's 市辖区 dropped), or the country abroad."""
    if episode.destination_country:
        return episode.destination_country
    city = "" if episode.destination_city == "市辖区" else episode.destination_city
    if city == episode.destination_province:
        city = ""
    return f"{episode.destination_province}{city}"


def member_row(
    number: int,
    member: Member,
    episode: MobilityEpisode | None,
    certificate: str,
    *,
    home_side: bool,
) -> list:
    """One row in the order of columns.COLUMNS."""
    mobile = episode is not None
    return [
        number,
        member.name,
        GENDER.get(member.gender, ""),
        member.national_id if home_side else member.national_id_tail,
        member.ethnicity,
        member.birth_date if home_side else None,
        CATEGORY.get(member.category, ""),
        member.joined_on,
        member.confirmed_on,
        episode.occupation if mobile else "",
        member.phone,
        member.home_branch.name,
        STANDING.get(member.status, ""),
        "是" if mobile else "否",
        episode.left_on if mobile else None,
        destination_of(episode) if mobile else "",
        episode.inflow.name if mobile and episode.inflow else "",
        member.home_branch.name if mobile else "",
        certificate,
    ]


def _batches(members: Iterable[Member]) -> Iterator[list[Member]]:
    iterator = iter(members)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def rows_of(user, members: Iterable[Member], *, progress=None) -> Iterator[list]:
    """The export's rows for `members` (read in batches); `progress(done)` after each batch."""
    number = 0
    for batch in _batches(members):
        ids = [member.pk for member in batch]
        episodes = {
            episode.member_id: episode
            for episode in MobilityEpisode.objects.current()
            .filter(member_id__in=ids)
            .select_related("inflow_organisation", "inflow_external")
        }
        certificates = dict(
            ActivityCertificate.objects.filter(
                member_id__in=ids, status=ActivityCertificate.Status.VALID
            ).values_list("member_id", "number")
        )
        held = home_side_ids(user=user, members=batch)
        for member in batch:
            number += 1
            yield member_row(
                number,
                member,
                episodes.get(member.pk),
                certificates.get(member.pk, ""),
                home_side=member.pk in held,
            )
        if progress is not None:
            progress(number)


def export_xlsx(
    *, user, organisation: Organisation | None = None, today: date | None = None, progress=None
) -> bytes:
    """The user's roll in the national layout, one sheet under a title and a date row."""
    organisation = organisation or scope_root_of(user)
    title = f"{organisation.name} {TITLE}" if organisation is not None else TITLE
    day = (today or timezone.localdate()).isoformat()
    members = roll_of(user).iterator(chunk_size=BATCH)
    book = XlsxBook()
    book.add_sheet(
        SHEET,
        HEADERS,
        rows_of(user, members, progress=progress),
        title=title,
        subtitle=f"导出日期：{day}",
    )
    return book.to_bytes()


def run_export_job(*, job: LedgerExport) -> bytes:
    """The worker's half of a large export (a LedgerExport whose filters say LAYOUT): the
    workbook, counting progress on the job as it goes; the caller keeps the file."""

    def progress(done: int) -> None:
        LedgerExport.objects.filter(pk=job.pk).update(rows_done=done)

    return export_xlsx(user=job.user, progress=progress)

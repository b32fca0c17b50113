"""Reads for the member's own pages: always through the member, never by a bare id."""

from members.models import Member

from . import check_in, dues, help, meetings, study


def home_page(*, member: Member) -> dict:
    """The home page: one tile per thing the member can do, with what waits on each."""

    return {
        "member": member,
        "tiles": [
            check_in.tile(member),
            dues.tile(member),
            study.tile(member),
            meetings.tile(member),
            help.tile(member),
        ],
    }

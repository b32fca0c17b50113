"""A county with three townships and members under several rules, for the split-scan tests."""

from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from alerts.models import Alert, AlertAction
from members.models import Organisation
from transfers.models import MobilityEpisode


def add_township_c(county) -> None:
    tree = Organisation.objects
    county.township_c = tree.add_child(county.county, {"name": "丁镇党委", "kind": "committee"})
    county.branch_c = tree.add_child(county.township_c, {"name": "丁村党支部", "kind": "branch"})


def fill(county) -> None:
    """In every branch: lost contact, contact overdue, abroad six years, one at home.

    With no organisational life or dues recorded, the life, dues and evaluation rules match
    too: each township has alerts from several rules.
    """
    add_township_c(county)
    today = timezone.localdate()
    branches = [county.branch_a, county.branch_a2, county.branch_b, county.branch_c]
    county.at_home = []
    for i, branch in enumerate(branches):
        for name, kind, days in (
            ("失联", "temporary", 365),
            ("逾期", "temporary", 100),
            ("出国", "abroad", 6 * 366),
        ):
            member = county.member(branch, name=f"{name}{i}")
            MobilityEpisode.objects.create(
                member=member,
                mobility_type=kind,
                left_on=today - timedelta(days=days),
                destination_province="广东省" if kind == "temporary" else "",
                destination_country="日本" if kind == "abroad" else "",
            )
        county.at_home.append(county.member(branch, name=f"在家{i}"))
    plant_stale_alert(county)


def plant_stale_alert(county) -> None:
    """An open lost-contact alert on a member at home in township B: the scan closes it."""
    now = timezone.now()
    Alert.objects.create(
        member=county.at_home[2],
        kind="lost_contact",
        severity="serious",
        opened_at=now,
        last_seen_at=now,
    )


def reset(county) -> None:
    AlertAction.objects.all().delete()
    Alert.objects.all().delete()
    plant_stale_alert(county)


def alert_rows() -> list[tuple]:
    """Every alert as (member, rule, state, why closed), duplicates kept."""
    return sorted(Alert.objects.values_list("member_id", "kind", "state", "close_reason"))


def duplicate_open_alerts() -> list[dict]:
    return list(
        Alert.objects.filter(closed_at__isnull=True)
        .values("member_id", "kind")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )

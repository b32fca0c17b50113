"""The dashboard's figures kept current by the writes, so that a county's pages read a hundred
small rows instead of counting a hundred thousand members, with or without last night's
snapshot (issue #18).

Each organisation has one LiveFigures row: what it holds directly (`direct`, counted by
counting.grouped_counts grouped by organisation) and its whole subtree (`subtree`, rolled up
from its children's rows). Three things keep the rows current:

- a write: `mark_changed()` bumps the version of the organisations it touched (the member's home
  branch, the inflow organisation, the transfer's branches) and, after the commit, queues
  `refresh()` of those organisations on a worker (receivers.py connects the writes);
- a reader: a page that finds a few stale rows in its subtree refreshes them first; with many
  (a new day, a worker down) it queues one refresh of the subtree and shows the rows it has,
  saying from which day they are;
- the night: `refresh_all()` counts everything again, since time alone changes figures (six
  months pass), and the trend snapshots are taken from the rows (snapshots.py).
"""

import logging
import os.path
import threading
from collections.abc import Callable, Iterable
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import CharField, Count, F, Q
from django.db.models.functions import Length, Substr

from alerts.selectors import register_kept_alert_counts
from ledgers.selectors import ITEMS, Completeness, completeness_aggregates, with_five_clears
from members.models import Organisation
from transfers.models import MobilityEpisode

from .counting import Within, add_into, grouped_counts
from .models import LiveFigures

logger = logging.getLogger(__name__)

INLINE_REFRESH_MAX = 50  # stale organisations a page recounts itself before reading
QUEUED_REFRESH_SECONDS = 300  # one queued refresh per subtree in this time
LOCK_KEY = 0x4C495645  # "LIVE": refreshes take turns, so a roll-up never reads a half-done one


def direct_counts(within: Within, today: date) -> dict[int, dict]:
    """{organisation id: the figures of what it holds directly}, hosted members by home path."""
    counts = grouped_counts(within, today)
    hosted = (
        MobilityEpisode.objects.away_now()
        .filter(within.q("inflow_organisation"))
        .order_by()
        .values("inflow_organisation_id", "member__home_branch__path")
        .annotate(n=Count("pk"))
    )
    for row in hosted:
        into = counts.setdefault(row["inflow_organisation_id"], {}).setdefault("hosted_from", {})
        into[row["member__home_branch__path"]] = row["n"]
    ledger = (
        with_five_clears(
            MobilityEpisode.objects.current().filter(within.q("member__home_branch")),
            today=today,
            life=False,
        )
        .order_by()
        .values("member__home_branch")
        .annotate(**completeness_aggregates())
    )
    for row in ledger:
        counts.setdefault(row.pop("member__home_branch"), {})["ledger"] = row
    return counts


def hosted_from_outside(figures: dict, path: str) -> int:
    """Members hosted in the subtree at `path` whose home branch is outside it."""
    return sum(n for home, n in figures.get("hosted_from", {}).items() if not home.startswith(path))


# --- writing the rows ------------------------------------------------------------------------


def _take_turns() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _versions(ids: Iterable[int]) -> dict[int, int]:
    return dict(
        LiveFigures.objects.filter(organisation_id__in=list(ids)).values_list(
            "organisation_id", "version"
        )
    )


def _store_direct(counted: dict[int, dict], ids: Iterable[int], today: date, versions) -> None:
    rows = []
    for pk in ids:
        direct = counted.get(pk, {})
        ledger = direct.pop("ledger", {})  # a column of its own: the ledger page reads only it
        version = versions.get(pk, 1)
        rows.append(
            LiveFigures(
                organisation_id=pk,
                day=today,
                direct=direct,
                ledger=ledger,
                version=version,
                counted_version=version,
            )
        )
    LiveFigures.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["organisation"],
        update_fields=["day", "direct", "ledger", "counted_version"],
    )


def _roll_up(paths: set[str] | None) -> None:
    """Recount `subtree` of these organisations (None: all), deepest first: direct plus the
    children's subtree."""
    rows = LiveFigures.objects.select_related("organisation").annotate(
        parent=Substr(
            "organisation__path",
            1,
            Length("organisation__path") - Organisation.steplen,
            output_field=CharField(),
        )
    )
    if paths is not None:
        rows = rows.filter(Q(organisation__path__in=paths) | Q(parent__in=paths))
    by_path = {row.organisation.path: row for row in rows}
    children: dict[str, list[LiveFigures]] = {}
    for row in by_path.values():
        children.setdefault(row.parent, []).append(row)
    todo = sorted(paths if paths is not None else by_path, key=len, reverse=True)
    changed = []
    for path in todo:
        row = by_path.get(path)
        if row is None:
            continue
        total: dict = {}
        add_into(total, row.direct)
        for child in children.get(path, []):
            add_into(total, child.subtree)
        row.subtree = total
        changed.append(row)
    LiveFigures.objects.bulk_update(changed, ["subtree"], batch_size=1000)


def _ancestor_paths(paths: Iterable[str]) -> set[str]:
    step = Organisation.steplen
    return {path[:end] for path in paths for end in range(step, len(path) + 1, step)}


def _common_path(paths: set[str]) -> str | None:
    """The deepest organisation path above (or at) all of these, None if they share none."""
    common = os.path.commonprefix(sorted(paths)) if paths else ""
    common = common[: len(common) - len(common) % Organisation.steplen]
    return common or None


def refresh(*, organisation_ids: Iterable[int], today: date) -> int:
    """Count these organisations directly again and roll their ancestors up."""
    ids = set(organisation_ids)
    if not ids:
        return 0
    with transaction.atomic():
        _take_turns()
        # Only those that still exist (one may have been deleted since the write).
        paths = dict(Organisation.objects.filter(pk__in=ids).values_list("pk", "path"))
        ids = set(paths)
        paths = set(paths.values())
        if not ids:
            return 0
        above = _ancestor_paths(paths)
        # An ancestor without a row yet is counted too (a general branch holds members).
        for pk, path in Organisation.objects.filter(path__in=above, live__isnull=True).values_list(
            "pk", "path"
        ):
            ids.add(pk)
            paths.add(path)
        versions = _versions(ids)
        inside = Within(ids=tuple(sorted(ids)), around=_common_path(paths))
        _store_direct(direct_counts(inside, today), ids, today, versions)
        _roll_up(above)
    return len(ids)


def refresh_subtree(organisation: Organisation, *, today: date) -> int:
    """Every organisation of a subtree, counted in one grouped pass (a county in seconds)."""
    with transaction.atomic():
        _take_turns()
        inside = dict(
            Organisation.objects.filter(path__startswith=organisation.path).values_list(
                "pk", "path"
            )
        )
        versions = _versions(inside)
        _store_direct(direct_counts(Within(path=organisation.path), today), inside, today, versions)
        _roll_up(set(inside.values()) | _ancestor_paths([organisation.path]))
    return len(inside)


def refresh_all(*, today: date) -> int:
    """Every organisation, one county (a root's child) at a time, then one roll-up."""
    roots = list(Organisation.objects.get_root_nodes())
    done = 0
    for root in roots:
        children = list(Organisation.objects.get_children(root))
        with transaction.atomic():
            _take_turns()
            versions = _versions([root.pk])
            _store_direct(direct_counts(Within(ids=(root.pk,)), today), [root.pk], today, versions)
        done += 1
        for child in children:
            done += refresh_subtree(child, today=today)
        if not children:
            _roll_up({root.path})
    return done


# --- marking what a write touched ------------------------------------------------------------


class _Recount:
    """The organisations a transaction touched, queued for recounting at its commit: the first
    of these to run takes the ids of the others of the same transaction, so a spreadsheet of
    10,000 members saved one by one (a savepoint each) queues one recount, not 10,000. Those of
    a transaction rolled back are dropped: their writes never happened."""

    waiting = threading.local()

    def __init__(self, transaction_block):
        self.ids: set[int] = set()
        self.transaction_block = transaction_block  # the outermost atomic block
        self._waiting().append(self)

    @classmethod
    def _waiting(cls) -> list:
        if not hasattr(cls.waiting, "recounts"):
            cls.waiting.recounts = []
        return cls.waiting.recounts

    def __call__(self) -> None:
        ids: set[int] = set()
        for recount in self._waiting():
            if recount.transaction_block is self.transaction_block:
                ids |= recount.ids
        self._waiting().clear()
        if ids:
            _queue_refresh(sorted(ids))


def _recount_at_commit(ids: set[int]) -> bool:
    """Add to this block's recount (False: no transaction, committed already)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    here = set(connection.savepoint_ids)
    for savepoints, callback, _robust in connection.run_on_commit:
        if isinstance(callback, _Recount) and set(savepoints) == here:
            callback.ids |= ids
            return True
    recount = _Recount(connection.atomic_blocks[0])
    recount.ids |= ids
    transaction.on_commit(recount)
    return True


def mark_changed(organisation_ids: Iterable[int]) -> None:
    """A write changed what these organisations hold: stale now, recounted after the commit
    (once per transaction, however many writes in it touched them)."""
    ids = {pk for pk in organisation_ids if pk}
    if not ids:
        return
    LiveFigures.objects.filter(organisation_id__in=sorted(ids)).update(version=F("version") + 1)
    if not _recount_at_commit(ids):
        _queue_refresh(sorted(ids))


# How a recount reaches a worker: reports/tasks.py registers its tasks here at start-up (it
# imports this module, not the other way round). A queue that fails leaves the write standing:
# the next reader or the night recounts.
_queues: dict[str, Callable] = {}


def register_queues(**queues: Callable) -> None:
    """`organisations(ids)`, `subtree(organisation_id)`, `everything()`: send the recount."""
    _queues.update(queues)


def _queue(name: str, *args) -> None:
    send = _queues.get(name)
    if send is None:
        return
    try:
        send(*args)
    except Exception:  # noqa: BLE001 - the write stands
        logger.exception("could not queue the recount %s%s", name, args)


def _queue_refresh(ids: list[int]) -> None:
    _queue("organisations", ids)


def queue_everything() -> None:
    _queue("everything")


# --- reading ---------------------------------------------------------------------------------


def stale_in(organisation: Organisation, *, today: date, limit: int) -> list[int]:
    """Up to `limit` organisations of the subtree whose row is missing, behind or from before
    today."""
    return list(
        Organisation.objects.filter(path__startswith=organisation.path)
        .filter(
            Q(live__isnull=True)
            | Q(live__counted_version__lt=F("live__version"))
            | Q(live__day__lt=today)
        )
        .values_list("pk", flat=True)[:limit]
    )


def current_rows(
    organisation: Organisation, others: Iterable[Organisation] = (), *, today: date
) -> tuple[dict[int, LiveFigures], bool]:
    """({organisation id: row} for the organisation and `others` in its subtree, whether all of
    the subtree is counted up to now)."""
    current = bring_up_to_date(organisation, today=today)
    wanted = [organisation.pk, *(other.pk for other in others)]
    rows = {
        row.organisation_id: row for row in LiveFigures.objects.filter(organisation_id__in=wanted)
    }
    return rows, current


def bring_up_to_date(organisation: Organisation, *, today: date) -> bool:
    """Whether the subtree's rows are counted up to now: a few stale ones are recounted here
    first; with more, a recount is queued and False says the page shows older figures."""
    stale = stale_in(organisation, today=today, limit=INLINE_REFRESH_MAX + 1)
    if stale and len(stale) <= INLINE_REFRESH_MAX:
        refresh(organisation_ids=stale, today=today)
        return True
    if stale:
        queue_recount(organisation)
    return not stale


def queue_recount(organisation: Organisation) -> None:
    """A recount of the subtree on a worker after this commit, once per few minutes."""
    if cache.add(f"live-refresh:{organisation.pk}", 1, QUEUED_REFRESH_SECONDS):
        transaction.on_commit(lambda: _queue_subtree(organisation.pk))


def _queue_subtree(organisation_id: int) -> None:
    _queue("subtree", organisation_id)


def is_large(organisation: Organisation) -> bool:
    """Over DASHBOARD_LIVE_MAX_MEMBERS members, as last counted: read the kept figures.
    Never counted (a new deployment): counted live this time, and recounted for the next."""
    counted = list(
        LiveFigures.objects.filter(organisation=organisation).values_list(
            "subtree__members", flat=True
        )
    )
    if not counted:
        queue_recount(organisation)
        return False
    return (counted[0] or 0) > settings.DASHBOARD_LIVE_MAX_MEMBERS


@register_kept_alert_counts
def kept_alert_counts(organisation: Organisation, today: date):
    """The alert inbox's counts per kind for a large subtree, from the kept figures, with the
    day they are from when that is not today (None: count live)."""
    if not is_large(organisation):
        return None
    rows, current = current_rows(organisation, today=today)
    own = rows.get(organisation.pk)
    if own is None:
        return None
    return own.subtree.get("alerts_by_kind", {}), None if current else own.day


def kept_completeness(
    root: Organisation, today: date
) -> tuple[list[Completeness], date | None] | None:
    """The outflow ledger's completeness per home branch in `root`'s subtree, from the kept
    figures, for a subtree over DASHBOARD_LIVE_MAX_MEMBERS members; None: count live.
    Registered with ledgers/ (ledgers.selectors.branch_completeness) in ReportsConfig.ready().
    """
    if not is_large(root):
        return None
    current = bring_up_to_date(root, today=today)
    kept = (
        LiveFigures.objects.filter(organisation__path__startswith=root.path)
        .order_by("organisation__name", "organisation_id")
        .values_list("organisation__name", "organisation_id", "day", "ledger")
    )
    parts, days = [], set()
    for name, organisation_id, day, ledger in kept:
        days.add(day)
        if ledger and ledger.get("total"):
            parts.append(
                Completeness(
                    name,
                    organisation_id,
                    ledger["total"],
                    ledger["clear"],
                    {i: ledger[i] for i in ITEMS},
                )
            )
    return parts, None if current or not days else min(days)

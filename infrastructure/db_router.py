"""Reads that may lag go to a PostgreSQL streaming replica; everything else to the primary.

Without `DATABASE_REPLICA_URL` there is no "replica" database, no router and nothing here
costs a query. With it (config/settings.py), `ReplicaRouter` sends every write, and every read
by default, to "default" (the primary). Reads go to "replica" only inside `lagging_reads()`,
which the views of the dashboard, its member lists, printed report and workbook, the yearly
statistics and the ledger and campaign exports enter through `@lagging_reads_ok` — and then
only when the replica is up and current.

The rule: **the replica serves a request only if it has replayed everything the primary had
made durable when the request began.** On entry, one query on the primary reads
`pg_current_wal_flush_lsn()`; one query on the replica checks `pg_last_wal_replay_lsn()` is
at or past that position (waiting for it inside that same query at most
`DATABASE_REPLICA_WAIT_MS`, 50 ms by default, in 5 ms steps: a replica on a healthy network
is a few milliseconds behind). A commit is flushed before it becomes visible (unless
`synchronous_commit` is off; on is PostgreSQL's default and Liudong never changes it), so
every member the primary had added or removed when the request began is already added or
removed on the replica: a page read from the replica never shows a member the primary has
not got, nor misses one it had — including the user's own last write, whatever the delay.
Otherwise the request reads the primary. So there is no "maximum lag" setting: a page is
never behind the primary; only where it is read changes.

Fallbacks:
- a request that is not GET or HEAD (a POST that writes) reads the primary;
- replica down (its check raises a database error, e.g. refused, or the 2 s connect timeout):
  the primary, and this process does not try the replica again for
  `DATABASE_REPLICA_RETRY_SECONDS` (10), so requests do not each wait for a timeout;
- replica behind after the wait: the primary, and for one second the check does not wait, so
  a replica that is far behind (a long import streaming) costs each page one quick query only;
- a replica query that fails during the view (the replica stopped in that instant, or a
  query cancelled by a recovery conflict) marks the replica down as above, and the view runs
  again on the primary if it had written nothing yet; after a write (an export's access-log
  row) the error stands, so nothing is written twice.

Cost per lagging request: one cheap query per database (plus Django's health check of a kept
replica connection), none when the replica is known to be down.

Writes never go to the replica (`db_for_write`), migrations never run there
(`allow_migrate`), and objects read from either may be related to each other. Inside
`lagging_reads()` a view still reads its own writes: once it has written a model, its reads of
that model go to the primary; so do all its reads inside a transaction it opens on the
primary (`transaction.atomic()`, a read-modify-write: the dashboard's recount of a few stale
figures), and the relations and `refresh_from_db()` of an object from the primary (the ledger
export's background job).
"""

from __future__ import annotations

import functools
import logging
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

DEFAULT = "default"
REPLICA = "replica"
WAIT_STEP_SECONDS = 0.005
BEHIND_PAUSE_SECONDS = 1.0


class _LaggingReads:
    """One block of lagging reads on the replica: what it wrote, and how deep in transactions
    on the primary it began."""

    def __init__(self):
        self.written: set[type] = set()
        self.depth = len(connections[DEFAULT].atomic_blocks)

    def reads_primary(self, model) -> bool:
        return model in self.written or len(connections[DEFAULT].atomic_blocks) > self.depth


_lagging: ContextVar[_LaggingReads | None] = ContextVar("liudong_lagging_reads", default=None)


class _Health:
    """What this process remembers about the replica (monotonic clock)."""

    down_until = 0.0
    behind_until = 0.0


_health = _Health()

# One query on the replica: true when it is a replica and has replayed at least %(target)s,
# waiting %(pause)s seconds between up to %(steps)s further looks. The CASE fixes the order:
# sleep first, then look (a plain AND may be reordered by the planner).
_CAUGHT_UP = """
SELECT pg_is_in_recovery() AND EXISTS (
    SELECT FROM generate_series(0, %(steps)s) AS step
    WHERE CASE
        WHEN step > 0 AND pg_sleep(%(pause)s) IS NULL THEN false
        ELSE pg_last_wal_replay_lsn() >= %(target)s::pg_lsn
    END
)
"""


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def mark_replica_down() -> None:
    """Read the primary only, in this process, for DATABASE_REPLICA_RETRY_SECONDS."""
    _health.down_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
    logger.warning(
        "replica unavailable: lagging reads use the primary for %s s",
        settings.DATABASE_REPLICA_RETRY_SECONDS,
    )
    try:
        connections[REPLICA].close()
    except DatabaseError:
        pass


def primary_position() -> str:
    """The primary's WAL flush position: every commit visible on it lies at or before it."""
    with connections[DEFAULT].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_flush_lsn()::text")
        return cursor.fetchone()[0]


def replica_is_current() -> bool:
    """The rule of the module docstring: may this request's lagging reads use the replica?"""
    if not replica_configured():
        return False
    if connections[DEFAULT].vendor != "postgresql" or connections[REPLICA].vendor != "postgresql":
        return False
    now = time.monotonic()
    if now < _health.down_until:
        return False
    target = primary_position()
    wait = 0.0 if now < _health.behind_until else settings.DATABASE_REPLICA_WAIT_MS / 1000
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                _CAUGHT_UP,
                {
                    "steps": int(wait / WAIT_STEP_SECONDS),
                    "pause": WAIT_STEP_SECONDS,
                    "target": target,
                },
            )
            current = bool(cursor.fetchone()[0])
    except DatabaseError:
        mark_replica_down()
        return False
    if not current:
        _health.behind_until = time.monotonic() + BEHIND_PAUSE_SECONDS
    return current


@contextmanager
def lagging_reads():
    """Inside, reads go to the replica if it is current now.

    Yields the block (true) when they do, None when they go to the primary. For code that
    only reads: the replica is never behind the primary's state when the block begins. Writes
    inside go to the primary, and so do the reads that follow them on the same model and the
    reads inside a transaction opened within the block (`transaction.atomic()`: a
    read-modify-write, such as the dashboard's recount of stale figures).
    """
    if (current := _lagging.get()) is not None:
        yield current
        return
    if not replica_is_current():
        yield None
        return
    block = _LaggingReads()
    token = _lagging.set(block)
    try:
        yield block
    except DatabaseError:
        if _replica_errored():
            mark_replica_down()
        raise
    finally:
        _lagging.reset(token)


def _replica_errored() -> bool:
    return connections[REPLICA].errors_occurred


def _replica_down() -> bool:
    return time.monotonic() < _health.down_until


def reading_replica() -> bool:
    """Whether reads in this context may go to the replica now."""
    return _lagging.get() is not None


def lagging_reads_ok(view):
    """View decorator: a GET (or HEAD) reads the replica when it is current; see the module.

    If the replica fails during the view before the view wrote anything, the view runs again
    on the primary (its reads had no effect); after a write, the error stands.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or not replica_configured():
            return view(request, *args, **kwargs)
        block = None
        try:
            with lagging_reads() as block:
                return view(request, *args, **kwargs)
        except DatabaseError:
            if block is None or block.written or not _replica_down():
                raise
        logger.warning("replica failed during %s: read again from the primary", request.path)
        return view(request, *args, **kwargs)

    return wrapper


class ReplicaRouter:
    """Writes and ordinary reads to "default"; reads inside `lagging_reads()` to "replica"."""

    def db_for_read(self, model, **hints):
        block = _lagging.get()
        if block is None or block.reads_primary(model):
            return DEFAULT
        instance = hints.get("instance")
        if instance is not None and instance._state.db == DEFAULT:
            return DEFAULT  # an object from the primary (or just written) reads back there
        return REPLICA

    def db_for_write(self, model, **hints):
        if (block := _lagging.get()) is not None:
            block.written.add(model)
        return DEFAULT

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {DEFAULT, REPLICA, None}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA

"""What members/ tells the rooms above it, without importing them.

`evidence_changed(member_ids=[...])` is sent after the commit of a write that changes members'
signs of life or standing (members.services.evidence_changed). alerts/ connects to it in its
AppConfig.ready() and re-evaluates those members' rules; reports/ marks its kept figures stale.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.dispatch import Signal

evidence_changed = Signal()

# `bulk_changed(member_ids=[...] | None, organisation_id=... | None)`: bulk writes that bypass the
# model signals (an import, the scan): these members, else everything under this organisation,
# else everything. reports/ recounts its kept figures.
bulk_changed = Signal()

# Bulk work that ends with a full scan (the demo) need not re-evaluate member by member.
_quiet: ContextVar[bool] = ContextVar("evidence_quiet", default=False)


@contextmanager
def evidence_quiet():
    """No evidence_changed while inside: the caller runs the full scan afterwards."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def is_quiet() -> bool:
    return _quiet.get()

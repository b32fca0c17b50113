"""What members/ tells the rooms above it, without importing them.

`evidence_changed(member_ids=[...])` is sent after the commit of a write that changes members'
signs of life or standing (members.services.evidence_changed). alerts/ connects to it in its
AppConfig.ready() and re-evaluates those members' rules.
"""

from django.dispatch import Signal

evidence_changed = Signal()

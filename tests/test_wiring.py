"""Issue #16, hidden wiring: each app registers its rules, member-page sections and hosting in
its AppConfig.ready(), not because another module happens to import it."""

from django.apps import apps

from alerts import registry as rules
from members import sections, selectors


def test_each_app_registers_its_rules_in_ready():
    by_app = {}
    for rule in rules.registered_rules():
        by_app.setdefault(rule.members.__module__.split(".")[0], set()).add(rule.code)
    assert {"lost_contact", "removal_due", "correction_term_ended"} <= by_app["ledgers"]
    assert {"no_life_6_months", "dues_unpaid_6_months"} <= by_app["activities"]
    assert {"receipt_overdue", "abroad_five_years"} <= by_app["transfers"]
    assert "members" not in by_app  # the bottom layer flags nothing itself


def test_the_registries_are_filled_at_start_up_by_the_apps_ready():
    assert apps.ready
    slugs = {section.slug for section in sections._sections}
    assert {"ledger", "standing", "life"} <= slugs
    from transfers.selectors import hosted_members

    assert hosted_members in selectors._hosting
    # registered_rules() only reads the registry: nothing is imported on the way.
    assert "autodiscover" not in rules.registered_rules.__code__.co_names


def test_alerts_listens_to_members_evidence_changed(db, monkeypatch):
    """members/ may not import alerts/: it sends a signal, connected in AlertsConfig.ready()."""
    from alerts import tasks
    from members.models import Member
    from members.signals import evidence_changed

    sent = []
    monkeypatch.setattr(tasks.reevaluate_members, "delay", sent.append)
    evidence_changed.send(sender=Member, member_ids=[3, 5])
    assert sent == [[3, 5]]


def test_reports_listens_to_members_evidence_changed_and_bulk_changed(county, monkeypatch):
    """A write marks the kept figures of the member's branch and of the host stale; an import
    or the scan has its subtree, or everything, recounted."""
    from members.models import Member
    from members.signals import bulk_changed, evidence_changed
    from reports import live

    marked = []
    monkeypatch.setattr(live, "mark_changed", lambda ids: marked.append(set(ids)))
    member = county.member(county.branch_a)
    marked.clear()
    evidence_changed.send(sender=Member, member_ids=[member.pk])
    # (and again after the re-evaluation, where Celery runs it here and now)
    assert marked and all(ids == {county.branch_a.pk} for ids in marked)
    bulk_changed.send(sender=Member, member_ids=[member.pk])
    assert marked[-1] == {county.branch_a.pk}


def test_bulk_work_before_a_full_scan_can_skip_the_re_evaluations(
    db, django_capture_on_commit_callbacks
):
    """The demo runs its steps quietly: hundreds of writes, then one scan."""
    from members.services import evidence_changed
    from members.signals import evidence_quiet

    with django_capture_on_commit_callbacks() as quiet:
        with evidence_quiet():
            evidence_changed(member_ids=[1, 2])
    with django_capture_on_commit_callbacks() as loud:
        evidence_changed(member_ids=[1, 2])
    assert (len(quiet), len(loud)) == (0, 1)

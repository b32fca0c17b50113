"""The registry of rules that flag members. Each app contributes its own in `rules.py`,
imported by its AppConfig.ready().

A rule is a function `(today) -> QuerySet[Member]` that finds every matching member in
one query, with the words a secretary needs: what it means, where the rule comes from,
and what to do first. The nightly scan (issue #6) runs every registered rule.

A rule may also take `among` (member ids: a write's re-evaluation) and `within` (an
organisation's path: a county part of the split scan) to narrow its own work. With `within`
the scope goes inside the rule's subqueries (`in_subtree`): the episodes, letters, transfers,
evaluations, terms or members a rule starts from are that county's, not every row filtered at
the end. Both default to None, today's behaviour: `rule(today)` still finds every matching
member.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import QuerySet
from django.utils.functional import Promise

from alerts.models import SEVERITY_ORDER, Alert
from members.models import Member

# (today) -> members; a rule may also take `among` (member ids) and `within` (a path).
RuleQuery = Callable[..., QuerySet[Member]]


def in_subtree(rows: QuerySet, within: str | None, *, member: str = "") -> QuerySet:
    """`rows` of members whose home branch is in the subtree at path `within` (all of them
    when None): members, or rows reaching their member by `member` ("member__",
    "transfer__member__"). A treebeard path prefix is one index range of organisations, and
    the members of those branches one range each of `member_branch_id`."""
    if within is None:
        return rows
    if not member:
        return rows.filter(home_branch__path__startswith=within)
    # Rows of other tables take the members' ids as a subquery rather than a join on the
    # member they already join (for its status): the ids come from the index alone.
    members = Member.objects.filter(home_branch__path__startswith=within).values("pk")
    return rows.filter(**{f"{member}id__in": members})


@dataclass(frozen=True)
class Rule:
    code: str
    title: str | Promise
    severity: str  # "notice", "warning" or "serious"
    explanation: str | Promise
    source: str | Promise
    first_step: str | Promise
    members: RuleQuery
    # (label, URL name taking the member's pk): the links to act from the alert page.
    actions: tuple[tuple[str | Promise, str], ...] = ()
    # The settings that set its thresholds, read when the rule runs; shown on the rule book.
    thresholds: tuple[str, ...] = ()
    # How it counts, in a sentence, where that is not plain from the explanation.
    counting: str | Promise = ""
    # Criticism and education on its alert opens a correction term (Reg. arts. 29-30).
    correctable: bool = False
    # The rule function takes `among` (member ids) and narrows its own work to them.
    narrows: bool = False
    # The rule function takes `within` (a path) and puts the scope inside its subqueries.
    scopes: bool = False

    def matching(
        self, today: date, *, among: list[int] | None = None, within: str | None = None
    ) -> QuerySet[Member]:
        """The members the rule flags today; with `among`, only those members; with `within`,
        only members whose home branch is in that subtree (an organisation's path). A rule
        that takes `among` or `within` itself narrows its own work; for one that does not,
        the outer query is filtered (its subqueries still read everyone's rows)."""
        options = {}
        if among is not None and self.narrows:
            options["among"] = among
        if within is not None and self.scopes:
            options["within"] = within
        members = self.members(today, **options)
        if among is not None and not self.narrows:
            members = members.filter(pk__in=among)
        if within is not None and not self.scopes:
            members = in_subtree(members, within)
        return members

    @property
    def threshold_values(self) -> list[tuple[str, object]]:
        return [(name, getattr(settings, name, None)) for name in self.thresholds]

    @property
    def severity_label(self) -> str:
        return Alert.Severity(self.severity).label


_rules: dict[str, Rule] = {}


def rule(
    *,
    code: str,
    title,
    severity: str,
    explanation,
    source,
    first_step,
    actions=(),
    thresholds=(),
    counting="",
    correctable: bool = False,
):
    if severity not in ("notice", "warning", "serious"):
        raise ValueError(f"unknown severity {severity!r}")

    def register(members: RuleQuery) -> RuleQuery:
        parameters = inspect.signature(members).parameters
        if code in _rules and _rules[code].members is not members:
            raise ValueError(f"rule {code!r} is registered twice")
        _rules[code] = Rule(
            code,
            title,
            severity,
            explanation,
            source,
            first_step,
            members,
            tuple(actions),
            tuple(thresholds),
            counting,
            correctable,
            "among" in parameters,
            "within" in parameters,
        )
        return members

    return register


def registered_rules() -> list[Rule]:
    """Every rule the apps registered in their AppConfig.ready()."""
    return sorted(_rules.values(), key=lambda r: r.code)


def rule_for(code: str) -> Rule | None:
    return _rules.get(code)


def rule_book_entries() -> list[Rule]:
    """The rules for the rule book, most serious first."""
    return sorted(registered_rules(), key=lambda r: (SEVERITY_ORDER[r.severity], r.code))

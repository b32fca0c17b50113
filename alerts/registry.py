"""The registry of rules that flag members. Each app contributes its own in `rules.py`,
imported by its AppConfig.ready().

A rule is a function `(today) -> QuerySet[Member]` that finds every matching member in
one query, with the words a secretary needs: what it means, where the rule comes from,
and what to do first. The nightly scan (issue #6) runs every registered rule.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import QuerySet
from django.utils.functional import Promise

from alerts.models import Alert
from members.models import Member

# (today) -> members; a rule may also take `among` (member ids) to narrow its own work.
RuleQuery = Callable[..., QuerySet[Member]]


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

    def matching(self, today: date, *, among: list[int] | None = None) -> QuerySet[Member]:
        """The members the rule flags today; with `among`, only those members. A rule that
        takes `among` itself (one with a per-member step in Python) narrows its own work."""
        if among is None:
            return self.members(today)
        if self.narrows:
            return self.members(today, among=among)
        return self.members(today).filter(pk__in=among)

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
            "among" in inspect.signature(members).parameters,
        )
        return members

    return register


def registered_rules() -> list[Rule]:
    """Every rule the apps registered in their AppConfig.ready()."""
    return sorted(_rules.values(), key=lambda r: r.code)


def rule_for(code: str) -> Rule | None:
    return _rules.get(code)


SEVERITY_ORDER = {"serious": 0, "warning": 1, "notice": 2}


def rule_book_entries() -> list[Rule]:
    """The rules for the rule book, most serious first."""
    return sorted(registered_rules(), key=lambda r: (SEVERITY_ORDER[r.severity], r.code))

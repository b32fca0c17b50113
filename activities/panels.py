"""Panels that rooms above add to an activity's page (the members' own replies, from
selfservice/). `activities/` never imports them: they register here from their ready()."""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

from .models import Activity


@dataclass(frozen=True)
class ActivityPanel:
    slug: str
    context: Callable[[HttpRequest, Activity], dict | None]  # None: nothing to show
    template: str


_panels: list[ActivityPanel] = []


def activity_panel(*, slug: str, template: str):
    def register(context: Callable[[HttpRequest, Activity], dict | None]):
        _panels.append(ActivityPanel(slug, context, template))
        return context

    return register


def render_activity_panels(request: HttpRequest, activity: Activity) -> list[dict]:
    shown = []
    for panel in _panels:
        values = panel.context(request, activity)
        if values is not None:
            html = render_to_string(panel.template, {"activity": activity, **values}, request)
            shown.append({"slug": panel.slug, "html": html})
    return shown

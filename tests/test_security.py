"""Security headers and the CSP: no inline script, handler or style in any page Liudong serves."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
# E-mail bodies go to mail clients, which ignore linked CSS; the CSP never applies to them.
NOT_SERVED_TO_BROWSERS = {TEMPLATES / "emails"}

TAG = re.compile(r"<[a-zA-Z][^>]*>", re.DOTALL)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
# A <style> with the request's nonce is allowed (the phone pages inline their small sheet).
STYLE_ELEMENT = re.compile(r"<style(?![^>]*\bnonce=)[\s>]", re.IGNORECASE)


def inline_code(html: str) -> list[str]:
    """Everything a CSP without 'unsafe-inline' would block in this HTML."""
    found = [f"inline <script>: {m.group(0)}" for m in INLINE_SCRIPT.finditer(html)]
    found += [f"<style> element: {m.group(0)}" for m in STYLE_ELEMENT.finditer(html)]
    for tag in TAG.findall(html):
        if HANDLER.search(tag):
            found.append(f"event handler: {tag[:120]}")
        if STYLE_ATTRIBUTE.search(tag):
            found.append(f"style attribute: {tag[:120]}")
    return found


def browser_templates() -> list[Path]:
    return [
        path
        for path in sorted(TEMPLATES.rglob("*.html"))
        if not any(path.is_relative_to(skip) for skip in NOT_SERVED_TO_BROWSERS)
    ]


def test_the_scanner_finds_what_the_csp_blocks():
    assert inline_code('<p style="color: red">') and inline_code("<script>alert(1)</script>")
    assert inline_code('<button onclick="x()">') and inline_code("<style>p {}</style>")
    assert not inline_code('<script src="/static/js/print.js" defer></script><p class="one">')
    assert not inline_code('<style nonce="{{ request.csp_nonce }}">p {}</style>')


@pytest.mark.parametrize("path", browser_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_has_no_inline_script_handler_or_style(path):
    assert inline_code(path.read_text()) == []


def test_the_policy_header_on_a_page(client, db):
    response = client.get(reverse("login"))
    policy = response.headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in policy


def test_frames_are_denied_and_content_types_not_sniffed(client, db):
    response = client.get(reverse("login"))
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_sessions_end_after_thirty_idle_minutes_and_each_minute_of_use_moves_the_end_on(
    client, county, monkeypatch
):
    from django.contrib.sessions.models import Session

    from config import middleware

    assert django_settings.SESSION_COOKIE_AGE == 30 * 60
    client.force_login(county.reviewer(county.county, "rev"))
    clock = [1_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: clock[0])

    def expiry():
        return Session.objects.get(session_key=client.session.session_key).expire_date

    client.get(reverse("home"))
    first = expiry()
    client.get(reverse("home"))  # within the minute: not written again
    assert expiry() == first
    clock[0] += 61
    client.get(reverse("home"))  # a minute on: the end moves on
    assert expiry() > first


@pytest.mark.parametrize(
    "url",
    [
        reverse("home"),
        reverse("reports:dashboard"),
        reverse("reports:dashboard_print"),
        reverse("reports:dashboard_yearly"),
        reverse("members:list"),
        reverse("accounts:otp_enrol"),
    ],
)
def test_rendered_pages_have_no_inline_code(client, county, url):
    for n in range(3):
        county.member(county.branch_a, name=f"成员{n}")
    county.member(county.branch_b, name="成员B")
    client.force_login(county.reviewer(county.county, "rev"))
    response = client.get(url)
    assert response.status_code == 200
    assert inline_code(response.content.decode()) == []


def test_the_session_cookie_lasts_thirty_minutes_from_each_request(client, county):
    client.force_login(county.secretary(county.branch_a, "sec"))
    response = client.get(reverse("home"))
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == 30 * 60
    assert cookie["httponly"]


@pytest.mark.parametrize("weak", ["12345678", "password", "sec"])
def test_weak_passwords_are_refused(client, county, weak):
    user = county.secretary(county.branch_a, "sec")
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": "correct-horse-battery", "new_password1": weak, "new_password2": weak},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    user.refresh_from_db()
    assert user.check_password("correct-horse-battery")


def test_the_phone_pages_inline_style_carries_the_nonce_the_policy_names(client, db):
    """Issue #19: one request per phone page; the sheet is allowed by nonce, not unsafe-inline."""
    from selfservice import access

    from .conftest import County

    county = County()
    member = county.member(county.branch_a)
    response = client.get(access.url_for(access.issue_link(member=member, actor=None)))
    nonce = re.search(r'<style nonce="([^"]+)">', response.content.decode()).group(1)
    policy = response.headers["Content-Security-Policy"]
    assert f"'nonce-{nonce}'" in policy and "unsafe-inline" not in policy

"""Every URL pattern × every role × objects in and out of scope (issue #9).

The patterns come from the URL resolver, so a new page is covered without anyone
remembering: a pattern without a declaration in tests/matrix.py fails here by name.
"""

from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from . import matrix
from .matrix import (
    ADMIN,
    ALL_NAMES,
    BOUNCED,
    CONDUCT_NOTE,
    DONE,
    LOGIN,
    MATRIX,
    NAMES_EDITED,
    NAMES_SEEN,
    OK,
    REFUSED,
    ROLES,
    UNCHANGED,
)
from .selfservice_helpers import sign_in

PATTERNS = matrix.url_patterns()


def _cases():
    for name, route in PATTERNS:
        if matrix.skipped(name, route):
            continue
        declared = MATRIX.get(name)
        if declared is None:
            yield pytest.param(name, None, None, id=f"{name}-UNDECLARED")
            continue
        for case in declared:
            for role in ROLES:
                marks = []
                reasons = [reason for key, reason in case.known.items() if key[1] == role]
                if reasons:
                    marks.append(
                        pytest.mark.xfail(
                            matrix.known_applies(reasons), strict=True, reason="; ".join(reasons)
                        )
                    )
                yield pytest.param(
                    name, case, role, id=f"{name}-{case.variant or 'page'}-{role}", marks=marks
                )


CASES = list(_cases())


@pytest.fixture(scope="module")
def scenario(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction; each test rolls back its own writes."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        built = None
        try:
            built = matrix.Scenario()
            yield built
        finally:
            if built is not None:
                built.drop_cached_files()
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _url(case, scenario) -> str:
    return case.kwargs(scenario) if case.kwargs else {}


def _check_body(response, *, role: str, case, url: str, scenario) -> None:
    """What a role must never read: names out of its scope, ID numbers, the conduct note.

    Text only (HTML, CSV); spreadsheets and PDFs are compressed.
    """
    kind = response.get("Content-Type", "")
    if not kind.startswith("text/"):
        return
    body = response.content.decode()
    leaked = sorted(name for name in ALL_NAMES - NAMES_SEEN[role] if name in body)
    assert not leaked, f"{url} shows {role} members out of scope: {leaked}"
    ids = scenario.national_ids
    leaked = sorted(name for name in ALL_NAMES - NAMES_EDITED[role] if ids[name] in body)
    assert not leaked, f"{url} shows {role} the full ID number of {leaked} (home side only)"
    if kind.startswith("text/html"):
        if role not in case.shows_id:
            shown = sorted(name for name, number in ids.items() if number in body)
            assert not shown, f"{url} shows a full ID number ({shown}) outside the logged reveal"
        if role not in case.shows_note:
            assert CONDUCT_NOTE not in body, f"{url} shows the conduct note without the logged step"


def _expect(response, outcome: str, *, url: str, method: str, role: str) -> None:
    where = f"{method} {url} as {role}"
    status = response.status_code
    if outcome == LOGIN:
        assert status == 302 and response.url.startswith(reverse("login")), (
            f"{where}: expected a redirect to the login page, got {status}"
        )
    elif outcome in (DONE, BOUNCED):
        target = response.get("Location", "")
        assert status == 302 and not target.startswith(reverse("login")), (
            f"{where}: expected {outcome}, got {status} {target}"
        )
    elif outcome in (OK, REFUSED):
        assert status == 200, f"{where}: expected 200, got {status}"
    else:
        assert status == int(outcome), f"{where}: expected {outcome}, got {status}"


@pytest.mark.parametrize(("name", "case", "role"), CASES)
def test_permission_matrix(name, case, role, scenario, client, db, settings):
    if case is None:
        pytest.fail(
            f"URL pattern {name!r} has no declaration in tests/matrix.py MATRIX "
            "(or a reasoned entry in SKIPPED): say what each role gets."
        )
    settings.LANGUAGE_CODE = "zh-hans"
    user = scenario.users[role]
    if user is not None:
        client.force_login(User.objects.get(pk=user.pk))
    if role == matrix.MEMBER:
        sign_in(client, scenario.member_a)
    url = reverse(name, kwargs=_url(case, scenario))
    query = case.query(scenario) if case.query else {}

    response = client.get(url, query)
    _expect(response, case.get[role], url=url, method="GET", role=role)
    # No page or export is kept by a browser or a proxy (#15).
    assert "no-store" in response.get("Cache-Control", ""), f"GET {url} as {role}: cacheable"
    if response.status_code == 200:
        _check_body(response, role=role, case=case, url=url, scenario=scenario)

    expected = case.post[role]
    data = case.data(scenario) if case.data else {}
    post_url = url + ("?" + urlencode(query) if query else "")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(post_url, data)
    _expect(response, expected, url=url, method="POST", role=role)
    if response.status_code == 200:
        _check_body(response, role=role, case=case, url=url, scenario=scenario)
    if expected in UNCHANGED:
        written = matrix.written_tables(queries.captured_queries)
        assert not written, f"POST {url} as {role} ({expected}) wrote to {written}"


def test_matrix_size(capsys):
    """Report the figure: (pattern × role × object) cases, each tried with a GET and a POST."""
    declared = [case for case in CASES if case.values[1] is not None]
    patterns = {case.values[0] for case in declared}
    line = (
        f"permission matrix: {len(declared)} (pattern × role × object) cases over "
        f"{len(patterns)} URL patterns and {len(ROLES)} roles, {2 * len(declared)} requests"
    )
    with capsys.disabled():
        print(f"\n{line}")
    assert len(patterns) >= 50 and len(declared) >= 7 * len(patterns)


def test_every_declaration_names_a_pattern():
    """A declaration for a pattern that no longer exists is a mistake, not coverage."""
    names = {name for name, _route in PATTERNS}
    stale = sorted(set(MATRIX) - names)
    assert not stale, f"declared in tests/matrix.py but not in the URLconf: {stale}"


def test_admin_site_is_staff_only(scenario, client, db):
    """The admin site is skipped above; as a whole it needs a staff login."""
    admin_urls = [
        reverse("admin:index"),
        reverse("admin:members_member_changelist"),
        reverse("admin:members_member_change", args=[scenario.member_b.pk]),
        reverse("admin:members_sensitiveaccess_changelist"),
    ]
    for role in ROLES:
        user = scenario.users[role]
        client.logout()
        if user is not None:
            client.force_login(User.objects.get(pk=user.pk))
        for url in admin_urls:
            response = client.get(url)
            if role == ADMIN:
                assert response.status_code == 200, f"{url} as {role}: {response.status_code}"
            else:
                assert response.status_code == 302, f"{url} as {role}: {response.status_code}"
                # Anonymous: the site's login; signed in but not staff: the admin's login.
                assert response.url.startswith((reverse("admin:login"), reverse("login")))


def test_write_detection_sees_a_write(scenario, client, db):
    """The 'nothing written' check must be able to fail: a real one-click write is seen."""
    client.force_login(User.objects.get(pk=scenario.users[matrix.SEC_A].pk))
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("ledgers:reached_today", args=[scenario.member_a.pk]))
    assert response.status_code == 302
    assert "ledgers_contactattempt" in matrix.written_tables(queries.captured_queries)

import os
import random
import socket
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.db import connections

from members.demo import make_national_id
from members.models import Member, Organisation, StaffAssignment

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def require_service(name: str, available: bool, why: str = "") -> None:
    """Skip when a service is missing on a developer machine; fail loudly in CI."""
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {message}")
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"


@pytest.fixture(autouse=True, scope="session")
def receipts_outside_the_repo(tmp_path_factory):
    """Members' dues receipts written by any test (the demo, the matrix) go to a temporary
    directory, not to private/ in the working tree."""
    from django.core.files.storage import storages

    storage = storages["receipts"]
    place = str(tmp_path_factory.mktemp("receipts"))
    storage.base_location = storage.location = place
    return place


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    """SMS kept in memory in tests, as e-mail is (infrastructure.sms.outbox)."""
    from infrastructure import sms

    settings.SMS_BACKEND = "infrastructure.sms.MemoryBackend"
    sms.outbox.clear()
    return sms.outbox


class County:
    """A small county: township A with branches A1 and A2, township B with branch B1."""

    def __init__(self):
        tree = Organisation.objects
        kind = Organisation.Kind
        self.county = tree.add_root({"name": "测试县委组织部", "kind": kind.COUNTY})
        self.township_a = tree.add_child(self.county, {"name": "甲镇党委", "kind": kind.COMMITTEE})
        self.branch_a = tree.add_child(self.township_a, {"name": "甲村党支部", "kind": kind.BRANCH})
        self.branch_a2 = tree.add_child(
            self.township_a, {"name": "乙村党支部", "kind": kind.BRANCH}
        )
        self.township_b = tree.add_child(self.county, {"name": "丙镇党委", "kind": kind.COMMITTEE})
        self.branch_b = tree.add_child(self.township_b, {"name": "丙村党支部", "kind": kind.BRANCH})
        self._rng = random.Random(7)

    def member(self, branch: Organisation, **fields) -> Member:
        born = fields.pop("birth_date", date(1985, 3, 14))
        number = fields.pop("national_id", None) or make_national_id(self._rng, born, True)
        values = {
            "name": "张三",
            "gender": Member.Gender.MALE,
            "birth_date": born,
            "national_id": number,
            "phone": "13800138000",
            "joined_on": date(2010, 7, 1),
            "confirmed_on": date(2011, 7, 1),
            "home_branch": branch,
        }
        values.update(fields)
        return Member.objects.create(**values)

    def user(self, username: str, organisation: Organisation | None, role: str) -> User:
        user = User.objects.create_user(username, password="correct-horse-battery")
        if organisation is not None:
            StaffAssignment.objects.create(user=user, organisation=organisation, role=role)
        return user

    def secretary(self, branch: Organisation, username: str = "") -> User:
        return self.user(username or f"sec-{branch.pk}", branch, StaffAssignment.Role.SECRETARY)

    def reviewer(self, organisation: Organisation, username: str = "") -> User:
        return self.user(
            username or f"rev-{organisation.pk}", organisation, StaffAssignment.Role.REVIEWER
        )


@pytest.fixture
def county(db) -> County:
    return County()


@pytest.fixture
def eager_celery():
    """Run tasks in-process for a test that checks what a task does, not how it travels."""
    from config import celery_app

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def browser_page(monkeypatch):
    """A page in headless Chromium. Skipped without Chromium; a failure when REQUIRE_SERVICES=1."""
    from .browser import CHROMIUM, CHROMIUM_ARGS

    require_service("Chromium", os.path.exists(CHROMIUM), f"{CHROMIUM} not found")
    # Playwright's sync API runs an event loop in this thread, so Django would refuse the
    # test's ordinary ORM calls. Allow them for this test only (not for the session: the
    # variable would leak into `manage.py check --deploy` subprocesses).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        # An English-language browser: the interface must still default to Chinese.
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            yield page
        finally:
            for other in browser.contexts:
                other.close()
            browser.close()
            # Close the connections Django opened inside sync_playwright(), or PostgreSQL
            # cannot drop the test database at the end of the session.
            connections.close_all()


@pytest.fixture
def sides(county):
    """Partner rows for both directions, and branch B1 with the code side A sends to."""
    county.branch_b.code = "B1"
    county.branch_b.save()
    from partners import services

    to_b = services.partner_register(
        name="乙省流动党员系统",
        base_url="http://b.example",
        our_key_id="a",
        their_key_id="b",
        sending_secret="a-to-b",
        receiving_secret="b-to-a",
        organisation=county.county,
    )
    from_a = services.partner_register(
        name="甲省流动党员系统",
        base_url="http://a.example",
        our_key_id="b",
        their_key_id="a",
        sending_secret="b-to-a",
        receiving_secret="a-to-b",
        organisation=county.county,
    )
    link = services.partner_organisation_link(
        partner=to_b, name="乙村党支部", region="乙省", remote_code="B1"
    )
    return county, to_b, from_a, link

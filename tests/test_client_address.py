"""Issue #15, finding 4: the client address behind the TLS proxy, for the lockout and the log."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from infrastructure.client_address import client_address
from members.models import SensitiveAccess

PROXY = "10.0.0.2"  # the TLS proxy's own address, as gunicorn sees the socket


def request(remote=PROXY, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_a_proxy_the_socket_is_the_client_and_the_header_is_ignored(settings):
    settings.PROXY_COUNT = 0
    assert client_address(request("198.51.100.9", "203.0.113.5")) == "198.51.100.9"


@pytest.mark.parametrize(
    ("count", "forwarded", "client"),
    [
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "1.2.3.4, 203.0.113.5", "203.0.113.5"),  # a forged entry on the left is ignored
        (1, "1.2.3.4,203.0.113.5", "203.0.113.5"),
        (2, "1.2.3.4, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "not-an-address", None),
    ],
)
def test_behind_proxies_the_client_is_counted_from_the_right(settings, count, forwarded, client):
    settings.PROXY_COUNT = count
    assert client_address(request(forwarded=forwarded)) == client


def test_a_request_that_skipped_the_proxies_falls_back_to_the_socket(settings):
    settings.PROXY_COUNT = 2
    assert client_address(request(forwarded="203.0.113.5")) == PROXY


def login(client, username, password, address):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"6.6.6.6, {address}",
    )


def test_a_stranger_cannot_lock_an_administrator_out_from_elsewhere(client, county, settings):
    settings.PROXY_COUNT = 1
    county.user("admin", county.county, "administrator")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "admin", "wrong", "203.0.113.66")  # the stranger
    assert login(client, "admin", "correct-horse-battery", "203.0.113.66").status_code == 429
    client.logout()
    # The administrator at the office, through the same proxy, still gets in.
    assert login(client, "admin", "correct-horse-battery", "198.51.100.7").status_code == 302


def test_the_access_log_records_the_client_not_the_proxy(client, county, settings):
    settings.PROXY_COUNT = 1
    user = county.secretary(county.branch_a, "sec")
    member = county.member(county.branch_a)
    client.force_login(user)
    client.post(
        reverse("members:reveal_national_id", args=[member.pk]),
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7",
    )
    assert SensitiveAccess.objects.get().ip_address == "198.51.100.7"

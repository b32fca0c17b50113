"""Signing a member's device in, for tests of the member's own pages."""

import pytest
from django.http import HttpResponse

from selfservice import access


def sign_in(client, member, *, actor=None):
    """Issue the member's link and give `client` the device cookie a proved device gets."""
    link = access.issue_link(member=member, actor=actor)
    response = HttpResponse()
    access.sign_in_device(response, link)
    client.cookies[access.DEVICE_COOKIE] = response.cookies[access.DEVICE_COOKIE].value
    return link


@pytest.fixture
def messages_go_out(eager_celery, monkeypatch):
    """Messages leave at once: the test's transaction never commits, so `on_commit` runs its
    callback there and then, and tasks run in process."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda callback, *args, **kwargs: callback())

"""A forgotten password: the reset e-mail leaves through a real SMTP server and the link works."""

import email
import re
import socket
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_inbox(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


def test_password_reset_mail_is_delivered_over_smtp_and_its_link_works(client, county, smtp_inbox):
    user = county.secretary(county.branch_a, "sec")
    user.email = "sec@example.org"
    user.save()

    response = client.post(reverse("password_reset"), {"email": "sec@example.org"})
    assert response.status_code == 302

    assert len(smtp_inbox.messages) == 1
    message = smtp_inbox.messages[0]
    assert message["To"] == "sec@example.org"
    assert "密码" in message["Subject"]
    body = message.get_content()
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", body).group(1)

    form_page = client.get(link, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase-7", "new_password2": "a-brand-new-passphrase-7"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-brand-new-passphrase-7")


def test_unknown_address_sends_nothing_but_looks_the_same(client, county, smtp_inbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert smtp_inbox.messages == []


def test_weekly_digest_is_delivered_over_smtp_in_chinese(client, county, smtp_inbox, settings):
    from datetime import date

    from alerts import notifications, scanning
    from alerts.models import EmailSent
    from transfers.models import MobilityEpisode

    settings.SITE_URL = "http://testserver"
    secretary = county.secretary(county.branch_a, "sec")
    secretary.email = "sec@example.org"
    secretary.save()
    member = county.member(county.branch_a, name="失联丙")
    MobilityEpisode.objects.create(
        member=member,
        mobility_type="temporary",
        left_on=date(2024, 1, 1),
        destination_province="广东省",
    )
    scanning.scan()
    period = notifications.week_period(date.today())

    assert (
        notifications.send_reminder(user=secretary, kind="weekly_digest", period=period) == "sent"
    )

    message = smtp_inbox.messages[0]
    assert message["To"] == "sec@example.org"
    assert "预警" in message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "失联" in text and "失联" in html
    link = re.search(r"http://testserver(/alerts/\S*)", text).group(1)
    client.force_login(secretary)
    assert client.get(link).status_code == 200
    assert EmailSent.objects.get().status == "sent"

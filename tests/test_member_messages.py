"""Issue #19: members' messages by SMS or e-mail behind one call, `selfservice.notify.notify`.

The SMS gateway is a real HTTP server on 127.0.0.1 standing in for the provider's.
"""

import json
import socket
import threading
from datetime import datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from infrastructure import sms
from selfservice import notify, tasks
from selfservice.models import MemberMessage, MessagePreference

SHANGHAI = ZoneInfo("Asia/Shanghai")
Status = MemberMessage.Status


# --- a stand-in for the provider's gateway -----------------------------------------------------


class Gateway:
    """What the gateway was asked, and what it answers next: `answers` first (status, JSON),
    then 200 with an id. Like a provider, it accepts a request id once."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        self.accepted: dict[str, str] = {}  # request id -> message id
        self.lock = threading.Lock()

    def answer(self, body: dict) -> tuple[int, dict]:
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
            request_id = body["request_id"]
            if request_id not in self.accepted:
                self.accepted[request_id] = f"gw-{len(self.accepted) + 1}"
            return 200, {"ok": True, "id": self.accepted[request_id]}


@pytest.fixture
def gateway(settings):
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            body = json.loads(raw)
            state.requests.append(
                {
                    "path": self.path,
                    "authorization": self.headers["Authorization"],
                    "content_type": self.headers["Content-Type"],
                    "body": body,
                }
            )
            status, answer = state.answer(body)
            payload = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.SMS_BACKEND = "infrastructure.sms.GatewayBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/v1/sms/send"
    settings.SMS_GATEWAY_KEY = "test-gateway-key"
    settings.SMS_GATEWAY_TIMEOUT = 5
    settings.SMS_TEMPLATES = {"sign_in_code": "TPL_1001", "study_published": "TPL_2002"}
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def member(county):
    return county.member(county.branch_a, name="李流动", phone="13912345678")


@pytest.fixture
def send(eager_celery, django_capture_on_commit_callbacks):
    """notify(), then its commit: the task runs in-process."""

    def send(**arguments) -> MemberMessage:
        with django_capture_on_commit_callbacks(execute=True):
            message = notify.notify(**arguments)
        message.refresh_from_db()
        return message

    return send


@pytest.fixture
def lenient_retries(request):
    """In-process, a retry runs at once only if the first error is not re-raised."""
    from config import celery_app

    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    request.addfinalizer(lambda: setattr(celery_app.conf, "task_eager_propagates", previous))


def freeze(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


# --- the gateway -------------------------------------------------------------------------------


def test_an_sms_goes_to_the_gateway_with_the_key_the_template_id_and_the_values(
    member, gateway, send
):
    message = send(
        member=member,
        kind="sign_in_code",
        key="sign-in:1",
        values={"code": "482913", "minutes": 10},
        urgent=True,
    )

    assert len(gateway.requests) == 1
    request = gateway.requests[0]
    assert request["path"] == "/v1/sms/send"
    assert request["authorization"] == "Bearer test-gateway-key"
    assert request["content_type"].startswith("application/json")
    assert request["body"] == {
        "to": "13912345678",
        "template_id": "TPL_1001",
        "params": {"code": "482913", "minutes": "10"},
        "request_id": "sign-in:1",
    }
    assert (message.status, message.channel, message.recipient) == ("sent", "sms", "13912345678")
    assert (message.provider_id, message.attempts, message.last_error) == ("gw-1", 1, "")
    assert message.sent_at is not None


def test_a_refusal_is_recorded_as_failed_and_the_next_attempt_sends_it_once(
    member, gateway, django_capture_on_commit_callbacks
):
    gateway.answers = [(500, {"ok": False, "error": "upstream busy"})]
    with django_capture_on_commit_callbacks(execute=False):  # the task is sent by hand below
        message = notify.notify(
            member=member, kind="study_published", key="study:7:1", values={"title": "党章"}
        )

    with pytest.raises(sms.SmsError, match="500"):
        notify.deliver(message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "500" in message.last_error and "upstream busy" in message.last_error
    assert message.sent_at is None and message.provider_id == ""

    assert notify.deliver(message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert message.provider_id == "gw-1"
    # Both tries carried the message's key, so a gateway could drop a resend.
    assert [r["body"]["request_id"] for r in gateway.requests] == ["study:7:1", "study:7:1"]
    assert gateway.accepted == {"study:7:1": "gw-1"}

    # A second task for the same message (a redelivery) sends nothing.
    assert notify.deliver(message.pk) == "sent"
    assert len(gateway.requests) == 2


def test_the_task_retries_after_a_500_and_the_gateway_gets_one_message(
    member, gateway, send, lenient_retries
):
    gateway.answers = [(500, {"error": "try later"})]
    message = send(
        member=member, kind="study_published", key="study:8:1", values={"title": "微党课"}
    )

    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert message.provider_id == "gw-1"
    assert len(gateway.requests) == 2
    assert gateway.accepted == {"study:8:1": "gw-1"}

    assert tasks.deliver_message.delay(message.pk).get() == "sent"
    assert len(gateway.requests) == 2


def test_an_ok_false_answer_with_status_200_is_a_failure_with_its_reason(member, gateway):
    gateway.answers = [(200, {"ok": False, "error": "余额不足"})]
    with pytest.raises(sms.SmsError, match="余额不足"):
        sms.send_sms(to="13912345678", template="sign_in_code", values={"code": "1"})


def test_a_gateway_that_is_down_is_a_failure(settings, gateway):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once the socket is closed
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{port}/v1/sms/send"
    with pytest.raises(sms.SmsError, match="unreachable"):
        sms.send_sms(to="13912345678", template="sign_in_code", values={"code": "1"})


def test_a_template_without_a_provider_id_is_not_sent(gateway):
    with pytest.raises(sms.SmsError, match="meeting_reminder"):
        sms.send_sms(to="13912345678", template="meeting_reminder", values={})
    assert gateway.requests == []


# --- once per key --------------------------------------------------------------------------------


def test_the_same_key_twice_is_one_row_and_one_sms(member, gateway, send):
    first = send(member=member, kind="study_published", key="study:9:1", values={"title": "一"})
    second = send(member=member, kind="study_published", key="study:9:1", values={"title": "二"})

    assert second.pk == first.pk
    assert MemberMessage.objects.filter(key="study:9:1").count() == 1
    assert len(gateway.requests) == 1
    assert gateway.requests[0]["body"]["params"] == {"title": "一"}


def test_a_message_whose_task_was_lost_is_sent_by_the_sweep_once(
    member, sms_outbox, eager_celery, monkeypatch, django_capture_on_commit_callbacks
):
    start = datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI)
    freeze(monkeypatch, start)
    with django_capture_on_commit_callbacks(execute=False):  # the task never leaves
        message = notify.notify(
            member=member, kind="link", key="link:1", values={"link": "https://x.test/m/abc"}
        )

    assert tasks.send_due_messages() == 0  # too fresh: its task may still be on its way
    freeze(monkeypatch, start + timedelta(minutes=6))
    assert tasks.send_due_messages() == 1
    assert tasks.send_due_messages() == 0
    message.refresh_from_db()
    assert message.status == "sent"
    assert [m.to for m in sms_outbox] == ["13912345678"]
    assert "https://x.test/m/abc" in sms_outbox[0].text


def test_a_broker_that_is_down_leaves_the_message_queued_for_the_sweep(
    member, monkeypatch, sms_outbox, django_capture_on_commit_callbacks
):
    def down(*args, **kwargs):
        raise KombuOperationalError("connection refused")

    monkeypatch.setattr(tasks.deliver_message, "apply_async", down)
    with django_capture_on_commit_callbacks(execute=True):
        message = notify.notify(member=member, kind="link", key="link:2", values={"link": "x"})
    message.refresh_from_db()
    assert message.status == "queued" and sms_outbox == []


# --- opt-out and quiet hours ------------------------------------------------------------------


def test_an_opted_out_member_gets_nothing_but_the_code_they_asked_for(member, sms_outbox, send):
    MessagePreference.objects.create(member=member, opted_out=True)

    message = send(member=member, kind="study_published", key="study:1:1", values={"title": "学"})
    assert (message.status, message.attempts) == ("suppressed", 0)
    assert "opted out" in message.last_error
    assert notify.deliver(message.pk) == "suppressed"
    assert sms_outbox == []

    code = send(
        member=member, kind="sign_in_code", key="sign-in:2", values={"code": "135790"}, urgent=True
    )
    assert code.status == "sent"
    assert len(sms_outbox) == 1
    assert sms_outbox[0].template == "sign_in_code" and sms_outbox[0].key == "sign-in:2"
    assert "135790" in sms_outbox[0].text


def test_quiet_hours_hold_a_message_until_they_end(member, sms_outbox, send, monkeypatch):
    MessagePreference.objects.create(member=member, quiet_from=time(22), quiet_until=time(7))
    freeze(monkeypatch, datetime(2025, 3, 10, 23, 0, tzinfo=SHANGHAI))

    message = send(member=member, kind="meeting_reminder", key="meet:1:1", values={"title": "会"})
    assert message.not_before == datetime(2025, 3, 11, 7, 0, tzinfo=SHANGHAI)
    assert (message.status, message.attempts) == ("queued", 0)
    assert sms_outbox == []

    freeze(monkeypatch, datetime(2025, 3, 11, 6, 59, tzinfo=SHANGHAI))
    assert tasks.send_due_messages() == 0
    assert notify.deliver(message.pk) == "not yet"  # a task that comes early sends nothing
    assert sms_outbox == []

    freeze(monkeypatch, datetime(2025, 3, 11, 7, 10, tzinfo=SHANGHAI))
    assert tasks.send_due_messages() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert len(sms_outbox) == 1


def test_an_urgent_message_ignores_quiet_hours(member, sms_outbox, send, monkeypatch):
    MessagePreference.objects.create(member=member, quiet_from=time(22), quiet_until=time(7))
    freeze(monkeypatch, datetime(2025, 3, 10, 23, 0, tzinfo=SHANGHAI))
    message = send(
        member=member, kind="sign_in_code", key="sign-in:3", values={"code": "1"}, urgent=True
    )
    assert message.not_before is None and message.status == "sent"
    assert len(sms_outbox) == 1


@pytest.mark.parametrize(
    ("quiet", "at", "end"),
    [
        ((time(22), time(7)), datetime(2025, 3, 10, 23, 0), datetime(2025, 3, 11, 7, 0)),
        ((time(22), time(7)), datetime(2025, 3, 10, 22, 0), datetime(2025, 3, 11, 7, 0)),
        ((time(22), time(7)), datetime(2025, 3, 11, 3, 30), datetime(2025, 3, 11, 7, 0)),
        ((time(22), time(7)), datetime(2025, 3, 11, 7, 0), None),
        ((time(22), time(7)), datetime(2025, 3, 11, 21, 59), None),
        ((time(12), time(14)), datetime(2025, 3, 11, 13, 0), datetime(2025, 3, 11, 14, 0)),
        ((time(12), time(14)), datetime(2025, 3, 11, 23, 0), None),
        ((None, None), datetime(2025, 3, 11, 23, 0), None),
    ],
)
def test_the_end_of_quiet_hours_in_local_time(quiet, at, end):
    preference = MessagePreference(quiet_from=quiet[0], quiet_until=quiet[1])
    # Asked in UTC: the hours are still Shanghai's.
    moment = at.replace(tzinfo=SHANGHAI).astimezone(ZoneInfo("UTC"))
    expected = end.replace(tzinfo=SHANGHAI) if end else None
    assert notify.quiet_end(preference=preference, at=moment) == expected


# --- channels ------------------------------------------------------------------------------------


def test_a_member_who_prefers_email_gets_an_email(member, settings, sms_outbox, send):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    member.email = "li@example.org"
    member.save()
    MessagePreference.objects.create(member=member, channel=MessagePreference.Channel.EMAIL)

    message = send(
        member=member,
        kind="study_published",
        key="study:2:1",
        values={"title": "学习党章 & 党规", "link": "https://x.test/s?a=1&b=2"},
    )

    assert (message.status, message.channel, message.recipient) == (
        "sent",
        "email",
        "li@example.org",
    )
    assert len(mail.outbox) == 1 and sms_outbox == []
    email = mail.outbox[0]
    assert email.to == ["li@example.org"]
    assert email.subject == "流动党员服务：新的学习内容《学习党章 & 党规》"
    assert "李流动同志" in email.body
    assert "https://x.test/s?a=1&b=2" in email.body  # not HTML-escaped in a text e-mail
    assert message.provider_id == email.extra_headers["Message-ID"]


def test_the_channel_asked_for_wins_over_the_preference(member, settings, sms_outbox, send):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    member.email = "li@example.org"
    member.save()
    MessagePreference.objects.create(member=member, channel=MessagePreference.Channel.SMS)

    message = send(
        member=member, kind="link", key="link:3", values={"link": "https://x"}, channel="email"
    )
    assert message.channel == "email" and len(mail.outbox) == 1 and sms_outbox == []


def test_a_member_without_email_who_prefers_email_gets_an_sms(member, settings, sms_outbox, send):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert member.email == ""
    MessagePreference.objects.create(member=member, channel=MessagePreference.Channel.EMAIL)

    message = send(
        member=member,
        kind="dues_decided",
        key="dues:1",
        values={"result": "已被党支部退回", "reason": "收据不清楚"},
    )

    assert (message.status, message.channel, message.recipient) == ("sent", "sms", "13912345678")
    assert mail.outbox == []
    assert [(m.to, m.template) for m in sms_outbox] == [("13912345678", "dues_decided")]
    assert "退回" in sms_outbox[0].text and "收据不清楚" in sms_outbox[0].text


def test_without_a_preference_a_message_goes_by_sms(member, settings, sms_outbox, send):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    member.email = "li@example.org"
    member.save()
    message = send(member=member, kind="link", key="link:4", values={"link": "https://x"})
    assert message.channel == "sms" and len(sms_outbox) == 1 and mail.outbox == []


# --- the backends -------------------------------------------------------------------------------


def test_the_console_backend_prints_the_message(settings, capsys):
    settings.SMS_BACKEND = "infrastructure.sms.ConsoleBackend"
    provider_id = sms.send_sms(
        to="13912345678", template="sign_in_code", values={"code": "2468"}, text="验证码2468"
    )
    printed = capsys.readouterr().out
    assert provider_id.startswith("console-")
    assert "13912345678" in printed and "sign_in_code" in printed and "验证码2468" in printed


@pytest.mark.parametrize(
    "kind",
    [
        "sign_in_code",
        "link",
        "dues_decided",
        "check_in_decided",
        "study_published",
        "meeting_reminder",
        "help_answered",
        "excuse_decided",
    ],
)
def test_every_kind_has_its_texts_and_a_provider_template(kind, settings):
    from django.template.loader import render_to_string

    values = {"name": "李流动", "code": "1", "link": "https://x", "title": "题", "reason": "因"}
    for name in (f"{kind}_subject.txt", f"{kind}.txt", f"{kind}.sms.txt"):
        assert render_to_string(f"selfservice/messages/{name}", values).strip()
    assert settings.SMS_TEMPLATES[kind]

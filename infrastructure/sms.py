"""Sending one SMS, behind one call: `send_sms`, through the backend named by SMS_BACKEND.

Like Django's e-mail backends: `GatewayBackend` posts to the provider's HTTP gateway,
`ConsoleBackend` prints (development), `MemoryBackend` keeps the messages in `outbox` (tests).
No domain here: a template is a name, mapped to the provider's template id by SMS_TEMPLATES.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The message was not accepted; the text says why (kept as the message's last error)."""


@dataclass
class SmsMessage:
    to: str
    template: str
    values: dict
    key: str = ""
    text: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


# MemoryBackend's messages, like django.core.mail.outbox; the tests empty it.
outbox: list[SmsMessage] = []


def send_sms(*, to: str, template: str, values: dict, key: str = "", text: str = "") -> str:
    """Send `template` with `values` to the phone number `to`; the provider's message id.

    `key` is the caller's idempotency key, passed on as the request id so that a gateway drops
    a resend of the same message. `text` is the message as the console and memory backends
    show it (a gateway renders its own template). Raises SmsError when the message is refused.
    """
    backend = import_string(settings.SMS_BACKEND)()
    return backend.send(to=to, template=template, values=values, key=key, text=text)


class ConsoleBackend:
    """Development: the message on stdout, nothing sent."""

    def send(self, *, to: str, template: str, values: dict, key: str = "", text: str = "") -> str:
        message = SmsMessage(to=to, template=template, values=values, key=key, text=text)
        stream = sys.stdout  # looked up now, so that a captured stdout sees it
        stream.write(
            f"SMS to {to} [{template}] {json.dumps(values, ensure_ascii=False, default=str)}\n"
        )
        if text:
            stream.write(text.rstrip("\n") + "\n")
        stream.write("-" * 40 + "\n")
        stream.flush()
        return f"console-{message.id}"


class MemoryBackend:
    """Tests: the message appended to `outbox`."""

    def send(self, *, to: str, template: str, values: dict, key: str = "", text: str = "") -> str:
        message = SmsMessage(to=to, template=template, values=dict(values), key=key, text=text)
        outbox.append(message)
        return f"memory-{message.id}"


class GatewayBackend:
    """The provider's HTTP gateway: one JSON POST per message, answered with its id.

    Request: {"to", "template_id", "params", "request_id"} with `Authorization: Bearer <key>`.
    Answer: 2xx and a JSON object with the message's "id"; `"ok": false` or an "error" is a
    refusal even with a 2xx status.
    """

    def send(self, *, to: str, template: str, values: dict, key: str = "", text: str = "") -> str:
        url = settings.SMS_GATEWAY_URL
        if not url.startswith(("https://", "http://")):
            raise SmsError("SMS_GATEWAY_URL is not an http(s) address")
        template_id = settings.SMS_TEMPLATES.get(template)
        if not template_id:
            raise SmsError(f"no provider template for {template!r} in SMS_TEMPLATES")
        body = {
            "to": to,
            "template_id": template_id,
            # Providers take template parameters as strings.
            "params": {name: str(value) for name, value in values.items()},
            "request_id": key or uuid.uuid4().hex,
        }
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Accept": "application/json",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_KEY}",
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310 - scheme checked above
                request, timeout=settings.SMS_GATEWAY_TIMEOUT
            ) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise SmsError(f"gateway answered {error.code}: {_reason(error.read())}") from error
        except (urllib.error.URLError, OSError) as error:  # refused, unreachable, timed out
            reason = getattr(error, "reason", error)
            raise SmsError(f"gateway unreachable: {reason}") from error
        try:
            answer = json.loads(raw)
        except ValueError as error:
            raise SmsError(f"gateway answer is not JSON: {raw[:100]!r}") from error
        if not isinstance(answer, dict):
            raise SmsError(f"gateway answer is not a JSON object: {raw[:100]!r}")
        if answer.get("ok") is False or answer.get("error"):
            raise SmsError(f"gateway refused: {_reason(raw)}")
        return str(answer.get("id") or "")


def _reason(raw: bytes) -> str:
    """The error a gateway gave, from a JSON answer if it is one, else the start of the text."""
    try:
        answer = json.loads(raw)
    except ValueError:
        return raw[:200].decode(errors="replace").strip() or "no reason given"
    if isinstance(answer, dict):
        reason = answer.get("error") or answer.get("message") or answer.get("reason")
        if reason:
            return str(reason)[:200]
    return raw[:200].decode(errors="replace")

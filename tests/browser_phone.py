"""Pieces of the member's-phone browser tests (issue #19): a phone-sized browser context, a
device signed in without the SMS round trip, and a stand-in SMS gateway on a real socket.

The gateway is an `http.server.ThreadingHTTPServer` on 127.0.0.1: `infrastructure.sms.
GatewayBackend` posts to it exactly as it would to the provider, and the test reads the
one-time code from the JSON it received.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.http import HttpResponse

from selfservice import access

PHONE_WIDTH, PHONE_HEIGHT = 360, 740
PHONE = {
    "viewport": {"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
    "device_scale_factor": 1,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
GATEWAY_KEY = "test-gateway-key"


def new_context(browser, kind: dict, **extra):
    context = browser.new_context(**kind, **extra)
    context.set_default_timeout(15_000)
    return context


def phone_context(browser, **extra):
    """A 360×740 touch phone in Chinese (Chromium's mobile emulation)."""
    return new_context(browser, PHONE, **extra)


def sign_in_phone(context, base_url: str, member, *, actor=None):
    """The device cookie a proved device gets, put into `context` (no SMS round trip); the
    member's live link."""
    link = access.issue_link(member=member, actor=actor)
    response = HttpResponse()
    access.sign_in_device(response, link)
    context.add_cookies(
        [
            {
                "name": access.DEVICE_COOKIE,
                "value": response.cookies[access.DEVICE_COOKIE].value,
                "url": base_url,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    return link


def click_and_wait(page, locator):
    """Click and wait for the page it leads to; the navigation's response."""
    with page.expect_navigation() as navigation:
        locator.click()
    return navigation.value


def send_code_on_link_page(page, link_url: str):
    """Press "send the SMS code" on the link page (already open at `link_url`)."""
    button = page.locator("main form button[name=channel][value=sms]")
    response = click_and_wait(page, button)
    assert response.status == 200, f"sending the code from {link_url}: {response.status}"
    return response


def scroll_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


class SmsGateway:
    """A provider's SMS gateway on a real local port: records each JSON POST (body and
    Authorization header) and answers {"ok": true, "id": ...} as GatewayBackend expects."""

    def __init__(self):
        self.received: list[dict] = []
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with gateway._lock:
                    number = len(gateway.received) + 1
                    gateway.received.append(
                        {
                            "path": self.path,
                            "authorization": self.headers.get("Authorization", ""),
                            "content_type": self.headers.get("Content-Type", ""),
                            "body": json.loads(raw),
                        }
                    )
                answer = json.dumps({"ok": True, "id": f"gw-{number}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1/sms/send"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def messages(self, template_id: str) -> list[dict]:
        with self._lock:
            return [r for r in self.received if r["body"].get("template_id") == template_id]

    def wait_for(self, template_id: str, *, count: int = 1, timeout: float = 15) -> list[dict]:
        """The requests for `template_id` once `count` of them arrived (AssertionError if not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(template_id)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"the SMS gateway did not receive {count} {template_id!r} message(s) in {timeout}s; "
            f"received: {[r['body'].get('template_id') for r in self.received]}"
        )

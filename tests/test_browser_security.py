"""In a real browser: a reviewer enrols a TOTP app when the setting requires it, logs in again
with a code, and no page breaks the CSP (Chromium reports each refused inline script or style).

Debian's Chromium through Playwright; skipped without it, a failure when REQUIRE_SERVICES=1.
"""

import io
from base64 import b32encode

import pytest
import zxingcpp
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from .browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.services]


def current_code(user) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"


def test_enrol_log_in_with_a_code_and_no_csp_violations(
    live_server, county, browser_page, settings
):
    settings.OTP_REQUIRED_FOR_STAFF = True
    page = browser_page
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    member = county.member(county.branch_a, name="甲一")
    reviewer = county.reviewer(county.county, "rev")
    reviewer.is_staff = reviewer.is_superuser = True
    reviewer.save()

    log_in(page, live_server.url, "rev")
    # Required and not enrolled: the enrol page, with the QR code drawn as inline SVG.
    assert "/accounts/two-factor/enrol/" in page.url
    assert page.locator("figure.otp-qr svg path").count() >= 1
    device = TOTPDevice.objects.get(user=reviewer)
    secret = page.locator("code.otp-secret").inner_text().strip()
    assert secret == b32encode(device.bin_key).decode()
    # What a phone scans: the drawn QR code decodes to the device's otpauth:// URL.
    drawn = Image.open(io.BytesIO(page.locator("figure.otp-qr svg").screenshot()))
    assert [code.text for code in zxingcpp.read_barcodes(drawn)] == [device.config_url]
    page.fill("#id_token", f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}")
    with page.expect_navigation():
        page.locator("form button[type=submit].primary").click()
    assert page.url.rstrip("/") == live_server.url

    for path in [
        "/",
        "/dashboard/",
        "/dashboard/print/",
        "/dashboard/yearly/",
        "/members/",
        f"/members/{member.pk}/",
        "/alerts/",
        "/organisations/",
        "/admin/",
        "/accounts/two-factor/enrol/",
    ]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path

    # Log out and in again: the code is asked for before any page.
    with page.expect_navigation():
        page.locator("form[action='/accounts/logout/'] button").click()
    TOTPDevice.objects.update(last_t=-1)  # the enrolment code may be used again in this step
    log_in(page, live_server.url, "rev")
    assert "/accounts/two-factor/" in page.url
    page.goto(f"{live_server.url}/members/")
    assert "/accounts/two-factor/?next=/members/" in page.url
    page.fill("#id_token", current_code(reviewer))
    with page.expect_navigation():
        page.locator("form button[type=submit].primary").click()
    assert page.url == f"{live_server.url}/members/"

    assert refused == []

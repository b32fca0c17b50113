"""Second factor: enrolling a TOTP app, the code after the password, and who must use one."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from members.models import StaffAssignment


def code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"


def password_login(client, username: str):
    response = client.post(
        reverse("login"), {"username": username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    return response


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)


@pytest.fixture
def reviewer(county):
    return county.reviewer(county.county, "rev")


def test_enrolment_shows_a_qr_code_and_confirms_with_a_code(client, reviewer):
    client.force_login(reviewer)
    page = client.get(reverse("accounts:otp_enrol"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body
    device = TOTPDevice.objects.get(user=reviewer)
    assert not device.confirmed
    assert page.context["secret"] in body
    # The same secret on a second visit: the app scanned once keeps working.
    assert client.get(reverse("accounts:otp_enrol")).context["secret"] == page.context["secret"]

    response = client.post(reverse("accounts:otp_enrol"), {"token": code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    assert client.session["otp_device_id"] == device.persistent_id


def test_enrolment_with_a_wrong_code_stays_unconfirmed(client, reviewer):
    client.force_login(reviewer)
    client.get(reverse("accounts:otp_enrol"))
    device = TOTPDevice.objects.get(user=reviewer)
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:otp_enrol"), {"token": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    device.refresh_from_db()
    assert not device.confirmed


def test_login_with_a_device_asks_for_the_code_before_any_page(client, reviewer):
    enrolled(reviewer)
    password_login(client, "rev")
    response = client.get(reverse("members:list"))
    assert response.status_code == 302
    assert response.url == reverse("accounts:otp_verify") + "?next=" + reverse("members:list")


def test_a_wrong_code_is_refused(client, reviewer):
    device = enrolled(reviewer)
    password_login(client, "rev")
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("accounts:otp_verify"), {"token": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors["token"]
    assert client.get(reverse("home")).status_code == 302


def test_the_right_code_lets_the_user_in_and_cannot_be_replayed(client, reviewer, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = enrolled(reviewer)
    password_login(client, "rev")
    token = code(device)
    response = client.post(
        reverse("accounts:otp_verify"), {"token": token, "next": reverse("members:list")}
    )
    assert response.status_code == 302
    assert response.url == reverse("members:list")
    assert client.get(reverse("members:list")).status_code == 200

    client.post(reverse("logout"))
    password_login(client, "rev")
    replay = client.post(reverse("accounts:otp_verify"), {"token": token})
    assert replay.status_code == 200
    assert client.get(reverse("home")).status_code == 302


def test_wrong_codes_are_throttled(client, reviewer):
    device = enrolled(reviewer)
    password_login(client, "rev")
    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"
    client.post(reverse("accounts:otp_verify"), {"token": wrong})
    # Straight after a wrong code even the right one waits (django-otp's back-off).
    assert client.post(reverse("accounts:otp_verify"), {"token": code(device)}).status_code == 200


def test_an_outside_next_is_ignored(client, reviewer, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = enrolled(reviewer)
    password_login(client, "rev")
    response = client.post(
        reverse("accounts:otp_verify"), {"token": code(device), "next": "https://evil.example/"}
    )
    assert response.url == reverse("home")


@pytest.mark.parametrize(
    "role", [StaffAssignment.Role.REVIEWER, StaffAssignment.Role.ADMINISTRATOR]
)
def test_staff_must_enrol_when_the_setting_is_on(client, county, settings, role):
    settings.OTP_REQUIRED_FOR_STAFF = True
    county.user("staff", county.county, role)
    password_login(client, "staff")
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp_enrol"))
    page = client.get(response.url)
    assert page.status_code == 200
    assert page.context["required"]


def test_staff_are_not_forced_when_the_setting_is_off(client, reviewer, settings):
    settings.OTP_REQUIRED_FOR_STAFF = False
    password_login(client, "rev")
    assert client.get(reverse("home")).status_code == 200


def test_secretaries_are_not_forced(client, county, settings):
    settings.OTP_REQUIRED_FOR_STAFF = True
    county.secretary(county.branch_a, "sec")
    password_login(client, "sec")
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("members:list")).status_code == 200


def test_logout_and_the_language_switch_stay_open_before_the_code(client, reviewer):
    enrolled(reviewer)
    password_login(client, "rev")
    assert client.post(reverse("set_language"), {"language": "en"}).status_code == 302
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_anonymous_users_still_go_to_the_login_page(client, db, settings):
    settings.OTP_REQUIRED_FOR_STAFF = True
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))

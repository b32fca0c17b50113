"""Second factor at login: a TOTP app (django-otp), for reviewers and administrators.

Anyone who has enrolled a device gives a code after the password. With the setting
OTP_REQUIRED_FOR_STAFF, reviewers and administrators (and superusers) who have none yet are
sent to enrol one before any other page. Secretaries are never forced.
"""

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.sessions.models import Session
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from members.models import StaffAssignment

STAFF_ROLES = (StaffAssignment.Role.REVIEWER, StaffAssignment.Role.ADMINISTRATOR)
# Pages a signed-in but not yet verified user may still open.
OPEN_VIEW_NAMES = {"accounts:otp_verify", "accounts:otp_enrol", "logout", "set_language", "healthz"}
NOTHING_OWED_SESSION_KEY = "liudong_no_second_factor"


# --- reads ---------------------------------------------------------------------------------


def confirmed_device(*, user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def must_use_second_factor(*, user: AbstractBaseUser) -> bool:
    """Reviewers, administrators and superusers when the setting asks for it."""
    if not settings.OTP_REQUIRED_FOR_STAFF:
        return False
    if user.is_superuser:
        return True
    return StaffAssignment.objects.filter(user=user, role__in=STAFF_ROLES).exists()


def secret_of(device: TOTPDevice) -> str:
    """The key as the base32 text that authenticator apps accept when typed in."""
    return b32encode(device.bin_key).decode()


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG (server-side, no script, no external service)."""
    return segno.make(device.config_url, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", title=None
    )


# --- writes --------------------------------------------------------------------------------


def enrolment_start(*, user: AbstractBaseUser) -> TOTPDevice:
    """The user's unconfirmed device, made once and kept until confirmed (one secret to scan)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    return device


def enrolment_confirm(*, request, device: TOTPDevice, token: str) -> bool:
    """Confirm the device with a first code; the session then counts as verified."""
    if not device.verify_token(token):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # One device per user: the confirmed one replaces any older.
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    request.session.cycle_key()
    otp_login(request, device)
    end_other_sessions(user=device.user, keep=request.session.session_key)
    return True


def end_other_sessions(*, user, keep: str | None) -> int:
    """Log the user out everywhere else: a session opened before the second factor was set up
    (perhaps by whoever knew the password) must not outlive it."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).exclude(session_key=keep):
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


def verify(*, request, token: str) -> bool:
    """Check a code against the user's device (throttled by django-otp) and mark the session."""
    device = confirmed_device(user=request.user)
    if device is None or not device.verify_token(token):
        return False
    otp_login(request, device)
    return True


# --- middleware ----------------------------------------------------------------------------


class SecondFactorMiddleware:
    """Send a signed-in user who still owes a second factor to verify (or enrol) first.

    Runs after LoginRequiredMiddleware and django-otp's OTPMiddleware: anonymous users have
    already been sent to the login page, and request.user.is_verified() is available.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Pages open without a login (the login itself, certificate checks) stay open.
        if not getattr(view_func, "login_required", True):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_VIEW_NAMES:
            return None
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        # Most users owe nothing: remember that for the session instead of asking every page.
        if request.session.get(NOTHING_OWED_SESSION_KEY) == user.pk:
            return None
        if confirmed_device(user=user) is not None:
            target = "accounts:otp_verify"
        elif must_use_second_factor(user=user):
            target = "accounts:otp_enrol"
        else:
            request.session[NOTHING_OWED_SESSION_KEY] = user.pk
            return None
        query = QueryDict(mutable=True)
        query["next"] = request.get_full_path()
        return redirect(f"{reverse(target)}?{query.urlencode(safe='/')}")

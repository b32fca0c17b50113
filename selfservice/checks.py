"""Deployment checks (`manage.py check --deploy`): a production whose SMS still go to the
console never delivers a member's sign-in code, and nobody notices until members complain."""

from django.conf import settings
from django.core.checks import Error, Warning, register

PRINTING_BACKENDS = ("infrastructure.sms.ConsoleBackend", "infrastructure.sms.MemoryBackend")


@register("liudong", deploy=True)
def sms_reaches_members(app_configs, **kwargs) -> list:
    backend = settings.SMS_BACKEND
    if backend in PRINTING_BACKENDS:
        return [
            Warning(
                f"SMS_BACKEND is {backend}: text messages (sign-in codes, links, answers) are "
                "printed, not sent, and members without e-mail cannot sign in.",
                hint="Set SMS_BACKEND=infrastructure.sms.GatewayBackend with SMS_GATEWAY_URL "
                "and SMS_GATEWAY_KEY, or silence liudong.W001 if this deployment sends no SMS.",
                id="liudong.W001",
            )
        ]
    if backend == "infrastructure.sms.GatewayBackend" and not settings.SMS_GATEWAY_URL.startswith(
        ("https://", "http://")
    ):
        return [
            Error(
                "SMS_BACKEND is the gateway, but SMS_GATEWAY_URL is not an http(s) address.",
                id="liudong.E001",
            )
        ]
    return []

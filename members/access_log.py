"""The sensitive-read log: who saw an ID number, a conduct note or an export, and when."""

from .models import Member, SensitiveAccess


def log_sensitive_access(
    *,
    user,
    action: str,
    member: Member | None = None,
    detail: str = "",
    ip_address: str | None = None,
) -> SensitiveAccess:
    """Write one log line. Call it before the data leaves, so a failed log means no data."""
    return SensitiveAccess.objects.create(
        user=user,
        action=action,
        member=member,
        detail=detail[:200],
        ip_address=ip_address,
    )

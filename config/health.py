"""/healthz for monitoring: the database, Redis (when used) and the age of the last good scan.

200 when all is well, 503 when anything fails. Open without a login; it says no more than
"ok" or the kind of failure.
"""

from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from alerts.models import ScanRun


def last_successful_scan() -> datetime | None:
    """When the last scan that ran every rule without error finished."""
    return (
        ScanRun.objects.filter(finished_at__isnull=False, failed_rules=0)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure is "unhealthy", said plainly
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def check_redis() -> dict:
    if not settings.REDIS_URL:
        return {"ok": True, "used": False}
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": type(error).__name__}
    finally:
        client.close()
    return {"ok": True}


def check_scan(*, now: datetime) -> dict:
    max_age = timedelta(hours=settings.HEALTH_SCAN_MAX_AGE_HOURS)
    try:
        finished = last_successful_scan()
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": type(error).__name__}
    if finished is None:
        return {"ok": False, "error": "no successful scan yet"}
    age = now - finished
    return {
        "ok": age <= max_age,
        "finished_at": finished.isoformat(),
        "age_hours": round(age.total_seconds() / 3600, 2),
        "max_age_hours": settings.HEALTH_SCAN_MAX_AGE_HOURS,
    }


@login_not_required
@never_cache
@require_safe
@transaction.non_atomic_requests  # a down database must give 503, not fail in ATOMIC_REQUESTS
def healthz(request):
    database = check_database()
    checks = {
        "database": database,
        "redis": check_redis(),
        "scan": check_scan(now=timezone.now()) if database["ok"] else {"ok": False},
    }
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unhealthy", "checks": checks},
        status=200 if healthy else 503,
    )

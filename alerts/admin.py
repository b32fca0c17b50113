"""The alert engine's records in the admin, read-only: the app writes them itself."""

from django.contrib import admin

from members.admin import ReadOnlyAdmin

from .models import Alert, EmailSent, ScanRun


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["member", "kind", "severity", "state", "opened_at", "last_seen_at", "closed_at"]
    list_filter = ["kind", "severity", "state"]
    list_select_related = ["member"]


@admin.register(ScanRun)
class ScanRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "finished_at", "failed_rules"]


@admin.register(EmailSent)
class EmailSentAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "kind", "period", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient"]

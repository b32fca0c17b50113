from django.contrib import admin

from members.admin import ReadOnlyAdmin

from .models import CensusCampaign, ContactAttempt, LedgerExport, LedgerImport, SelfReport


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyAdmin):
    list_display = ["member", "on", "channel", "reached", "recorded_by"]
    list_filter = ["channel", "reached"]
    raw_id_fields = ["member"]


@admin.register(CensusCampaign)
class CensusCampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "starts_on", "ends_on", "closed_on"]


@admin.register(LedgerImport)
class LedgerImportAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "user", "status", "rows_total", "created", "updated", "started_at"]
    list_filter = ["status"]


@admin.register(LedgerExport)
class LedgerExportAdmin(ReadOnlyAdmin):
    list_display = ["user", "file_format", "status", "rows_total", "started_at"]


@admin.register(SelfReport)
class SelfReportAdmin(ReadOnlyAdmin):
    list_display = ["member", "period", "status", "submitted_at"]
    list_filter = ["status"]

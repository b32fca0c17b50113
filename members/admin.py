"""The operators' admin: organisations, staff assignments and the access log.

Secretaries never need it; members are managed in the app, where the ID number stays masked.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from .models import (
    Alert,
    EmailSent,
    ExternalOrganisation,
    Member,
    Organisation,
    ScanRun,
    SensitiveAccess,
    StaffAssignment,
)


@admin.register(Organisation)
class OrganisationAdmin(TreeAdmin, SimpleHistoryAdmin):
    form = movenodeform_factory(Organisation)
    list_display = ["name", "kind", "region", "contact_person", "phone"]
    list_filter = ["kind"]
    search_fields = ["name"]


@admin.register(ExternalOrganisation)
class ExternalOrganisationAdmin(SimpleHistoryAdmin):
    list_display = ["name", "region", "contact_person", "phone"]
    search_fields = ["name", "region"]


@admin.register(Member)
class MemberAdmin(SimpleHistoryAdmin):
    list_display = ["name", "national_id_masked", "home_branch", "category", "status"]
    list_filter = ["status", "category"]
    search_fields = ["name"]
    list_select_related = ["home_branch"]
    exclude = ["national_id"]
    readonly_fields = ["national_id_masked"]
    raw_id_fields = ["home_branch"]

    @admin.display(description=_("national ID number"))
    def national_id_masked(self, obj):
        return obj.national_id_masked

    def has_add_permission(self, request):
        return False  # add members in the app, where the ID number is validated


class StaffAssignmentInline(admin.StackedInline):
    model = StaffAssignment
    can_delete = True
    raw_id_fields = ["organisation"]


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [StaffAssignmentInline]
    list_display = ["username", "first_name", "last_name", "email", "is_active", "is_superuser"]


@admin.register(SensitiveAccess)
class SensitiveAccessAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "action", "member", "ip_address"]
    list_filter = ["action"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records the app writes itself: operators read them, nobody edits them here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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

"""Staff accounts in the admin, with their assignment inline; they import from a spreadsheet
and export in the same columns (accounts/resources.py)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from members.admin import ReferenceImportExportMixin
from members.models import StaffAssignment

from .resources import StaffResource


class StaffAssignmentInline(admin.StackedInline):
    model = StaffAssignment
    can_delete = True
    raw_id_fields = ["organisation"]


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(ReferenceImportExportMixin, UserAdmin):
    inlines = [StaffAssignmentInline]
    list_display = ["username", "first_name", "last_name", "email", "is_active", "is_superuser"]
    resource_classes = [StaffResource]

    def has_import_permission(self, request):
        # The import writes assignments as well as users.
        return super().has_import_permission(request) and request.user.has_perms(
            ["members.add_staffassignment", "members.change_staffassignment"]
        )

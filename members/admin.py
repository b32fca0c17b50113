"""The operators' admin: organisations, staff assignments and the access log.

Secretaries never need it; members are managed in the app, where the ID number stays masked.
The reference data (the organisation tree, external organisations, staff accounts with their
assignments) imports from a spreadsheet with a preview and exports in the same columns
(django-import-export; the columns are in members/resources/).
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from .models import ExternalOrganisation, Member, Organisation, SensitiveAccess
from .resources import ExternalOrganisationResource, OrganisationResource


class ReferenceImportExportMixin(ImportExportMixin):
    """Import (upload, preview, confirm) and export of a ModelAdmin's reference data.

    Importing needs the add and change permissions of the model, exporting its view permission
    (django-import-export alone lets any staff user do both unless settings say otherwise).
    """

    import_formats = [base_formats.XLSX, base_formats.CSV]
    export_formats = [base_formats.XLSX, base_formats.CSV]

    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)


@admin.register(Organisation)
class OrganisationAdmin(ReferenceImportExportMixin, TreeAdmin, SimpleHistoryAdmin):
    resource_classes = [OrganisationResource]
    form = movenodeform_factory(Organisation)
    list_display = ["name", "kind", "region", "contact_person", "phone"]
    list_filter = ["kind"]
    search_fields = ["name"]


@admin.register(ExternalOrganisation)
class ExternalOrganisationAdmin(ReferenceImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [ExternalOrganisationResource]
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

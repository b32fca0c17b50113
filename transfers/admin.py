from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import ActivityCertificate, MobilityEpisode, RelationshipTransfer


@admin.register(MobilityEpisode)
class MobilityEpisodeAdmin(SimpleHistoryAdmin):
    list_display = ["member", "mobility_type", "destination_province", "left_on", "ended_on"]
    list_filter = ["mobility_type", "destination_province"]
    raw_id_fields = ["member"]
    search_fields = ["member__name"]


@admin.register(ActivityCertificate)
class ActivityCertificateAdmin(SimpleHistoryAdmin):
    list_display = ["number", "member", "issuing_branch", "issued_on", "status"]
    list_filter = ["status"]
    search_fields = ["number", "member__name"]
    raw_id_fields = ["member", "episode", "reissue_of"]


@admin.register(RelationshipTransfer)
class RelationshipTransferAdmin(admin.ModelAdmin):
    list_display = [
        "member",
        "from_branch",
        "to_organisation",
        "to_external",
        "state",
        "created_at",
    ]
    list_filter = ["state", "direction"]
    raw_id_fields = ["member"]

    def has_change_permission(self, request, obj=None):
        return False  # the state machine lives in the app

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import MobilityEpisode


@admin.register(MobilityEpisode)
class MobilityEpisodeAdmin(SimpleHistoryAdmin):
    list_display = ["member", "mobility_type", "destination_province", "left_on", "ended_on"]
    list_filter = ["mobility_type", "destination_province"]
    raw_id_fields = ["member"]
    search_fields = ["member__name"]

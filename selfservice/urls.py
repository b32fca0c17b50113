from . import (
    access_views,
    check_in_views,
    dues_views,
    help_views,
    inbox_views,
    link_views,
    meeting_views,
    study_views,
)

app_name = "selfservice"

# The member's pages are under /me/ (and the link itself under /m/); the branch's under
# /self-service/. Each module lists its own.
urlpatterns = [
    *access_views.urlpatterns,
    *link_views.urlpatterns,
    *inbox_views.urlpatterns,
    *check_in_views.urlpatterns,
    *dues_views.urlpatterns,
    *study_views.urlpatterns,
    *meeting_views.urlpatterns,
    *help_views.urlpatterns,
]

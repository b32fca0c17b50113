from django.urls import path

from . import access_views, alert_views, views

app_name = "members"

urlpatterns = [
    path("members/", views.member_list, name="list"),
    path("members/new/", views.member_create, name="create"),
    path("members/find-by-id/", views.member_find_by_id, name="find_by_id"),
    path("members/duplicates/", views.duplicate_cases, name="duplicate_cases"),
    path("members/<int:pk>/", views.member_detail, name="detail"),
    path("members/<int:pk>/edit/", views.member_edit, name="edit"),
    path(
        "members/<int:pk>/national-id/",
        views.member_reveal_national_id,
        name="reveal_national_id",
    ),
    path("members/<int:pk>/decisions/new/", views.decision_new, name="decision_new"),
    path("rules/", views.rule_book, name="rule_book"),
    path("preferences/", views.email_preferences, name="email_preferences"),
    path("alerts/", alert_views.inbox, name="alert_inbox"),
    path("alerts/<int:pk>/", alert_views.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/acknowledge/", alert_views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:pk>/snooze/", alert_views.alert_snooze, name="alert_snooze"),
    path("alerts/<int:pk>/resolve/", alert_views.alert_resolve, name="alert_resolve"),
    path(
        "alerts/<int:pk>/correction/", alert_views.correction_term_new, name="correction_term_new"
    ),
    path("organisations/", views.organisation_tree, name="organisation_tree"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("access-log/", access_views.access_log_list, name="access_log"),
]

from django.urls import path

from . import views

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
    path("organisations/", views.organisation_tree, name="organisation_tree"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
]

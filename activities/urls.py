from django.urls import path

from . import views

app_name = "activities"

urlpatterns = [
    path("activities/", views.activity_list, name="activity_list"),
    path("activities/new/", views.activity_create, name="activity_create"),
    path("activities/<int:pk>/", views.activity_detail, name="activity_detail"),
    path("activities/<int:pk>/attendance/", views.attendance_edit, name="attendance_edit"),
    path("dues/", views.dues_ledger, name="dues_ledger"),
    path("dues/export.xlsx", views.dues_export, name="dues_export"),
    path(
        "members/<int:member_pk>/life/elsewhere/",
        views.participation_new,
        name="participation_new",
    ),
    path("members/<int:member_pk>/dues/amount/", views.dues_amount_set, name="dues_amount_set"),
    path("members/<int:member_pk>/dues/payment/", views.dues_payment_new, name="dues_payment_new"),
    path("members/<int:member_pk>/evaluations/new/", views.evaluation_new, name="evaluation_new"),
    path("members/<int:member_pk>/work/new/", views.work_new, name="work_new"),
    path("members/<int:member_pk>/work/<int:pk>/close/", views.work_close, name="work_close"),
    path(
        "members/<int:member_pk>/services/new/",
        views.service_request_new,
        name="service_request_new",
    ),
    path("members/<int:member_pk>/honours/new/", views.honour_new, name="honour_new"),
    path("members/<int:member_pk>/reasons/new/", views.good_reason_new, name="good_reason_new"),
    path(
        "members/<int:member_pk>/reasons/<int:pk>/end/",
        views.good_reason_end,
        name="good_reason_end",
    ),
]

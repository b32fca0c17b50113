from django.urls import path

from . import conduct_views, national_views, views

app_name = "ledgers"

urlpatterns = [
    path("ledger/", views.ledger, name="ledger"),
    path("ledger/export.<str:file_format>", views.ledger_export, name="export"),
    path("ledger/template.xlsx", views.ledger_template, name="template"),
    path("ledger/<int:member_pk>/confirm/", views.ledger_confirm, name="confirm"),
    path("ledger/<int:member_pk>/<str:item>/", views.ledger_item_edit, name="item_edit"),
    path("members/<int:member_pk>/reached/", views.contact_reached_today, name="reached_today"),
    path("members/<int:member_pk>/conduct-note/", conduct_views.conduct_note, name="conduct_note"),
    path("members/<int:member_pk>/contacts/new/", views.contact_new, name="contact_new"),
    path("ledger/import/", views.import_upload, name="import_upload"),
    path("ledger/import/<int:pk>/apply/", views.import_apply, name="import_apply"),
    path("ledger/import/<int:pk>/", views.import_detail, name="import_detail"),
    path("ledger/import/<int:pk>/errors.xlsx", views.import_errors, name="import_errors"),
    path("ledger/jobs/", views.jobs, name="jobs"),
    path("ledger/exports/<int:pk>/", views.export_download, name="export_download"),
    path("ledger/national/export.xlsx", national_views.national_export, name="national_export"),
    path("ledger/national/", national_views.national_reconcile, name="national_reconcile"),
    path(
        "ledger/national/<str:token>.xlsx",
        national_views.national_reconcile_download,
        name="national_reconcile_download",
    ),
    path("report/<str:token>/", views.self_report, name="self_report"),
    path("self-reports/<int:pk>/decide/", views.self_report_decide, name="self_report_decide"),
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/close/", views.campaign_close, name="campaign_close"),
    path("campaigns/<int:pk>/export.xlsx", views.campaign_export, name="campaign_export"),
]

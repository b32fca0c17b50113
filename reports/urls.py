from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/export.xlsx", views.dashboard_export, name="dashboard_export"),
    path("dashboard/print/", views.dashboard_print, name="dashboard_print"),
    path("dashboard/members/", views.dashboard_members, name="dashboard_members"),
    path("dashboard/yearly/", views.yearly, name="dashboard_yearly"),
    path("dashboard/yearly.xlsx", views.yearly_export, name="dashboard_yearly_export"),
]

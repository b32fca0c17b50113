from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from . import health, views

admin.site.site_header = "Liudong 流动党员管理"
admin.site.site_title = "Liudong"

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("members.urls")),
    path("", include("alerts.urls")),
    path("", include("transfers.urls")),
    path("", include("ledgers.urls")),
    path("", include("activities.urls")),
    path("", include("reports.urls")),
    path("", include("selfservice.urls")),
    path("", include("partners.urls")),
    path("api/v1/", include("api.urls")),
]

from django.urls import path

from . import access_views, two_factor_views

app_name = "accounts"

urlpatterns = [
    path("accounts/two-factor/", two_factor_views.verify, name="otp_verify"),
    path("accounts/two-factor/enrol/", two_factor_views.enrol, name="otp_enrol"),
    path("access-log/", access_views.access_log_list, name="access_log"),
]

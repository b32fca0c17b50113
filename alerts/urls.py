from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("alerts/", views.inbox, name="inbox"),
    path("alerts/<int:pk>/", views.alert_detail, name="detail"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="acknowledge"),
    path("alerts/<int:pk>/snooze/", views.alert_snooze, name="snooze"),
    path("alerts/<int:pk>/resolve/", views.alert_resolve, name="resolve"),
    path("alerts/<int:pk>/correction/", views.correction_term_new, name="correction_term_new"),
    path("rules/", views.rule_book, name="rule_book"),
    path("preferences/", views.email_preferences, name="email_preferences"),
]

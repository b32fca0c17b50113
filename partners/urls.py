from django.urls import path

from . import views

app_name = "partners"
urlpatterns = [
    path("partners/inbox/", views.partner_inbox, name="inbox"),
    path("partners/incoming/", views.incoming_list, name="incoming_list"),
    path("partners/incoming/<int:pk>/", views.incoming_detail, name="incoming_detail"),
    path("partners/incoming/<int:pk>/accept/", views.incoming_accept, name="incoming_accept"),
    path("partners/incoming/<int:pk>/return/", views.incoming_return, name="incoming_return"),
    path("partners/certificates/", views.certificate_list, name="certificate_list"),
    path("partners/certificates/<int:pk>/", views.certificate_detail, name="certificate_detail"),
    path(
        "partners/certificates/<int:pk>/arrival/",
        views.certificate_arrival,
        name="certificate_arrival",
    ),
    path(
        "partners/certificates/<int:pk>/departure/",
        views.certificate_departure,
        name="certificate_departure",
    ),
]

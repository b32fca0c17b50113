from django.urls import path

from . import outpost_views, transfer_views, views

app_name = "transfers"

urlpatterns = [
    path("mobile/", views.mobile_list, name="mobile_list"),
    path("members/<int:member_pk>/left/", views.episode_start, name="episode_start"),
    path("episodes/<int:pk>/move/", views.episode_move, name="episode_move"),
    path("episodes/<int:pk>/return/", views.episode_return, name="episode_return"),
    path("members/<int:member_pk>/transfer-deferred/", views.episode_defer, name="episode_defer"),
    path(
        "members/<int:member_pk>/abroad-purpose/",
        views.episode_abroad_purpose,
        name="episode_abroad_purpose",
    ),
    path("members/<int:member_pk>/certificate/", views.certificate_issue, name="certificate_issue"),
    path("certificates/<int:pk>/", views.certificate_detail, name="certificate_detail"),
    path("certificates/<int:pk>/pdf/", views.certificate_pdf, name="certificate_pdf"),
    path("certificates/<int:pk>/arrival/", views.certificate_arrival, name="certificate_arrival"),
    path(
        "certificates/<int:pk>/departure/",
        views.certificate_departure,
        name="certificate_departure",
    ),
    path("certificates/<int:pk>/review/", views.certificate_review, name="certificate_review"),
    path("certificates/<int:pk>/end/", views.certificate_end, name="certificate_end"),
    path("certificates/<int:pk>/reissue/", views.certificate_reissue, name="certificate_reissue"),
    path("verify/certificate/<str:token>/", views.certificate_verify, name="certificate_verify"),
    path("transfers/", transfer_views.transfer_list, name="transfer_list"),
    path("transfers/incoming/", transfer_views.incoming_register, name="incoming_register"),
    path("members/<int:member_pk>/transfer/", transfer_views.transfer_draft, name="transfer_draft"),
    path("transfers/<int:pk>/", transfer_views.transfer_detail, name="transfer_detail"),
    path("transfers/<int:pk>/submit/", transfer_views.transfer_submit, name="transfer_submit"),
    path(
        "transfers/<int:pk>/withdraw/", transfer_views.transfer_withdraw, name="transfer_withdraw"
    ),
    path("transfers/<int:pk>/approve/", transfer_views.transfer_approve, name="transfer_approve"),
    path("transfers/<int:pk>/reject/", transfer_views.transfer_reject, name="transfer_reject"),
    path(
        "transfers/<int:pk>/reissue/",
        transfer_views.transfer_reissue_letter,
        name="transfer_reissue",
    ),
    path("transfers/<int:pk>/accept/", transfer_views.transfer_accept, name="transfer_accept"),
    path(
        "transfers/<int:pk>/letter-received/",
        transfer_views.transfer_letter_received,
        name="transfer_letter_received",
    ),
    path("transfers/<int:pk>/receipt/", transfer_views.transfer_receipt, name="transfer_receipt"),
    path("transfers/<int:pk>/letter.pdf", transfer_views.letter_pdf, name="letter_pdf"),
]

# Outposts (驻外党建工作站) and their mobile-member branches: transfers/outposts.py.
urlpatterns += [
    path("outposts/", outpost_views.outpost_list, name="outpost_list"),
    path("outposts/new/", outpost_views.outpost_new, name="outpost_new"),
    path("outposts/propose/", outpost_views.outpost_propose, name="outpost_propose"),
    path("outposts/<int:pk>/", outpost_views.outpost_detail, name="outpost_detail"),
]

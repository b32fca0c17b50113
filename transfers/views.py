"""Thin views: find the object through a scoped selector, validate a form, call a service.

Mobility episodes and activity certificates here; transfers and letters in transfer_views.py.
"""

from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from infrastructure.steps import step_on, step_view
from members import selectors as member_selectors

from . import pdf, selectors, services
from .forms import (
    AbroadPurposeForm,
    ArrivalForm,
    CertificateEndForm,
    CertificateIssueForm,
    DateForm,
    DepartureForm,
    EpisodeForm,
    EpisodeMoveForm,
    MobileFilterForm,
    ReviewForm,
    TransferDeferForm,
)
from .models import ActivityCertificate, MobilityEpisode

VERIFY_SALT = "liudong.certificate.verify"
# The certificate rules; printed in Chinese on the certificate itself (pdf.HOLDER_RIGHTS).
HOLDER_RIGHTS = gettext_lazy(
    "Certificate holders take part in organisational life and pay dues at the inflow side; "
    "they do not take part in elections of the inflow Party organisation and have no right to "
    "vote, to elect or to be elected there."
)


def _member_url(member) -> str:
    return reverse("members:detail", args=[member.pk]) + "#mobility"


# --- mobile members and episodes ----------------------------------------------------------


@require_GET
def mobile_list(request):
    form = MobileFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    episodes = selectors.mobile_members(user=request.user, today=timezone.localdate(), **filters)
    page = Paginator(episodes, 50).get_page(request.GET.get("page"))
    query_string = request.GET.copy()
    query_string.pop("page", None)
    return render(
        request,
        "transfers/mobile_list.html",
        {
            "form": form,
            "page": page,
            "query_string": query_string.urlencode(),
            # Members we host who carry a certificate take part but do not vote there.
            "side": filters.get("side", ""),
            "holder_rights": HOLDER_RIGHTS,
        },
    )


def episode_start(request, member_pk: int):
    member = member_selectors.member_get_for_edit(user=request.user, pk=member_pk)
    form = EpisodeForm(request.POST or None, instance=MobilityEpisode(member=member))
    return step_view(
        request,
        form=form,
        title=_("Record that the member has left"),
        subject=member,
        cancel_url=_member_url(member),
        perform=lambda data: _member_url(
            services.episode_start(actor=request.user, episode=form.instance).member
        ),
        done=_("Departure recorded."),
    )


def episode_move(request, pk: int):
    episode = selectors.episode_get(user=request.user, pk=pk)
    form = EpisodeMoveForm(request.POST or None, instance=MobilityEpisode(member=episode.member))
    return step_view(
        request,
        form=form,
        title=_("Record a move to a new place"),
        subject=episode.member,
        cancel_url=_member_url(episode.member),
        perform=lambda data: _member_url(
            services.episode_move(
                actor=request.user,
                episode=episode,
                moved_on=data["moved_on"],
                new_episode=form.instance,
            ).member
        ),
        done=_("Move recorded."),
    )


def episode_return(request, pk: int):
    episode = selectors.episode_get(user=request.user, pk=pk)
    form = DateForm(request.POST or None, label=_("returned on"))
    return step_view(
        request,
        form=form,
        title=_("Record the return home"),
        subject=episode.member,
        cancel_url=_member_url(episode.member),
        perform=lambda data: _member_url(
            services.episode_end(
                actor=request.user,
                episode=episode,
                ended_on=data["on"],
                reason=MobilityEpisode.EndReason.RETURNED,
            ).member
        ),
        done=_("Return recorded; a valid certificate was returned with it."),
    )


def _current_episode(request, member_pk: int) -> MobilityEpisode:
    """The member's current stretch away, for a secretary who may edit the member."""
    member = member_selectors.member_get_for_edit(user=request.user, pk=member_pk)
    episode = member.mobility_episodes.current().first()
    if episode is None:
        raise Http404
    return episode


def episode_defer(request, member_pk: int):
    """暂时无法转移: record why the relationship cannot be transferred for now, until when."""
    episode = _current_episode(request, member_pk)
    form = TransferDeferForm(request.POST or None, episode=episode)
    return step_view(
        request,
        form=form,
        title=_("The relationship cannot be transferred for now"),
        subject=episode.member,
        cancel_url=_member_url(episode.member),
        perform=lambda data: _member_url(
            services.episode_defer_transfer(
                actor=request.user,
                episode=episode,
                reason=data["reason"],
                note=data["note"],
                until=data["until"],
            ).member
        ),
        done=_("Recorded: the member carries the activity certificate until then."),
    )


def episode_abroad_purpose(request, member_pk: int):
    episode = _current_episode(request, member_pk)
    form = AbroadPurposeForm(
        request.POST or None, initial={"purpose": episode.abroad_purpose or None}
    )
    return step_view(
        request,
        form=form,
        title=_("Record why the member is abroad"),
        subject=episode.member,
        cancel_url=_member_url(episode.member),
        perform=lambda data: _member_url(
            services.episode_record_abroad_purpose(
                actor=request.user, episode=episode, purpose=data["purpose"]
            ).member
        ),
        done=_("Purpose of the stay abroad recorded."),
    )


# --- activity certificates ----------------------------------------------------------------


def certificate_issue(request, member_pk: int):
    member = member_selectors.member_get_for_edit(user=request.user, pk=member_pk)
    episode = member.mobility_episodes.current().first()
    initial = {"issued_on": timezone.localdate()}
    if episode:
        initial.update(
            destination=episode.destination,
            reason=episode.get_mobility_type_display(),
            inflow_organisation=episode.inflow_organisation,
            inflow_external=episode.inflow_external,
        )
    form = CertificateIssueForm(request.POST or None, initial=initial)
    return step_view(
        request,
        form=form,
        title=_("Issue an activity certificate"),
        subject=member,
        cancel_url=_member_url(member),
        perform=lambda data: reverse(
            "transfers:certificate_detail",
            args=[services.certificate_issue(actor=request.user, member=member, **data).pk],
        ),
        done=_("Certificate issued. Print it for the committee's stamp."),
    )


@require_GET
def certificate_detail(request, pk: int):
    certificate = selectors.certificate_get(user=request.user, pk=pk)
    return render(
        request,
        "transfers/certificate_detail.html",
        {
            "certificate": certificate,
            "reviews": certificate.reviews.all(),
            "history": certificate.history.select_related("history_user")[:20],
            "home_side": not member_selectors.member_is_hosted_for(
                user=request.user, member=certificate.member
            ),
            "verify_url": _verify_url(request, certificate),
            "holder_rights": HOLDER_RIGHTS,
        },
    )


def _verify_url(request, certificate: ActivityCertificate) -> str:
    return request.build_absolute_uri(
        reverse("transfers:certificate_verify", args=[certificate.verify_code])
    )


def _certificate_step(request, pk: int, **step):
    certificate = selectors.certificate_get(user=request.user, pk=pk)
    page = reverse("transfers:certificate_detail", args=[certificate.pk])
    return step_on(request, certificate, page=page, **step)


def certificate_arrival(request, pk: int):
    return _certificate_step(
        request,
        pk,
        form=ArrivalForm(request.POST or None),
        title=_("Register the arrival at the inflow side"),
        done=_("Arrival registered."),
        perform=lambda c, data: services.certificate_register_arrival(
            actor=request.user, certificate=c, **data
        ),
    )


def certificate_departure(request, pk: int):
    return _certificate_step(
        request,
        pk,
        form=DepartureForm(request.POST or None),
        title=_("Record the departure from the inflow side"),
        done=_("Departure from the inflow side recorded."),
        perform=lambda c, data: services.certificate_record_departure(
            actor=request.user, certificate=c, **data
        ),
    )


def certificate_review(request, pk: int):
    return _certificate_step(
        request,
        pk,
        form=ReviewForm(request.POST or None),
        title=_("Record the yearly review"),
        done=_("Review recorded."),
        perform=lambda c, data: services.certificate_review(
            actor=request.user, certificate=c, **data
        ),
    )


def certificate_end(request, pk: int):
    return _certificate_step(
        request,
        pk,
        form=CertificateEndForm(request.POST or None),
        title=_("Return or cancel the certificate"),
        done=_("Certificate closed."),
        perform=lambda c, data: services.certificate_end(
            actor=request.user, certificate=c, ended_on=data["on"], status=data["status"]
        ),
    )


def certificate_reissue(request, pk: int):
    certificate = selectors.certificate_get(user=request.user, pk=pk)
    form = DateForm(request.POST or None, label=_("reported lost on"))
    return step_view(
        request,
        form=form,
        title=_("Report lost and reissue"),
        subject=certificate,
        cancel_url=reverse("transfers:certificate_detail", args=[certificate.pk]),
        perform=lambda data: reverse(
            "transfers:certificate_detail",
            args=[
                services.certificate_reissue_lost(
                    actor=request.user, certificate=certificate, reported_on=data["on"]
                ).pk
            ],
        ),
        done=_("The old number no longer verifies; a new certificate was issued."),
    )


@require_GET
def certificate_pdf(request, pk: int):
    certificate = selectors.certificate_get(user=request.user, pk=pk)
    content = pdf.certificate_pdf(certificate, verify_url=_verify_url(request, certificate))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="certificate-{certificate.number}.pdf"'
    return response


@login_not_required
@require_GET
def certificate_verify(request, token: str):
    """Public: anyone holding the QR code learns whether the certificate is genuine and valid."""
    certificates = ActivityCertificate.objects.select_related(
        "member", "issuing_branch", "stamping_committee"
    )
    certificate = certificates.filter(verify_code=token).first()
    if certificate is None:
        # QR codes printed before the random codes carry a signed id: they keep working.
        try:
            certificate = certificates.get(pk=signing.loads(token, salt=VERIFY_SALT))
        except (signing.BadSignature, ActivityCertificate.DoesNotExist) as error:
            raise Http404 from error
    name = certificate.member.name
    return render(
        request,
        "transfers/certificate_verify.html",
        {"certificate": certificate, "masked_name": name[0] + "*" * (len(name) - 1)},
    )

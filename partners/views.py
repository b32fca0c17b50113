"""The inbox other deployments deliver to, and the receiving branch's pages for the letters
that came through it. Thin: find through a scoped selector, validate, call one service."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from infrastructure.steps import step_on
from transfers.forms import ArrivalForm, DateForm, DepartureForm

from . import inbox, selectors, services, signing
from .forms import ReturnForm
from .models import IncomingCertificate, IncomingTransfer


@csrf_exempt  # a machine's POST, authenticated by its signature, not a browser's session
@login_not_required
@require_POST
def partner_inbox(request):
    status, answer = inbox.receive(
        key_id=request.headers.get(signing.KEY_HEADER, ""),
        timestamp=request.headers.get(signing.TIMESTAMP_HEADER, ""),
        given=request.headers.get(signing.SIGNATURE_HEADER, ""),
        raw=request.body,
    )
    return JsonResponse(answer, status=status)


@require_GET
def incoming_list(request):
    incoming = selectors.incoming_visible_to(request.user)
    return render(
        request,
        "partners/incoming_list.html",
        {
            "pending": incoming.filter(state=IncomingTransfer.State.PENDING),
            "decided": incoming.exclude(state=IncomingTransfer.State.PENDING)[:100],
        },
    )


@require_GET
def incoming_detail(request, pk: int):
    return render(
        request,
        "partners/incoming_detail.html",
        {"incoming": selectors.incoming_get(user=request.user, pk=pk)},
    )


def _step(request, pk: int, **step):
    incoming = selectors.incoming_get(user=request.user, pk=pk)
    page = reverse("partners:incoming_detail", args=[incoming.pk])
    return step_on(request, incoming, page=page, **step)


def incoming_accept(request, pk: int):
    return _step(
        request,
        pk,
        form=DateForm(request.POST or None, label=_("accepted on")),
        title=_("Accept the member"),
        done=_("Accepted: the member is registered in your branch; the receipt is on its way."),
        perform=lambda incoming, data: services.incoming_accept(
            actor=request.user, incoming=incoming, on=data["on"]
        ),
    )


def incoming_return(request, pk: int):
    return _step(
        request,
        pk,
        form=ReturnForm(request.POST or None, label=_("returned on")),
        title=_("Return the introduction letter"),
        done=_("Returned: the sending side sees your reason."),
        perform=lambda incoming, data: services.incoming_return(
            actor=request.user, incoming=incoming, reason=data["reason"], on=data["on"]
        ),
    )


# --- certificates with an inflow side here -------------------------------------------------


@require_GET
def certificate_list(request):
    certificates = selectors.certificates_visible_to(request.user)
    return render(
        request,
        "partners/certificate_list.html",
        {
            "open": certificates.filter(
                state__in=[IncomingCertificate.State.ISSUED, IncomingCertificate.State.ARRIVED]
            ),
            "closed": certificates.exclude(
                state__in=[IncomingCertificate.State.ISSUED, IncomingCertificate.State.ARRIVED]
            )[:100],
        },
    )


@require_GET
def certificate_detail(request, pk: int):
    return render(
        request,
        "partners/certificate_detail.html",
        {"certificate": selectors.certificate_get(user=request.user, pk=pk)},
    )


def _certificate_step(request, pk: int, **step):
    certificate = selectors.certificate_get(user=request.user, pk=pk)
    page = reverse("partners:certificate_detail", args=[certificate.pk])
    return step_on(request, certificate, page=page, **step)


def certificate_arrival(request, pk: int):
    return _certificate_step(
        request,
        pk,
        form=ArrivalForm(request.POST or None),
        title=_("Register the arrival at the inflow side"),
        done=_("Arrival registered; the issuing side is told."),
        perform=lambda certificate, data: services.incoming_certificate_arrival(
            actor=request.user, incoming=certificate, **data
        ),
    )


def certificate_departure(request, pk: int):
    return _certificate_step(
        request,
        pk,
        form=DepartureForm(request.POST or None),
        title=_("Record the departure from the inflow side"),
        done=_("Departure registered; the issuing side is told."),
        perform=lambda certificate, data: services.incoming_certificate_departure(
            actor=request.user, incoming=certificate, **data
        ),
    )

"""The national format's pages: the export, and the reconciliation of an uploaded sheet.

Every read starts from the user's scope (members_visible_to / members_editable_by, inside
`national`); the reconciliation writes nothing to members.
"""

import re
import uuid

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from infrastructure.client_address import client_address
from infrastructure.db_router import lagging_reads_ok
from members.access_log import log_sensitive_access
from members.models import SensitiveAccess

from . import staging
from .forms import IMPORT_MAX_MEGABYTES
from .national import export, reconcile
from .views import export_in_background

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESULT_TTL = 60 * 60
TOKEN = re.compile(r"^[0-9a-f]{32}$")


class ReconcileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Sheet from the national system (.xlsx, .xls or .ods)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xlsm,.xls,.xlsb,.ods"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_MEGABYTES * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than %(limit)d MB. Split it and reconcile the parts.")
                % {"limit": IMPORT_MAX_MEGABYTES},
                code="too_large",
            )
        return upload


def _result_key(user, token: str) -> str:
    return f"national-{user.pk}-{token}"  # the user's own: another user's key never matches


@require_GET
@transaction.non_atomic_requests  # a background job must be committed before the worker reads it
@lagging_reads_ok
def national_export(request):
    total = export.roll_of(request.user).count()
    if total > settings.EXPORT_BACKGROUND_ROWS:
        return export_in_background(
            request, file_format="xlsx", query={"layout": export.LAYOUT}, total=total
        )
    log_sensitive_access(
        user=request.user,
        action=SensitiveAccess.Action.EXPORT_LEDGER,
        detail=f"全国党员信息系统格式 {total}人",
        ip_address=client_address(request),
    )
    response = HttpResponse(export.export_xlsx(user=request.user), content_type=XLSX)
    name = f"national-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_http_methods(["GET", "POST"])
def national_reconcile(request):
    """Upload a national sheet (POST) and see how it compares; nothing is written."""
    form = ReconcileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            outcome = reconcile.reconcile(
                user=request.user, content=upload.read(), file_name=upload.name
            )
        except reconcile.NotReconcilable as refused:
            form.add_error("file", str(refused))
        else:
            token = uuid.uuid4().hex
            kept = staging.stash_as(
                _result_key(request.user, token), reconcile.result_xlsx(outcome), ttl=RESULT_TTL
            )
            return render(
                request,
                "ledgers/national_result.html",
                {
                    "outcome": outcome,
                    "file_name": upload.name,
                    "token": token if kept else "",
                    "shown": reconcile.SHOWN,
                    "differences": outcome.differences[: reconcile.SHOWN],
                    "only_in_file": outcome.only_in_file[: reconcile.SHOWN],
                    "only_in_liudong": outcome.only_in_liudong[: reconcile.SHOWN],
                    "broken": outcome.broken[: reconcile.SHOWN],
                },
            )
    return render(request, "ledgers/national_reconcile.html", {"form": form})


@require_GET
def national_reconcile_download(request, token: str):
    """The differences and the "only in" lists of the user's own reconciliation (kept for an hour)."""
    if not TOKEN.match(token):
        raise Http404
    content = staging.fetch(_result_key(request.user, token))
    if content is None:
        raise Http404
    log_sensitive_access(
        user=request.user,
        action=SensitiveAccess.Action.EXPORT_LEDGER,
        detail="全国党员信息系统格式 核对结果",
        ip_address=client_address(request),
    )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="national-reconciliation.xlsx"'
    return response

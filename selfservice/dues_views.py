"""党费 pages: the member's (amount due, report a payment with its receipt, the outcome) and
the branch's (see the receipt, confirm, return with a reason)."""

import re
from datetime import date

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from activities import dues as dues_rules
from activities.models import DuesPayment
from infrastructure.client_address import client_address
from infrastructure.steps import StepRefused
from members.access_log import log_sensitive_access
from members.forms import DateInput
from members.models import SensitiveAccess

from . import access
from . import dues as services
from .inbox_views import back_to_inbox

MONTH = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月|[-/.]\s*\d{1,2}\s*日?)?\s*$")


class MonthField(forms.CharField):
    """A month as `<input type="month">` sends it (2025-03); typed by hand also 2025年3月."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2025-01"})
    default_error_messages = {"invalid": "请输入月份，例如 2025-01。"}

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        found = MONTH.match(value)
        if not found or not (2000 <= int(found[1]) <= 2100 and 1 <= int(found[2]) <= 12):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return date(int(found[1]), int(found[2]), 1)


def _required(what: str) -> dict:
    return {"required": f"请填写{what}。"}


class ClaimForm(forms.Form):
    from_month = MonthField(label="缴费起始月份", error_messages=_required("起始月份"))
    to_month = MonthField(label="缴费截止月份", error_messages=_required("截止月份"))
    amount = forms.DecimalField(
        label="金额（元）",
        max_digits=10,
        decimal_places=2,
        min_value=0.01,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        error_messages={
            **_required("金额"),
            "invalid": "请输入金额，例如 12.50。",
            "min_value": "金额必须大于零。",
            "max_digits": "金额过大，请核对。",
            "max_whole_digits": "金额过大，请核对。",
            "max_decimal_places": "金额最多保留两位小数（分）。",
        },
    )
    paid_on = forms.DateField(
        label="缴费日期",
        widget=DateInput(),
        error_messages={**_required("缴费日期"), "invalid": "请输入日期，例如 2025-03-05。"},
    )
    receipt = forms.FileField(
        label="缴费凭证（照片或截图）",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        error_messages={
            "required": "请选择缴费凭证的照片或截图。",
            "empty": "所选文件是空的，请重新选择图片。",
            "invalid": "请选择缴费凭证的照片或截图。",
        },
    )

    def __init__(self, *args, too_big: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_big = too_big
        megabytes = services.receipt_max_bytes() / (1024 * 1024)
        self.fields[
            "receipt"
        ].help_text = (
            f"{services.FORMATS_IN_WORDS} 格式，不超过 {megabytes:g} MB。只有党支部能看到。"
        )

    def clean_receipt(self):
        upload = self.cleaned_data["receipt"]
        services.check_receipt(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        if self.too_big:  # the upload handler dropped the file: say why, not "required"
            self.errors.pop("receipt", None)
            self.add_error("receipt", services.too_big_message())
        first, last = cleaned.get("from_month"), cleaned.get("to_month")
        if first and last and last < first:
            self.add_error("to_month", "截止月份不能早于起始月份。")
        paid_on = cleaned.get("paid_on")
        if paid_on and paid_on > timezone.localdate():
            self.add_error("paid_on", "缴费日期不能晚于今天。")
        return cleaned


class ReceiptLimit(FileUploadHandler):
    """Drops a receipt over the limit while it streams in (at most the limit is kept, on
    disk or in memory), and remembers it, so the member gets the size message."""

    def __init__(self, request=None):
        super().__init__(request)
        self.too_big = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > services.receipt_max_bytes():
            self.too_big = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler makes the file


def _initial(state: services.MonthsDue) -> dict:
    """The months due that a payment today may still cover (the back-payment limit), so the
    form as filled in can be sent as it is."""
    today = timezone.localdate()
    initial = {"paid_on": today}
    earliest = dues_rules.earliest_back_payment(today, settings.DUES_BACK_PAYMENT_MONTHS)
    due = [month for month in state.due if month >= earliest]
    if due:
        initial["from_month"] = f"{due[0]:%Y-%m}"
        initial["to_month"] = f"{due[-1]:%Y-%m}"
        if state.monthly_amount is not None:
            initial["amount"] = state.monthly_amount * len(due)
    return initial


@csrf_exempt  # checked below, once the receipt's size limit is in place
@access.member_required
def dues(request):
    """The amount due by month, the form to report a payment, and the member's reports."""
    limit = ReceiptLimit(request)
    if request.method == "POST":
        # Before anything reads the body: the limit must see the upload as it arrives.
        request.upload_handlers.insert(0, limit)
    return _dues(request, limit)


@csrf_protect
def _dues(request, limit: ReceiptLimit):
    member = request.member
    state = services.months_due(member)
    if request.method == "POST":
        form = ClaimForm(request.POST, request.FILES, too_big=limit.too_big)
        if form.is_valid():
            try:
                services.submit_claim(
                    member=member, **{k: form.cleaned_data[k] for k in form.fields}
                )
            except StepRefused as refused:
                form.add_error(None, refused.messages)
            except forms.ValidationError as invalid:
                form.add_error("receipt", invalid.messages)
            else:
                messages.success(request, "已提交，请等待党支部确认。确认后才算已缴纳。")
                return redirect("selfservice:dues")
    else:
        form = ClaimForm(initial=_initial(state))
    return render(
        request,
        "selfservice/dues.html",
        {"state": state, "form": form, "claims": services.claims_of(member)},
    )


# --- the branch -------------------------------------------------------------------------------


def _claim(request, pk: int):
    claim = services.claim_for_staff(user=request.user, pk=pk)
    if claim is None:
        raise Http404
    return claim


@require_GET
def dues_receipt(request, pk: int):
    """The receipt image, to the member's home side only, never cached."""
    claim = _claim(request, pk)
    try:
        image = claim.receipt.open("rb")
    except (FileNotFoundError, ValueError) as missing:
        raise Http404 from missing
    # The log has no kind for receipts yet; once it has one, each opening is logged.
    action = getattr(SensitiveAccess.Action, "VIEW_DUES_RECEIPT", None)
    if action is not None:
        log_sensitive_access(
            user=request.user,
            action=action,
            member=claim.member,
            detail=f"dues claim {claim.pk}",
            ip_address=client_address(request),
        )
    response = FileResponse(
        image,
        content_type=services.content_type_of(claim),
        filename=f"receipt-{claim.pk}{claim.receipt_suffix}",
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@require_POST
def dues_confirm(request, pk: int):
    claim = _claim(request, pk)
    method = request.POST.get("method", DuesPayment.Method.WECHAT)
    if method not in DuesPayment.Method.values:
        method = DuesPayment.Method.WECHAT
    try:
        services.confirm_claim(actor=request.user, claim=claim, method=method)
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(
            request, _("Dues payment confirmed for %(member)s.") % {"member": claim.member.name}
        )
    return back_to_inbox(request)


@require_POST
def dues_return(request, pk: int):
    claim = _claim(request, pk)
    try:
        services.return_claim(
            actor=request.user, claim=claim, reason=request.POST.get("reason", "")
        )
    except StepRefused as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(
            request,
            _("Dues payment returned to %(member)s with the reason.")
            % {"member": claim.member.name},
        )
    return back_to_inbox(request)


urlpatterns = [
    path("me/dues/", dues, name="dues"),
    path("self-service/dues/<int:pk>/receipt/", dues_receipt, name="dues_receipt"),
    path("self-service/dues/<int:pk>/confirm/", dues_confirm, name="dues_confirm"),
    path("self-service/dues/<int:pk>/return/", dues_return, name="dues_return"),
]

"""党费: what the member owes by month, the payments they report with a receipt, and the
branch's decision. Only a confirmed claim becomes a `DuesPayment` (made by the dues service
itself, with its rules); a pending or returned claim pays nothing.
"""

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from activities import dues as dues_rules
from activities import selectors as activity_selectors
from activities import services as activity_services
from activities.models import DuesPayment
from infrastructure.steps import StepRefused
from members.models import Member
from members.selectors import members_editable_by

from . import notify
from .models import Decision, DuesClaim

# Pillow's name of the format → the suffix the stored file gets and the type it is served as.
RECEIPT_FORMATS = {
    "JPEG": (".jpg", "image/jpeg"),
    "PNG": (".png", "image/png"),
    "WEBP": (".webp", "image/webp"),
}
CONTENT_TYPES = dict(RECEIPT_FORMATS.values())
RECEIPT_MAX_PIXELS = 40_000_000  # far above any phone photo; a larger one is a trick
FORMATS_IN_WORDS = "JPG、PNG 或 WebP"


def receipt_max_bytes() -> int:
    return getattr(settings, "RECEIPT_MAX_BYTES", 5 * 1024 * 1024)


def too_big_message() -> str:
    megabytes = receipt_max_bytes() / (1024 * 1024)
    return (
        f"收据图片不能超过 {megabytes:g} MB。请截图或压缩后重新选择图片"
        "（出于安全原因，需要重新选择图片，其他内容已保留）。"
    )


NOT_AN_IMAGE = (
    f"上传的文件不是图片或已损坏。请上传缴费凭证的照片或截图（{FORMATS_IN_WORDS} 格式）。"
)
WRONG_FORMAT = (
    f"仅支持 {FORMATS_IN_WORDS} 格式的图片。苹果手机的 HEIC 照片请先截图再上传，"
    "或在相机设置中选择“兼容性最佳”。"
)


def check_receipt(upload) -> str:
    """The suffix the receipt is stored with, after opening it as an image: the file's name
    and the browser's content type prove nothing. ValidationError with what to tell the
    member otherwise."""
    if upload.size > receipt_max_bytes():
        raise ValidationError(too_big_message(), code="too_big")
    upload.seek(0)
    try:
        with Image.open(upload) as image:
            found, pixels = image.format, image.width * image.height
            image.verify()  # reads the whole structure: a truncated or forged file fails here
    except (UnidentifiedImageError, Image.DecompressionBombError):
        # HEIC (an iPhone photo) is an image Pillow cannot read here: name the formats.
        upload.seek(4)
        if upload.read(4) == b"ftyp":
            raise ValidationError(WRONG_FORMAT, code="format") from None
        raise ValidationError(NOT_AN_IMAGE, code="not_an_image") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ValidationError(NOT_AN_IMAGE, code="not_an_image") from None
    finally:
        upload.seek(0)
    if found not in RECEIPT_FORMATS:
        raise ValidationError(WRONG_FORMAT, code="format")
    if pixels > RECEIPT_MAX_PIXELS:
        raise ValidationError("图片尺寸过大，请截图后重新上传。", code="too_many_pixels")
    return RECEIPT_FORMATS[found][0]


def content_type_of(claim: DuesClaim) -> str:
    return CONTENT_TYPES.get(claim.receipt_suffix, "application/octet-stream")


# --- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueMonth:
    month: date
    state: str  # "paid" (confirmed), "pending" (a claim waits), "due"


@dataclass(frozen=True)
class MonthsDue:
    year: int
    monthly_amount: Decimal | None  # None: the branch has not set this year's rate yet
    months: list[DueMonth]
    due: list[date]  # neither paid nor waiting for the branch
    earlier_owed: int  # months of earlier years still owed

    @property
    def total(self) -> Decimal | None:
        if self.monthly_amount is None:
            return None
        return self.monthly_amount * len(self.due)


def months_due(member: Member, *, today: date | None = None) -> MonthsDue:
    """This year's months up to the current one: confirmed, waiting for the branch, or due."""
    today = today or timezone.localdate()
    rate = activity_selectors.dues_amount_for(member, today.year)
    start = max(
        date(today.year, 1, 1),
        dues_rules.first_of_month(member.joined_on),
        activity_selectors.tracking_start(),
    )
    months = dues_rules.months_between(start, today) if start <= today else []
    paid = _months_covered(member.dues_payments.filter(to_month__gte=start))
    pending = _months_covered(member.dues_claims.filter(status=Decision.PENDING))
    rows = [
        DueMonth(m, "paid" if m in paid else "pending" if m in pending else "due") for m in months
    ]
    owed, _total = activity_selectors.arrears(member=member, today=today)
    return MonthsDue(
        year=today.year,
        monthly_amount=rate.monthly_amount if rate is not None else None,
        months=rows,
        due=[row.month for row in rows if row.state == "due"],
        earlier_owed=sum(1 for m in owed if m.year < today.year),
    )


def _months_covered(rows) -> set[date]:
    covered = set()
    for from_month, to_month in rows.values_list("from_month", "to_month"):
        covered.update(dues_rules.months_between(from_month, to_month))
    return covered


def claims_of(member: Member) -> QuerySet[DuesClaim]:
    return member.dues_claims.all()


def pending_for(user) -> QuerySet[DuesClaim]:
    """Claims waiting for `user`'s decision: those of the members whose home side they are."""
    return (
        DuesClaim.objects.filter(status=Decision.PENDING, member__in=members_editable_by(user))
        .select_related("member", "member__home_branch")
        .order_by("submitted_at", "id")
    )


def claim_for_staff(*, user, pk: int) -> DuesClaim | None:
    return (
        DuesClaim.objects.filter(pk=pk, member__in=members_editable_by(user))
        .select_related("member")
        .first()
    )


def tile(member: Member) -> dict:
    """The dues tile of the member's home page: the badge counts the months still due."""
    state = months_due(member)
    waiting = member.dues_claims.filter(status=Decision.PENDING).count()
    if state.monthly_amount is None:
        line = "本年党费标准尚未核定，请联系党支部"
    elif state.due:
        line = f"本年还有 {len(state.due)} 个月未缴（每月 {state.monthly_amount} 元）"
    else:
        line = "本年党费已缴清"
    if waiting:
        line += f"；{waiting} 笔待党支部确认"
    return {
        "title": "交党费",
        "url": reverse("selfservice:dues"),
        "waiting": len(state.due),
        "line": line,
    }


# --- writes -----------------------------------------------------------------------------------


@transaction.atomic
def submit_claim(
    *,
    member: Member,
    from_month: date,
    to_month: date,
    amount: Decimal,
    paid_on: date,
    receipt,
    today: date | None = None,
) -> DuesClaim:
    """The member's report of a payment, with the receipt stored under a random name."""
    today = today or timezone.localdate()
    from_month, to_month = (
        dues_rules.first_of_month(from_month),
        dues_rules.first_of_month(to_month),
    )
    # One submission at a time per member: a double tap finds the first one.
    Member.objects.select_for_update().filter(pk=member.pk).first()
    if to_month < from_month:
        raise StepRefused("截止月份不能早于起始月份。")
    if paid_on > today:
        raise StepRefused("缴费日期不能晚于今天。")
    if amount <= 0:
        raise StepRefused("金额必须大于零。")
    earliest = dues_rules.earliest_back_payment(paid_on, settings.DUES_BACK_PAYMENT_MONTHS)
    if from_month < earliest:
        raise StepRefused(
            f"补交党费最多补 {settings.DUES_BACK_PAYMENT_MONTHS} 个月，这笔缴费最早只能从 "
            f"{earliest:%Y年%m月} 算起。更早的月份请联系党支部。"
        )
    claims = member.dues_claims.filter(status=Decision.PENDING)
    if claims.filter(from_month=from_month, to_month=to_month, amount=amount).exists():
        raise StepRefused("您已提交过相同的缴费记录，正在等待党支部确认，请勿重复提交。")
    paid = member.dues_payments.filter(from_month__lte=to_month, to_month__gte=from_month)
    if paid.exists():
        raise StepRefused("所选月份中有的已确认缴纳，请核对月份后再提交。")
    suffix = check_receipt(receipt)
    claim = DuesClaim(
        member=member,
        from_month=from_month,
        to_month=to_month,
        amount=amount,
        paid_on=paid_on,
        token=secrets.token_hex(16),
        receipt_suffix=suffix,
    )
    claim.receipt.save("receipt" + suffix, receipt, save=False)  # named by receipt_path
    try:
        claim.save()
    except Exception:
        claim.receipt.storage.delete(claim.receipt.name)  # no row, no file
        raise
    return claim


def _decidable(*, actor, claim: DuesClaim) -> DuesClaim:
    claim = DuesClaim.objects.select_for_update().select_related("member").get(pk=claim.pk)
    if not members_editable_by(actor).filter(pk=claim.member_id).exists():
        raise StepRefused(_("Only the member's home branch decides on a dues payment."))
    if claim.status != Decision.PENDING:
        raise StepRefused(
            _("This dues payment was already decided: %(decision)s.")
            % {"decision": claim.get_status_display()}
        )
    return claim


@transaction.atomic
def confirm_claim(*, actor, claim: DuesClaim, method: str = DuesPayment.Method.WECHAT) -> DuesClaim:
    """The branch confirms: the dues service records the payment (and may refuse it)."""
    claim = _decidable(actor=actor, claim=claim)
    claim.payment = activity_services.dues_payment_record(
        actor=actor,
        member=claim.member,
        from_month=claim.from_month,
        to_month=claim.to_month,
        amount=claim.amount,
        paid_on=claim.paid_on,
        method=method,
    )
    return _decided(actor=actor, claim=claim, status=Decision.CONFIRMED)


@transaction.atomic
def return_claim(*, actor, claim: DuesClaim, reason: str) -> DuesClaim:
    """The branch sends the claim back, saying why; the member may submit a corrected one."""
    reason = " ".join(reason.split())
    if not reason:
        raise StepRefused(_("Say why the dues payment is returned: the member reads it."))
    claim = _decidable(actor=actor, claim=claim)
    claim.reason = reason[:300]
    return _decided(actor=actor, claim=claim, status=Decision.RETURNED)


def _decided(*, actor, claim: DuesClaim, status: str) -> DuesClaim:
    claim.status, claim.decided_by, claim.decided_at = status, actor, timezone.now()
    claim.save()
    notify.notify(
        member=claim.member,
        kind="dues_decided",
        key=f"dues-decided:{claim.pk}:{claim.status}",
        values={
            # Words, not codes: an SMS gateway's template takes every value as text.
            "result": "已被党支部退回" if status == Decision.RETURNED else "已由党支部确认",
            "then": "请按要求修改后重新提交。" if status == Decision.RETURNED else "",
            "amount": str(claim.amount),
            "months": f"{claim.from_month:%Y-%m}–{claim.to_month:%Y-%m}",
            "reason": notify.short(claim.reason),
            "link": settings.SITE_URL.rstrip("/") + reverse("selfservice:dues"),
        },
    )
    return claim

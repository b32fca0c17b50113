"""Issue #19, dues (党费): the member sees what is due, reports a payment with a receipt, and
the branch confirms it (only then it counts) or returns it with a reason."""

import io
import os
from datetime import date, timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from PIL import Image

from activities.dues import first_of_month
from activities.models import DuesAmount, DuesPayment
from selfservice import dues
from selfservice.models import Decision, DuesClaim, MemberMessage
from tests.selfservice_helpers import sign_in

TODAY = timezone.localdate()
THIS_MONTH = first_of_month(TODAY)
PAGE = reverse("selfservice:dues")


@pytest.fixture(autouse=True)
def receipts_in_tmp(tmp_path, monkeypatch, settings):
    """Receipts stored under the test's own directory; dues tracked from January."""
    storage = DuesClaim._meta.get_field("receipt").storage
    monkeypatch.setattr(storage, "base_location", str(tmp_path))
    monkeypatch.setattr(storage, "location", str(tmp_path))
    settings.DUES_TRACKING_START = f"{TODAY.year}-01-01"
    return tmp_path


@pytest.fixture
def scene(county):
    county.sec_a = county.secretary(county.branch_a, "sec_a")
    county.sec_b = county.secretary(county.branch_b, "sec_b")
    county.away = county.member(county.branch_a, name="外出甲", phone="13800138001")
    county.other = county.member(county.branch_a, name="外出乙", phone="13800138002")
    DuesAmount.objects.create(
        member=county.away,
        year=TODAY.year,
        basis=DuesAmount.Basis.STUDENT,
        monthly_amount=Decimal("0.20"),
        set_by=county.sec_a,
    )
    return county


def image_bytes(kind: str = "JPEG", size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


def receipt(content: bytes | None = None, name: str = "张三身份证110101.jpg"):
    return SimpleUploadedFile(name, content or image_bytes(), content_type="image/jpeg")


def claim_data(**changes) -> dict:
    data = {
        "from_month": f"{THIS_MONTH:%Y-%m}",
        "to_month": f"{THIS_MONTH:%Y-%m}",
        "amount": "0.20",
        "paid_on": TODAY.isoformat(),
        "receipt": receipt(),
    }
    data.update(changes)
    return data


def submit(client, member, **changes):
    sign_in(client, member)
    return client.post(PAGE, claim_data(**changes))


def claim_for(member, **changes) -> DuesClaim:
    values = {
        "member": member,
        "from_month": THIS_MONTH,
        "to_month": THIS_MONTH,
        "amount": Decimal("0.20"),
        "paid_on": TODAY,
        "receipt": receipt(),
    }
    values.update(changes)
    return dues.submit_claim(**values)


def flashed(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def said(response, msgid: str) -> bool:
    """The staff message `msgid` was shown, in English or in its translation."""
    shown = flashed(response)
    with translation.override("zh-hans"):
        translated = gettext(msgid)
    return any(text.split("%(")[0] in shown for text in (msgid, translated))


# --- what is due --------------------------------------------------------------------------------


def test_months_due_counts_only_confirmed_payments(scene):
    member = scene.away
    january, june, midsummer = (date(TODAY.year, m, d) for m, d in ((1, 1), (6, 1), (6, 15)))
    DuesPayment.objects.create(
        member=member,
        from_month=january,
        to_month=january,
        amount=Decimal("0.20"),
        paid_on=january,
        method=DuesPayment.Method.CASH,
        recorded_by=scene.sec_a,
    )
    claim_for(member, from_month=june, to_month=june, paid_on=midsummer, today=midsummer)
    state = dues.months_due(member, today=midsummer)
    states = {row.month: row.state for row in state.months}
    assert state.monthly_amount == Decimal("0.20")
    assert (states[january], states[june]) == ("paid", "pending")
    assert state.due == [date(TODAY.year, m, 1) for m in (2, 3, 4, 5)]
    assert state.total == Decimal("0.80")
    assert "每月 <strong>0.20</strong> 元" in submit_page(scene.away)


def submit_page(member) -> str:
    client = Client()
    sign_in(client, member)
    return client.get(PAGE).content.decode()


def test_no_rate_tells_the_member_to_ask_the_branch(scene):
    page = submit_page(scene.other)
    assert "本年党费标准尚未核定，请联系党支部" in page
    assert dues.tile(scene.other)["line"].startswith("本年党费标准尚未核定")


def test_tile_counts_the_months_due(scene):
    tile = dues.tile(scene.away)
    assert tile["url"] == PAGE
    assert tile["waiting"] == THIS_MONTH.month
    assert f"{THIS_MONTH.month} 个月未缴" in tile["line"]


# --- the happy path -----------------------------------------------------------------------------


def test_member_reports_branch_confirms_member_sees_it_paid(client, scene, receipts_in_tmp):
    response = submit(client, scene.away)
    assert response.status_code == 302
    claim = DuesClaim.objects.get(member=scene.away)
    assert claim.status == Decision.PENDING
    assert not DuesPayment.objects.filter(member=scene.away).exists()  # not paid yet
    # Stored privately under a random name, never the member's own file name.
    assert claim.receipt.name == f"receipts/{scene.away.pk}/{claim.token}.jpg"
    assert "身份证" not in claim.receipt.name and len(claim.token) == 32
    assert (receipts_in_tmp / claim.receipt.name).exists()
    assert "待党支部确认" in client.get(PAGE).content.decode()

    staff = type(client)()
    staff.force_login(scene.sec_a)
    shown = staff.get(reverse("selfservice:dues_receipt", args=[claim.pk]))
    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/jpeg"
    assert shown["Cache-Control"] == "private, no-store"
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert b"".join(shown.streaming_content) == image_bytes()

    done = staff.post(
        reverse("selfservice:dues_confirm", args=[claim.pk]), {"method": "alipay", "next": "/"}
    )
    assert done.status_code == 302 and done["Location"] == "/"
    claim.refresh_from_db()
    assert claim.status == Decision.CONFIRMED and claim.decided_by == scene.sec_a
    payment = claim.payment
    assert (payment.member, payment.from_month, payment.amount) == (
        scene.away,
        THIS_MONTH,
        Decimal("0.20"),
    )
    assert payment.method == "alipay" and payment.recorded_by == scene.sec_a
    message = MemberMessage.objects.get(member=scene.away, kind="dues_decided")
    assert message.key == f"dues-decided:{claim.pk}:confirmed"
    assert message.values["result"] == "已由党支部确认"  # words: the gateway takes text

    page = client.get(PAGE).content.decode()
    assert "已确认" in page
    assert THIS_MONTH not in dues.months_due(scene.away).due
    assert claim.history.count() == 2  # reported, then decided


def test_branch_returns_with_a_reason_and_the_member_reads_it(client, scene):
    submit(client, scene.away)
    claim = DuesClaim.objects.get(member=scene.away)
    staff = type(client)()
    staff.force_login(scene.sec_a)
    url = reverse("selfservice:dues_return", args=[claim.pk])

    blank = staff.post(url, {"reason": "  ", "next": "/"})
    assert said(blank, "Say why the dues payment is returned: the member reads it.")
    claim.refresh_from_db()
    assert claim.status == Decision.PENDING

    staff.post(url, {"reason": "截图看不清金额", "next": "/"})
    claim.refresh_from_db()
    assert (claim.status, claim.reason) == (Decision.RETURNED, "截图看不清金额")
    assert not DuesPayment.objects.exists()
    message = MemberMessage.objects.get(member=scene.away, kind="dues_decided")
    assert message.values["reason"] == "截图看不清金额"
    page = client.get(PAGE).content.decode()
    assert "已退回" in page and "退回原因：截图看不清金额" in page
    assert THIS_MONTH in dues.months_due(scene.away).due  # a returned claim pays nothing


def test_a_decided_claim_cannot_be_decided_again(client, scene):
    claim = claim_for(scene.away)
    client.force_login(scene.sec_a)
    confirm = reverse("selfservice:dues_confirm", args=[claim.pk])
    client.post(confirm, {"next": "/"})
    again = client.post(confirm, {"next": "https://elsewhere.example/"})
    assert again["Location"] == reverse("selfservice:inbox")  # never off the site
    assert said(again, "This dues payment was already decided: %(decision)s.")
    back = client.post(
        reverse("selfservice:dues_return", args=[claim.pk]), {"reason": "x", "next": "/"}
    )
    assert said(back, "This dues payment was already decided: %(decision)s.")
    claim.refresh_from_db()
    assert claim.status == Decision.CONFIRMED
    assert DuesPayment.objects.count() == 1


def test_refusal_of_the_dues_rules_writes_nothing(client, scene):
    claim = claim_for(scene.away)
    DuesPayment.objects.create(  # the branch recorded these months by hand meanwhile
        member=scene.away,
        from_month=THIS_MONTH,
        to_month=THIS_MONTH,
        amount=Decimal("0.20"),
        paid_on=TODAY,
        method=DuesPayment.Method.CASH,
        recorded_by=scene.sec_a,
    )
    client.force_login(scene.sec_a)
    response = client.post(reverse("selfservice:dues_confirm", args=[claim.pk]), {"next": "/"})
    assert response.status_code == 302
    assert said(response, "Some of these months are already paid.")
    claim.refresh_from_db()
    assert claim.status == Decision.PENDING and claim.payment is None
    assert DuesPayment.objects.count() == 1
    assert not MemberMessage.objects.exists()


# --- who sees what ------------------------------------------------------------------------------


def test_another_branch_gets_404_and_changes_nothing(client, scene):
    claim = claim_for(scene.away)
    client.force_login(scene.sec_b)
    assert client.get(reverse("selfservice:dues_receipt", args=[claim.pk])).status_code == 404
    confirm = client.post(reverse("selfservice:dues_confirm", args=[claim.pk]), {"next": "/"})
    returned = client.post(
        reverse("selfservice:dues_return", args=[claim.pk]), {"reason": "x", "next": "/"}
    )
    assert (confirm.status_code, returned.status_code) == (404, 404)
    claim.refresh_from_db()
    assert claim.status == Decision.PENDING and not DuesPayment.objects.exists()


def test_pending_for_is_scoped_to_the_home_side(scene):
    claim = claim_for(scene.away)
    reviewer = scene.reviewer(scene.township_a)
    assert list(dues.pending_for(scene.sec_a)) == [claim]
    assert list(dues.pending_for(reviewer)) == [claim]
    assert not dues.pending_for(scene.sec_b).exists()
    dues.confirm_claim(actor=scene.sec_a, claim=claim)
    assert not dues.pending_for(scene.sec_a).exists()


def test_member_sees_only_their_own_claims_and_no_receipt(client, scene):
    claim_for(scene.other, amount=Decimal("9.99"))
    theirs = DuesClaim.objects.get(member=scene.other)
    sign_in(client, scene.away)
    page = client.get(PAGE).content.decode()
    assert "9.99" not in page
    # A member's device is no staff login: the receipt is not theirs to open.
    response = client.get(reverse("selfservice:dues_receipt", args=[theirs.pk]))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_without_a_signed_in_device_nothing_is_stored(client, scene, receipts_in_tmp):
    response = client.post(PAGE, claim_data())
    assert response.status_code == 403
    assert not DuesClaim.objects.exists() and not any(receipts_in_tmp.iterdir())


def test_inbox_fragment_posts_to_the_staff_urls(scene):
    claim = claim_for(scene.away)
    request = RequestFactory().get("/self-service/inbox/")
    request.user = scene.sec_a
    html = render_to_string(
        "selfservice/inbox/dues.html", {"rows": dues.pending_for(scene.sec_a)}, request=request
    )
    for name in ("dues_receipt", "dues_confirm", "dues_return"):
        assert reverse(f"selfservice:{name}", args=[claim.pk]) in html
    assert "csrfmiddlewaretoken" in html and 'name="reason"' in html


# --- bad input ----------------------------------------------------------------------------------


def refused(response, text: str) -> str:
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert text in page, page
    assert not DuesClaim.objects.exists()
    return page


def test_not_an_image_is_refused_and_the_typed_values_stay(client, scene):
    page = refused(
        submit(client, scene.away, amount="3.70", receipt=receipt(b"%PDF-1.4 not a photo")),
        "上传的文件不是图片或已损坏",
    )
    assert 'value="3.70"' in page


def test_a_format_other_than_jpeg_png_webp_is_refused_by_name(client, scene):
    gif = receipt(image_bytes("GIF"), name="receipt.jpg")  # the name proves nothing
    refused(submit(client, scene.away, receipt=gif), "仅支持 JPG、PNG 或 WebP 格式")


def test_an_iphone_heic_photo_is_told_which_formats(client, scene):
    heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 200
    refused(
        submit(client, scene.away, receipt=receipt(heic, name="IMG_0001.HEIC")), "HEIC 照片请先截图"
    )


def test_png_and_webp_are_kept_with_their_own_suffix(scene):
    png = claim_for(scene.away, receipt=receipt(image_bytes("PNG"), name="a.jpg"))
    webp = claim_for(
        scene.away, amount=Decimal("0.40"), receipt=receipt(image_bytes("WEBP"), name="b")
    )
    assert png.receipt.name.endswith(".png") and webp.receipt.name.endswith(".webp")
    assert dues.content_type_of(webp) == "image/webp"


def test_an_oversized_receipt_gets_the_size_message(client, scene, receipts_in_tmp):
    big = b"\x89PNG\r\n\x1a\n" + os.urandom(5 * 1024 * 1024 + 10)
    response = submit(client, scene.away, amount="1.20", receipt=receipt(big, name="big.png"))
    page = refused(response, "收据图片不能超过 5 MB")
    assert 'value="1.20"' in page
    assert "receipt" not in response.wsgi_request.FILES  # dropped while streaming in
    assert not any(receipts_in_tmp.iterdir())


def test_the_size_limit_is_a_setting(client, scene, settings):
    settings.RECEIPT_MAX_BYTES = 1000
    photo = receipt(image_bytes("PNG", size=(300, 300)) + b"\0" * 1000)
    refused(submit(client, scene.away, receipt=photo), "收据图片不能超过")


def test_missing_receipt_and_months_in_the_wrong_order(client, scene):
    last = THIS_MONTH - relativedelta(months=1)
    page = refused(
        submit(client, scene.away, receipt="", to_month=f"{last:%Y-%m}"),
        "请选择缴费凭证的照片或截图",
    )
    assert "截止月份不能早于起始月份" in page


def test_a_future_payment_day_and_a_bad_month(client, scene):
    later = (TODAY + timedelta(days=2)).isoformat()
    page = refused(
        submit(client, scene.away, paid_on=later, from_month="2025-13"), "缴费日期不能晚于今天"
    )
    assert "请输入月份" in page


def test_back_payment_beyond_the_limit_is_refused(client, scene, settings):
    settings.DUES_BACK_PAYMENT_MONTHS = 6
    old = THIS_MONTH - relativedelta(months=8)
    refused(submit(client, scene.away, from_month=f"{old:%Y-%m}"), "补交党费最多补 6 个月")


def test_the_same_claim_twice_is_refused_with_a_message(client, scene):
    submit(client, scene.away)
    again = client.post(PAGE, claim_data())
    assert again.status_code == 200
    assert "请勿重复提交" in again.content.decode()
    assert DuesClaim.objects.count() == 1

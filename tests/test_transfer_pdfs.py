from datetime import date
from io import BytesIO

import pypdfium2 as pdfium
import pytest
import zxingcpp
from pypdf import PdfReader

from members.models import ExternalOrganisation, Member
from transfers.models import (
    ActivityCertificate,
    CertificateReview,
    IntroductionLetter,
    RelationshipTransfer,
)
from transfers.pdf import certificate_pdf, letter_pdf

VERIFY_URL = "http://testserver/verify/certificate/abc123/"


def text_of(data: bytes) -> str:
    reader = PdfReader(BytesIO(data))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


@pytest.fixture
def certificate(county):
    member = county.member(county.branch_a, name="李四海", gender=Member.Gender.FEMALE)
    certificate = ActivityCertificate.objects.create(
        number="330101-2026-00042",
        member=member,
        issuing_branch=county.branch_a,
        stamping_committee=county.township_a,
        issued_on=date(2026, 3, 2),
        reason="外出务工",
        destination="浙江省杭州市西湖区",
        inflow_external=ExternalOrganisation.objects.create(
            name="西湖区流动党员党支部", region="浙江省杭州市"
        ),
        arrived_on=date(2026, 3, 10),
        inflow_contact="王五 13900000000",
    )
    CertificateReview.objects.create(
        certificate=certificate,
        year=2026,
        reviewed_on=date(2026, 12, 20),
        result=CertificateReview.Result.PASSED,
        note="按时参加组织生活",
    )
    return certificate


def make_letter(county, *, to_external: bool = False) -> IntroductionLetter:
    member = county.member(
        county.branch_a,
        name="赵六",
        birth_date=date(1990, 8, 20),
        category=Member.Category.PROBATIONARY,
        joined_on=date(2025, 7, 1),
        confirmed_on=None,
    )
    destination = (
        {
            "to_external": ExternalOrganisation.objects.create(
                name="幸福社区党委", region="江苏省南京市"
            )
        }
        if to_external
        else {"to_organisation": county.branch_b}
    )
    transfer = RelationshipTransfer.objects.create(
        member=member,
        from_branch=county.branch_a,
        reason="工作调动",
        state=RelationshipTransfer.State.APPROVED,
        requested_by=county.secretary(county.branch_a),
        **destination,
    )
    return IntroductionLetter.objects.create(
        transfer=transfer,
        number="330101-L-2026-007",
        issued_on=date(2026, 5, 18),
        valid_days=30,
        expires_on=date(2026, 6, 17),
        dues_paid_until=date(2026, 4, 1),
    )


def test_certificate_pdf_shows_the_certificate_but_not_the_id_number(certificate):
    data = certificate_pdf(certificate, verify_url=VERIFY_URL)

    assert data.startswith(b"%PDF")
    text = text_of(data)
    assert "330101-2026-00042" in text
    assert "李四海" in text
    assert "流动党员活动证" in text
    assert "西湖区流动党员党支部" in text
    assert "甲镇党委" in text
    assert "按时参加组织生活" in text
    assert "扫码核验真伪" in text
    assert certificate.member.national_id not in text
    assert certificate.member.national_id[-6:] not in text


def test_certificate_qr_code_opens_the_verify_url(certificate):
    data = certificate_pdf(certificate, verify_url=VERIFY_URL)

    image = pdfium.PdfDocument(data)[0].render(scale=3).to_pil()
    results = zxingcpp.read_barcodes(image)
    assert [result.text for result in results] == [VERIFY_URL]


def test_letter_pdf_has_stub_letter_and_receipt(county):
    letter = make_letter(county)
    data = letter_pdf(letter)

    assert data.startswith(b"%PDF")
    text = text_of(data)
    assert text.count("330101-L-2026-007") >= 3
    assert text.count("赵六") >= 3
    assert "丙村党支部：" in text  # the letter is addressed to the destination
    assert "甲村党支部：" in text  # the receipt is addressed back to the origin
    assert "2026年4月" in text  # dues paid up to
    assert "35岁" in text  # full years on 18 May 2026, born 20 August 1990
    assert "预备党员" in text
    assert "有效期30天" in text
    assert letter.transfer.member.national_id in text
    assert "特此回执" in text


def test_letter_pdf_for_an_external_destination(county):
    letter = make_letter(county, to_external=True)
    data = letter_pdf(letter)

    assert data.startswith(b"%PDF")
    text = text_of(data)
    assert text.count("330101-L-2026-007") >= 3
    assert "幸福社区党委（江苏省南京市）" in text

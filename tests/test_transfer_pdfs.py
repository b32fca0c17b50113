import re
from datetime import date
from io import BytesIO

import pypdfium2 as pdfium
import pytest
import zxingcpp
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

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


# --- the font travels with the document ------------------------------------------------------

# The fonts every PDF viewer has; any other font must be embedded.
STANDARD_14 = {
    "/Courier",
    "/Courier-Bold",
    "/Courier-BoldOblique",
    "/Courier-Oblique",
    "/Helvetica",
    "/Helvetica-Bold",
    "/Helvetica-BoldOblique",
    "/Helvetica-Oblique",
    "/Symbol",
    "/Times-Bold",
    "/Times-BoldItalic",
    "/Times-Italic",
    "/Times-Roman",
    "/ZapfDingbats",
}


def fonts_of(data: bytes) -> dict[str, dict]:
    """BaseFont -> the font dictionary that carries its descriptor (descendant of a Type0)."""
    page = PdfReader(BytesIO(data)).pages[0]
    fonts = {}
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        if font["/Subtype"] == "/Type0":
            font = font["/DescendantFonts"][0].get_object()
        fonts[str(font["/BaseFont"])] = font
    return fonts


def embedded(font: dict) -> bool:
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    descriptor = descriptor.get_object()
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


@pytest.mark.parametrize("document", ["certificate", "letter"])
def test_pdfs_embed_their_chinese_font(certificate, county, document):
    if document == "certificate":
        data, name = certificate_pdf(certificate, verify_url=VERIFY_URL), "李四海"
    else:
        data, name = letter_pdf(make_letter(county)), "赵六"

    fonts = fonts_of(data)
    chinese = [font for base, font in fonts.items() if "WenQuanYi" in base]
    assert chinese, f"no embedded Chinese font, only {sorted(fonts)}"
    assert all(embedded(font) for font in chinese)
    assert all("/FontFile2" in font["/FontDescriptor"].get_object() for font in chinese)
    not_embedded = [
        base for base, font in fonts.items() if base not in STANDARD_14 and not embedded(font)
    ]
    assert not_embedded == []  # STSong-Light, reportlab's CID font, was never embedded
    assert not any("STSong" in base for base in fonts)
    # Subsets of the glyphs used, with their Unicode map: the text still reads back.
    text = text_of(data)
    assert name in text
    assert "流动党员活动证" in text if document == "certificate" else "介绍信" in text


def test_every_character_printed_has_a_glyph_even_outside_gb2312(county):
    """No empty box on a Party document: the font has every character the letter prints,
    names outside GB2312 (堃, 喆, 玥...) and the full-width punctuation included."""
    from transfers.pdf import FONT, register_font

    letter = make_letter(county)
    letter.transfer.member.name = "王堃喆玥"
    letter.transfer.member.save()
    text = text_of(letter_pdf(letter))
    assert text.count("王堃喆玥") >= 3
    register_font()
    glyphs = pdfmetrics.getFont(FONT).face.charToGlyph
    missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in glyphs})
    assert missing == []


# --- the paper form's seal, photo and contact lines --------------------------------------------


def test_letter_carries_the_seal_line_and_the_issuers_address_and_phone(county):
    county.branch_a.phone = "0571-87654321"
    county.branch_a.address = "浙江省杭州市西湖区文三路100号"
    county.branch_a.save()
    letter = make_letter(county)

    text = text_of(letter_pdf(letter))
    assert "甲村党支部（盖章）" in text  # the seal line: the issuing organisation's name
    after_seal = text[text.index("甲村党支部（盖章）") :]
    assert "2026年5月18日" in after_seal  # and the date under it
    lines = re.sub(r"\s", "", text)  # a label and its value are extracted as two lines
    assert "原党组织联系电话：0571-87654321" in lines
    assert "原党组织通讯地址：浙江省杭州市西湖区文三路100号" in lines
    assert "党员联系电话：13800138000" in lines


def test_letter_leaves_the_address_and_phone_to_fill_in_when_not_recorded(county):
    text = text_of(letter_pdf(make_letter(county)))
    assert "原党组织联系电话" in text and "原党组织通讯地址" in text
    assert "0571" not in text


def rectangles(data: bytes) -> list[tuple[float, float]]:
    """Width and height of every rectangle drawn on the page (the `re` operator)."""
    content = PdfReader(BytesIO(data)).pages[0].get_contents().get_data().decode("latin-1")
    number = r"(-?\d+(?:\.\d+)?)"
    pattern = rf"{number}\s+{number}\s+{number}\s+{number}\s+re\b"
    return [(abs(float(w)), abs(float(h))) for _x, _y, w, h in re.findall(pattern, content)]


def test_certificate_has_a_photo_box_and_a_seal_area(certificate):
    data = certificate_pdf(certificate, verify_url=VERIFY_URL)

    text = text_of(data)
    assert "照片" in text and "一寸" in text
    assert "（盖章）" in text
    assert text.count("盖章党委") >= 2  # the field, and the label of the seal area
    one_inch = (25 * 72 / 25.4, 35 * 72 / 25.4)  # 25 × 35 mm in points
    assert any(
        abs(w - one_inch[0]) < 0.5 and abs(h - one_inch[1]) < 0.5 for w, h in rectangles(data)
    ), rectangles(data)

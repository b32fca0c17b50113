"""Printable documents: the activity certificate (活动证) and the introduction letter (介绍信).

reportlab draws them with a TrueType Chinese font that ships in `fonts/` (WenQuanYi Micro Hei,
see fonts/README.md) and is embedded, as a subset of the glyphs used, in every PDF: the
documents look the same in every viewer. The QR code is reportlab's built-in widget. Both
functions return the bytes of a one-page A4 PDF.
"""

import functools
import re
from datetime import date
from io import BytesIO
from pathlib import Path

from django.utils import translation
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as pdfcanvas

from members.models import Member

from .models import ActivityCertificate, IntroductionLetter

FONT = "WenQuanYiMicroHei"
FONT_FILE = Path(__file__).resolve().parent / "fonts" / "wqy-microhei.ttc"


@functools.cache
def register_font() -> str:
    """Register the embedded font once per process, on the first PDF (not at import)."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE), subfontIndex=0))
    return FONT


PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 20 * mm
RIGHT = PAGE_WIDTH - 20 * mm
WIDTH = RIGHT - LEFT
QR_SIZE = 35 * mm
ROW = 9 * mm  # height of one labelled line
PHOTO_WIDTH, PHOTO_HEIGHT = 25 * mm, 35 * mm  # 一寸照片
SEAL_RADIUS = 17 * mm  # an organisation's round seal is 38-45 mm across
SIDE_COLUMN = 2 * SEAL_RADIUS + 4 * mm  # the certificate's photo and seal column
NO_LINE_START = "，。、；：！？）》」”…"  # punctuation that never begins a line
# The certificate rules: a holder's rights at the inflow side (also on the certificate's page).
HOLDER_RIGHTS = (
    "持证党员在流入地参加组织生活、交纳党费，不参加流入地党组织的选举，"
    "不享有表决权、选举权和被选举权。"
)


# --- helpers -----------------------------------------------------------------------------


def _cn_date(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def _age_at(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Split text into lines no wider than `width`; runs of letters and digits stay whole.

    One character's room is kept free so that punctuation may hang at the end of a line.
    """
    width -= size
    lines, line = [], ""
    for piece in re.findall(r"[A-Za-z0-9]+|\n|.", text):
        if piece == "\n":
            lines.append(line)
            line = ""
        elif (
            line
            and piece not in NO_LINE_START
            and pdfmetrics.stringWidth(line + piece, FONT, size) > width
        ):
            lines.append(line)
            line = piece
        else:
            line += piece
    lines.append(line)
    return lines


def _paragraph(c, x: float, y: float, text: str, width: float, size: float = 12) -> float:
    """Draw wrapped text with its first baseline at y; return the y below the last line."""
    c.setFont(FONT, size)
    for line in _wrap(text, width, size):
        c.drawString(x, y, line)
        y -= size * 1.7
    return y


def _field(
    c, x: float, y: float, label: str, value: str, width: float, max_lines: int = 2
) -> float:
    """Draw "label：value" with the value on underlines (blank lines when empty); return y."""
    size = 11
    label = f"{label}："
    c.setFont(FONT, size)
    c.drawString(x, y, label)
    start = x + pdfmetrics.stringWidth(label, FONT, size) + 1 * mm
    lines = _wrap(value, x + width - start - 1 * mm, size)
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [lines[max_lines - 1][:-1] + "…"]
    c.setLineWidth(0.5)
    for line in lines:
        c.drawString(start + 1 * mm, y, line)
        c.line(start, y - 1.5 * mm, x + width, y - 1.5 * mm)
        y -= ROW
    return y


def _heading(c, y: float, text: str, size: float = 13) -> float:
    c.setFont(FONT, size)
    c.drawString(LEFT, y, text)
    return y - 8 * mm


def _qr(c, x: float, y: float, size: float, data: str) -> None:
    widget = QrCodeWidget(data, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, c, x, y)


def _cut_line(c, y: float) -> None:
    c.saveState()
    c.setDash(4, 3)
    c.setLineWidth(0.6)
    c.line(10 * mm, y, PAGE_WIDTH - 10 * mm, y)
    c.setDash()
    c.setFont(FONT, 8)
    label = "（沿此线剪开）"
    w = pdfmetrics.stringWidth(label, FONT, 8)
    c.setFillColorRGB(1, 1, 1)
    c.rect((PAGE_WIDTH - w) / 2 - 2 * mm, y - 2 * mm, w + 4 * mm, 4 * mm, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    c.drawCentredString(PAGE_WIDTH / 2, y - 1 * mm, label)
    c.restoreState()


def _number_line(c, y: float, number: str) -> None:
    c.setFont(FONT, 11)
    c.drawRightString(RIGHT, y, f"编号：{number}")


# --- 流动党员活动证 ------------------------------------------------------------------------


def _photo_box(c, x: float, top: float) -> float:
    """一寸照片: a 25 × 35 mm frame labelled 照片, its top-left corner at (x, top); return its
    bottom."""
    bottom = top - PHOTO_HEIGHT
    c.saveState()
    c.setLineWidth(0.6)
    c.rect(x, bottom, PHOTO_WIDTH, PHOTO_HEIGHT)
    c.setFillColorRGB(0.45, 0.45, 0.45)
    c.setFont(FONT, 11)
    c.drawCentredString(x + PHOTO_WIDTH / 2, bottom + PHOTO_HEIGHT / 2, "照片")
    c.setFont(FONT, 8)
    c.drawCentredString(x + PHOTO_WIDTH / 2, bottom + PHOTO_HEIGHT / 2 - 5 * mm, "（一寸免冠）")
    c.restoreState()
    return bottom


def _seal_area(c, x: float, top: float, label: str) -> float:
    """A dashed circle where the organisation stamps, its label under the centre; return the
    bottom of the area."""
    centre_y = top - SEAL_RADIUS
    c.saveState()
    c.setLineWidth(0.6)
    c.setDash(2, 2)
    c.circle(x, centre_y, SEAL_RADIUS)
    c.setDash()
    c.setFillColorRGB(0.45, 0.45, 0.45)
    c.setFont(FONT, 9)
    c.drawCentredString(x, centre_y + 1 * mm, label)
    c.drawCentredString(x, centre_y - 4 * mm, "（盖章）")
    c.restoreState()
    return centre_y - SEAL_RADIUS


def certificate_pdf(certificate: ActivityCertificate, *, verify_url: str) -> bytes:
    """The activity certificate, with a QR code that opens `verify_url`. No ID number on it.

    Like the paper form it has a frame for a one-inch photo and the stamping committee's seal
    area, in a column on the right; the fields beside that column are narrower.
    """
    register_font()
    with translation.override("zh-hans"):
        member = certificate.member
        buffer = BytesIO()
        c = pdfcanvas.Canvas(buffer, pagesize=A4)
        c.setTitle(f"流动党员活动证 {certificate.number}")

        c.setFont(FONT, 22)
        c.drawCentredString(PAGE_WIDTH / 2, PAGE_HEIGHT - 28 * mm, "流动党员活动证")
        _number_line(c, PAGE_HEIGHT - 40 * mm, certificate.number)

        # The right-hand column: the photo, and under it the seal area.
        column_centre = RIGHT - SIDE_COLUMN / 2
        photo_bottom = _photo_box(c, column_centre - PHOTO_WIDTH / 2, PAGE_HEIGHT - 46 * mm)
        column_bottom = _seal_area(c, column_centre, photo_bottom - 5 * mm, "盖章党委")

        def room(y: float) -> float:
            """The width a field line at baseline y may take: clear of the column."""
            return WIDTH - SIDE_COLUMN - 4 * mm if y + 5 * mm > column_bottom else WIDTH

        y = PAGE_HEIGHT - 52 * mm
        pairs = [
            (("姓名", member.name), ("性别", member.get_gender_display())),
            (("民族", member.ethnicity), ("出生日期", _cn_date(member.birth_date))),
            (("入党日期", _cn_date(member.joined_on)), ("人员类别", member.get_category_display())),
        ]
        for (label1, value1), (label2, value2) in pairs:
            half = (room(y) - 8 * mm) / 2
            _field(c, LEFT, y, label1, value1, half, max_lines=1)
            y = _field(c, LEFT + half + 8 * mm, y, label2, value2, half, max_lines=1)
        inflow = certificate.inflow
        for label, value in [
            ("组织关系所在党支部", certificate.issuing_branch.name),
            ("盖章党委", certificate.stamping_committee.name),
            ("发证日期", _cn_date(certificate.issued_on)),
            ("外出原因", certificate.reason),
            ("外出地点", certificate.destination),
            ("流入地党组织", str(inflow) if inflow else ""),
        ]:
            y = _field(c, LEFT, y, label, value, room(y))

        # 年审记录: the reviews, oldest first, and blank rows to fill in by hand.
        y = _heading(c, y - 2 * mm, "年审记录")
        reviews = sorted(certificate.reviews.all(), key=lambda review: review.year)[-6:]
        rows = [
            [str(r.year), _cn_date(r.reviewed_on), r.get_result_display(), r.note] for r in reviews
        ]
        rows += [["", "", "", ""]] * max(0, 3 - len(rows))
        columns = [LEFT, LEFT + 22 * mm, LEFT + 62 * mm, LEFT + 90 * mm, RIGHT]
        row_height = 7 * mm
        top = y + 5 * mm
        bottom = top - row_height * (len(rows) + 1)
        c.setLineWidth(0.6)
        c.grid(columns, [top - i * row_height for i in range(len(rows) + 2)])
        c.setFont(FONT, 10)
        for i, row in enumerate([["年度", "审核日期", "结果", "备注"], *rows]):
            baseline = top - (i + 1) * row_height + 2.3 * mm
            for j, text in enumerate(row):
                room = columns[j + 1] - columns[j] - 6 * mm
                lines = _wrap(text, room, 10)
                shown = lines[0] + ("…" if len(lines) > 1 else "")
                c.drawString(columns[j] + 2 * mm, baseline, shown)
        y = bottom - 9 * mm

        # 流入地登记: filled in by (or for) the inflow side; kept clear of the QR code.
        y = _heading(c, y, "流入地登记")
        narrow = WIDTH - QR_SIZE - 8 * mm
        y = _paragraph(c, LEFT, y + 1 * mm, HOLDER_RIGHTS, narrow, size=10) - 3 * mm
        half = (narrow - 6 * mm) / 2
        _field(c, LEFT, y, "报到日期", _cn_date(certificate.arrived_on), half, max_lines=1)
        y = _field(
            c, LEFT + half + 6 * mm, y, "联系人", certificate.inflow_contact, half, max_lines=1
        )
        y = _field(c, LEFT, y, "离开日期", _cn_date(certificate.departed_on), narrow, 1)
        y = _field(c, LEFT, y, "参加组织生活情况", certificate.departure_participation, narrow, 3)
        _field(c, LEFT, y, "党费缴纳情况", certificate.departure_dues, narrow, 1)

        qr_x, qr_y = RIGHT - QR_SIZE, 26 * mm
        _qr(c, qr_x, qr_y, QR_SIZE, verify_url)
        c.setFont(FONT, 9)
        c.drawCentredString(qr_x + QR_SIZE / 2, qr_y - 3 * mm, "扫码核验真伪")

        c.setLineWidth(0.5)
        c.line(LEFT, 16 * mm, RIGHT, 16 * mm)
        status = f"证件状态：{certificate.get_status_display()}"
        if certificate.ended_on:
            status += f"（{_cn_date(certificate.ended_on)}）"
        c.setFont(FONT, 10)
        c.drawString(LEFT, 11 * mm, status)
        c.drawRightString(RIGHT, 11 * mm, f"编号：{certificate.number}")

        c.showPage()
        c.save()
        return buffer.getvalue()


# --- 中国共产党党员组织关系介绍信 --------------------------------------------------------------


def letter_pdf(letter: IntroductionLetter) -> bytes:
    """Stub, letter and receipt on one page, separated by dashed cut lines."""
    register_font()
    with translation.override("zh-hans"):
        transfer = letter.transfer
        member = transfer.member
        to = str(transfer.destination)
        origin = str(transfer.origin or "")
        issuer = transfer.from_branch.name if transfer.from_branch else origin
        kind = "预备" if member.category == Member.Category.PROBATIONARY else "正式"
        who = (
            f"{member.name}同志（{member.get_gender_display()}，"
            f"{_age_at(member.birth_date, letter.issued_on)}岁，{member.ethnicity}），"
            f"系中共{kind}党员，身份证号码{member.national_id}"
        )
        dues = f"{letter.dues_paid_until.year}年{letter.dues_paid_until.month}月"
        indent = "\u3000\u3000"

        buffer = BytesIO()
        c = pdfcanvas.Canvas(buffer, pagesize=A4)
        c.setTitle(f"党员组织关系介绍信 {letter.number}")

        # 存根: kept by the issuing organisation.
        y = PAGE_HEIGHT - 22 * mm
        c.setFont(FONT, 15)
        c.drawCentredString(PAGE_WIDTH / 2, y, "中国共产党党员组织关系介绍信（存根）")
        _number_line(c, y - 10 * mm, letter.number)
        text = (
            f"{indent}{who}，组织关系由{origin}转到{to}。"
            f"党员的党费已交到{dues}。有效期{letter.valid_days}天。"
        )
        y = _paragraph(c, LEFT, y - 20 * mm, text, WIDTH)
        c.drawRightString(RIGHT, y - 2 * mm, _cn_date(letter.issued_on))
        _cut_line(c, PAGE_HEIGHT - 90 * mm)

        # 介绍信: travels with the member to the receiving organisation.
        y = PAGE_HEIGHT - 104 * mm
        c.setFont(FONT, 17)
        c.drawCentredString(PAGE_WIDTH / 2, y, "中国共产党党员组织关系介绍信")
        _number_line(c, y - 10 * mm, letter.number)
        y = _paragraph(c, LEFT, y - 20 * mm, f"{to}：", WIDTH)
        text = (
            f"{indent}兹介绍{who}，组织关系由{origin}转到{to}，请接洽。"
            f"党员的党费已交到{dues}。（有效期{letter.valid_days}天）"
        )
        y = _paragraph(c, LEFT, y, text, WIDTH)
        # The seal line: the issuing organisation stamps over its name and the date.
        c.drawRightString(RIGHT, y - 6 * mm, f"{issuer}（盖章）")
        c.drawRightString(RIGHT, y - 14 * mm, _cn_date(letter.issued_on))
        # Where the receiving side reaches the member and the issuing organisation, as on the
        # paper form; left blank (to fill in by hand) when not recorded.
        sender = transfer.from_branch
        y = PAGE_HEIGHT - 183 * mm
        half = (WIDTH - 8 * mm) / 2
        _field(c, LEFT, y, "党员联系电话", member.phone, half, max_lines=1)
        phone = sender.phone if sender else ""
        y = _field(c, LEFT + half + 8 * mm, y, "原党组织联系电话", phone, half, max_lines=1)
        address = sender.address if sender else ""
        _field(c, LEFT, y + 1 * mm, "原党组织通讯地址", address, WIDTH, max_lines=1)
        _cut_line(c, PAGE_HEIGHT - 200 * mm)

        # 回执: returned by the receiving organisation.
        y = PAGE_HEIGHT - 214 * mm
        c.setFont(FONT, 15)
        c.drawCentredString(PAGE_WIDTH / 2, y, "中国共产党党员组织关系介绍信（回执）")
        _number_line(c, y - 10 * mm, letter.number)
        y = _paragraph(c, LEFT, y - 20 * mm, f"{origin}：", WIDTH)
        text = f"{indent}{member.name}同志的党员组织关系已转达我处，特此回执。"
        y = _paragraph(c, LEFT, y, text, WIDTH)
        half = (WIDTH - 10 * mm) / 2
        x = RIGHT - half
        y = _field(c, x, y - 4 * mm, "接收党组织（盖章）", "", half, max_lines=1)
        c.setFont(FONT, 12)
        c.drawRightString(RIGHT, y - 4 * mm, "年\u3000\u3000月\u3000\u3000日")

        c.showPage()
        c.save()
        return buffer.getvalue()

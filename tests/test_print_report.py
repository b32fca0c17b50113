"""The printable dashboard report on A4 paper (issue #17): printed to PDF by headless Chromium.

Page 1 is the cover (the organisation, the date, the headline figures, who printed it) with no
blank page before it; the thirteen-column unit table prints landscape; every page has
"page / pages", the report's organisation and date in its margins; no table column is narrower
than two characters. Drives Debian's Chromium through Playwright against the live server, like
tests/test_browser_dashboard.py; skipped without Chromium, a failure when REQUIRE_SERVICES=1.
"""

import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import Organisation
from reports.snapshots import take_snapshots
from transfers.models import MobilityEpisode

from .browser import ARTIFACTS, log_in

TODAY = timezone.localdate()
MM = 96 / 25.4  # CSS pixels per millimetre
# The page area of A4 in print.css (margins 14 mm left and right), portrait and landscape.
PORTRAIT_WIDTH = round((210 - 28) * MM)
LANDSCAPE_WIDTH = round((297 - 28) * MM)
CITIES = [
    ("广东省", "深圳市"),
    ("广东省", "广州市"),
    ("广东省", "东莞市"),
    ("浙江省", "杭州市"),
    ("浙江省", "宁波市"),
    ("江苏省", "苏州市"),
    ("江苏省", "南京市"),
    ("上海市", "市辖区"),
    ("北京市", "市辖区"),
    ("福建省", "厦门市"),
    ("四川省", "成都市"),
    ("湖北省", "武汉市"),
    ("新疆维吾尔自治区", "乌鲁木齐市"),
    ("内蒙古自治区", "呼和浩特市"),
]

# Every visible table cell: its width, its font size, where it is (for the message), and
# whether it prints on a landscape ("wide") page.
MEASURE_CELLS = """
() => [...document.querySelectorAll("main table th, main table td")]
  .filter((cell) => cell.getClientRects().length > 0)
  .map((cell) => {
    let wide = false;
    for (let node = cell; node && node !== document.body; node = node.parentElement) {
      if (getComputedStyle(node).page === "wide") { wide = true; break; }
    }
    return {
      width: cell.getBoundingClientRect().width,
      font: parseFloat(getComputedStyle(cell).fontSize),
      text: cell.innerText.trim().slice(0, 20),
      table: cell.closest("section, figure") ? (cell.closest("section, figure").id
        || cell.closest("section, figure").getAttribute("aria-labelledby")
        || cell.closest("section, figure").className) : "",
      wide: wide,
    };
  })
"""


# Tables that would be cut off at the page's right edge: wider than the page area.
MEASURE_OVERFLOW = """
() => [...document.querySelectorAll("main table")]
  .filter((table) => table.getClientRects().length > 0)
  .filter((table) => table.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map((table) => (table.closest("section, figure") || table).getAttribute("aria-labelledby")
    || table.className)
"""


def away(member, *, days, province, city, kind="work", country=""):
    return MobilityEpisode.objects.create(
        member=member,
        mobility_type=kind,
        left_on=TODAY - timedelta(days=days),
        destination_country=country,
        destination_province=province,
        destination_city=city,
        occupation="务工",
    )


@pytest.fixture
def printed_county(county):
    """A county with members away in many cities and abroad, and a year of nightly counts."""
    c = county
    c.printer = c.reviewer(c.county, "rev-wang")
    for name in (
        "城关镇党委",
        "清溪街道党工委",
        "新疆维吾尔自治区乌鲁木齐市清溪商会流动党员联合党委",  # a long name wraps, not the headers
        "白马镇党委",
        "石门乡党委",
        "县直机关工委",
    ):
        Organisation.objects.add_child(
            c.county, {"name": name, "kind": Organisation.Kind.COMMITTEE}
        )
    c.county.refresh_from_db()
    branches = [c.branch_a, c.branch_a2, c.branch_b]
    surnames = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"
    for i in range(60):
        member = c.member(
            branches[i % 3], name=f"{surnames[i % len(surnames)]}{'建国志强'[i % 4]}{i}"
        )
        if i % 4 == 3:
            continue  # at home
        if i % 10 == 0:
            away(member, days=100, province="", city="", kind="abroad", country="日本")
        else:
            province, city = CITIES[i % len(CITIES)]
            away(member, days=20 + 7 * i, province=province, city=city)
    for days_ago in (90, 60, 30):
        take_snapshots(today=TODAY - timedelta(days=days_ago))
    return c


# The running header and footer in the page margins (print.css): the report's title, the date
# of its figures, who printed it and when, "page / pages".
RUNNING = re.compile(
    r"\S*流动党员情况报告|数据截至\d{4}-\d\d-\d\d|打印人：\S+，打印时间：[\d: -]+|\d+ / \d+"
)


def _body(text: str) -> str:
    """A printed page's text without its running header and footer."""
    return re.sub(r"\s+", "", RUNNING.sub("", text))


def _narrowest(cells: list[dict]) -> dict:
    return min(cells, key=lambda cell: cell["width"] / cell["font"])


@pytest.mark.browser
@pytest.mark.services
def test_the_report_prints_on_a4_with_a_cover_page_numbers_and_no_narrow_columns(
    live_server, printed_county, browser_page
):
    from pypdf import PdfReader

    c, page = printed_county, browser_page
    log_in(page, live_server.url, "rev-wang")
    url = f"{live_server.url}{reverse('reports:dashboard_print')}?org={c.county.pk}"
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    assert not errors, errors  # the CSP allowed print.js and its CSSOM

    # Measure every column as it is laid out for paper: print media, at the width of the
    # page area it prints on (portrait, or landscape for the wide unit table).
    page.emulate_media(media="print")
    measured = {}
    for wide, width in ((False, PORTRAIT_WIDTH), (True, LANDSCAPE_WIDTH)):
        page.set_viewport_size({"width": width, "height": 1100})
        cells = [cell for cell in page.evaluate(MEASURE_CELLS) if cell["wide"] == wide]
        assert cells, f"no table cells measured on {'landscape' if wide else 'portrait'} pages"
        measured[wide] = cells
        narrow = [cell for cell in cells if cell["width"] < 2 * cell["font"]]
        assert not narrow, narrow[:5]
        cut_off = page.evaluate(MEASURE_OVERFLOW)
        assert not cut_off or wide is False and set(cut_off) <= {"units"}, cut_off
    narrowest = _narrowest(measured[False] + measured[True])
    assert {cell["table"] for cell in measured[True]} == {"units"}

    pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "dashboard-print.pdf").write_bytes(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    pages = reader.pages
    total = len(pages)
    texts = [p.extract_text() or "" for p in pages]
    print(
        f"\nprinted report: {total} pages; narrowest column {narrowest['width']:.1f}px"
        f" at {narrowest['font']:.1f}px font ({narrowest['width'] / narrowest['font']:.2f} "
        f"characters): {narrowest['text']!r} in {narrowest['table']}"
    )
    assert total >= 3

    # The cover is page 1 (no blank page before it): the organisation, the date of the figures,
    # the headline figures and who printed it, on portrait A4.
    cover = texts[0]
    assert c.county.name in cover
    assert TODAY.isoformat() in cover
    assert "rev-wang" in cover  # who printed it
    assert "主要指标" in cover  # "Headline figures"
    assert "no_life_6_months" in cover  # the note that ends the headline figures: all on page 1
    assert "下级单位" not in cover  # the unit table begins on a page of its own
    width, height = pages[0].mediabox.width, pages[0].mediabox.height
    assert abs(float(width) - 595.3) < 2 and abs(float(height) - 841.9) < 2  # A4 portrait

    # Every page: "n / N", the organisation and the date at the top, who printed it; no blank
    # page (something besides the running header and footer).
    for number, text in enumerate(texts, start=1):
        assert re.search(rf"(?<!\d){number} / {total}(?!\d)", text), (number, text[:200])
        assert c.county.name in text and TODAY.isoformat() in text, (number, text[:200])
        assert len(_body(text)) > 40, f"page {number} is (nearly) blank: {text!r}"

    # The unit table prints landscape, and only it.
    landscape = [
        number
        for number, p in enumerate(pages, start=1)
        if float(p.mediabox.width) > float(p.mediabox.height)
    ]
    assert landscape, "no landscape page"
    for number in landscape:
        assert abs(float(pages[number - 1].mediabox.width) - 841.9) < 2
        assert c.township_a.name in texts[number - 1] and c.township_b.name in texts[number - 1]
    assert 1 not in landscape
    # No header (nor anything else) is broken one character per line.
    unit_page = texts[landscape[0] - 1]
    assert "失联" in unit_page and "待处理预警" in unit_page.replace("\n", "")
    for number, text in enumerate(texts, start=1):
        lonely = re.findall(r"^\s*[\u4e00-\u9fff（）]\s*$", text, re.MULTILINE)
        assert not lonely, f"page {number}: a line of one character: {lonely}"

    # Members abroad are a row of their own in the province chart, not "not given".
    assert "出国（境）" in "".join(texts)
    # The trend table (a closed <details> on screen) is printed.
    trend_day = (TODAY - timedelta(days=30)).isoformat()
    assert any(trend_day in text for text in texts)

    # A branch has no units below it: all portrait, still no blank page, numbered.
    page.emulate_media(media="no-override")  # page.pdf() prints with print media
    page.goto(f"{live_server.url}{reverse('reports:dashboard_print')}?org={c.branch_a.pk}")
    page.wait_for_load_state("networkidle")
    branch_pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (ARTIFACTS / "dashboard-print-branch.pdf").write_bytes(branch_pdf)
    branch = PdfReader(io.BytesIO(branch_pdf))
    branch_texts = [p.extract_text() or "" for p in branch.pages]
    assert c.branch_a.name in branch_texts[0] and "主要指标" in branch_texts[0]
    for number, (p, text) in enumerate(zip(branch.pages, branch_texts, strict=True), start=1):
        assert float(p.mediabox.width) < float(p.mediabox.height), f"page {number} landscape"
        assert f"{number} / {len(branch.pages)}" in text
        assert len(_body(text)) > 40, f"page {number} is (nearly) blank: {text!r}"


def _running(html: str, key: str) -> str:
    found = re.search(rf'data-running-{key}="([^"]*)"', html)
    assert found, f"no data-running-{key}"
    return found.group(1)


def test_the_cover_and_every_page_say_which_day_the_figures_are_from(
    county, client, settings, monkeypatch
):
    """A large subtree's report shows kept figures counted yesterday (being recounted): the
    cover and the running header name that day, the footer who printed it (the texts print.js
    puts in the margins)."""
    from reports import live

    settings.DASHBOARD_LIVE_MAX_MEMBERS = 0  # every subtree reads the kept figures
    reviewer = county.reviewer(county.township_a, "rev_a")
    away(county.member(county.branch_a, name="甲一"), days=40, province="广东省", city="深圳市")
    yesterday = TODAY - timedelta(days=1)
    live.refresh_all(today=yesterday)
    monkeypatch.setattr(live, "INLINE_REFRESH_MAX", 0)
    client.force_login(reviewer)
    response = client.get(reverse("reports:dashboard_print"), {"org": county.township_a.pk})
    assert response.context["figures"]["as_of"] == yesterday
    html = response.content.decode()
    cover = html[html.index('class="report-head print-cover"') : html.index("print-sections")]
    assert "甲镇党委" in cover and yesterday.isoformat() in cover and "rev_a" in cover
    assert yesterday.isoformat() in _running(html, "date")
    assert "甲镇党委" in _running(html, "title")
    assert "rev_a" in _running(html, "printed")
    assert "/static/css/print.css" in html and "/static/js/print.js" in html


def test_a_live_report_is_as_of_today(county, client):
    reviewer = county.reviewer(county.township_a, "rev_a")
    client.force_login(reviewer)
    html = client.get(reverse("reports:dashboard_print")).content.decode()
    assert TODAY.isoformat() in _running(html, "date")
    assert (TODAY - timedelta(days=1)).isoformat() not in _running(html, "date")

"""Issue #17: before confirming, the preview says which columns it does not read, and which
free text it turns into a fixed value (思想动态, 流动类型), once per text, with its rows."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from ledgers.imports import plan_import

from .test_ledger_import import HEADERS, ident, person, xlsx

WITH_CERTIFICATE = [*HEADERS, "流动证号", "备用电话"]


@pytest.fixture
def secretary(county):
    return county.secretary(county.branch_a)


def preview(content, user, name="台账.xlsx"):
    return plan_import(content=content, file_name=name, user=user)


def mapped(plan) -> set[tuple[str, str]]:
    return {(mapping.column, mapping.message) for mapping in plan.mappings}


def four_rows() -> list[dict]:
    return [
        person(ident(seq=1), 思想动态="良好：积极参加组织生活", 流动类型="务工", 流动证号="A1"),
        person(ident(seq=2), 思想动态="学习认真", 流动类型="外出打工"),
        person(ident(seq=3), 思想动态="表现优秀", 流动类型="就业流动"),
        person(ident(seq=4), 思想动态="学习认真", 流动类型="其他", 备用电话="13900000000"),
    ]


@pytest.mark.django_db
def test_every_column_not_read_is_named(county, secretary):
    plan = preview(xlsx(four_rows(), headers=WITH_CERTIFICATE), secretary)
    assert plan.ok
    assert plan.unread_columns == [
        "未读取的列：序号（本系统不导入此列）",
        "未读取的列：流动证号（本系统不导入此列）",
        "未读取的列：备用电话（无法识别的列名，此列不导入：如需导入，请改用模板中的列名）",
    ]
    assert not plan.issues  # a notice, not a problem: the file still imports


@pytest.mark.django_db
def test_a_column_without_a_header_is_named_by_its_letter(county, secretary):
    book = Workbook()
    book.active.append(["姓名", "公民身份号码", None, "手机号码", "所在党支部", "入党日期"])
    for seq, note in ((1, None), (2, "在外地")):
        cells = person(ident(seq=seq))
        book.active.append(
            [cells["姓名"], cells["公民身份号码"], note, "13900139000", "甲村党支部", "2010-07-01"]
            + ([] if note is None else [None, "备忘"])
        )
    buffer = io.BytesIO()
    book.save(buffer)
    plan = preview(buffer.getvalue(), secretary)
    assert plan.ok
    assert plan.unread_columns == [
        "未读取的列：C列（没有列名，第3行起有内容，此列不导入）",
        "未读取的列：H列（没有列名，第3行起有内容，此列不导入）",
    ]


@pytest.mark.django_db
def test_columns_only_read_for_mobile_members_are_named_without_a_departure_column(
    county, secretary
):
    headers = ["姓名", "公民身份号码", "手机号码", "所在党支部", "入党日期", "去向", "职业"]
    plan = preview(xlsx([person(ident(seq=1))], headers=headers), secretary)
    assert plan.unread_columns == [
        f"未读取的列：{header}（表中没有“流出时间”或“是否流动党员”列，"
        "看不出谁是流动党员，此列不导入）"
        for header in ("去向", "职业")
    ]


@pytest.mark.django_db
def test_each_free_text_mapping_is_listed_once_with_its_rows(county, secretary):
    plan = preview(xlsx(four_rows(), headers=WITH_CERTIFICATE), secretary)
    assert mapped(plan) == {
        ("思想动态", "“学习认真” → 不清（第3、5行）"),
        ("思想动态", "“表现优秀” → 良好（第4行）"),
        ("流动类型", "“务工” → 就业流动（第2行）"),
        ("流动类型", "“外出打工” → 就业流动（第3行）"),
        ("流动类型", "“其他” → 就业流动（第5行）"),
    }
    # in the order of the columns, then of the rows
    assert [m.column for m in plan.mappings] == ["流动类型"] * 3 + ["思想动态"] * 2


@pytest.mark.django_db
def test_a_mapping_on_many_rows_names_the_first_ten(county, secretary):
    rows = [person(ident(seq=n), 思想动态="学习认真", 流动类型=None) for n in range(1, 13)]
    plan = preview(xlsx(rows), secretary)
    assert mapped(plan) == {
        ("思想动态", "“学习认真” → 不清（第2、3、4、5、6、7、8、9、10、11行等，共12行）")
    }


@pytest.mark.django_db
def test_an_exported_ledger_maps_nothing(county, secretary):
    from ledgers import exporting, selectors
    from ledgers.imports import apply_import

    rows = [
        person(ident(seq=1)),
        person(ident(seq=2), 思想动态="一般", 流动类型="学习"),
        person(ident(seq=3), 流动类型="出国务工", 去向="日本东京", 思想动态=None),
    ]
    assert apply_import(content=xlsx(rows), file_name="台账.xlsx", user=secretary).ok
    episodes = selectors.ledger_rows(user=secretary, today=timezone.localdate())
    again = preview(exporting.export_ledger_xlsx(episodes), secretary)
    assert again.mappings == []
    assert again.unread_columns == [
        "未读取的列：序号（本系统不导入此列）",
        "未读取的列：流动证号（本系统不导入此列）",
        "未读取的列：五清情况（本系统不导入此列）",
    ]


def test_the_preview_page_warns_before_the_confirm_button(client, county):
    client.force_login(county.secretary(county.branch_a, "sec_a"))
    upload = SimpleUploadedFile("台账.xlsx", xlsx(four_rows(), headers=WITH_CERTIFICATE))
    response = client.post(reverse("ledgers:import_upload"), {"file": upload})
    html = response.content.decode()
    assert response.context["token"]  # a clean file: it can be confirmed
    confirm = html.index(
        'action="' + reverse("ledgers:import_apply", args=[response.context["job"].pk])
    )
    for text in (
        "未读取的列：流动证号（本系统不导入此列）",
        "“学习认真” → 不清（第3、5行）",
        "“外出打工” → 就业流动（第3行）",
    ):
        assert -1 < html.index(text) < confirm, text


def test_the_preview_of_a_csv_warns_too(client, county):
    client.force_login(county.secretary(county.branch_a, "sec_a"))
    text = "姓名,公民身份号码,手机号码,所在党支部,入党日期,流出时间,思想动态,流动证号\n"
    text += f"张一,{ident(seq=1)},13900139000,甲村党支部,2010-07-01,2024-05-01,学习认真,X1\n"
    upload = SimpleUploadedFile("台账.csv", io.BytesIO(text.encode()).getvalue())
    html = client.post(reverse("ledgers:import_upload"), {"file": upload}).content.decode()
    assert "未读取的列：流动证号（本系统不导入此列）" in html
    assert "“学习认真” → 不清（第2行）" in html

"""The ledger import pipeline: real-sheet quirks, every kind of bad row, writes, scope, command."""

import csv
import io
import re
import zipfile
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from openpyxl import Workbook

from ledgers import imports as importing
from ledgers.imports import apply_import, count_rows, parse_date, parse_destination, plan_import
from ledgers.models import ContactAttempt, LedgerImport, LedgerRecord
from members import crypto, national_id
from members.models import ExternalOrganisation, Member
from transfers.models import MobilityEpisode

HEADERS = [
    "序号",
    "姓名",
    "性别",
    "民族",
    "出生日期",
    "公民身份号码",
    "手机号码",
    "所在党支部",
    "入党日期",
    "转正日期",
    "人员类别",
    "是否流动党员",
    "流出时间",
    "流动类型",
    "去向",
    "职业",
    "流入党组织",
    "流入地联系人",
    "思想动态",
]


def ident(born: date = date(1985, 3, 14), seq: int = 1, male: bool = True) -> str:
    first17 = f"110105{born:%Y%m%d}{seq % 100:02d}{(1 if male else 2) + 2 * (seq // 100) % 10}"
    return first17 + national_id.check_char(first17)


def person(number: str, **cells) -> dict:
    row = {
        "姓名": "李四",
        "性别": "男",
        "民族": "汉族",
        "公民身份号码": number,
        "手机号码": "13900139000",
        "所在党支部": "甲村党支部",
        "入党日期": "2010-07-01",
        "转正日期": "2011-07-01",
        "人员类别": "正式党员",
        "是否流动党员": "是",
        "流出时间": "2024-05-01",
        "流动类型": "务工",
        "去向": "广东省深圳市南山区科技园",
        "职业": "电子厂工人",
        "流入党组织": "深圳市南山区科技园流动党员党支部",
        "流入地联系人": "陈立新 0755-86012345",
        "思想动态": "良好：积极参加流入地组织生活",
    }
    row.update(cells)
    return {key: value for key, value in row.items() if value is not None}


def xlsx(rows: list[dict], headers: list[str] = HEADERS, titles: tuple = ()) -> bytes:
    book = Workbook()
    sheet = book.active
    for title in titles:
        sheet.append([title])
    sheet.append(headers)
    for number, row in enumerate(rows, start=1):
        sheet.append([number if h == "序号" else row.get(h) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[dict], headers: list[str] = HEADERS, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return buffer.getvalue().encode(encoding)


def plan(content, user, name="台账.xlsx", **kwargs):
    return plan_import(content=content, file_name=name, user=user, **kwargs)


def apply(content, user, name="台账.xlsx", **kwargs):
    return apply_import(content=content, file_name=name, user=user, **kwargs)


def only_issue(result) -> importing.RowIssue:
    assert len(result.issues) == 1, result.issues
    return result.issues[0]


@pytest.fixture
def secretary(county):
    return county.secretary(county.branch_a)


# --- reading real sheets ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_standard_sheet_creates_member_episode_ledger_and_history(county, secretary):
    content = xlsx([person(ident())])
    preview = plan(content, secretary)
    assert preview.ok, preview.issues
    assert preview.counts == {"create": 1, "update": 0, "unchanged": 0, "error": 0}
    assert (
        preview.rows[0].row == 2 and preview.rows[0].masked_id == "110105**********" + ident()[-2:]
    )
    assert Member.objects.count() == 0  # the preview writes nothing

    result = apply(content, secretary)
    assert result.ok and result.counts["create"] == 1
    member = Member.objects.get()
    assert member.national_id == ident()
    assert member.national_id_digest == crypto.digest(ident())
    assert (member.name, member.gender, member.home_branch) == ("李四", "M", county.branch_a)
    assert member.birth_date == date(1985, 3, 14)
    assert member.joined_on == date(2010, 7, 1) and member.confirmed_on == date(2011, 7, 1)
    episode = MobilityEpisode.objects.get(member=member, ended_on__isnull=True)
    assert episode.left_on == date(2024, 5, 1)
    assert episode.mobility_type == MobilityEpisode.Type.WORK
    assert (
        episode.destination_province,
        episode.destination_city,
        episode.destination_county,
        episode.address,
    ) == ("广东省", "深圳市", "南山区", "科技园")
    assert episode.occupation == "电子厂工人"
    external = episode.inflow_external
    assert external.name == "深圳市南山区科技园流动党员党支部"
    assert external.region == "广东省深圳市"
    assert (external.contact_person, external.phone) == ("陈立新", "0755-86012345")
    record = LedgerRecord.objects.get(member=member)
    assert record.conduct_assessment == LedgerRecord.Assessment.GOOD
    assert record.conduct_note == "积极参加流入地组织生活"
    today = timezone.localdate()
    for item in ("left", "where", "occupation", "contact", "conduct"):
        assert getattr(record, f"{item}_confirmed_on") == today
        assert getattr(record, f"{item}_confirmed_by") == secretary
    history = member.history.get()
    assert history.history_user == secretary and history.history_type == "+"
    assert episode.history.get().history_user == secretary


@pytest.mark.django_db
def test_alias_headers_and_two_title_rows(county, secretary):
    headers = [
        "姓名",
        "身份证号",
        "联系电话",
        "所在党支部",
        "入党时间",
        "外出时间",
        "外出地点",
        "外出原因",
        "工作岗位",
        "表现情况",
        "备注",
    ]
    row = {
        "姓名": "王芳",
        "身份证号": ident(male=False),
        "联系电话": "13700137000",
        "所在党支部": "甲村党支部",
        "入党时间": "2012-06-30",
        "外出时间": "2023/3/15",
        "外出地点": "上海市浦东新区张江镇",
        "外出原因": "随子女定居",
        "工作岗位": "家政",
        "表现情况": "表现较好",
        "备注": "随便写点什么",
    }
    content = xlsx([row], headers, titles=("甲村党支部流动党员五清台账", "填报日期：2025年1月"))
    result = apply(content, secretary)
    assert result.ok, result.issues
    assert result.rows[0].row == 4
    member = Member.objects.get()
    assert member.gender == Member.Gender.FEMALE  # from the ID's 17th digit
    assert member.phone == "13700137000"
    assert member.category == Member.Category.FULL
    assert member.ethnicity == "汉族"
    episode = member.mobility_episodes.get()
    assert episode.left_on == date(2023, 3, 15)
    assert episode.mobility_type == MobilityEpisode.Type.SETTLED
    assert (episode.destination_province, episode.destination_city) == ("上海市", "市辖区")
    assert (episode.destination_county, episode.address) == ("浦东新区", "张江镇")
    assert episode.occupation == "家政"
    assert member.ledger.conduct_assessment == LedgerRecord.Assessment.FAIR


@pytest.mark.django_db
def test_one_title_row_and_headers_with_spaces(county, secretary):
    headers = ["序 号", " 姓　名 ", "公民身份号码", "手机号码", "入党日期", "*所在党支部"]
    row = {
        " 姓　名 ": "赵六",
        "公民身份号码": ident(),
        "手机号码": "13600136000",
        "入党日期": "2010-01-01",
        "*所在党支部": "甲村党支部",
    }
    result = apply(xlsx([row], headers, titles=("党员花名册",)), secretary)
    assert result.ok, result.issues
    assert Member.objects.get().name == "赵六"
    assert not MobilityEpisode.objects.exists()  # not a mobile row


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_in_utf8_and_gb18030(county, secretary, encoding):
    content = csv_bytes([person(ident())], encoding=encoding)
    result = apply(content, secretary, name="台账.csv")
    assert result.ok, result.issues
    assert result.rows[0].row == 2
    assert Member.objects.get().mobility_episodes.get().left_on == date(2024, 5, 1)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-05-01", date(2024, 5, 1)),
        ("2024/5/1", date(2024, 5, 1)),
        ("2024.05", date(2024, 5, 1)),
        ("2024.5.1", date(2024, 5, 1)),
        ("2024年5月", date(2024, 5, 1)),
        ("2024年5月1日", date(2024, 5, 1)),
        ("2024 年 5 月 1 日", date(2024, 5, 1)),
        ("20240501", date(2024, 5, 1)),
        ("２０２４－０５－０１", date(2024, 5, 1)),
        ("2024-05-01 00:00:00", date(2024, 5, 1)),
        (datetime(2024, 5, 1, 0, 0), date(2024, 5, 1)),
        (date(2024, 5, 1), date(2024, 5, 1)),
        (2024.05, date(2024, 5, 1)),
        (20240501, date(2024, 5, 1)),
    ],
)
def test_date_formats(text, expected):
    assert parse_date(text)[0] == expected


@pytest.mark.parametrize("text", ["2023-02-30", "2024-13-01", "2024年0月"])
def test_impossible_dates(text):
    with pytest.raises(importing.BadValue, match="日期无效"):
        parse_date(text)


def test_unreadable_and_ambiguous_dates():
    with pytest.raises(importing.BadValue, match="无法识别的日期"):
        parse_date("去年五月")
    with pytest.raises(importing.BadValue, match="1月也可能是10月"):
        parse_date(2024.1)


@pytest.mark.django_db
def test_every_date_format_in_one_sheet_and_excel_date_cells(county, secretary):
    formats = [
        ("2024-05-01", date(2024, 5, 1)),
        ("2024/5/2", date(2024, 5, 2)),
        ("2024.05", date(2024, 5, 1)),
        ("2024年6月", date(2024, 6, 1)),
        ("2024年5月3日", date(2024, 5, 3)),
        ("20240504", date(2024, 5, 4)),
        (datetime(2024, 5, 5), date(2024, 5, 5)),
        (date(2024, 5, 6), date(2024, 5, 6)),
    ]
    rows = [
        person(ident(seq=index), 流出时间=value, 入党日期=datetime(2010, 7, 1))
        for index, (value, _) in enumerate(formats, start=1)
    ]
    result = apply(xlsx(rows), secretary)
    assert result.ok, result.issues
    for index, (_, expected) in enumerate(formats, start=1):
        member = Member.objects.get(national_id_digest=crypto.digest(ident(seq=index)))
        assert member.mobility_episodes.get().left_on == expected
        assert member.joined_on == date(2010, 7, 1)


@pytest.mark.django_db
def test_full_width_digits_spaces_and_lower_case_x(county, secretary):
    number = ident(date(1990, 1, 1), seq=3, male=False)
    seq = 3
    while not number.endswith("X"):  # find a number whose check character is X
        seq += 1
        number = ident(date(1990, 1, 1), seq=seq, male=False)
    typed = (
        " "
        + number[:6]
        + " "
        + number[6:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        + "x "
    )
    row = person(typed, 手机号码="１３９ ００１３ ９０００", 姓名=" 孙 七 ", 性别=None, 民族="苗")
    result = apply(xlsx([row]), secretary)
    assert result.ok, result.issues
    member = Member.objects.get()
    assert member.national_id == number
    assert member.phone == "13900139000"
    assert member.name == "孙七"
    assert member.ethnicity == "苗族"
    assert member.gender == Member.Gender.FEMALE


@pytest.mark.django_db
def test_count_rows_skips_titles_blank_rows_and_footnotes(county, secretary):
    rows = [person(ident(seq=1)), {}, person(ident(seq=2)), {"序号": "填表说明：本表由支部填写"}]
    assert count_rows(content=xlsx(rows, titles=("标题",)), file_name="a.xlsx") == 2
    assert count_rows(content=csv_bytes(rows), file_name="a.csv") == 2
    assert count_rows(content=b"nonsense", file_name="a.xlsx") == 0


def _rewrite_zip(content: bytes, edit) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, edit(item.filename, source.read(item.filename)))
    return buffer.getvalue()


def test_chinese_builtin_date_formats_are_dates():
    """Chinese Excel stores 2024年5月1日 as number format 31, which openpyxl does not know."""
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "入党日期"])
    sheet.append(["张三", datetime(2010, 7, 1)])
    sheet["B2"].number_format = "yyyy/m/d"
    buffer = io.BytesIO()
    book.save(buffer)

    def builtin_31(name, data):
        if name == "xl/styles.xml":
            text = data.decode()
            text = re.sub(r"<numFmts.*?</numFmts>", "", text, flags=re.S)
            return re.sub(r'numFmtId="16\d"', 'numFmtId="31"', text).encode()
        return data

    content = _rewrite_zip(buffer.getvalue(), builtin_31)
    rows = list(next(importing.reading._workbook_sheets(content, "xlsx")))
    assert rows[1] == (2, ("张三", datetime(2010, 7, 1)))


@pytest.mark.django_db
def test_the_ledger_may_be_on_a_later_sheet(county, secretary):
    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["请按下表填写，日期格式为 2024-05-01"])
    sheet = book.create_sheet("台账")
    sheet.append(HEADERS)
    sheet.append([person(ident()).get(h) for h in HEADERS])
    buffer = io.BytesIO()
    book.save(buffer)
    assert apply(buffer.getvalue(), secretary).counts["create"] == 1


@pytest.mark.django_db
def test_a_date_cell_that_lost_its_format_is_an_excel_serial(county, secretary):
    result = apply(xlsx([person(ident(), 流出时间=45413)]), secretary)
    assert result.ok, result.issues
    assert MobilityEpisode.objects.get().left_on == date(2024, 5, 1)


# --- bad input: each problem with its row, column and a Chinese message -------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cells, column, message",
    [
        ({"公民身份号码": "11010519850314"}, "公民身份号码", "应为18位"),
        (
            {"公民身份号码": ident()[:-1] + ("0" if ident()[-1] != "0" else "1")},
            "公民身份号码",
            "校验码不正确",
        ),
        ({"公民身份号码": "A10105198503140011"}, "公民身份号码", "前17位应为数字"),
        ({"出生日期": "1985-03-15"}, "出生日期", "与公民身份号码不一致"),
        ({"流出时间": "2023-02-30"}, "流出时间", "日期无效"),
        ({"流出时间": "上个月"}, "流出时间", "无法识别的日期"),
        ({"流出时间": (date.today() + timedelta(days=40)).isoformat()}, "流出时间", "晚于今天"),
        ({"入党日期": "2002-01-01"}, "入党日期", "未满18周岁"),
        ({"转正日期": "2009-01-01"}, "转正日期", "应晚于入党日期"),
        ({"手机号码": "12345"}, "手机号码", "11位大陆手机号码"),
        ({"人员类别": "积极分子"}, "人员类别", "正式党员"),
        ({"人员类别": "预备党员"}, "转正日期", "预备党员还没有转正日期"),
        ({"性别": "未知"}, "性别", "“男”或“女”"),
        ({"是否流动党员": "也许"}, "是否流动党员", "“是”或“否”"),
        ({"所在党支部": "不存在的党支部"}, "所在党支部", "找不到党组织"),
        ({"所在党支部": "乙村党支部"}, "所在党支部", "不在您的管理范围内"),
        ({"所在党支部": "丙村党支部"}, "所在党支部", "不在您的管理范围内"),
        ({"姓名": ""}, "姓名", "姓名未填写"),
        ({"公民身份号码": ""}, "公民身份号码", "公民身份号码未填写"),
        ({"入党日期": ""}, "入党日期", "新党员须填写入党日期"),
        ({"手机号码": ""}, "手机号码", "新党员须填写手机号码"),
        ({"流出时间": ""}, "流出时间", "流动党员须填写流出时间"),
        ({"职业": "很" * 51}, "职业", "最多50个字"),
    ],
)
def test_bad_cells_are_reported_with_row_column_and_message(
    county, secretary, cells, column, message
):
    content = xlsx([person(ident(seq=1)), person(ident(seq=2), **cells)], titles=("五清台账",))
    result = plan(content, secretary)
    assert not result.ok
    assert result.counts["error"] == 1 and result.counts["create"] == 1
    issue = only_issue(result)
    assert (issue.row, issue.column) == (4, column)
    assert message in issue.message
    assert result.rows[1].action == "error"


@pytest.mark.django_db
def test_a_committee_holds_no_members(county):
    result = plan(
        xlsx([person(ident(), 所在党支部="甲镇党委")]), county.reviewer(county.township_a)
    )
    issue = only_issue(result)
    assert issue.column == "所在党支部" and "不能直接管理党员组织关系" in issue.message
    assert "党委" in issue.message


@pytest.mark.django_db
def test_all_problems_are_reported_not_just_the_first(county, secretary):
    row = person("123", 手机号码="abc", 流出时间="2023-02-30", 人员类别="群众")
    result = plan(xlsx([row]), secretary)
    columns = {issue.column for issue in result.issues}
    assert columns == {"公民身份号码", "手机号码", "流出时间", "人员类别"}
    assert all(issue.row == 2 for issue in result.issues)


@pytest.mark.django_db
def test_excel_number_id_cells_are_explained(county, secretary):
    result = plan(xlsx([person(float(ident()[:17] + "0"))]), secretary)
    issue = only_issue(result)
    assert issue.column == "公民身份号码" and "文本" in issue.message


@pytest.mark.django_db
def test_same_id_twice_breaks_both_rows_and_each_names_the_other(county, secretary):
    result = plan(xlsx([person(ident()), person(ident(seq=2)), person(ident().lower())]), secretary)
    first, second = result.issues
    assert (first.row, first.column, second.row, second.column) == (
        2,
        "公民身份号码",
        4,
        "公民身份号码",
    )
    assert "第4行" in first.message and "第2行" in second.message
    assert [row.action for row in result.rows] == ["error", "create", "error"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "content, name, message",
    [
        (b"", "a.xlsx", "文件是空的"),
        (b"PK\x03\x04 this is not really a zip", "a.xlsx", "无法读取"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "a.xls", ".xls"),
        ("随便,什么\n1,2\n".encode(), "a.csv", "找不到表头"),
    ],
)
def test_unreadable_files_are_a_file_issue(county, secretary, content, name, message):
    result = plan(content, secretary, name=name)
    issue = only_issue(result)
    assert issue.row == 0 and message in issue.message
    assert not result.ok and result.rows == []


@pytest.mark.django_db
def test_missing_required_columns_and_branch(county, secretary):
    headers = ["姓名", "手机号码", "入党日期", "流出时间"]
    result = plan(xlsx([{"姓名": "李四"}], headers), secretary)
    messages = [issue.message for issue in result.issues]
    assert any("缺少“公民身份号码”列" in m for m in messages)
    assert any("所在党支部" in m for m in messages)
    assert all(issue.row == 0 for issue in result.issues)


@pytest.mark.django_db
def test_header_only_is_a_file_issue(county, secretary):
    assert "没有党员数据" in only_issue(plan(xlsx([]), secretary)).message


@pytest.mark.django_db
def test_default_branch_for_sheets_without_a_branch_column(county, secretary):
    headers = [h for h in HEADERS if h != "所在党支部"]
    content = xlsx([person(ident())], headers)
    result = apply(content, secretary, default_branch=county.branch_a)
    assert result.ok, result.issues
    assert Member.objects.get().home_branch == county.branch_a
    other = plan(content, secretary, default_branch=county.branch_b)
    assert "不在您的管理范围内" in only_issue(other).message


# --- writes ----------------------------------------------------------------------------------


def history_rows() -> int:
    return (
        Member.history.count()
        + MobilityEpisode.history.count()
        + LedgerRecord.history.count()
        + ExternalOrganisation.history.count()
    )


@pytest.mark.django_db
def test_reimporting_the_same_sheet_changes_nothing(county, secretary):
    rows = [
        person(ident(seq=1)),
        person(ident(seq=2), 是否流动党员="否", 流出时间=None),
        person(ident(seq=3), 是否失联党员="是", 失联时间="2024-09-01"),
        person(ident(seq=4), 是否失联党员="是"),
    ]
    content = xlsx(rows, HEADERS + ["是否失联党员", "失联时间"])
    assert apply(content, secretary).counts["create"] == 4
    before = history_rows(), ContactAttempt.objects.count(), Member.objects.count()
    again = plan(content, secretary)
    assert again.counts == {"create": 0, "update": 0, "unchanged": 4, "error": 0}
    assert apply(content, secretary).counts["unchanged"] == 4
    assert (history_rows(), ContactAttempt.objects.count(), Member.objects.count()) == before
    assert before[1] == 2
    attempt = ContactAttempt.objects.get(on=date(2024, 9, 1))
    assert not attempt.reached and attempt.recorded_by == secretary


@pytest.mark.django_db
def test_a_corrected_sheet_updates_in_place(county, secretary):
    apply(xlsx([person(ident())]), secretary)
    member = Member.objects.get()
    LedgerRecord.objects.filter(member=member).update(
        where_confirmed_on=date(2020, 1, 1), contact_confirmed_on=date(2020, 1, 1)
    )
    corrected = person(
        ident(), 手机号码="13911112222", 去向="浙江杭州余杭区仓前街道", 职业="电子厂工人"
    )
    preview = plan(xlsx([corrected]), secretary)
    assert preview.counts["update"] == 1, preview.issues
    changes = preview.rows[0].changes
    assert "手机号码" in changes and "去向" in changes
    assert any(c.startswith("确认五清") and "联系方式" in c and "去向" in c for c in changes)
    apply(xlsx([corrected]), secretary)
    member.refresh_from_db()
    assert Member.objects.count() == 1 and member.phone == "13911112222"
    episode = member.mobility_episodes.get()
    assert (episode.destination_province, episode.destination_city) == ("浙江省", "杭州市")
    assert (episode.destination_county, episode.address) == ("余杭区", "仓前街道")
    record = LedgerRecord.objects.get(member=member)
    assert record.where_confirmed_on == record.contact_confirmed_on == timezone.localdate()
    latest = member.history.latest("history_date")
    assert latest.history_type == "~" and latest.history_user == secretary
    assert latest.phone == "13911112222"


@pytest.mark.django_db
def test_an_existing_never_confirmed_member_gets_confirmed(county, secretary):
    member = county.member(county.branch_a, national_id=ident(), name="李四", phone="13900139000")
    result = apply(xlsx([person(ident())]), secretary)
    assert result.counts["update"] == 1
    assert "新增流动记录" in result.rows[0].changes
    assert member.mobility_episodes.get().left_on == date(2024, 5, 1)
    assert LedgerRecord.objects.get(member=member).contact_confirmed_by == secretary
    assert plan(xlsx([person(ident())]), secretary).counts["unchanged"] == 1


@pytest.mark.django_db
def test_one_bad_row_and_nothing_is_written(county, secretary):
    rows = [person(ident(seq=1)), person(ident(seq=2), 手机号码="110"), person(ident(seq=3))]
    result = apply(xlsx(rows), secretary)
    assert not result.ok and result.counts["error"] == 1
    assert not Member.objects.exists()
    assert not MobilityEpisode.objects.exists()
    assert not ExternalOrganisation.objects.exists()


@pytest.mark.django_db
def test_progress_is_reported(county, secretary):
    calls = []
    rows = [person(ident(seq=i)) for i in range(1, 4)]
    apply(xlsx(rows), secretary, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3)


@pytest.mark.django_db
def test_inflow_organisations_internal_and_existing_external(county, secretary):
    existing = ExternalOrganisation.objects.create(
        name="东莞市长安镇非公企业联合党委", region="广东省东莞市"
    )
    rows = [
        person(ident(seq=1), 流入党组织="丙村党支部", 去向="四川省成都市武侯区"),
        person(ident(seq=2), 流入党组织="东莞市长安镇非公企业联合党委", 去向="广东东莞长安镇"),
        person(ident(seq=3), 流入党组织="东莞市长安镇非公企业联合党委（广东省东莞市）"),
        person(ident(seq=4), 流动类型="出国务工", 去向="日本东京都", 流入党组织=None),
    ]
    assert apply(xlsx(rows), secretary).ok
    episodes = {e.member.national_id_digest: e for e in MobilityEpisode.objects.all()}
    first, second, third, fourth = (episodes[crypto.digest(ident(seq=i))] for i in range(1, 5))
    assert first.inflow_organisation == county.branch_b and first.inflow_external is None
    assert second.inflow_external == existing and third.inflow_external == existing
    assert (second.destination_province, second.destination_city) == ("广东省", "东莞市")
    assert fourth.mobility_type == MobilityEpisode.Type.ABROAD
    assert fourth.destination_country == "日本东京都" and fourth.inflow is None
    assert ExternalOrganisation.objects.count() == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("广东省深圳市南山区科技园", ("广东省", "深圳市", "南山区", "", "科技园")),
        ("广东深圳", ("广东省", "深圳市", "", "", "")),
        ("深圳市宝安区福永街道", ("广东省", "深圳市", "宝安区", "", "福永街道")),
        ("上海市浦东新区张江镇", ("上海市", "市辖区", "浦东新区", "", "张江镇")),
        ("北京海淀区中关村", ("北京市", "市辖区", "海淀区", "", "中关村")),
        ("重庆市城口县", ("重庆市", "县", "城口县", "", "")),
        ("吉林市船营区", ("吉林省", "吉林市", "船营区", "", "")),
        ("湖北省仙桃市", ("湖北省", "省直辖县级行政区划", "仙桃市", "", "")),
        ("某工地", ("", "", "", "", "某工地")),
        ("上海浦东", ("上海市", "市辖区", "", "", "浦东")),
        ("上海市上海市浦东新区张江镇", ("上海市", "市辖区", "浦东新区", "", "张江镇")),
        ("新加坡", ("", "", "", "", "新加坡")),
    ],
)
def test_destinations(text, expected):
    destination = parse_destination(text)
    got = (
        destination.province,
        destination.city,
        destination.county,
        destination.country,
        destination.address,
    )
    assert got == expected


def test_conduct_keywords():
    assert importing.conduct_of("表现优秀") == ("good", "表现优秀")
    assert importing.conduct_of("一般") == ("fair", "")
    assert importing.conduct_of("思想不稳定，需关注") == ("concern", "思想不稳定，需关注")
    assert importing.conduct_of("需关注：长期未参加组织生活") == ("concern", "长期未参加组织生活")
    assert importing.conduct_of("无") == ("", "无")


# --- scope -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_secretary_of_b_cannot_import_into_a_or_update_as_member(county):
    theirs = county.member(county.branch_a, national_id=ident(seq=9))
    secretary_b = county.secretary(county.branch_b)
    into_a = plan(xlsx([person(ident(seq=1))]), secretary_b)
    issue = only_issue(into_a)
    assert issue.column == "所在党支部" and "不在您的管理范围内" in issue.message
    update_a = apply(xlsx([person(ident(seq=9), 所在党支部="丙村党支部")]), secretary_b)
    issue = only_issue(update_a)
    # Held elsewhere: no more than that it cannot be imported here (no existence oracle).
    assert issue.column == "公民身份号码" and "不能在此导入" in issue.message
    assert theirs.name not in issue.message
    theirs.refresh_from_db()
    assert theirs.home_branch == county.branch_a and not theirs.mobility_episodes.exists()


@pytest.mark.django_db
def test_a_township_reviewer_imports_into_any_branch_below(county):
    reviewer = county.reviewer(county.township_a)
    rows = [person(ident(seq=1)), person(ident(seq=2), 所在党支部="乙村党支部")]
    assert apply(xlsx(rows), reviewer).counts["create"] == 2
    assert set(Member.objects.values_list("home_branch__name", flat=True)) == {
        "甲村党支部",
        "乙村党支部",
    }


# --- exporting and importing back ------------------------------------------------------------


@pytest.mark.django_db
def test_an_exported_ledger_imports_back_unchanged(county, secretary):
    from ledgers import exporting, selectors

    rows = [
        person(ident(seq=1)),
        person(ident(seq=2), 去向="上海市浦东新区张江镇", 流入党组织="丙村党支部", 思想动态="一般"),
        person(ident(seq=3), 流动类型="学习", 职业="学生", 思想动态=None),
    ]
    assert apply(xlsx(rows), secretary).ok
    episodes = selectors.ledger_rows(user=secretary, today=timezone.localdate())
    exported = exporting.export_ledger_xlsx(episodes)
    again = plan(exported, secretary)
    assert again.counts["unchanged"] == 3, again.issues + [r.changes for r in again.rows]


# --- the management command ------------------------------------------------------------------


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(xlsx([person(ident(seq=1)), person(ident(seq=2))]))
    return path


@pytest.mark.django_db
def test_command_dry_run_prints_and_writes_nothing(county, secretary, sheet):
    out = io.StringIO()
    call_command(
        "import_ledger",
        str(sheet),
        "--branch",
        "甲村党支部",
        "--dry-run",
        "--user",
        secretary.username,
        stdout=out,
    )
    assert "创建 2" in out.getvalue()
    assert not Member.objects.exists() and not LedgerImport.objects.exists()


@pytest.mark.django_db
def test_command_imports_and_records(county, secretary, sheet):
    out = io.StringIO()
    call_command(
        "import_ledger",
        str(sheet),
        "--branch",
        str(county.branch_a.pk),
        "--user",
        secretary.username,
        stdout=out,
    )
    assert Member.objects.count() == 2
    job = LedgerImport.objects.get()
    assert (job.status, job.created, job.user, job.branch) == (
        "applied",
        2,
        secretary,
        county.branch_a,
    )
    assert job.file_name == "台账.xlsx" and len(job.file_sha256) == 64 and job.finished_at


@pytest.mark.django_db
def test_command_fails_on_errors_and_records_the_refusal(county, secretary, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx([person(ident(seq=1)), person("123")]))
    county.branch_a.code = "A01"
    county.branch_a.save()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_ledger", str(path), "--branch", "A01", "--user", secretary.username, stdout=out
        )
    assert "第3行 [公民身份号码]" in out.getvalue()
    assert not Member.objects.exists()
    job = LedgerImport.objects.get()
    assert job.status == "failed" and job.errors[0]["row"] == 3


@pytest.mark.django_db
def test_command_defaults_to_the_first_superuser(county, sheet, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x" * 12)
    call_command("import_ledger", str(sheet), "--branch", "甲村党支部", stdout=io.StringIO())
    assert LedgerImport.objects.get().user == admin


@pytest.mark.django_db
def test_command_unknown_branch(county, secretary, sheet):
    with pytest.raises(CommandError):
        call_command(
            "import_ledger", str(sheet), "--branch", "没有这个", "--user", secretary.username
        )


@pytest.mark.django_db
def test_command_without_branch_records_the_users_organisation(county, secretary, sheet):
    call_command("import_ledger", str(sheet), "--user", secretary.username, stdout=io.StringIO())
    job = LedgerImport.objects.get()
    assert job.branch == county.branch_a and job.status == "applied" and job.created == 2

"""The national sheet's columns, each with its source in Liudong and its standing.

`basis` says whether the column (name and values) is public knowledge — printed in the
published 党员信息采集表 / 流动党员信息 templates that county organisation departments hand
out for 全国党员管理信息系统 — or our assumption about a detail the public templates leave
open. Columns of the published sheet that Liudong does not hold (学历, 籍贯, 工作单位, 新社会阶层,
...) are left out, not exported empty: an empty column would read as "none" when
reconciling. `compared` says whether reconciliation compares it; `home_only` columns are
withheld from the hosting (inflow) side, as in the ledger export.
"""

from dataclasses import dataclass

from members.models import Member

PUBLIC, ASSUMED = "public", "assumption"


@dataclass(frozen=True)
class Column:
    header: str
    source: str
    basis: str
    compared: bool = True
    home_only: bool = False
    aliases: tuple[str, ...] = ()


COLUMNS: tuple[Column, ...] = (
    Column("序号", "the row's number in the export", PUBLIC, compared=False),
    Column("姓名", "Member.name", PUBLIC),
    Column("性别", "Member.gender: 男 / 女", PUBLIC),
    Column(
        "公民身份号码",
        "Member.national_id; the hosting side gets the last four characters only",
        PUBLIC,
        compared=False,  # it is the key rows are matched on
        home_only=True,
        aliases=("身份证号码", "身份证号", "公民身份证号码"),
    ),
    Column("民族", "Member.ethnicity", PUBLIC),
    Column("出生日期", "Member.birth_date", PUBLIC, home_only=True, aliases=("出生年月",)),
    Column(
        "人员类别",
        "Member.category: 正式党员 / 预备党员",
        PUBLIC,
        aliases=("党员类别",),
    ),
    Column("入党日期", "Member.joined_on", PUBLIC, aliases=("入党时间",)),
    Column(
        "转为正式党员日期",
        "Member.confirmed_on",
        PUBLIC,
        aliases=("转正日期", "转正时间"),
    ),
    Column(
        "工作岗位",
        "the current MobilityEpisode.occupation; empty for members at home (we hold none)",
        ASSUMED,
        compared=False,  # we know it only for mobile members
        aliases=("职业",),
    ),
    Column("联系电话", "Member.phone", PUBLIC, aliases=("手机号码", "联系方式")),
    Column(
        "所在党支部",
        "Member.home_branch.name (the branch holding the relationship)",
        PUBLIC,
        aliases=("所在党组织", "所在支部"),
    ),
    Column(
        "党籍状态",
        "Member.status: 正常 (active) / 停止党籍 (suspended); others are not exported",
        ASSUMED,  # the published sheets name the column; the value list is ours
    ),
    Column(
        "是否流动党员",
        "是 when the member has a current MobilityEpisode, else 否",
        PUBLIC,
    ),
    Column("外出日期", "the current MobilityEpisode.left_on", PUBLIC, aliases=("流出日期",)),
    Column(
        "外出流向",
        "the current MobilityEpisode's province and city (or country, abroad), e.g. 广东省深圳市",
        PUBLIC,  # the column is public; joining province and city without a separator is ours
        aliases=("外出流向（省/市）", "流向"),
    ),
    Column(
        "流入地党组织",
        "the current MobilityEpisode's inflow organisation (ours or external), by name",
        PUBLIC,
    ),
    Column(
        "流出地党组织",
        "Member.home_branch.name for a mobile member (the branch they left from)",
        PUBLIC,
        compared=False,  # the same as 所在党支部, compared there
    ),
    Column(
        "流动党员活动证号",
        "the member's valid ActivityCertificate.number",
        PUBLIC,
        aliases=("活动证号", "流动党员活动证编号"),
    ),
)

HEADERS = [column.header for column in COLUMNS]
REQUIRED = ("姓名", "公民身份号码")  # without these a row cannot be matched
HEADER_OF = {
    spelling: column.header for column in COLUMNS for spelling in (column.header, *column.aliases)
}
COMPARED = [column.header for column in COLUMNS if column.compared]
HOME_ONLY = {column.header for column in COLUMNS if column.home_only}
DATE_COLUMNS = ("出生日期", "入党日期", "转为正式党员日期", "外出日期")

GENDER = {Member.Gender.MALE: "男", Member.Gender.FEMALE: "女"}
CATEGORY = {Member.Category.FULL: "正式党员", Member.Category.PROBATIONARY: "预备党员"}
STANDING = {Member.Status.ACTIVE: "正常", Member.Status.SUSPENDED: "停止党籍"}
EXPORTED_STATUSES = tuple(STANDING)  # those on a county's roll; others have left it

"""The operators' reference data through django-import-export: the organisation tree, external
organisations and staff accounts import from a spreadsheet with a preview, and export in the same
columns (members/resources.py, wired into members/admin.py)."""

from io import BytesIO

import pytest
from django.contrib.auth.models import Permission, User
from import_export.formats import base_formats
from openpyxl import Workbook

from accounts.resources import StaffResource
from members.models import ExternalOrganisation, Organisation, StaffAssignment
from members.resources import ExternalOrganisationResource, OrganisationResource

pytestmark = pytest.mark.django_db

TREE_HEADERS = ["名称", "类型", "上级党组织", "代码", "所在地区", "联系人", "联系电话"]
# County → two committees → four branches; parents by name or by code; kinds by Chinese label,
# short name or stored value; a phone typed with spaces.
TREE_ROWS = [
    ["清溪县委组织部", "县委组织部", "", 510723, "四川省清溪县", "赵明", "0818-2212345"],
    ["城关镇党委", "党委", "清溪县委组织部", "", "清溪县城关镇", "钱进", "138 0013 8000"],
    ["河口镇党委", "基层党委", 510723, "", "清溪县河口镇", "", ""],
    ["城关镇机关党支部", "党支部", "城关镇党委", "CG01", "", "", ""],
    ["城关镇东街社区党支部", "branch", "城关镇党委", "", "", "", ""],
    ["河口镇机关党支部", "支部", "河口镇党委", "HK01", "", "", ""],
    ["河口镇新村党支部", "党支部", "河口镇党委", "", "", "", "13912345678"],
]


def xlsx(headers, rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def read_xlsx(data: bytes):
    """The dataset the admin builds from an uploaded .xlsx."""
    return base_formats.XLSX().create_dataset(data)


def import_tree(rows=TREE_ROWS, dry_run=False, headers=TREE_HEADERS):
    return OrganisationResource().import_data(read_xlsx(xlsx(headers, rows)), dry_run=dry_run)


def row_errors(result) -> list[str]:
    return [
        message
        for row in result.invalid_rows
        for messages in row.error_dict.values()
        for message in messages
    ]


def node(name: str) -> Organisation:
    return Organisation.objects.get(name=name)


# --- the organisation tree -------------------------------------------------------------------


def test_the_preview_shows_the_rows_and_writes_nothing_then_the_import_builds_the_tree():
    preview = import_tree(dry_run=True)

    assert not preview.has_errors() and not preview.has_validation_errors()
    assert [row.import_type for row in preview.rows] == ["new"] * 7
    assert Organisation.objects.count() == 0
    assert Organisation.history.count() == 0

    result = import_tree()

    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 7
    tree = Organisation.objects
    assert tree.find_problems() == ([], [], [], [], [])
    county = node("清溪县委组织部")
    assert list(tree.get_root_nodes()) == [county]
    assert (county.depth, county.numchild, county.kind, county.code) == (1, 2, "county", "510723")
    chengguan, hekou = node("城关镇党委"), node("河口镇党委")
    assert list(tree.get_children(county)) == [chengguan, hekou]
    assert {chengguan.kind, hekou.kind} == {Organisation.Kind.COMMITTEE}
    assert [b.name for b in tree.get_children(chengguan)] == [
        "城关镇机关党支部",
        "城关镇东街社区党支部",
    ]
    assert [b.name for b in tree.get_children(hekou)] == ["河口镇机关党支部", "河口镇新村党支部"]
    for branch in tree.get_descendants(county).filter(depth=3):
        assert branch.kind == Organisation.Kind.BRANCH
        assert branch.path.startswith(tree.get_parent(branch).path)
    assert chengguan.phone == "13800138000"  # normalised, as the app's forms store it
    assert node("河口镇机关党支部").code == "HK01"
    assert Organisation.history.count() == 7


def test_an_unknown_parent_is_a_row_error_in_chinese_and_nothing_is_written():
    rows = [*TREE_ROWS[:3], ["幸福村党支部", "党支部", "不存在的镇党委", "", "", "", ""]]

    result = import_tree(rows)

    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 4
    [message] = row_errors(result)
    assert message.startswith("表格第5行“上级党组织”：找不到上级党组织“不存在的镇党委”")
    assert Organisation.objects.count() == 0  # the rows before it are rolled back too


def test_a_parent_listed_after_its_child_is_explained():
    rows = [TREE_ROWS[0], TREE_ROWS[3], TREE_ROWS[1]]

    result = import_tree(rows)

    [message] = row_errors(result)
    assert "上级党组织“城关镇党委”在表格第4行，须排在本行（它的下级）之前" in message
    assert Organisation.objects.count() == 0


def test_a_bad_phone_number_names_the_row_and_nothing_is_written():
    rows = [TREE_ROWS[0], ["城关镇党委", "党委", "清溪县委组织部", "", "", "", "12345"]]

    result = import_tree(rows)

    [message] = row_errors(result)
    assert message.startswith("表格第3行“联系电话”：“12345”不是有效的电话号码。")
    assert "11位大陆手机号码" in message  # members.phone's own message, in Chinese
    assert Organisation.objects.count() == 0


def test_an_unknown_kind_lists_the_kinds():
    result = import_tree([["清溪县委组织部", "县政府", "", "", "", "", ""]])

    [message] = row_errors(result)
    assert message.startswith("表格第2行“类型”：不认识的党组织类型“县政府”")
    assert "县委组织部、基层党委、党总支、党支部、党小组" in message


def test_reimporting_the_same_file_changes_nothing():
    import_tree()
    history = Organisation.history.count()

    again = import_tree()

    assert not again.has_errors() and not again.has_validation_errors()
    assert [row.import_type for row in again.rows] == ["skip"] * 7
    assert Organisation.objects.count() == 7
    assert Organisation.history.count() == history

    changed = [list(row) for row in TREE_ROWS]
    changed[2][5] = "孙丽"  # 河口镇党委's contact person
    result = import_tree(changed)
    assert [row.import_type for row in result.rows] == ["skip"] * 2 + ["update"] + ["skip"] * 4
    assert node("河口镇党委").contact_person == "孙丽"


def test_an_import_never_moves_a_node():
    import_tree()
    moved = [list(row) for row in TREE_ROWS]
    moved[3][2] = "河口镇党委"  # 城关镇机关党支部 (code CG01) under the other township

    result = import_tree(moved)

    [message] = row_errors(result)
    assert "现在的上级是“城关镇党委”，导入不会移动党组织" in message
    assert Organisation.objects.get_parent(node("城关镇机关党支部")) == node("城关镇党委")


def test_the_export_has_the_same_columns_and_imports_again_unchanged():
    import_tree()
    # A second 机关党支部 name elsewhere makes the name ambiguous: the export names that parent by
    # its code.
    tree = Organisation.objects
    tree.add_child(
        node("城关镇机关党支部"),
        {"name": "机关第一党小组", "kind": Organisation.Kind.GROUP, "phone": "0818-2212346"},
    )
    tree.add_child(node("河口镇新村党支部"), {"name": "城关镇机关党支部", "kind": "group"})

    exported = OrganisationResource().export()

    assert exported.headers == TREE_HEADERS
    by_name = {(row[0], row[2]): row for row in exported}
    assert by_name[("清溪县委组织部", "")][1:] == (
        "县委组织部",
        "",
        "510723",
        "四川省清溪县",
        "赵明",
        "0818-2212345",
    )
    assert by_name[("机关第一党小组", "CG01")][1] == "党小组"
    assert ("城关镇机关党支部", "河口镇新村党支部") in by_name

    data = base_formats.XLSX().export_data(exported)
    result = OrganisationResource().import_data(read_xlsx(data))

    assert not result.has_errors() and not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["skip"] * 9
    assert Organisation.objects.count() == 9


# --- external organisations ------------------------------------------------------------------


def test_external_organisations_import_update_and_export():
    headers = ["名称", "所在地区", "联系人", "联系电话"]
    rows = [
        ["华南电子厂党支部", "广东省深圳市", "陈红", "0755-26001234"],
        ["华南电子厂党支部", "广东省东莞市", "", ""],
        ["浦东新区流动党员党支部", "上海市浦东新区", "周平", "+86 13812345678"],
    ]
    resource = ExternalOrganisationResource

    result = resource().import_data(read_xlsx(xlsx(headers, rows)))

    assert result.totals["new"] == 3
    shenzhen = ExternalOrganisation.objects.get(name="华南电子厂党支部", region="广东省深圳市")
    assert (shenzhen.contact_person, shenzhen.phone) == ("陈红", "0755-26001234")
    assert ExternalOrganisation.objects.get(region="上海市浦东新区").phone == "13812345678"

    rows[1][2] = "林东"
    again = resource().import_data(read_xlsx(xlsx(headers, rows)))
    assert [row.import_type for row in again.rows] == ["skip", "update", "skip"]
    assert ExternalOrganisation.objects.get(region="广东省东莞市").contact_person == "林东"

    exported = resource().export()
    assert exported.headers == headers
    round_trip = resource().import_data(read_xlsx(base_formats.XLSX().export_data(exported)))
    assert [row.import_type for row in round_trip.rows] == ["skip"] * 3

    bad = resource().import_data(read_xlsx(xlsx(headers, [["某党支部", "", "", "123"]])))
    messages = row_errors(bad)
    assert any(m.startswith("表格第2行“联系电话”：“123”不是有效的电话号码") for m in messages)
    assert any(m.startswith("表格第2行“所在地区”：") for m in messages)
    assert ExternalOrganisation.objects.count() == 3


# --- staff accounts --------------------------------------------------------------------------

STAFF_HEADERS = ["用户名", "姓名", "电子邮箱", "所属党组织", "角色", "密码"]


def import_staff(rows, headers=STAFF_HEADERS):
    return StaffResource().import_data(read_xlsx(xlsx(headers, rows)))


def test_staff_import_creates_users_with_unusable_passwords_and_their_assignments(county):
    county.county.code = "510723"
    county.county.save()
    rows = [
        ["wangfang", "王芳", "wangfang@example.com", "甲村党支部", "党支部书记/联系人", "secret-1"],
        ["liqiang", "李强", "liqiang@EXAMPLE.com", 510723, "审核人", "secret-2"],
    ]

    result = import_staff(rows)

    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 2
    wang = User.objects.get(username="wangfang")
    assert (wang.first_name, wang.email) == ("王芳", "wangfang@example.com")
    assert not wang.has_usable_password()
    assert not wang.check_password("secret-1")  # the 密码 column is never read
    assert not (wang.is_staff or wang.is_superuser)
    assert (wang.assignment.organisation, wang.assignment.role) == (county.branch_a, "secretary")
    li = User.objects.get(username="liqiang")
    assert li.email == "liqiang@example.com"
    assert (li.assignment.organisation, li.assignment.role) == (county.county, "reviewer")

    # Re-import: unchanged rows are skipped; a new role updates the assignment.
    rows[1][4] = "管理员"
    again = import_staff(rows)
    assert [row.import_type for row in again.rows] == ["skip", "update"]
    assert StaffAssignment.objects.get(user__username="liqiang").role == "administrator"
    assert StaffAssignment.objects.count() == 2


def test_staff_import_updates_an_existing_assignment_and_keeps_the_password(county):
    zhao = county.user("zhao", county.branch_a, "secretary")

    result = import_staff([["zhao", "赵六", "zhao@example.com", "甲镇党委", "reviewer", ""]])

    assert [row.import_type for row in result.rows] == ["update"]
    zhao.refresh_from_db()
    assert zhao.check_password("correct-horse-battery")
    assert zhao.first_name == "赵六"
    assert (zhao.assignment.organisation, zhao.assignment.role) == (county.township_a, "reviewer")


def test_staff_import_row_errors(county):
    rows = [
        ["nomail", "无邮箱", "", "甲村党支部", "书记", ""],
        ["lost", "迷路", "lost@example.com", "不存在的党支部", "书记", ""],
        ["half", "半条", "half@example.com", "甲村党支部", "", ""],
    ]

    result = import_staff(rows)

    messages = row_errors(result)
    assert "表格第2行“电子邮箱”：新账号须填写电子邮箱，本人用它设置密码。" in messages
    assert any(
        m.startswith("表格第3行“所属党组织”：找不到党组织“不存在的党支部”") for m in messages
    )
    assert any(m.startswith("表格第4行“角色”：所属党组织和角色须一同填写") for m in messages)
    assert not User.objects.filter(username__in=["nomail", "lost", "half"]).exists()


def test_staff_export_imports_again_unchanged(county):
    county.user("zhao", county.branch_a, "secretary")
    import_staff([["wangfang", "王芳", "w@example.com", "乙村党支部", "书记", ""]])

    exported = StaffResource().export()

    assert exported.headers == ["用户名", "姓名", "电子邮箱", "所属党组织", "角色"]
    assert exported[1] == ("zhao", "", "", "甲村党支部", "党支部书记/联系人")
    result = StaffResource().import_data(read_xlsx(base_formats.XLSX().export_data(exported)))
    assert [row.import_type for row in result.rows] == ["skip", "skip"]


# --- the admin -------------------------------------------------------------------------------

IMPORT_URL = "/admin/members/organisation/import/"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("operator", "operator@example.com", "pw")


def test_the_admin_import_page_renders_for_a_superuser(client, superuser):
    client.force_login(superuser)

    page = client.get(IMPORT_URL)

    assert page.status_code == 200
    assert "上级党组织" in page.content.decode()  # the columns the file may have
    changelist = client.get("/admin/members/organisation/").content.decode()
    assert IMPORT_URL in changelist and "/admin/members/organisation/export/" in changelist
    for url in ("/admin/members/externalorganisation/import/", "/admin/auth/user/import/"):
        assert client.get(url).status_code == 200


def test_the_admin_import_page_is_refused_to_others(client, db):
    member = User.objects.create_user("plain", password="pw")
    client.force_login(member)
    assert client.get(IMPORT_URL).status_code == 302  # to the admin's login

    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_organisation"))
    client.force_login(viewer)
    assert client.get("/admin/members/organisation/").status_code == 200
    assert client.get(IMPORT_URL).status_code == 403  # viewing is not importing


def test_the_admin_previews_then_imports(client, superuser):
    client.force_login(superuser)
    upload = BytesIO(xlsx(TREE_HEADERS, TREE_ROWS))
    upload.name = "tree.xlsx"
    formats = [f().get_title() for f in (base_formats.XLSX, base_formats.CSV)]

    preview = client.post(
        IMPORT_URL, {"import_file": upload, "format": formats.index("xlsx"), "resource": 0}
    )

    assert preview.status_code == 200
    assert len(preview.context["result"].rows) == 7
    assert "河口镇新村党支部" in preview.content.decode()
    assert Organisation.objects.count() == 0
    confirm = preview.context["confirm_form"]

    done = client.post("/admin/members/organisation/process_import/", confirm.initial)

    assert done.status_code == 302
    assert Organisation.objects.count() == 7
    assert Organisation.objects.find_problems() == ([], [], [], [], [])


def test_a_node_found_by_its_code_is_renamed_and_its_children_follow_the_new_name():
    import_tree()
    rows = [
        *TREE_ROWS[:3],
        ["城关镇机关第一党支部", "党支部", "城关镇党委", "CG01", "", "", ""],
        ["机关第一党小组", "党小组", "城关镇机关第一党支部", "", "", "", ""],
    ]

    result = import_tree(rows)

    assert [row.import_type for row in result.rows] == ["skip", "skip", "skip", "update", "new"]
    renamed = Organisation.objects.get(code="CG01")
    assert renamed.name == "城关镇机关第一党支部"
    assert [g.name for g in Organisation.objects.get_children(renamed)] == ["机关第一党小组"]


def test_a_repeated_row_is_an_error_and_missing_columns_are_named():
    result = import_tree([*TREE_ROWS[:2], TREE_ROWS[1]])

    [message] = row_errors(result)
    assert message.startswith("表格第4行“名称”：与表格第3行是同一条记录")
    assert Organisation.objects.count() == 0

    no_parent_column = import_tree([["清溪县委组织部", "县委组织部"]], headers=["名称", "类型"])
    assert no_parent_column.has_errors()
    assert "表格缺少这些列：上级党组织" in str(no_parent_column.base_errors[0].error)

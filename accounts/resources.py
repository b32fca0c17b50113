"""Staff accounts and their assignments, from and to a spreadsheet (never passwords)."""

from django.contrib.auth.models import User
from django.core.exceptions import (
    ObjectDoesNotExist,
)
from import_export.fields import Field

from members.models import StaffAssignment
from members.resources.common import (
    ChoiceWidget,
    EmailWidget,
    OrganisationReferences,
    OrganisationWidget,
    ReferenceResource,
    TextWidget,
    text,
)

USERNAME, FULL_NAME, EMAIL = "用户名", "姓名", "电子邮箱"
ORGANISATION, ROLE = "所属党组织", "角色"

ROLE_ALIASES = {
    "书记": StaffAssignment.Role.SECRETARY,
    "支部书记": StaffAssignment.Role.SECRETARY,
    "党支部书记": StaffAssignment.Role.SECRETARY,
    "联系人": StaffAssignment.Role.SECRETARY,
    "审核人": StaffAssignment.Role.REVIEWER,
    "审核员": StaffAssignment.Role.REVIEWER,
    "管理员": StaffAssignment.Role.ADMINISTRATOR,
    "系统管理员": StaffAssignment.Role.ADMINISTRATOR,
}


class FullNameField(Field):
    """姓名: the whole name in first_name (as the app writes Chinese names), compared whole."""

    def get_value(self, instance):
        return instance.get_full_name()

    def save(self, instance, row, is_m2m=False, **kwargs):
        name = self.clean(row, **kwargs)
        if name != instance.get_full_name():
            instance.first_name, instance.last_name = name, ""


class AssignmentField(Field):
    """所属党组织 / 角色: the user's StaffAssignment, written after the user is saved.

    A blank cell leaves the current assignment as it is.
    """

    def get_value(self, instance):
        pending = instance.__dict__.get("_import_assignment", {})
        if self.attribute in pending:
            return pending[self.attribute]
        try:
            return getattr(instance.assignment, self.attribute)
        except (ObjectDoesNotExist, ValueError):
            return None

    def save(self, instance, row, is_m2m=False, **kwargs):
        value = self.clean(row, **kwargs)
        if value:
            instance.__dict__.setdefault("_import_assignment", {})[self.attribute] = value


class StaffResource(ReferenceResource):
    """Staff accounts (Django users) with their assignment, one a row; a row is the user with
    that username. Columns:

    ==========  ===============================================================================
    用户名       the login name (required)
    姓名         the full name
    电子邮箱      required for a new account: it sets its own password by "forgot password"
    所属党组织    the organisation node, by its 代码 or its name
    角色         党支部书记/联系人 / 审核人（党委或县委组织部） / 系统管理员 (also: 书记, 联系人,
                 审核人, 管理员, or secretary, reviewer, administrator)
    ==========  ===============================================================================

    所属党组织 and 角色 go together: both set the assignment (created, or updated if the user has
    one), both blank leave it as it is. A new account gets an unusable password; passwords are
    never imported (a 密码 column is ignored), nor admin-site rights (is_staff, is_superuser).
    """

    username = Field(attribute="username", column_name=USERNAME, widget=TextWidget())
    full_name = FullNameField(attribute="full_name", column_name=FULL_NAME, widget=TextWidget())
    email = Field(attribute="email", column_name=EMAIL, widget=EmailWidget())
    organisation = AssignmentField(
        attribute="organisation", column_name=ORGANISATION, widget=OrganisationWidget()
    )
    role = AssignmentField(
        attribute="role",
        column_name=ROLE,
        widget=ChoiceWidget(StaffAssignment.Role, "角色", ROLE_ALIASES),
    )

    header_aliases = {
        "账号": USERNAME,
        "登录名": USERNAME,
        "姓名全称": FULL_NAME,
        "邮箱": EMAIL,
        "电子邮件": EMAIL,
        "组织": ORGANISATION,
        "党组织": ORGANISATION,
        "所在党组织": ORGANISATION,
    }
    required_headers = (USERNAME,)

    class Meta:
        model = User
        fields = ("username", "full_name", "email", "organisation", "role")
        import_id_fields = ("username",)
        skip_unchanged = True
        report_skipped = True
        use_transactions = True
        clean_model_instances = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._references = OrganisationReferences()

    def get_queryset(self):
        return User.objects.select_related("assignment__organisation").order_by("username")

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        has_organisation, has_role = bool(text(row.get(ORGANISATION))), bool(text(row.get(ROLE)))
        if has_organisation != has_role:
            raise self.row_error(
                ORGANISATION if has_role else ROLE,
                "所属党组织和角色须一同填写（或一同留空，保留现有的分配）。",
            )

    def after_init_instance(self, instance, new, row, **kwargs):
        if new:
            instance.set_unusable_password()  # they set one through "forgot password"

    def check_instance(self, instance) -> dict[str, str]:
        if instance.pk is None and not instance.email:
            return {"email": "新账号须填写电子邮箱，本人用它设置密码。"}
        return {}

    def after_save_instance(self, instance, row, **kwargs):
        if self._is_dry_run(kwargs) and not self._is_using_transactions(kwargs):
            return  # nothing was saved
        pending = instance.__dict__.get("_import_assignment", {})
        organisation, role = pending.get("organisation"), pending.get("role")
        if not (organisation and role):
            return
        assignment = StaffAssignment.objects.filter(user=instance).first()
        if assignment is None:
            StaffAssignment.objects.create(user=instance, organisation=organisation, role=role)
        elif (assignment.organisation_id, assignment.role) != (organisation.pk, role):
            assignment.organisation, assignment.role = organisation, role
            assignment.save()

    def before_export(self, queryset, **kwargs):
        self._references = OrganisationReferences()

    def dehydrate_organisation(self, user: User) -> str:
        try:
            return self._references.of(user.assignment.organisation)
        except ObjectDoesNotExist:
            return ""

"""The organisation tree and external organisations, from and to a spreadsheet."""

from import_export import widgets
from import_export.fields import Field

from ..models import ExternalOrganisation, Organisation

# The language of the sheets and of their error messages, whatever the admin's language.
from .common import (
    CODE,
    CONTACT,
    KIND,
    NAME,
    PARENT,
    PHONE,
    REGION,
    AmbiguousOrganisation,
    ChoiceWidget,
    OrganisationReferences,
    PhoneWidget,
    ReferenceResource,
    TextWidget,
    UnknownOrganisation,
    find_organisation,
    text,
)

KIND_ALIASES = {
    "县委组织部": Organisation.Kind.COUNTY,
    "组织部": Organisation.Kind.COUNTY,
    "县": Organisation.Kind.COUNTY,
    "党委": Organisation.Kind.COMMITTEE,
    "基层党委": Organisation.Kind.COMMITTEE,
    "党工委": Organisation.Kind.COMMITTEE,
    "总支": Organisation.Kind.GENERAL_BRANCH,
    "党总支": Organisation.Kind.GENERAL_BRANCH,
    "党总支部": Organisation.Kind.GENERAL_BRANCH,
    "支部": Organisation.Kind.BRANCH,
    "党支部": Organisation.Kind.BRANCH,
    "小组": Organisation.Kind.GROUP,
    "党小组": Organisation.Kind.GROUP,
    "驻外党建工作站": Organisation.Kind.OUTPOST,
    "党建工作站": Organisation.Kind.OUTPOST,
    "工作站": Organisation.Kind.OUTPOST,
}


class ParentField(Field):
    """The 上级党组织 column: read by the resource before the row (it decides where the node is),
    never set as an attribute; compared and shown as the node's parent."""

    def get_value(self, instance):
        if hasattr(instance, "_import_parent"):
            return instance._import_parent
        if instance.pk is None:
            return None
        return Organisation.objects.get_parent(instance)

    def save(self, instance, row, is_m2m=False, **kwargs):
        pass  # the parent is where add_child() puts the node; moving is not an import's job


class OrganisationResource(ReferenceResource):
    """The organisation tree, one node a row. Columns (the first row of the sheet):

    ==========  ==================================================================================
    名称         the organisation's name (required)
    类型         县委组织部 / 基层党委 / 党总支 / 党支部 / 党小组 / 驻外党建工作站 (also: 党委,
                 总支, 支部, 小组, 工作站, or county, committee, general_branch, branch, group,
                 outpost); required for a new node
    上级党组织    the parent, by its 代码 or its name; empty only for the 县委组织部 at the top
    代码         optional; the county's is the division code that starts certificate numbers
    所在地区      region
    联系人        contact person
    联系电话      a mainland mobile or a landline with area code (stored normalised)
    ==========  ==================================================================================

    A row is the node with its 代码 if there is one, else the node of that name under that
    parent; otherwise a new node, created with treebeard's `add_root`/`add_child` (never a plain
    save, which would leave it outside the tree). A parent must be in the tree already or on an
    earlier row of the same file (it is then created first, within the same transaction, and
    found like any other node). An unknown or ambiguous parent is a row error, and rolls the
    whole file back. An import never moves a node: a row whose node already sits under another
    parent is an error (move nodes in the admin's tree). Empty cells of a present column empty
    the field; a column left out of the file leaves the field as it is.

    The export lists the nodes parents first (by path) and names each parent by its name, or by
    its code where another organisation has the same name, so that the file imports again.
    """

    name = Field(attribute="name", column_name=NAME, widget=TextWidget())
    kind = Field(
        attribute="kind",
        column_name=KIND,
        widget=ChoiceWidget(Organisation.Kind, "党组织类型", KIND_ALIASES),
    )
    parent = ParentField(
        attribute="parent",
        column_name=PARENT,
        widget=widgets.ForeignKeyWidget(Organisation, "name"),
    )
    code = Field(attribute="code", column_name=CODE, widget=TextWidget())
    region = Field(attribute="region", column_name=REGION, widget=TextWidget())
    contact_person = Field(attribute="contact_person", column_name=CONTACT, widget=TextWidget())
    phone = Field(attribute="phone", column_name=PHONE, widget=PhoneWidget())

    header_aliases = {
        "党组织名称": NAME,
        "组织名称": NAME,
        "党组织类型": KIND,
        "组织类型": KIND,
        "上级": PARENT,
        "上级组织": PARENT,
        "上级党组织名称": PARENT,
        "组织代码": CODE,
        "党组织代码": CODE,
        "地区": REGION,
        "所属地区": REGION,
        "电话": PHONE,
        "联系方式": PHONE,
    }
    required_headers = (NAME, KIND, PARENT)
    clean_exclude = Organisation._TREE_FIELDS
    saved_fields = ("name", "kind", "code", "region", "contact_person", "phone")

    class Meta:
        model = Organisation
        fields = ("name", "kind", "parent", "code", "region", "contact_person", "phone")
        import_id_fields = ("name",)  # the lookup itself is get_instance() below
        skip_unchanged = True
        report_skipped = True
        use_transactions = True
        clean_model_instances = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._row_parent: Organisation | None = None
        self._lines_in_file: dict[str, int] = {}
        self._references = OrganisationReferences()
        self._by_path: dict[str, Organisation] | None = None
        self._parents: dict[str, Organisation] = {}  # reference → node, for this import

    # --- import ---

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        # Where each name and code first appears, to explain an unknown parent.
        self._lines_in_file = {}
        for index, values in enumerate(dataset.dict if dataset.headers else []):
            for column in (NAME, CODE):
                reference = text(values.get(column))
                if reference:
                    self._lines_in_file.setdefault(reference, index + 2)

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        self._row_parent = None
        reference = text(row.get(PARENT))
        if not reference:
            return
        try:
            if reference not in self._parents:
                self._parents[reference] = find_organisation(reference)
            self._row_parent = self._parents[reference]
        except AmbiguousOrganisation as error:
            raise self.row_error(PARENT, str(error)) from None
        except UnknownOrganisation:
            line = self._lines_in_file.get(reference)
            if line is None:
                message = (
                    f"找不到上级党组织“{reference}”。请先建立它（或把它写进本表、排在本行之前），"
                    "或检查名称、代码是否写错。"
                )
            elif line == self._line:
                message = "上级党组织不能是本行自己。"
            elif line > self._line:
                message = f"上级党组织“{reference}”在表格第{line}行，须排在本行（它的下级）之前。"
            else:
                message = f"上级党组织“{reference}”（表格第{line}行）未能导入，请先改正那一行。"
            raise self.row_error(PARENT, message) from None

    def get_instance(self, instance_loader, row):
        """The node with this code, else the node of this name under this parent, else None."""
        name, code, parent = text(row.get(NAME)), text(row.get(CODE)), self._row_parent
        tree = Organisation.objects
        node = None
        if code:
            by_code = list(tree.filter(code=code)[:2])
            if len(by_code) > 1:
                raise self.row_error(CODE, f"有多个党组织的代码是“{code}”，无法确定是哪一个。")
            node = by_code[0] if by_code else None
            if node is not None:
                self._check_not_moved(node, parent)
        if node is None and name:
            siblings = tree.get_children(parent) if parent else tree.get_root_nodes()
            same_name = list(siblings.filter(name=name)[:2])
            if len(same_name) > 1:
                raise self.row_error(
                    NAME, f"“{parent or '最上层'}”下有多个名为“{name}”的党组织，请填写代码以区分。"
                )
            node = same_name[0] if same_name else None
        if node is None:
            return None
        node._import_parent = parent
        return node

    def _check_not_moved(self, node: Organisation, parent: Organisation | None) -> None:
        current = Organisation.objects.get_parent(node)
        if (current.pk if current else None) != (parent.pk if parent else None):
            raise self.row_error(
                PARENT,
                f"“{node.name}”现在的上级是“{current or '（无，最上层）'}”，导入不会移动党组织；"
                "如需移动，请在党组织列表中移动它，或改正本行的上级党组织。",
            )

    def init_instance(self, row=None):
        instance = super().init_instance(row)
        instance._import_parent = self._row_parent
        return instance

    def check_instance(self, instance) -> dict[str, str]:
        parent = instance._import_parent
        if instance.pk is not None or not instance.kind:
            return {}  # an existing node keeps its place; a missing kind is its own error
        if parent is None and instance.kind != Organisation.Kind.COUNTY:
            return {"parent": "只有最上层的县委组织部可以不填上级党组织。"}
        if parent is not None and parent.kind == Organisation.Kind.GROUP:
            return {"parent": f"“{parent.name}”是党小组，党小组下不能再设党组织。"}
        return {}

    def do_instance_save(self, instance, is_create):
        """A new node goes into the tree through treebeard; an existing one keeps its place."""
        if not is_create:
            instance.save(update_fields=self.saved_fields)
        elif instance._import_parent is None:
            Organisation.objects.add_root(instance=instance)
        else:
            Organisation.objects.add_child(instance._import_parent, instance=instance)

    def after_save_instance(self, instance, row, **kwargs):
        # A name or code just written may now name another node too, and a node just renamed
        # no longer answers to its old name: look them up afresh.
        for reference in [instance.name, instance.code] + [
            reference for reference, node in self._parents.items() if node.pk == instance.pk
        ]:
            self._parents.pop(reference, None)

    # --- export ---

    def get_queryset(self):
        return Organisation.objects.order_by("path")

    def filter_export(self, queryset, **kwargs):
        return queryset.order_by("path")  # parents before their children

    def before_export(self, queryset, **kwargs):
        self._references = OrganisationReferences()
        self._by_path = None

    def dehydrate_parent(self, node: Organisation) -> str:
        if node.depth <= 1:
            return ""
        if self._by_path is None:
            self._by_path = {
                each.path: each for each in Organisation.objects.only("path", "name", "code")
            }
        parent_path = node.path[: (node.depth - 1) * node.steplen]
        parent = self._by_path.get(parent_path) or Organisation.objects.get_parent(node)
        return self._references.of(parent)


# --- external organisations ------------------------------------------------------------------


class ExternalOrganisationResource(ReferenceResource):
    """Organisations outside this deployment, one a row; a row is the one with that name and
    region (the pair is unique). Columns:

    ========  ==============================================
    名称       the organisation's name (required)
    所在地区    its region (required)
    联系人      contact person
    联系电话    a mainland mobile or a landline with area code
    ========  ==============================================
    """

    name = Field(attribute="name", column_name=NAME, widget=TextWidget())
    region = Field(attribute="region", column_name=REGION, widget=TextWidget())
    contact_person = Field(attribute="contact_person", column_name=CONTACT, widget=TextWidget())
    phone = Field(attribute="phone", column_name=PHONE, widget=PhoneWidget())

    header_aliases = {
        "党组织名称": NAME,
        "组织名称": NAME,
        "单位名称": NAME,
        "地区": REGION,
        "所属地区": REGION,
        "电话": PHONE,
        "联系方式": PHONE,
    }
    required_headers = (NAME, REGION)

    class Meta:
        model = ExternalOrganisation
        fields = ("name", "region", "contact_person", "phone")
        import_id_fields = ("name", "region")
        skip_unchanged = True
        report_skipped = True
        use_transactions = True
        clean_model_instances = True

    def get_queryset(self):
        return ExternalOrganisation.objects.order_by("region", "name")


# --- staff accounts and their assignments ----------------------------------------------------

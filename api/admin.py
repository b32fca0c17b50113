"""API clients for administrators: who, acting as which user, may read what; tokens are
issued here (shown once) or with `manage.py api_token CLIENT`."""

from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from members.admin import ReadOnlyAdmin

from .models import ApiCall, ApiClient, ApiToken, Scope
from .services import issue_token, revoke_tokens


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("may read"),
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ApiClient
        fields = ["name", "kind", "user", "scopes", "is_active", "note"]


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    fields = ["prefix", "created_at", "created_by", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ApiClient)
class ApiClientAdmin(SimpleHistoryAdmin):
    form = ApiClientForm
    list_display = ["name", "kind", "user", "is_active", "last_used_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "user__username"]
    raw_id_fields = ["user"]
    inlines = [ApiTokenInline]
    actions = ["issue_tokens", "revoke_all_tokens"]

    @admin.action(description=_("Issue a new token (the old ones stop working)"))
    def issue_tokens(self, request, queryset):
        issued = [(client, issue_token(client=client, actor=request.user)) for client in queryset]
        # Shown once on this page and never stored: not in a message, a cookie or the session.
        return TemplateResponse(
            request,
            "api/tokens_issued.html",
            {**self.admin_site.each_context(request), "issued": issued, "opts": self.opts},
        )

    @admin.action(description=_("Revoke every token"))
    def revoke_all_tokens(self, request, queryset):
        for client in queryset:
            revoke_tokens(client=client)


@admin.register(ApiCall)
class ApiCallAdmin(ReadOnlyAdmin):
    list_display = ["at", "client", "method", "path", "status", "ip_address"]
    list_filter = ["status", "method", "client"]
    search_fields = ["path", "ip_address"]
    date_hierarchy = "at"
    list_select_related = ["client"]

    def has_delete_permission(self, request, obj=None):
        return False

"""Partners in the operators' admin: both sides' administrators register each other here (or
with `manage.py partner_add`). Secrets are typed, never shown; message contents (they carry
an ID number) are not shown either."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from members.admin import ReadOnlyAdmin
from members.models import Organisation

from . import delivery, services, tasks
from .models import (
    IncomingCertificate,
    IncomingMessage,
    IncomingTransfer,
    OutgoingMessage,
    Partner,
    PartnerOrganisation,
)


class PartnerForm(forms.ModelForm):
    base_url = forms.URLField(label=_("address"), assume_scheme="https")
    sending_secret = forms.CharField(
        label=_("secret for what we send"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Leave blank to keep the current one."),
    )
    receiving_secret = forms.CharField(
        label=_("secret for what we receive"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Leave blank to keep the current one."),
    )
    organisation = forms.ModelChoiceField(
        label=_("acts in"),
        queryset=Organisation.objects.filter(depth=1),
        required=False,
        help_text=_("Whose transfers its receipts may close (usually the county)."),
    )

    class Meta:
        model = Partner
        fields = ["name", "base_url", "our_key_id", "their_key_id", "active"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            for name in ("sending_secret", "receiving_secret", "organisation"):
                if not cleaned.get(name):
                    self.add_error(name, _("Required for a new partner."))
        return cleaned


class PartnerOrganisationInline(admin.TabularInline):
    model = PartnerOrganisation
    extra = 1
    raw_id_fields = ["external"]


@admin.register(Partner)
class PartnerAdmin(SimpleHistoryAdmin):
    form = PartnerForm
    list_display = ["name", "base_url", "their_key_id", "active"]
    inlines = [PartnerOrganisationInline]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            for name in ("sending_secret", "receiving_secret"):
                if data.get(name):
                    setattr(obj, name, data[name])
            obj.save()
            return
        created = services.partner_register(
            name=obj.name,
            base_url=obj.base_url,
            our_key_id=obj.our_key_id,
            their_key_id=obj.their_key_id,
            sending_secret=data["sending_secret"],
            receiving_secret=data["receiving_secret"],
            organisation=data["organisation"],
        )
        obj.pk, obj.user_id = created.pk, created.user_id
        obj._state.adding = False


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "partner",
        "kind",
        "transfer",
        "status",
        "attempts",
        "next_try_at",
        "last_error",
    ]
    list_filter = ["status", "kind", "partner"]
    fields = [
        "id",
        "partner",
        "kind",
        "transfer",
        "status",
        "attempts",
        "next_try_at",
        "last_error",
        "sent_at",
    ]
    readonly_fields = fields
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send again now"))
    def send_again(self, request, queryset):
        ids = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        delivery.requeue(message_ids=ids)
        for message_id in ids:
            tasks.deliver_message.delay(message_id)
        messages.success(request, _("Queued again."))


@admin.register(IncomingMessage)
class IncomingMessageAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "partner", "kind", "message_id", "outcome"]
    list_filter = ["kind", "partner"]
    fields = ["partner", "message_id", "kind", "received_at", "outcome"]
    readonly_fields = fields


@admin.register(IncomingTransfer)
class IncomingTransferAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Decided in the app, by the receiving branch."""

    list_display = ["name", "letter_number", "partner", "to_organisation", "state", "received_at"]
    list_filter = ["state", "partner"]
    exclude = ["national_id"]


@admin.register(IncomingCertificate)
class IncomingCertificateAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Written on in the app, by the inflow organisation."""

    list_display = ["name", "number", "partner", "to_organisation", "state", "received_at"]
    list_filter = ["state", "partner"]
    exclude = ["verify_code"]

from django.contrib import admin

from .models import (
    Activity,
    AssignedWork,
    Attendance,
    DuesAmount,
    DuesPayment,
    Evaluation,
    ExternalParticipation,
    Honour,
    ServiceRequest,
)


class AttendanceInline(admin.TabularInline):
    model = Attendance
    raw_id_fields = ["member"]
    extra = 0


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["held_on", "title", "kind", "branch", "online"]
    list_filter = ["kind", "online"]
    list_select_related = ["branch"]
    search_fields = ["title"]
    date_hierarchy = "held_on"
    raw_id_fields = ["branch", "recorded_by"]
    inlines = [AttendanceInline]


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    list_display = ["activity", "member", "status", "makeup"]
    list_filter = ["status", "makeup"]
    list_select_related = ["activity", "member"]
    raw_id_fields = ["activity", "member"]


@admin.register(ExternalParticipation)
class ExternalParticipationAdmin(admin.ModelAdmin):
    list_display = ["member", "on", "organisation", "kind"]
    list_select_related = ["member"]
    raw_id_fields = ["member", "recorded_by"]


@admin.register(DuesAmount)
class DuesAmountAdmin(admin.ModelAdmin):
    list_display = ["member", "year", "basis", "monthly_amount"]
    list_filter = ["year", "basis"]
    list_select_related = ["member"]
    raw_id_fields = ["member", "set_by"]


@admin.register(DuesPayment)
class DuesPaymentAdmin(admin.ModelAdmin):
    list_display = ["member", "from_month", "to_month", "amount", "paid_on", "method"]
    list_filter = ["method"]
    list_select_related = ["member"]
    raw_id_fields = ["member", "paid_to", "paid_to_external", "recorded_by"]


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ["member", "year", "side", "grade", "evaluator"]
    list_filter = ["year", "side", "grade"]
    list_select_related = ["member"]
    raw_id_fields = ["member", "recorded_by"]


@admin.register(AssignedWork)
class AssignedWorkAdmin(admin.ModelAdmin):
    list_display = ["title", "member", "side", "assigned_on", "due_on", "status"]
    list_filter = ["status", "side"]
    list_select_related = ["member"]
    raw_id_fields = ["member", "recorded_by"]


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    list_display = ["description", "member", "kind", "raised_on", "status"]
    list_filter = ["kind", "status"]
    list_select_related = ["member"]
    raw_id_fields = ["member"]


@admin.register(Honour)
class HonourAdmin(admin.ModelAdmin):
    list_display = ["member", "kind", "year", "side"]
    list_filter = ["kind", "year", "side"]
    list_select_related = ["member"]
    raw_id_fields = ["member"]

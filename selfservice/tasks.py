"""Sending members' messages in the background. Tasks take ids and call `notify`."""

from smtplib import SMTPException

from celery import shared_task
from django.utils import timezone

from infrastructure.sms import SmsError

from . import meetings, notify

# Registered here, where the worker looks for tasks; sent by study.publish.
from .study import notify_study_item  # noqa: F401


# Retried with growing waits while the gateway or the SMTP server refuses; a retry of a sent
# message sends nothing (deliver holds the row and checks its status).
@shared_task(
    acks_late=True,
    autoretry_for=(SmsError, SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=5,
)
def deliver_message(message_id: int) -> str:
    return notify.deliver(message_id)


notify.register_sender(lambda message_id, eta: deliver_message.apply_async((message_id,), eta=eta))


@shared_task
def send_due_messages() -> int:
    """Every 10 minutes: queued messages whose task was lost, or whose quiet hours are over
    and whose task did not come back, sent again."""
    due = notify.due_message_ids()
    for message_id in due:
        deliver_message.delay(message_id)
    return len(due)


@shared_task
def send_meeting_reminders() -> int:
    """Daily: members away are reminded of their branches' meetings in the next days."""
    return meetings.send_reminders(today=timezone.localdate())

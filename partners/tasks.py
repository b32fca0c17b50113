"""Sending to partners in the background. Tasks take ids and call `delivery`."""

from celery import shared_task

from . import delivery


@shared_task(bind=True, acks_late=True, max_retries=5)
def deliver_message(self, message_id: str) -> str:
    """Retried with the message's own growing wait while the partner does not answer; past
    the retries the sweep takes over (next_try_at). A retry of a delivered message sends
    nothing."""
    try:
        return delivery.deliver(message_id)
    except delivery.PartnerUnreachable as error:
        if self.request.is_eager:  # no worker to wait in (development): the sweep comes back
            return "queued"
        countdown = delivery.retry_seconds(self.request.retries + 1)
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task
def send_due_messages() -> int:
    """Every five minutes (beat "partner-messages-due"): queued messages whose next try has
    come, whatever happened to their first task."""
    due = delivery.due_message_ids()
    for message_id in due:
        deliver_message.delay(message_id)
    return len(due)

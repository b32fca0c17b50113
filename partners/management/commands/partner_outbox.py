"""The outbox at a glance, and "send now" once a partner that was down is back."""

from django.core.management.base import BaseCommand
from django.db.models import Count

from partners import delivery, tasks
from partners.models import OutgoingMessage


class Command(BaseCommand):
    help = "Count queued messages per partner; --send-now sends every queued one at once."

    def add_arguments(self, parser):
        parser.add_argument("--send-now", action="store_true")

    def handle(self, *args, send_now: bool, **options):
        queued = OutgoingMessage.objects.filter(status=OutgoingMessage.Status.QUEUED)
        for row in queued.values("partner__name").annotate(n=Count("pk")).order_by():
            self.stdout.write(f"{row['partner__name']}: {row['n']} queued")
        if send_now:
            ids = [str(pk) for pk in queued.values_list("pk", flat=True)]
            delivery.requeue(message_ids=ids)
            for message_id in ids:
                tasks.deliver_message.delay(message_id)
            self.stdout.write(f"{len(ids)} sent to the worker")

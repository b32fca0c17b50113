"""manage.py api_token CLIENT: issue a new token for an API client (the old ones stop working)."""

from django.core.management.base import BaseCommand, CommandError

from api.models import ApiClient
from api.services import issue_token


class Command(BaseCommand):
    help = "Issue a new token for an API client, by name; prints it once."

    def add_arguments(self, parser):
        parser.add_argument("client", help="the API client's name")
        parser.add_argument(
            "--keep-old", action="store_true", help="leave the client's other tokens working"
        )

    def handle(self, *args, client: str, keep_old: bool, **options):
        try:
            found = ApiClient.objects.get(name=client)
        except ApiClient.DoesNotExist:
            raise CommandError(f"No API client named {client!r}.") from None
        if not found.is_active:
            raise CommandError(f"The API client {client!r} is not active.")
        self.stdout.write(issue_token(client=found, revoke_others=not keep_old))

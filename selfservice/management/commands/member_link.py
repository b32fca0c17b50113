from django.core.management.base import BaseCommand, CommandError

from members.models import Member
from selfservice import access
from selfservice.demo import demo_member


class Command(BaseCommand):
    help = (
        "Print a member's personal link (made if missing). Without --member: the demo member "
        "of the README's walk-through. The one-time code goes to the SMS backend (the console "
        "in development)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--member", type=int, help="the member's id")

    def handle(self, *args, member=None, **options):
        chosen = Member.objects.filter(pk=member).first() if member else demo_member()
        if chosen is None:
            raise CommandError("No such member (load the demo county first: make run).")
        link = access.issue_link(member=chosen, actor=None)
        self.stdout.write(access.url_for(link))

from django.conf import settings
from django.core.management.base import BaseCommand

from members.demo import COUNTY_NAME, DEMO_USERS, seed_demo
from members.models import Organisation


class Command(BaseCommand):
    help = "Build the demo county (清溪县) and the demo logins. Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=1500)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if the database already holds organisations (used by `make run`).",
        )

    def handle(self, *args, members: int, if_empty: bool, **options):
        if if_empty and Organisation.objects.exists():
            self.stdout.write("The database already holds data; the demo is not loaded.")
            return
        created = seed_demo(member_count=members)
        if created:
            self.stdout.write(self.style.SUCCESS(f"Built the demo county {COUNTY_NAME}."))
        else:
            self.stdout.write(f"{COUNTY_NAME} is already there; nothing added.")
        logins = ", ".join(DEMO_USERS)
        self.stdout.write(f"Demo logins: {logins} / password {settings.DEMO_PASSWORD}")

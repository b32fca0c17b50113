"""Register a partner deployment (both sides' administrators run it, with mirrored keys)."""

from django.core.management.base import BaseCommand, CommandError

from infrastructure.steps import StepRefused
from members.models import Organisation
from partners import services


class Command(BaseCommand):
    help = (
        "Register another Liudong deployment as a partner. Side A's --our-key is side B's "
        "--their-key, and A's --send-secret is B's --receive-secret (and the other way round)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("url", help="the partner's address, e.g. https://ld.example.cn")
        parser.add_argument("--our-key", required=True, help="the key id we sign with")
        parser.add_argument("--their-key", required=True, help="the key id they sign with")
        parser.add_argument("--send-secret", required=True, help="signs what we send")
        parser.add_argument("--receive-secret", required=True, help="checks what we receive")
        parser.add_argument(
            "--organisation",
            default="",
            help="code of the organisation the partner acts in (default: the only root)",
        )

    def handle(self, *args, **options):
        roots = Organisation.objects.filter(depth=1)
        if options["organisation"]:
            roots = Organisation.objects.filter(code=options["organisation"])
        if len(roots) != 1:
            raise CommandError("Name the organisation the partner acts in (--organisation CODE).")
        try:
            partner = services.partner_register(
                name=options["name"],
                base_url=options["url"],
                our_key_id=options["our_key"],
                their_key_id=options["their_key"],
                sending_secret=options["send_secret"],
                receiving_secret=options["receive_secret"],
                organisation=roots[0],
            )
        except StepRefused as refused:
            raise CommandError("; ".join(refused.messages)) from refused
        self.stdout.write(f"partner {partner.pk} {partner.name}")

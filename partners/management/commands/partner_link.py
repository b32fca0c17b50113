"""List a partner's branch as an external organisation: transfers to it go electronically."""

from django.core.management.base import BaseCommand, CommandError

from partners import services
from partners.models import Partner


class Command(BaseCommand):
    help = "Link a partner's receiving branch (by its code there) to an external organisation."

    def add_arguments(self, parser):
        parser.add_argument("partner", help="the partner's name")
        parser.add_argument("remote_code", help="the branch's organisation code in the partner")
        parser.add_argument("name", help="the branch's name, as our secretaries will choose it")
        parser.add_argument("region", help="where it is, e.g. 广东省深圳市")

    def handle(self, *args, **options):
        partner = Partner.objects.filter(name=options["partner"]).first()
        if partner is None:
            raise CommandError(f"No partner named {options['partner']}.")
        link = services.partner_organisation_link(
            partner=partner,
            name=options["name"],
            region=options["region"],
            remote_code=options["remote_code"],
        )
        self.stdout.write(f"external {link.external_id} → {partner.name} {link.remote_code}")

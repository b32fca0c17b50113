from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    """Other Liudong deployments: electronic transfers and certificates between them (#20)."""

    name = "partners"
    verbose_name = _("Partner deployments")

    def ready(self) -> None:
        # transfers/ never imports this room: an approved letter to a partner's branch reaches
        # the outbox through its signal, inside the approving transaction.
        from transfers.signals import (
            certificate_ended,
            certificate_issued,
            letter_reissued,
            transfer_approved,
        )

        from . import services

        transfer_approved.connect(services.on_transfer_approved, dispatch_uid="partners-letter")
        letter_reissued.connect(services.on_transfer_approved, dispatch_uid="partners-reissue")
        certificate_issued.connect(
            services.on_certificate_issued, dispatch_uid="partners-certificate"
        )
        certificate_ended.connect(
            services.on_certificate_ended, dispatch_uid="partners-certificate-ended"
        )

"""Writes for mobility, certificates and transfers. Each step checks that it is allowed.

Views reach objects through the scoped selectors first; these functions then check the
domain rules (state, dates, who may do the step) and refuse with a clear message.
"""

from .certificates import (
    certificate_end,
    certificate_issue,
    certificate_record_departure,
    certificate_register_arrival,
    certificate_reissue_lost,
    certificate_review,
)
from .episodes import (
    DEFERRAL_MAX_MONTHS,
    deferral_latest_until,
    episode_defer_transfer,
    episode_end,
    episode_move,
    episode_record_abroad_purpose,
    episode_start,
)
from .transfers import (
    NewExternalOrganisation,
    incoming_register,
    letter_record_received,
    letter_reissue,
    transfer_accept,
    transfer_approve,
    transfer_draft,
    transfer_record_receipt,
    transfer_reject,
    transfer_request,
    transfer_submit,
    transfer_withdraw,
)

__all__ = [
    "DEFERRAL_MAX_MONTHS",
    "NewExternalOrganisation",
    "certificate_end",
    "certificate_issue",
    "certificate_record_departure",
    "certificate_register_arrival",
    "certificate_reissue_lost",
    "certificate_review",
    "deferral_latest_until",
    "episode_defer_transfer",
    "episode_end",
    "episode_move",
    "episode_record_abroad_purpose",
    "episode_start",
    "incoming_register",
    "letter_record_received",
    "letter_reissue",
    "transfer_accept",
    "transfer_approve",
    "transfer_draft",
    "transfer_record_receipt",
    "transfer_reject",
    "transfer_request",
    "transfer_submit",
    "transfer_withdraw",
]

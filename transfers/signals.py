"""What transfers/ tells the rooms above it, without importing them.

`transfer_approved(transfer, letter)` is sent inside the approving transaction, once the
letter is issued: a receiver that writes (partners/ puts the letter in its outbox) commits or
rolls back with the approval, so an approved letter is never left unsent.

`letter_reissued(transfer, letter, replaces)` is sent the same way inside `letter_reissue`: the
new letter travels like the first, naming the one it replaces.

`certificate_issued(certificate)` is sent the same way inside `certificate_issue` (a reissue
too): partners/ tells an inflow side in another deployment.

`certificate_ended(certificate)` is sent inside the transaction that ends a certificate
(returned, cancelled by a transfer, reported lost), for that inflow side to close its copy.
"""

from django.dispatch import Signal

transfer_approved = Signal()
letter_reissued = Signal()
certificate_issued = Signal()
certificate_ended = Signal()

from ninja import Router
from ninja.pagination import paginate

from transfers.models import ActivityCertificate
from transfers.selectors import certificate_get, certificates_visible_to

from ..auth import ClientToken, user_of
from ..models import Scope
from ..pagination import IdCursor
from ..schemas import CertificateOut, Error

router = Router(tags=["certificates"], auth=ClientToken(Scope.CERTIFICATES))
REFUSED = {401: Error, 403: Error, 429: Error}


@router.get("", response={200: list[CertificateOut], **REFUSED}, url_name="certificates")
@paginate(IdCursor)
def list_certificates(request, status: ActivityCertificate.Status | None = None):
    certificates = certificates_visible_to(user_of(request))
    return certificates.filter(status=status) if status else certificates


@router.get(
    "/{certificate_id}",
    response={200: CertificateOut, 404: Error, **REFUSED},
    url_name="certificate",
)
def get_certificate(request, certificate_id: int):
    return certificate_get(user=user_of(request), pk=certificate_id)

"""django-import-export resources for the operator's reference data (the admin).

See common.py for how each sheet is read; organisations.py and staff.py for the columns.
"""

from .organisations import ExternalOrganisationResource, OrganisationResource
from .staff import StaffResource

__all__ = ["ExternalOrganisationResource", "OrganisationResource", "StaffResource"]

"""django-import-export resources for the operator's reference data (the admin).

See common.py for how each sheet is read, organisations.py for the columns; the staff
accounts' resource is accounts/resources.py.
"""

from .organisations import ExternalOrganisationResource, OrganisationResource

__all__ = ["ExternalOrganisationResource", "OrganisationResource"]

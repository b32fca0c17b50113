from django.utils.translation import gettext_lazy as _

from members.sections import member_section


@member_section(
    slug="mobility", title=_("Mobility"), order=10, template="transfers/member_mobility.html"
)
def mobility(request, member) -> dict:
    episodes = member.mobility_episodes.select_related("inflow_organisation", "inflow_external")
    return {"episodes": episodes.order_by("-left_on")}

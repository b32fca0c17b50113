from django import template
from django.utils.html import format_html_join

from transfers import divisions

register = template.Library()


@register.simple_tag
def city_datalist():
    options = format_html_join("", '<option value="{}">', ((c,) for c in divisions.all_cities()))
    return format_html_join("", '<datalist id="cities">{}</datalist>', [(options,)])

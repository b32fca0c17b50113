"""A municipality's city is "市辖区" everywhere (issue #17: the dashboard listed "上海市 32" and
"上海市 1" for the same city, stored as "上海市" by the demo and "市辖区" by the forms)."""

from django.db import migrations
from django.db.models import F, Q

MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


def one_name(apps, schema_editor):
    Episode = apps.get_model("transfers", "MobilityEpisode")
    Episode.objects.filter(destination_province__in=MUNICIPALITIES).filter(
        Q(destination_city="") | Q(destination_city=F("destination_province"))
    ).update(destination_city="市辖区")


class Migration(migrations.Migration):
    dependencies = [("transfers", "0004_certificate_verify_code_history")]

    operations = [migrations.RunPython(one_name, migrations.RunPython.noop)]

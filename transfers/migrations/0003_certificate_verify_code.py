import secrets

from django.db import migrations, models

import transfers.models


def fill_codes(apps, schema_editor):
    Certificate = apps.get_model("transfers", "ActivityCertificate")
    for certificate in Certificate.objects.filter(verify_code__isnull=True).only("pk"):
        certificate.verify_code = secrets.token_urlsafe(16)
        certificate.save(update_fields=["verify_code"])


class Migration(migrations.Migration):
    dependencies = [("transfers", "0002_received_letters_abroad_purpose_deferral")]

    operations = [
        migrations.AddField(
            model_name="activitycertificate",
            name="verify_code",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="activitycertificate",
            name="verify_code",
            field=models.CharField(
                default=transfers.models.new_verify_code,
                editable=False,
                max_length=32,
                unique=True,
            ),
        ),
    ]

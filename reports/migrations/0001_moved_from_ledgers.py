"""FigureSnapshot, moved here from ledgers/ (issue #16). State only: the table
(ledgers_figuresnapshot) is the one ledgers/0001 created, kept under its name; the content
type follows."""

from django.db import migrations, models
import django.db.models.deletion


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="ledgers", model="figuresnapshot").update(
        app_label="reports"
    )


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="reports", model="figuresnapshot").update(
        app_label="ledgers"
    )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('ledgers', '0001_initial'),
        ('members', '0008_alert_models_moved_to_alerts'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FigureSnapshot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('day', models.DateField()),
                        ('figures', models.JSONField(default=dict)),
                        ('organisation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='members.organisation')),
                    ],
                    options={
                        'db_table': 'ledgers_figuresnapshot',
                        'ordering': ['day'],
                        'constraints': [models.UniqueConstraint(fields=('organisation', 'day'), name='one_snapshot_per_day')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]

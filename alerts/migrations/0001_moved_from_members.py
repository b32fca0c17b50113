"""The alert engine's models, moved here from members/ (issue #16). State only: the tables
(members_alert, ...) are the ones members/0001 created, kept under their names. The content
types follow, so permissions and the admin's history stay attached."""

from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion

MOVED = ["alert", "alertaction", "scanrun", "emailsent", "emailpreference"]


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="members", model__in=MOVED).update(app_label="alerts")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="alerts", model__in=MOVED).update(app_label="members")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('members', '0007_id_search_and_duplicates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ScanRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('started_at', models.DateTimeField(verbose_name='started at')),
                        ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                        ('results', models.JSONField(default=dict)),
                        ('failed_rules', models.PositiveSmallIntegerField(default=0)),
                    ],
                    options={
                        'verbose_name': 'scan run',
                        'verbose_name_plural': 'scan runs',
                        'db_table': 'members_scanrun',
                        'ordering': ['-started_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Alert',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(max_length=50, verbose_name='kind')),
                        ('severity', models.CharField(choices=[('notice', 'Notice'), ('warning', 'Warning'), ('serious', 'Serious')], max_length=10, verbose_name='severity')),
                        ('state', models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged'), ('snoozed', 'Snoozed'), ('closed', 'Closed')], default='open', max_length=20, verbose_name='state')),
                        ('opened_at', models.DateTimeField(verbose_name='opened at')),
                        ('last_seen_at', models.DateTimeField(verbose_name='last seen at')),
                        ('snoozed_until', models.DateField(blank=True, null=True, verbose_name='snoozed until')),
                        ('closed_at', models.DateTimeField(blank=True, null=True, verbose_name='closed at')),
                        ('close_reason', models.CharField(blank=True, max_length=30, verbose_name='why closed')),
                        ('member', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alerts', to='members.member', verbose_name='member')),
                    ],
                    options={
                        'verbose_name': 'alert',
                        'verbose_name_plural': 'alerts',
                        'db_table': 'members_alert',
                        'ordering': ['-opened_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='AlertAction',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('action', models.CharField(choices=[('opened', 'Opened by the scan'), ('acknowledged', 'Acknowledged'), ('snoozed', 'Snoozed'), ('resolved', 'Resolved'), ('cleared', 'Closed by the scan: condition cleared')], max_length=20, verbose_name='action')),
                        ('at', models.DateTimeField(verbose_name='time')),
                        ('note', models.CharField(blank=True, max_length=300, verbose_name='note')),
                        ('actor', models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('alert', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='alerts.alert')),
                    ],
                    options={
                        'db_table': 'members_alertaction',
                        'ordering': ['at', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='EmailPreference',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('digests', models.BooleanField(default=True, verbose_name='receive digest e-mails')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='email_preference', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'members_emailpreference',
                    },
                ),
                migrations.CreateModel(
                    name='EmailSent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('recipient', models.EmailField(max_length=254, verbose_name='recipient')),
                        ('kind', models.CharField(max_length=30, verbose_name='kind')),
                        ('period', models.CharField(max_length=10, verbose_name='period')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed')], max_length=10, verbose_name='status')),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'e-mail sent',
                        'verbose_name_plural': 'e-mails sent',
                        'db_table': 'members_emailsent',
                    },
                ),
                migrations.AddIndex(
                    model_name='alert',
                    index=models.Index(fields=['kind', 'closed_at'], name='alert_kind_open'),
                ),
                migrations.AddIndex(
                    model_name='alert',
                    index=models.Index(condition=models.Q(('closed_at__isnull', True)), fields=['-opened_at', '-id'], name='alert_open_newest'),
                ),
                migrations.AddConstraint(
                    model_name='alert',
                    constraint=models.UniqueConstraint(condition=models.Q(('closed_at__isnull', True)), fields=('member', 'kind'), name='one_open_alert_per_member_and_kind'),
                ),
                migrations.AddConstraint(
                    model_name='emailsent',
                    constraint=models.UniqueConstraint(fields=('recipient', 'kind', 'period'), name='one_email_per_period'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]

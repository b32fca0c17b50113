"""The alert engine's models moved to alerts/ (issue #16): removed from members' state only;
the tables stay, and alerts/0001 took them over under the same names."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0007_id_search_and_duplicates"),
        ("alerts", "0001_moved_from_members"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="alert",
                    name="member",
                ),
                migrations.RemoveField(
                    model_name="alertaction",
                    name="alert",
                ),
                migrations.RemoveField(
                    model_name="alertaction",
                    name="actor",
                ),
                migrations.RemoveField(
                    model_name="emailpreference",
                    name="user",
                ),
                migrations.RemoveField(
                    model_name="emailsent",
                    name="user",
                ),
                migrations.DeleteModel(
                    name="ScanRun",
                ),
                migrations.DeleteModel(
                    name="Alert",
                ),
                migrations.DeleteModel(
                    name="AlertAction",
                ),
                migrations.DeleteModel(
                    name="EmailPreference",
                ),
                migrations.DeleteModel(
                    name="EmailSent",
                ),
            ],
            database_operations=[],
        )
    ]

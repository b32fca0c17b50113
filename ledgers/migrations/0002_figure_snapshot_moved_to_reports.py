"""FigureSnapshot moved to reports/ (issue #16): removed from ledgers' state only; the table
stays, and reports/0001 took it over under the same name."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ledgers", "0001_initial"),
        ("reports", "0001_moved_from_ledgers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="FigureSnapshot")],
            database_operations=[],
        )
    ]

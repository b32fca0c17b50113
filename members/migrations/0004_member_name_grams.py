"""An index for name search on PostgreSQL: see members/name_search.py."""

from django.db import migrations

from members.name_search import DROP_SQL, GRAMS_FUNCTION_SQL, GRAMS_INDEX_SQL


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GRAMS_FUNCTION_SQL)
        schema_editor.execute(GRAMS_INDEX_SQL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("members", "0003_alert_inbox_index")]

    operations = [migrations.RunPython(create, drop)]

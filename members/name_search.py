"""Name search through an index on PostgreSQL (a plain `icontains` elsewhere).

Most names are two or three Chinese characters, and most searches are a whole given name of
two. pg_trgm looks a query up by its trigrams, and a two-character query has none, so a
trigram index would be read whole. Instead an expression GIN index holds each name's single
characters and pairs of characters (`liudong_name_grams`, migration 0004); a query's grams
must all be in the name's, and `icontains` then checks the order.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.db.models import Func, QuerySet, Value

GRAMS_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION liudong_name_grams(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT gram), '{}') FROM (
    SELECT substr(lower(name), i, 1) AS gram FROM generate_series(1, char_length(name)) AS i
    UNION ALL
    SELECT substr(lower(name), i, 2) FROM generate_series(1, char_length(name) - 1) AS i
  ) AS grams
$$
"""
GRAMS_INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS member_name_grams "
    "ON members_member USING gin (liudong_name_grams(name))"
)
DROP_SQL = (
    "DROP INDEX IF EXISTS member_name_grams; DROP FUNCTION IF EXISTS liudong_name_grams(text)"
)


class NameGrams(Func):
    function = "liudong_name_grams"
    output_field = ArrayField(models.TextField())


def filter_by_name(members: QuerySet, *, query: str) -> QuerySet:
    """Members whose name contains `query` (case-insensitive)."""
    if connection.vendor != "postgresql":
        return members.filter(name__icontains=query)
    return members.alias(name_grams=NameGrams("name")).filter(
        name_grams__contains=NameGrams(Value(query)), name__icontains=query
    )

"""The full-text index over sessions (title, description, tags, the mentor's name), kept by the database.

One definition serves the Alembic migration (revision 0007) and `create_all` (tests and fresh
databases), so both build the same index:

- SQLite: an FTS5 table `session_search` (rowid = the session's id) kept up to date by triggers on
  `mentor_sessions` and on a mentor's rename in `users`.
- PostgreSQL: GIN expression indexes over `to_tsvector('simple', …)` of the session's text and of the
  mentor's name; `mentorlive_tags_text()` (IMMUTABLE, so an index may use it) turns the JSON tag list
  into words.

Both use no stemming and keep accents (FTS5 `remove_diacritics 0`, PostgreSQL's `simple`
configuration), so a query finds the same sessions on either database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import DDL, event
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from models.tables import MentorSession

FTS_TABLE = "session_search"

# The session's own text as PostgreSQL indexes it; queries must repeat it exactly to use the index.
PG_SESSION_DOCUMENT = (
    "to_tsvector('simple', title || ' ' || description || ' ' || mentorlive_tags_text(domain_tags))"
)
PG_MENTOR_DOCUMENT = "to_tsvector('simple', name)"

_SQLITE_ROW = (
    "new.id, new.title, new.description, "
    "(SELECT group_concat(value, ' ') FROM json_each(new.domain_tags)), "
    "(SELECT name FROM users WHERE id = new.mentor_id)"
)

SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "title, description, tags, mentor, tokenize = 'unicode61 remove_diacritics 0')",
    f"""CREATE TRIGGER session_search_insert AFTER INSERT ON mentor_sessions BEGIN
  INSERT INTO {FTS_TABLE}(rowid, title, description, tags, mentor) VALUES ({_SQLITE_ROW});
END""",
    f"""CREATE TRIGGER session_search_update AFTER UPDATE OF title, description, domain_tags, mentor_id
ON mentor_sessions BEGIN
  DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
  INSERT INTO {FTS_TABLE}(rowid, title, description, tags, mentor) VALUES ({_SQLITE_ROW});
END""",
    f"""CREATE TRIGGER session_search_delete AFTER DELETE ON mentor_sessions BEGIN
  DELETE FROM {FTS_TABLE} WHERE rowid = old.id;
END""",
    f"""CREATE TRIGGER session_search_mentor_rename AFTER UPDATE OF name ON users BEGIN
  UPDATE {FTS_TABLE} SET mentor = new.name
  WHERE rowid IN (SELECT id FROM mentor_sessions WHERE mentor_id = new.id);
END""",
]
SQLITE_BACKFILL = (
    f"INSERT INTO {FTS_TABLE}(rowid, title, description, tags, mentor) "
    "SELECT s.id, s.title, s.description, "
    "(SELECT group_concat(value, ' ') FROM json_each(s.domain_tags)), u.name "
    "FROM mentor_sessions s JOIN users u ON u.id = s.mentor_id"
)
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS session_search_mentor_rename",
    "DROP TRIGGER IF EXISTS session_search_delete",
    "DROP TRIGGER IF EXISTS session_search_update",
    "DROP TRIGGER IF EXISTS session_search_insert",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]

POSTGRES_CREATE = [
    """CREATE OR REPLACE FUNCTION mentorlive_tags_text(tags json) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(string_agg(value, ' '), '') FROM json_array_elements_text(tags) $$""",
    f"CREATE INDEX ix_mentor_sessions_search ON mentor_sessions USING gin ({PG_SESSION_DOCUMENT})",
    f"CREATE INDEX ix_users_name_search ON users USING gin ({PG_MENTOR_DOCUMENT})",
]
POSTGRES_DROP = [
    "DROP INDEX IF EXISTS ix_users_name_search",
    "DROP INDEX IF EXISTS ix_mentor_sessions_search",
    "DROP FUNCTION IF EXISTS mentorlive_tags_text(json)",
]


def create_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [*SQLITE_CREATE, SQLITE_BACKFILL]
    if dialect == "postgresql":
        return list(POSTGRES_CREATE)
    return []


def drop_statements(dialect: str) -> list[str]:
    return {"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}.get(dialect, [])


PG_INDEXES = frozenset({"ix_mentor_sessions_search", "ix_users_name_search"})


def is_search_object(name: str | None) -> bool:
    """The index's own tables (FTS5 and its shadow tables) and expression indexes: no model describes
    them, so schema comparisons leave them out (Alembic's `include_name`)."""
    if not name:
        return False
    return name == FTS_TABLE or name.startswith(f"{FTS_TABLE}_") or name in PG_INDEXES


def _create_after_sessions(target: Any, connection: Connection, **_: Any) -> None:
    for statement in create_statements(connection.dialect.name):
        connection.execute(DDL(statement))


def _drop_before_sessions(target: Any, connection: Connection, **_: Any) -> None:
    for statement in drop_statements(connection.dialect.name):
        connection.execute(DDL(statement))


# `create_all` builds mentor_sessions after users (its foreign key), so both exist here.
_SESSIONS_TABLE = SQLModel.metadata.tables[MentorSession.__tablename__]  # type: ignore[index]
event.listen(_SESSIONS_TABLE, "after_create", _create_after_sessions)
event.listen(_SESSIONS_TABLE, "before_drop", _drop_before_sessions)

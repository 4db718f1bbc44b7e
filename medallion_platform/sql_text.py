"""Values written into SQL text, one rule per dialect and kind.

Values a statement can take as bound parameters are bound (`?` in DuckDB, `%s` in the Snowflake
connector). What cannot be bound (identifiers, file paths and keys inside COPY, read_csv or a generated
view, a Snowflake stage's options) is written with these functions only, so a quote, a backslash, a
semicolon or `--` in a landing key, a CSV header or a credential stays inside its literal.
"""

from __future__ import annotations

from datetime import date


def quote_ident(name: str) -> str:
    """A quoted identifier, in DuckDB and in Snowflake: a double quote inside is doubled, nothing else is
    special (in Snowflake a quoted name is case-sensitive, so callers pass the case they mean)."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A DuckDB string literal: a single quote is doubled; a backslash is an ordinary character."""
    return "'" + text.replace("'", "''") + "'"


def snowflake_literal(text: str) -> str:
    """A Snowflake string literal: a single quote is doubled, and a backslash too, since Snowflake reads
    one as the start of an escape sequence."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def date_list(days: list[str]) -> str:
    """Landing days as `DATE 'YYYY-MM-DD'` literals for an IN list, in both dialects; anything that is not
    a calendar day is refused with its value."""
    literals = []
    for day in sorted(days):
        try:
            literals.append(f"DATE '{date.fromisoformat(day).isoformat()}'")
        except (TypeError, ValueError):
            raise ValueError(f"landing day {day!r} is not a date (YYYY-MM-DD)") from None
    return ", ".join(literals)

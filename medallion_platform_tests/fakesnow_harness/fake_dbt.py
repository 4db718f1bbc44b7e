"""The real dbt CLI, dbt-snowflake adapter and all, run against fakesnow: a TEST STAND-IN for Snowflake.

    MEDALLION_FAKESNOW_DIR=/tmp/fakesnow SNOWFLAKE_ACCOUNT=x ... \\
        python -m medallion_platform_tests.fakesnow_harness.fake_dbt build --target snowflake --project-dir sql --profiles-dir sql

Inside this process `snowflake.connector.connect` is patched by `fakesnow.patch(db_path=...)`, so every
statement dbt-snowflake sends is parsed as Snowflake SQL (sqlglot), translated, and run by an embedded
DuckDB. With `db_path`, each Snowflake database is a DuckDB file `<MEDALLION_FAKESNOW_DIR>/<DATABASE>.db`
(SNOWFLAKE_DATABASE=MEDALLION: `MEDALLION.db`), attached on the first connection that names it. So the
Bronze tables a test wrote in another process (under its own `fakesnow.patch` with the same folder) are
what dbt reads, and what dbt builds is there for the test to read after this process exits. Only one
process may hold the folder's databases at a time (DuckDB's file lock). The exit status is dbt's: 0
success, 1 a model or test failed, 2 dbt could not run.

What it proves: the project's models, macros, hooks, tests and dbt-snowflake's materializations
(table, view, seed, incremental delete+insert inside BEGIN ... COMMIT, append with pre-hooks) produce
statements that sqlglot accepts as Snowflake SQL, in an order that works, and, through DuckDB, the same
numbers as the DuckDB path. What it does NOT prove:
- Snowflake's semantics. The SQL runs on DuckDB after translation: decimal division is DOUBLE (Snowflake
  keeps NUMBER with 6 more decimals), TRY_TO_DATE ignores its format argument, INITCAP, REGEXP_LIKE and
  TRY_TO_TIMESTAMP are emulated; how Snowflake itself reads an unusual date or number string is untested.
- Anything about performance, warehouses, concurrency or transactions between sessions, permissions,
  query tags, or Snowflake's own error behaviour.

dbt-snowflake 1.12 sends four things fakesnow 0.11.4 cannot run, the events view
(medallion_platform/snowflake/events_flatten.py, through FakesnowWarehouse) three more, and the Bronze
loader (medallion_platform/snowflake/bronze.py) two; this module rewrites exactly these, each to what
Snowflake does in this project's case, and nothing else (the loader's COPY forms are FakesnowCopy's, in
warehouse.py):
1. `show user functions in <db>.<schema>` (dbt lists UDFs when caching a schema) fails with
   `001003 (42000): Parser Error: syntax error at or near "functions"`. Answered with no rows, in the
   columns dbt reads (catalog_name, schema_name, name, is_builtin): this project defines no functions.
2. `insert overwrite into <seed> ...` (how dbt-snowflake 1.12 loads seeds) fails with
   `001003 (42000): Parser Error: syntax error at or near "OVERWRITE"`. Run as `delete from <seed>`
   then the same INSERT, inside the BEGIN ... COMMIT dbt wraps the load in.
3. `create or replace temporary table|view <db>.<schema>.<model>__dbt_tmp` (the staging relation of an
   incremental run) fails with `001003 (42000): Parser Error: TEMPORARY table names can *only* use the
   "temp" catalog` (a DuckDB temporary table cannot live in a named database). Created as an ordinary
   table or view under the same name; dbt drops it right after the merge (`drop ... if exists`), as it
   does on Snowflake. A run that dies in between leaves it behind, where Snowflake's session would not.
4. Not a statement: dbt opens several connections at once (threads), and fakesnow's first connection to
   a database file races to ATTACH it: `Binder Error: Unique file handle conflict: Cannot attach
   "MEDALLION" - the database file ".../MEDALLION.db" is already attached by database "MEDALLION"`.
   Connections are opened one at a time.
5. `TYPEOF(<variant>)` answers 'JSON' for every value (fakesnow hands it to DuckDB's typeof, the SQL
   type of fakesnow's VARIANT). Rewritten to Snowflake's names from DuckDB's `json_type`: INTEGER,
   DECIMAL (a number with a fraction and no exponent), DOUBLE, VARCHAR, BOOLEAN, OBJECT, ARRAY,
   NULL_VALUE for a JSON null, NULL for SQL NULL.
6. `STRIP_NULL_VALUE(<variant>)` fails with `002003 (42S02): Catalog Error: Scalar Function with name
   strip_null_value does not exist!`. Rewritten to `nullif(<variant>, 'null')`: a JSON null becomes
   NULL, any other value stays.
Rewrites 5 and 6 work on sqlglot's parse of the statement, before fakesnow's own translations (which
then translate the argument as ever), so they hold wherever the functions stand in a statement.
7. `CREATE [OR REPLACE] VIEW v (c1 COMMENT '...', c2, ...) AS ...`: fakesnow creates the view without
   the column comments (sqlglot warns `CommentColumnConstraint unsupported`), and has no statement
   that sets one (it parses ALTER VIEW ... ALTER COLUMN ... COMMENT and drops it). Run as sent; then each
   comment is set with DuckDB's own COMMENT ON COLUMN on fakesnow's DuckDB connection, where
   INFORMATION_SCHEMA.COLUMNS reads it. (DuckDB finds a view's column for COMMENT ON COLUMN only when
   the SELECT names it as the column list does, which the events view's SELECT does.)
8. `SELECT <schema>.<sequence>.NEXTVAL`: fakesnow drops the schema and fails with `Catalog Error: Sequence
   with name ... does not exist!`. Run as `USE SCHEMA <schema>` then `SELECT <sequence>.NEXTVAL`.
9. `CREATE STAGE IF NOT EXISTS` of a stage that exists fails with `Object '...' already exists.`: that
   error is ignored for this statement, as IF NOT EXISTS says.
The delete+insert incremental strategy itself (BEGIN, DELETE ... USING the staged rows, INSERT, COMMIT),
the models' pre-hooks (DELETE of the dates to rebuild) and post-hooks run as dbt sends them, under the
patch. fakesnow's server mode (dbt-snowflake over HTTP) is not used: it was found to misparse BEGIN and
to hang on incremental runs.

Set FAKE_DBT_DEBUG=1 to print every statement dbt sends (before any rewrite) to stderr.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from medallion_platform.dbt_cli import apply_assignments
from medallion_platform.sql_text import quote_ident, sql_literal

DB_PATH_VARIABLE = "MEDALLION_FAKESNOW_DIR"

# 1. No user-defined functions, in the columns dbt-snowflake selects from SHOW USER FUNCTIONS.
SHOW_USER_FUNCTIONS = re.compile(r"^\s*show\s+user\s+functions\s+in\s", re.IGNORECASE)
NO_USER_FUNCTIONS = (
    "SELECT NULL::VARCHAR AS catalog_name, NULL::VARCHAR AS schema_name, NULL::VARCHAR AS name, "
    "NULL::VARCHAR AS is_builtin WHERE FALSE"
)
# 2. INSERT OVERWRITE INTO <table>: the table's rows replaced by the INSERT's.
INSERT_OVERWRITE = re.compile(r"^\s*insert\s+overwrite\s+(into\s+(\S+))", re.IGNORECASE)
# 3. A temporary staging relation, created as an ordinary one (dbt drops it after use).
TEMPORARY = re.compile(r"^(\s*create\s+or\s+replace\s+)temporary\s+(table|view)\b", re.IGNORECASE)
# 5, 6. Snowflake's functions of a VARIANT in DuckDB's terms; :v is the argument.
TYPEOF_IN_DUCKDB = (
    "CASE json_type(:v) WHEN 'BIGINT' THEN 'INTEGER' WHEN 'UBIGINT' THEN 'INTEGER' "
    "WHEN 'DOUBLE' THEN CASE WHEN regexp_matches(CAST(:v AS VARCHAR), '[eE]') THEN 'DOUBLE' ELSE 'DECIMAL' END "
    "WHEN 'NULL' THEN 'NULL_VALUE' ELSE json_type(:v) END"
)
STRIP_NULL_VALUE_IN_DUCKDB = "nullif(:v, 'null')"
# 7. A CREATE VIEW, which may give its columns comments.
CREATE_VIEW = re.compile(r"^\s*create\s+(or\s+replace\s+)?view\s", re.IGNORECASE)
# 8. A sequence's next value, named with its schema.
NEXTVAL = re.compile(r"^\s*select\s+(\w+)\.(\w+)\.nextval\s*$", re.IGNORECASE)
# 9. A stage created unless it exists.
CREATE_STAGE_IF_NOT_EXISTS = re.compile(r"^\s*create\s+stage\s+if\s+not\s+exists\s", re.IGNORECASE)


def translate(command: str) -> list[str]:
    """The statements fakesnow runs for one statement dbt sends: the same one, unless it is one of the
    forms fakesnow cannot run (see the module docstring)."""
    if SHOW_USER_FUNCTIONS.match(command):
        return [NO_USER_FUNCTIONS]
    overwrite = INSERT_OVERWRITE.match(command)
    if overwrite:
        return [f"delete from {overwrite.group(2)}", "insert " + command[overwrite.start(1):]]
    nextval = NEXTVAL.match(command)
    if nextval:
        return [f"USE SCHEMA {nextval.group(1)}", f"SELECT {nextval.group(2)}.NEXTVAL"]
    return [TEMPORARY.sub(r"\1\2", command, count=1)]


def variant_functions(node):
    """A sqlglot node of the statement as parsed, with rewrites 5 and 6 (see the module docstring)."""
    from sqlglot import exp, parse_one

    if isinstance(node, exp.Typeof):
        template, argument = TYPEOF_IN_DUCKDB, node.this
    elif isinstance(node, exp.Anonymous) and node.name.upper() == "STRIP_NULL_VALUE":
        template, argument = STRIP_NULL_VALUE_IN_DUCKDB, node.expressions[0]
    else:
        return node
    return parse_one(template, read="duckdb").transform(
        lambda part: argument.copy() if isinstance(part, exp.Placeholder) else part)


def view_column_comments(command: str, database: str, schema: str) -> list[str]:
    """7: DuckDB's COMMENT ON COLUMN for each column comment of a CREATE VIEW, with the names fakesnow gives
    the view in DuckDB (unquoted ones upper-cased; the connection's database and schema by default)."""
    if not CREATE_VIEW.match(command):
        return []
    from sqlglot import exp, parse_one

    view = parse_one(command, read="snowflake").this
    if not isinstance(view, exp.Schema):  # no column list
        return []

    def name(identifier: exp.Identifier | None, default: str = "") -> str:
        return quote_ident(default if identifier is None else
                           identifier.name if identifier.quoted else identifier.name.upper())

    table = view.this
    qualified = ".".join([name(table.args.get("catalog"), database), name(table.args.get("db"), schema),
                          name(table.this)])
    return [f"COMMENT ON COLUMN {qualified}.{name(column.this)} IS {sql_literal(constraint.kind.this.this)}"
            for column in view.expressions if isinstance(column, exp.ColumnDef)
            for constraint in column.constraints if isinstance(constraint.kind, exp.CommentColumnConstraint)]


@contextmanager
def fake_snowflake(db_path: str | os.PathLike | None = None) -> Iterator[None]:
    """`fakesnow.patch` with persistent databases in `db_path` (in memory without it), the rewrites
    above, and connections opened one at a time. Import fakesnow here: it costs seconds."""
    import fakesnow
    from snowflake.connector.errors import ProgrammingError
    from fakesnow.cursor import FakeSnowflakeCursor
    from fakesnow.instance import FakeSnow

    execute_one = FakeSnowflakeCursor.execute
    transform_one = FakeSnowflakeCursor._transform
    connect_one = FakeSnow.connect
    connecting = threading.Lock()

    def execute(cursor, command, *args, **kwargs):
        if os.environ.get("FAKE_DBT_DEBUG"):
            print(f"fake_dbt SQL> {command}", file=sys.stderr)
        *before, statement = translate(command)
        for other in before:
            execute_one(cursor, other)
        try:
            result = execute_one(cursor, statement, *args, **kwargs)
        except ProgrammingError as error:
            if CREATE_STAGE_IF_NOT_EXISTS.match(statement) and "already exists" in str(error):
                return cursor
            raise
        for comment in view_column_comments(command, cursor._conn.database, cursor._conn.schema):
            cursor._duck_conn.execute(comment)
        return result

    def connect(fake, *args, **kwargs):
        with connecting:
            return connect_one(fake, *args, **kwargs)

    def transform(cursor, expression, params):
        return transform_one(cursor, expression.transform(variant_functions), params)

    # The class attributes are replaced before fakesnow.patch binds FakeSnow.connect as the fake.
    with mock.patch.object(FakeSnowflakeCursor, "execute", execute), \
            mock.patch.object(FakeSnowflakeCursor, "_transform", transform), \
            mock.patch.object(FakeSnow, "connect", connect), \
            fakesnow.patch(db_path=db_path):
        yield


def main(argv: Sequence[str] | None = None) -> int:
    # Leading NAME=VALUE arguments are this process's environment, as for medallion-dbt.
    args = apply_assignments(sys.argv[1:] if argv is None else argv)
    db_path = os.environ.get(DB_PATH_VARIABLE, "").strip()
    if not db_path:
        print(f"fake_dbt: set {DB_PATH_VARIABLE} to the folder of the fakesnow databases "
              "(created if missing; it keeps them between runs)", file=sys.stderr)
        return 2
    Path(db_path).mkdir(parents=True, exist_ok=True)
    with fake_snowflake(db_path):
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(args)
    if result.success:
        return 0
    if result.exception is not None:
        print(f"fake_dbt: dbt stopped: {result.exception}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())

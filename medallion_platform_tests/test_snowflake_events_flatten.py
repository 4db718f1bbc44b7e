"""The flattened events view on Snowflake, played by fakesnow: the same columns, types, names and values as
DuckDB's from the same payloads.

Each test lands the same records in both warehouses: on DuckDB through the real Bronze loader, on
fakesnow into a BRONZE.EVENTS created by the production DDL, each payload a VARIANT by PARSE_JSON as the
Snowflake loader parses its lines (the COPY itself is test_snowflake_bronze.py's). Under fakesnow the
harness (fakesnow_harness/fake_dbt.py) rewrites TYPEOF, STRIP_NULL_VALUE and the view's
column comments, which fakesnow answers wrongly or drops; every statement the Snowflake side sends is
also parsed with sqlglot's Snowflake dialect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pytest
import snowflake.connector
import sqlglot
from dagster import materialize
from dagster_snowflake import SnowflakeResource
from sqlglot import exp

from medallion_platform.bronze.loader import LINEAGE_COLUMNS
from medallion_platform.defs.events import events_flattened
from medallion_platform.events_flatten import MAX_DEPTH, DuckDBFlatten, FlattenedView, replace_flattened_view
from medallion_platform.landing import LocalLandingZone
from medallion_platform.snowflake import bronze, ddl
from medallion_platform.snowflake.events_flatten import SnowflakeFlatten
from medallion_platform.sources import get_source
from medallion_platform_tests.fakesnow_harness.fake_dbt import fake_snowflake
from medallion_platform_tests.fakesnow_harness.warehouse import FakesnowWarehouse
from medallion_platform_tests.test_events_flatten import FIRST_VISIT, SECOND_VISIT, land_events
from medallion_platform_tests.test_snowflake_bronze import RecordingCursor

DEEP = {"event_id": "E3", "a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}
ODD_VALUES = {  # with FIRST_VISIT and SECOND_VISIT: each kind of value and key the rules type or name
    "event_id": "E4", "score": 7.5,                          # 7, "high" and 7.5
    "geo": {"lat": 1e300, "lon": -4},                         # DOUBLE (1e300), DECIMAL and INTEGER: DOUBLE
    "big": 18446744073709551615, "small": -3,                # an integer beyond 64 bits: VARCHAR
    "when": "2026-13-01T00:00:00",                            # no such month: VARCHAR
    "empty": {}, "flags": [True, {"x": None}],
    "Odd Keys": {"a.b": "dot", 'q"t': 5, "Ünïcode-ключ": True, "UPPER": "u"},
}
PAYLOADS = [FIRST_VISIT, SECOND_VISIT, DEEP, ODD_VALUES]
EXPECTED_COLUMNS = [  # beyond the lineage, in path order
    ("odd_keys_upper", "VARCHAR", ("Odd Keys", "UPPER")),
    ("odd_keys_a_b", "VARCHAR", ("Odd Keys", "a.b")),
    ("odd_keys_q_t", "BIGINT", ("Odd Keys", 'q"t')),
    ("odd_keys__n_code_____", "BOOLEAN", ("Odd Keys", "Ünïcode-ключ")),
]


CONNECTION = {"account": "fake", "user": "test", "password": "x", "database": "MEDALLION"}
# The view's column types on DuckDB (DESCRIBE) and on Snowflake (INFORMATION_SCHEMA.COLUMNS).
SNOWFLAKE_TYPES = {"BIGINT": "NUMBER", "DOUBLE": "FLOAT", "BOOLEAN": "BOOLEAN", "VARCHAR": "TEXT",
                   "TIMESTAMP": "TIMESTAMP_NTZ", "JSON": "VARIANT"}


def land_on_snowflake(cursor, key: str, records: list[dict], load_id: int = 1) -> None:
    """The records in BRONZE.EVENTS (created by the production DDL if missing), as the loader leaves them."""
    events = get_source("events")
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {bronze.SCHEMA}")
    cursor.execute(ddl.bronze_table_sql(bronze.bronze_table(events), events))
    for row_number, record in enumerate(records, start=1):
        cursor.execute(
            "INSERT INTO BRONZE.EVENTS (event_id, payload, _source_file, _row_number, _ingested_at, _load_id, "
            "_landing_date) SELECT %s, PARSE_JSON(%s), %s, %s, CURRENT_TIMESTAMP(), %s, %s::DATE",
            (record["event_id"], json.dumps(record), key, row_number, load_id, key.split("/")[1]))


@dataclass
class Warehouses:
    """A DuckDB warehouse and a fakesnow one (the harness's rewrites on), each with its bronze.events."""

    con: duckdb.DuckDBPyConnection
    landing: LocalLandingZone
    snow: RecordingCursor

    def land(self, key: str, records: list[dict], load_id: int = 1) -> None:
        land_events(self.con, self.landing, key, records)
        land_on_snowflake(self.snow, key, records, load_id)

    def views(self) -> tuple[FlattenedView, FlattenedView]:
        return (replace_flattened_view(DuckDBFlatten(self.con), "gold"),
                replace_flattened_view(SnowflakeFlatten(self.snow), "gold"))


@pytest.fixture
def both(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con, fake_snowflake(tmp_path), \
            snowflake.connector.connect(**CONNECTION) as snow:
        yield Warehouses(con, LocalLandingZone(root=str(tmp_path / "landing")), RecordingCursor(snow.cursor()))


def view_rows(cursor, columns: list[str]) -> list[tuple]:
    """The columns (quoted: a key may be a reserved word) by event_id, JSON text parsed."""
    quoted = ", ".join(f'"{name.upper()}"' for name in columns)
    cursor.execute(f"SELECT {quoted} FROM gold.events_flattened ORDER BY event_id")
    return [tuple(json.loads(v) if isinstance(v, str) and v[:1] in "[{" else v for v in row)
            for row in cursor.fetchall()]


def test_snowflake_types_and_names_every_path_as_duckdb_does(both):
    both.land("events/2026-11-20/e.jsonl", PAYLOADS)
    on_duckdb, on_snowflake = both.views()
    assert on_snowflake.columns == on_duckdb.columns
    types = {c.name: c.type for c in on_snowflake.columns}
    assert {name: types[name] for name in (
        "score", "geo_lat", "geo_lon", "big", "small", "when", "empty", "flags", "page_tags", "event_timestamp",
        "device_screen_width", "device_dark_mode", "cart_items", "cart_value", "experiment", "geo_zip",
    )} == {
        "score": "VARCHAR", "geo_lat": "DOUBLE", "geo_lon": "DOUBLE", "big": "VARCHAR", "small": "BIGINT",
        "when": "VARCHAR", "empty": "VARCHAR", "flags": "JSON", "page_tags": "JSON", "event_timestamp": "TIMESTAMP",
        "device_screen_width": "BIGINT", "device_dark_mode": "BOOLEAN", "cart_items": "BIGINT",
        "cart_value": "DOUBLE", "experiment": "VARCHAR", "geo_zip": "VARCHAR",
    }
    assert [(c.name, c.type, c.path) for c in on_snowflake.columns if c.path and c.path[0] == "Odd Keys"] \
        == EXPECTED_COLUMNS
    deep = next(c for c in on_snowflake.columns if c.path and c.path[0] == "a")
    assert (deep.path, deep.type) == (tuple("abcdefghi"[:MAX_DEPTH]), "VARCHAR")
    both.snow.execute("SELECT lower(column_name), data_type FROM information_schema.columns "
                      "WHERE table_schema = 'GOLD' AND table_name = 'EVENTS_FLATTENED' ORDER BY ordinal_position")
    described = both.snow.fetchall()
    assert [name for name, _ in described] == [c.name for c in on_duckdb.columns]
    payload = len(on_duckdb.columns) - len(LINEAGE_COLUMNS)
    assert [kind for _, kind in described[:payload]] == [SNOWFLAKE_TYPES[c.type] for c in on_duckdb.columns[:payload]]


def test_snowflake_view_values_equal_duckdbs_row_by_row(both):
    both.land("events/2026-11-20/e.jsonl", PAYLOADS)
    on_duckdb, _ = both.views()
    columns = [c.name for c in on_duckdb.columns if c.name not in ("_ingested_at", "_load_id", "_file_last_modified")]
    expected, actual = view_rows(both.con, columns), view_rows(both.snow, columns)
    assert len(actual) == len(expected) == 4
    for duckdb_row, snowflake_row in zip(expected, actual):
        assert dict(zip(columns, snowflake_row)) == dict(zip(columns, duckdb_row))
    by_event = {row[columns.index("event_id")]: dict(zip(columns, row)) for row in actual}
    assert {k: by_event["E1"][k] for k in ("event_timestamp", "geo_zip", "score", "page_tags", "device_dark_mode")} == {
        "event_timestamp": datetime(2026, 11, 20, 10, 0, 0, 123000), "geo_zip": "01234", "score": "7",
        "page_tags": ["sale", "new"], "device_dark_mode": True}
    assert {k: by_event["E2"][k] for k in ("event_timestamp", "cart_items", "cart_value", "geo_lon", "experiment")} == {
        "event_timestamp": datetime(2026, 11, 20, 10, 30), "cart_items": 2, "cart_value": 10.5, "geo_lon": 2.35,
        "experiment": None}
    assert {k: by_event["E4"][k] for k in ("big", "score", "when", "empty", "flags", "odd_keys_q_t", "geo_lat")} == {
        "big": "18446744073709551615", "score": "7.5", "when": "2026-13-01T00:00:00", "empty": {},
        "flags": [True, {"x": None}], "odd_keys_q_t": 5, "geo_lat": 1e300}
    assert by_event["E3"]["a_b_c_d_e_f_g_h"] == {"i": 1}


def test_a_path_only_in_new_rows_becomes_a_column_and_names_stay_put(both):
    both.land("events/2026-11-20/e.jsonl",
              [{"event_id": "E1", "a-b": 1, "a_b": 2, "A B": 3, "_load_id": "mine", "1st": True}])
    both.views()
    assert both.views()[1].new_paths == ()
    both.land("events/2026-11-21/e.jsonl", [{"event_id": "E2", "a": {"b": 4}, "campaign": {"utm_source": "x"}}],
              load_id=2)
    on_duckdb, second = both.views()
    assert second.new_paths == (("a", "b"), ("campaign", "utm_source"))
    names = {c.path: c.name for c in second.columns if c.path is not None}
    # ("a", "b") sorts before ("a-b",), yet the names already given do not move
    assert names == {("1st",): "_1st", ("A B",): "a_b", ("_load_id",): "_load_id_2", ("a-b",): "a_b_2",
                     ("a_b",): "a_b_3", ("a", "b"): "a_b_4", ("campaign", "utm_source"): "campaign_utm_source",
                     ("event_id",): "event_id"}
    assert second.columns == on_duckdb.columns
    assert view_rows(both.snow, ["event_id", "a_b", "a_b_4", "campaign_utm_source", "_load_id_2"]) == [
        ("E1", 3, None, None, "mine"), ("E2", None, 4, "x", None)]


def test_every_statement_is_snowflake_sql_sqlglot_parses(both):
    both.land("events/2026-11-20/e.jsonl", PAYLOADS)
    both.views()
    sent = [s for s in both.snow.statements if not s.startswith(("INSERT", "CREATE TABLE"))]
    for statement in sent:
        assert not isinstance(sqlglot.parse_one(statement, read="snowflake"), exp.Command), statement
    discovery = [s for s in sent if "LATERAL FLATTEN" in s]
    assert len(discovery) == MAX_DEPTH and not any("RECURSIVE" in s for s in discovery)
    view = next(s for s in sent if s.startswith("CREATE OR REPLACE VIEW"))
    assert '"DEVICE_SCREEN_WIDTH" COMMENT \'["device", "screen width"]\'' in view
    assert 'payload:"device"."screen width"::BIGINT AS "DEVICE_SCREEN_WIDTH"' in view
    assert 'payload:"Odd Keys"."q""t"::BIGINT AS "ODD_KEYS_Q_T"' in view
    assert 'STRIP_NULL_VALUE(payload:"page"."tags") AS "PAGE_TAGS"' in view


def test_fakesnow_ignores_a_recursive_flatten_so_discovery_goes_level_by_level(both):
    """On Snowflake this FLATTEN gives two rows (a, then a.b); fakesnow 0.11.4 gives the first level only."""
    both.snow.execute("SELECT f.key FROM (SELECT PARSE_JSON('{\"a\": {\"b\": 1}}') AS v) AS t, "
                      "LATERAL FLATTEN(input => t.v, RECURSIVE => TRUE) AS f")
    assert both.snow.fetchall() == [("a",)]


def test_the_harness_gives_typeof_and_strip_null_value_snowflakes_answers(both):
    values = ["1", "-1", "18446744073709551615", "2.5", "1e300", '"s"', "true", "{}", "[]", "null"]
    both.snow.execute("SELECT " + ", ".join(f"TYPEOF(PARSE_JSON('{v}'))" for v in values) + ", "
                      "TYPEOF(PARSE_JSON('{}'):absent), "
                      "STRIP_NULL_VALUE(PARSE_JSON('null')), STRIP_NULL_VALUE(PARSE_JSON('[1]'))")
    assert both.snow.fetchone() == ("INTEGER", "INTEGER", "INTEGER", "DECIMAL", "DOUBLE", "VARCHAR", "BOOLEAN",
                                    "OBJECT", "ARRAY", "NULL_VALUE", None, None, "[1]")


def test_the_asset_builds_the_view_through_the_snowflake_warehouse_resource(tmp_path):
    with fake_snowflake(tmp_path), snowflake.connector.connect(**CONNECTION) as snow:
        land_on_snowflake(snow.cursor(), "events/2026-11-20/e.jsonl", [FIRST_VISIT, SECOND_VISIT])
    warehouse = FakesnowWarehouse(snowflake=SnowflakeResource(**CONNECTION), db_path=str(tmp_path),
                                  storage_integration="LANDING_S3")
    result = materialize([events_flattened], resources={"warehouse": warehouse})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"].value == 2
    assert metadata["new_paths"].data[:3] == ["cart.items", "cart.value", "customer_id"]
    assert [(c.name, c.type) for c in metadata["dagster/column_schema"].schema.columns][:2] == [
        ("cart_items", "BIGINT"), ("cart_value", "DOUBLE")]
    assert 'payload:"device"."os"::VARCHAR AS "DEVICE_OS"' in metadata["view_sql"].value
    assert warehouse.query("SELECT device_os, cart_items FROM gold.events_flattened ORDER BY event_id") == [
        ("iOS", None), ("Android", 2)]

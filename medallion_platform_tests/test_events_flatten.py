"""The flattened events view: columns, types and names come from the payloads loaded through Bronze."""

import json
from datetime import datetime, timezone

import duckdb
import pytest
from dagster import materialize
from dagster_duckdb import DuckDBResource

from medallion_platform.bronze.loader import load_source
from medallion_platform.defs.events import events_flattened
from medallion_platform.demo.generate import GenerateConfig, generate
from medallion_platform.events_flatten import MAX_DEPTH, DuckDBFlatten, replace_flattened_view
from medallion_platform.landing import LocalLandingZone
from medallion_platform.sources import SOURCES
from medallion_platform.warehouse import DuckDBWarehouse

LINEAGE = [("_source_file", "VARCHAR"), ("_row_number", "BIGINT"), ("_ingested_at", "TIMESTAMPTZ"),
           ("_load_id", "BIGINT"), ("_landing_date", "DATE"), ("_file_last_modified", "TIMESTAMP")]

FIRST_VISIT = {
    "event_id": "E1", "event_type": "page_view", "event_timestamp": "2026-11-20T10:00:00.123Z",
    "customer_id": None, "session_id": "S1",
    "device": {"os": "iOS", "screen width": 390, "dark-mode": True},
    "geo": {"zip": "01234", "lat": 52.52, "lon": 13},
    "page": {"url": "/products/P1", "tags": ["sale", "new"], "published": "2026-11-01"},
    "cart": None, "experiment": None, "score": 7,
}
SECOND_VISIT = {
    "event_id": "E2", "event_type": "add_to_cart", "event_timestamp": "2026-11-20T12:30:00+02:00",
    "customer_id": "C1", "session_id": "S1",
    "device": {"os": "Android", "screen width": 412, "dark-mode": False},
    "geo": {"zip": "99", "lat": 48.86, "lon": 2.35},
    "page": {"url": "/products/P2", "tags": [], "published": "2026-11-02"},
    "cart": {"items": 2, "value": 10.5}, "experiment": None, "score": "high",
}


@pytest.fixture
def landing(tmp_path) -> LocalLandingZone:
    return LocalLandingZone(root=str(tmp_path / "landing"))


@pytest.fixture
def warehouse(tmp_path) -> str:
    return str(tmp_path / "warehouse.duckdb")


@pytest.fixture
def con(warehouse):
    connection = duckdb.connect(warehouse)
    yield connection
    connection.close()


def land_events(con, landing: LocalLandingZone, key: str, records: list[dict]) -> None:
    path = landing._root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    report = load_source(con, landing, SOURCES["events"])
    assert report.failures == [] and report.rows_rejected == 0


def regenerate(con):
    return replace_flattened_view(DuckDBFlatten(con), "gold")


def described_columns(con) -> list[tuple[str, str]]:
    return [(name, type_.replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"))
            for name, type_, *_ in con.execute("DESCRIBE gold.events_flattened").fetchall()]


def payload_value(record, path):
    for key in path:
        if not isinstance(record, dict) or key not in record:
            return None
        record = record[key]
    return record


def expected_view_value(value, type_: str):
    """What the view should show for a payload value, worked out in Python, not by DuckDB."""
    if value is None:
        return None
    if type_ == "TIMESTAMP":
        moment = datetime.fromisoformat(value)
        return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
    if type_ == "VARCHAR" and not isinstance(value, str):
        return json.dumps(value, separators=(",", ":"))
    return value


def assert_view_equals_payloads(con, view) -> int:
    """Every payload column of every row against the payload read back in Python; returns rows compared."""
    columns = [c for c in view.columns if c.path is not None]
    select = ", ".join(f'v."{c.name}"' for c in columns)
    rows = con.execute(
        f"SELECT b.payload, {select} FROM bronze.events b JOIN gold.events_flattened v "
        "USING (_load_id, _row_number)").fetchall()
    for payload, *shown in rows:
        record = json.loads(payload)
        for column, value in zip(columns, shown):
            if column.type == "JSON" and value is not None:
                value = json.loads(value)
            assert value == expected_view_value(payload_value(record, column.path), column.type), \
                (column.name, record)
    return len(rows)


def test_columns_and_types_are_derived_from_the_payloads(landing, con):
    land_events(con, landing, "events/2026-11-20/e.jsonl", [FIRST_VISIT, SECOND_VISIT])
    view = regenerate(con)
    expected = [
        ("cart_items", "BIGINT"),               # null in the first row, an integer in the second
        ("cart_value", "DOUBLE"),
        ("customer_id", "VARCHAR"),
        ("device_dark_mode", "BOOLEAN"),        # key "dark-mode"
        ("device_os", "VARCHAR"),
        ("device_screen_width", "BIGINT"),      # key "screen width"
        ("event_id", "VARCHAR"),
        ("event_timestamp", "TIMESTAMP"),       # ISO 8601 with Z and with an offset
        ("event_type", "VARCHAR"),
        ("experiment", "VARCHAR"),              # only ever null
        ("geo_lat", "DOUBLE"),
        ("geo_lon", "DOUBLE"),                  # 13 and 2.35: integers mixed with fractions
        ("geo_zip", "VARCHAR"),                 # "01234" is a numeric string, and stays one
        ("page_published", "VARCHAR"),          # a date without a time is not a timestamp
        ("page_tags", "JSON"),                  # arrays stay JSON
        ("page_url", "VARCHAR"),
        ("score", "VARCHAR"),                   # 7 and "high": mixed kinds
        ("session_id", "VARCHAR"),
        *LINEAGE,
    ]
    assert [(c.name, c.type) for c in view.columns] == expected
    assert described_columns(con) == expected
    assert view.new_paths == tuple(c.path for c in view.columns if c.path is not None)  # no view before


def test_values_in_the_view_equal_the_payload_values(landing, con):
    land_events(con, landing, "events/2026-11-20/e.jsonl", [FIRST_VISIT, SECOND_VISIT])
    view = regenerate(con)
    assert assert_view_equals_payloads(con, view) == 2
    rows = con.execute(
        "SELECT event_timestamp, geo_zip, score, page_tags, cart_items, device_dark_mode, _source_file, _row_number "
        "FROM gold.events_flattened ORDER BY event_id").fetchall()
    assert rows == [
        (datetime(2026, 11, 20, 10, 0, 0, 123000), "01234", "7", '["sale","new"]', None, True,
         "events/2026-11-20/e.jsonl", 1),
        (datetime(2026, 11, 20, 10, 30), "99", "high", "[]", 2, False, "events/2026-11-20/e.jsonl", 2),
    ]


def test_a_new_nested_path_becomes_a_column_and_older_rows_show_null(landing, con):
    land_events(con, landing, "events/2026-11-20/e.jsonl", [FIRST_VISIT, SECOND_VISIT])
    first = regenerate(con)
    land_events(con, landing, "events/2026-11-21/e.jsonl",
                [{**SECOND_VISIT, "event_id": "E3", "campaign": {"utm_source": "x"}}])
    assert "campaign_utm_source" not in dict(described_columns(con))  # the view is as generated before
    second = regenerate(con)
    assert second.new_paths == (("campaign", "utm_source"),)
    assert dict(described_columns(con))["campaign_utm_source"] == "VARCHAR"
    assert list(first.columns) == [c for c in second.columns if c.path != ("campaign", "utm_source")]
    assert con.execute("SELECT event_id, campaign_utm_source FROM gold.events_flattened ORDER BY 1").fetchall() == [
        ("E1", None), ("E2", None), ("E3", "x")]
    assert regenerate(con).new_paths == ()


def test_unsafe_keys_get_distinct_safe_names_that_stay_put(landing, con):
    land_events(con, landing, "events/2026-11-20/e.jsonl",
                [{"event_id": "E1", "a-b": 1, "a_b": 2, "A B": 3, "_load_id": "mine", "1st": True}])
    names = {c.path: c.name for c in regenerate(con).columns if c.path is not None}
    # in path order, "A B" < "_load_id" < "a-b" < "a_b"; the lineage names are taken from the start
    assert names == {("1st",): "_1st", ("A B",): "a_b", ("_load_id",): "_load_id_2", ("a-b",): "a_b_2",
                     ("a_b",): "a_b_3", ("event_id",): "event_id"}
    # ("a", "b") sorts before ("a-b",), yet the names already given do not move
    land_events(con, landing, "events/2026-11-21/e.jsonl", [{"event_id": "E2", "a": {"b": 4}}])
    renamed = {c.path: c.name for c in regenerate(con).columns if c.path is not None}
    assert renamed == {**names, ("a", "b"): "a_b_4"}
    assert con.execute(
        'SELECT "_1st", a_b, _load_id_2, a_b_2, a_b_3, a_b_4, _load_id > 0 FROM gold.events_flattened ORDER BY event_id'
    ).fetchall() == [(True, 3, "mine", 1, 2, None, True), (None, None, None, None, None, 4, True)]


def test_objects_deeper_than_max_depth_stay_one_json_text_column(landing, con):
    keys = [chr(ord("a") + i) for i in range(MAX_DEPTH + 1)]  # a path of MAX_DEPTH + 1 keys to the 1
    deep: object = 1
    for key in reversed(keys):
        deep = {key: deep}
    land_events(con, landing, "events/2026-11-20/e.jsonl", [{"event_id": "E1", **deep}])
    view = regenerate(con)
    column = next(c for c in view.columns if c.path and c.path[0] == "a")
    assert (column.path, column.type) == (tuple(keys[:MAX_DEPTH]), "VARCHAR")
    assert con.execute(f"SELECT {column.name} FROM gold.events_flattened").fetchone() == (f'{{"{keys[-1]}":1}}',)


def test_the_generators_events_flatten_to_their_device_geo_page_and_cart_columns(tmp_path, landing, con):
    files = generate(GenerateConfig(scale=0.0005, days=1), tmp_path / "raw")
    for file in files:
        if file.source == "events":
            landing.put_file(tmp_path / "raw" / file.key, file.key)
    report = load_source(con, landing, SOURCES["events"])
    view = regenerate(con)
    types = dict(described_columns(con))
    assert {
        "device_type": "VARCHAR", "device_os": "VARCHAR", "device_browser": "VARCHAR",
        "geo_country": "VARCHAR", "geo_city": "VARCHAR", "page_url": "VARCHAR", "page_referrer": "VARCHAR",
        "cart_items": "BIGINT", "cart_value": "DOUBLE", "cart_product_id": "VARCHAR",
        "event_timestamp": "TIMESTAMP", "event_id": "VARCHAR", "_load_id": "BIGINT",
    }.items() <= types.items()
    bronze_rows = con.execute("SELECT count(*) FROM bronze.events").fetchone()[0]
    assert bronze_rows == report.rows_loaded > 0
    assert con.execute("SELECT count(*) FROM gold.events_flattened").fetchone()[0] == bronze_rows
    assert con.execute(
        "SELECT count(*) FILTER (WHERE cart_items IS NOT NULL), count(*) FILTER (WHERE event_type IN "
        "('add_to_cart', 'remove_from_cart', 'checkout', 'purchase')) FROM gold.events_flattened"
    ).fetchone() == con.execute(
        "SELECT count(payload->'$.cart.items'), count(*) FILTER (WHERE payload->>'$.cart' IS NOT NULL) "
        "FROM bronze.events").fetchone()
    assert assert_view_equals_payloads(con, view) == bronze_rows


def test_the_asset_creates_the_view_and_reports_rows_columns_and_new_paths(landing, con, warehouse):
    land_events(con, landing, "events/2026-11-20/e.jsonl", [FIRST_VISIT, SECOND_VISIT])
    con.close()  # the asset opens the file through its own resource
    resources = {"warehouse": DuckDBWarehouse(duckdb=DuckDBResource(database=warehouse))}

    def materialized_metadata():
        result = materialize([events_flattened], resources=resources)
        assert result.success
        (event,) = result.get_asset_materialization_events()
        return event.materialization.metadata

    first = materialized_metadata()
    with duckdb.connect(warehouse, read_only=True) as check:
        described = described_columns(check)
    assert first["dagster/row_count"].value == 2
    assert [(c.name, c.type) for c in first["dagster/column_schema"].schema.columns] == described
    assert first["new_paths"].data[:2] == ["cart.items", "cart.value"]
    assert len(first["new_paths"].data) == len(described) - len(LINEAGE)

    with duckdb.connect(warehouse) as writer:
        land_events(writer, landing, "events/2026-11-21/e.jsonl",
                    [{**FIRST_VISIT, "event_id": "E3", "campaign": {"utm_source": "x"}}])
    second = materialized_metadata()
    assert second["dagster/row_count"].value == 3
    assert second["new_paths"].data == ["campaign.utm_source"]
    columns = [(c.name, c.type) for c in second["dagster/column_schema"].schema.columns]
    assert ("campaign_utm_source", "VARCHAR") in columns

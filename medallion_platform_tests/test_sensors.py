"""The landing sensor, evaluated for real against a local folder and against the S3-protocol server:
what lands becomes Bronze partition run requests, each object version once, nothing missed."""

import hashlib
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta

from dataclasses import replace

import boto3
import pytest
from dagster import AssetKey, AssetMaterialization, SensorResult, build_sensor_context

from medallion_platform.defs.sensors import (
    MAX_RUN_REQUESTS_PER_TICK,
    LandingCursor,
    landed_files_to_bronze,
    object_version,
)
from medallion_platform.definitions import build_definitions, warehouse_resource
from medallion_platform.landing import LandingZone, LocalLandingZone, S3LandingZone
from medallion_platform.settings import get_settings

S3_PREFIX = "feeds/"


@pytest.fixture(params=["local", "s3"])
def zone(request, tmp_path) -> LandingZone:
    if request.param == "local":
        return LocalLandingZone(root=str(tmp_path / "landing"))
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3LandingZone(bucket=request.getfixturevalue("s3_bucket"), prefix=S3_PREFIX, endpoint_url=endpoint)


@pytest.fixture
def s3_zone(s3_endpoint, s3_bucket) -> S3LandingZone:
    return S3LandingZone(bucket=s3_bucket, prefix=S3_PREFIX, endpoint_url=s3_endpoint)


@pytest.fixture(autouse=True)
def own_warehouse(local_settings):
    """Each test's sensor reads the Bronze ledger of its own (empty) warehouse, never the project's."""
    return local_settings


def land(zone: LandingZone, tmp_path, key: str, body: bytes):
    """Deliver `body` under `key` the way feeds arrive: through the zone's own put."""
    source_file = tmp_path / "outbox" / key
    source_file.parent.mkdir(parents=True, exist_ok=True)
    source_file.write_bytes(body)
    return zone.put_file(source_file, key)


def until_a_later_stamp(zone: LandingZone) -> None:
    """Wait until what lands next gets a later last-modified than what landed before: S3 stamps whole
    seconds (the next one begins within a second), a folder's mtime follows the kernel's clock tick."""
    time.sleep(1.01 - time.time() % 1 if isinstance(zone, S3LandingZone) else 0.05)


def evaluate(zone: LandingZone, cursor: str | None = None) -> SensorResult:
    """One tick of the real sensor, in the real definitions, with `zone` as the landing zone."""
    return tick(replace(get_settings(), landing=zone), cursor)


def tick(settings, cursor: str | None) -> SensorResult:
    """One tick of the real sensor in the definitions of `settings`, with their landing zone and warehouse."""
    with build_sensor_context(cursor=cursor, definitions=build_definitions(settings), resources={
            "landing": settings.landing, "warehouse": warehouse_resource(settings)}) as context:
        return landed_files_to_bronze(context)


def requests_of(result: SensorResult) -> set[tuple[AssetKey, str, str]]:
    """(Bronze asset, partition, run key) of each request; what else it selects is tested on its own."""
    return {(request.asset_selection[0], request.partition_key, request.run_key) for request in result.run_requests}


def version(zone: LandingZone, key: str, body: bytes) -> str:
    """The documented run key of one file: `<key>:<etag>@<last-modified, ISO 8601>`, one per delivery."""
    landed = zone.list_objects(prefix=key)[0]
    return f"{key}:{hashlib.md5(body).hexdigest()}@{landed.last_modified.isoformat()}"


def batch_run_key(source: str, day: str, versions: list[str]) -> str:
    """The documented run key of a batch, computed here from its definition."""
    digest = hashlib.sha256("\n".join(sorted(versions)).encode()).hexdigest()[:16]
    return f"{source}/{day}:{len(versions)} files:{digest}"


def files_covered(run_key: str) -> int:
    return int(run_key.split(":")[1].split(" ")[0]) if " files:" in run_key else 1


def drain(zone: LandingZone, cursor: str | None, max_ticks: int = 10) -> tuple[list[SensorResult], str]:
    """Evaluate tick after tick until a tick requests nothing."""
    ticks = []
    for _ in range(max_ticks):
        result = evaluate(zone, cursor)
        cursor = result.cursor
        if not result.run_requests:
            return ticks, cursor
        ticks.append(result)
    raise AssertionError(f"still requesting runs after {max_ticks} ticks")


def test_list_objects_since_is_exclusive_and_keys_are_relative_to_the_zone(zone, tmp_path):
    first = land(zone, tmp_path, "customers/2026-11-21/a.csv", b"id\n1\n")
    until_a_later_stamp(zone)
    second = land(zone, tmp_path, "products/2026-11-21/p.json", b"[]")
    if isinstance(zone, S3LandingZone):  # an object beside the zone's prefix is not the zone's
        boto3.client("s3", endpoint_url=zone.endpoint_url, region_name="us-east-1").put_object(
            Bucket=zone.bucket, Key="elsewhere/customers/2026-11-21/x.csv", Body=b"x")

    assert [o.key for o in zone.list_objects_since("", None)] == [first.key, second.key]
    assert zone.list_objects_since("", first.last_modified) == [second]
    assert zone.list_objects_since("customers/", first.last_modified) == []
    assert zone.list_objects_since("", second.last_modified) == []


def test_new_files_become_one_request_per_source_and_day(zone, tmp_path):
    bodies = {
        "customers/2026-11-21/a.csv": b"customer_id\n1\n",
        "customers/2026-11-21/b.csv": b"customer_id\n2\n",
        "events/2026-11-22/e.jsonl": b'{"event_id": "e1"}\n',
    }
    for key, body in bodies.items():
        land(zone, tmp_path, key, body)

    result = evaluate(zone)

    assert requests_of(result) == {
        (AssetKey(["bronze", "customers"]), "2026-11-21", batch_run_key("customers", "2026-11-21", [
            version(zone, "customers/2026-11-21/a.csv", bodies["customers/2026-11-21/a.csv"]),
            version(zone, "customers/2026-11-21/b.csv", bodies["customers/2026-11-21/b.csv"]),
        ])),
        (AssetKey(["bronze", "events"]), "2026-11-22",
         version(zone, "events/2026-11-22/e.jsonl", bodies["events/2026-11-22/e.jsonl"])),
    }
    # The same landing zone seen from an empty cursor again gives the same run keys, so Dagster
    # would not launch them twice even if the cursor were lost.
    assert requests_of(evaluate(zone)) == requests_of(result)


def test_what_lands_is_reported_on_the_external_landing_assets_once(zone, tmp_path):
    """The pipeline never writes the landing zone: its landing assets are external, and the sensor that sees
    new files records them there (one materialization per source and tick, naming the files), so the UI
    shows when each feed last delivered and what."""
    land(zone, tmp_path, "customers/2026-11-21/a.csv", b"customer_id\n1\n")
    land(zone, tmp_path, "customers/2026-11-22/b.csv", b"customer_id\n2\n")
    land(zone, tmp_path, "events/2026-11-22/e.jsonl", b'{"event_id": "e1"}\n')
    land(zone, tmp_path, "events/2026-11-22/_SUCCESS", b"")

    result = evaluate(zone)

    reported = {event.asset_key.to_user_string(): event.metadata for event in result.asset_events}
    assert {key: (meta["files"].value, meta["days"].value) for key, meta in reported.items()} == {
        "landing/customers": (2, ["2026-11-21", "2026-11-22"]), "landing/events": (1, ["2026-11-22"])}
    assert reported["landing/customers"]["keys"].value == ["customers/2026-11-21/a.csv", "customers/2026-11-22/b.csv"]
    assert all(isinstance(event, AssetMaterialization) for event in result.asset_events)
    assert evaluate(zone, result.cursor).asset_events == []


def test_a_request_carries_the_tables_built_on_its_bronze_partition_but_no_cadence_tables(tmp_path):
    zone = LocalLandingZone(root=str(tmp_path / "landing"))
    land(zone, tmp_path, "transactions/2026-11-21/t.parquet", b"not read by the sensor")
    land(zone, tmp_path, "events/2026-11-21/e.jsonl", b'{"event_id": "e1"}\n')

    selected = {request.asset_selection[0].path[1]: {key.to_user_string() for key in request.asset_selection}
                for request in evaluate(zone).run_requests}

    # The Gold tables over all history, and the dashboard over them, follow every 15 minutes
    # (test_automation.py), not per file.
    assert selected["transactions"] == {
        "bronze/transactions", "silver/transactions_revisited", "silver/transactions",
        "silver/transactions_quarantine", "gold/vw_daily_sales_analysis", "gold/vw_customer_product_affinity"}
    # The flattened events view is rebuilt from the data (its columns follow the payloads), so it counts.
    assert selected["events"] == {"bronze/events", "gold/events_flattened"}


def test_cursor_advances_and_each_object_version_is_requested_once(zone, tmp_path):
    body = b"customer_id\n1\n"
    land(zone, tmp_path, "customers/2026-11-21/a.csv", body)
    first = evaluate(zone)
    assert len(first.run_requests) == 1

    second = evaluate(zone, first.cursor)
    assert second.run_requests == []
    assert second.cursor == first.cursor

    land(zone, tmp_path, "customers/2026-11-21/a.csv", body)  # delivered again, same content
    assert evaluate(zone, second.cursor).run_requests == []

    land(zone, tmp_path, "products/2026-11-21/p.json", b"[]")
    third = evaluate(zone, second.cursor)
    assert requests_of(third) == {(AssetKey(["bronze", "products"]), "2026-11-21",
                                   version(zone, "products/2026-11-21/p.json", b"[]"))}
    assert LandingCursor.parse(third.cursor).last_modified > LandingCursor.parse(second.cursor).last_modified


def test_an_overwritten_object_is_requested_again(zone, tmp_path):
    key = "customers/2026-11-21/a.csv"
    land(zone, tmp_path, key, b"customer_id\n1\n")
    first = evaluate(zone)

    land(zone, tmp_path, key, b"customer_id\n1\n2\n")
    second = evaluate(zone, first.cursor)

    assert requests_of(second) == {(AssetKey(["bronze", "customers"]), "2026-11-21",
                                    version(zone, key, b"customer_id\n1\n2\n"))}
    assert evaluate(zone, second.cursor).run_requests == []


def test_an_object_reverted_to_earlier_content_is_requested_again(zone, tmp_path):
    key = "customers/2026-11-21/a.csv"
    cursor, run_keys = None, []
    for body in (b"customer_id\n1\n", b"customer_id\n2\n", b"customer_id\n1\n"):  # A, then B, then A again
        until_a_later_stamp(zone)  # each delivery gets its own last-modified
        land(zone, tmp_path, key, body)
        result = evaluate(zone, cursor)
        cursor = result.cursor
        run_keys += [request.run_key for request in result.run_requests]
        assert [request.run_key for request in result.run_requests] == [version(zone, key, body)]
    assert len(set(run_keys)) == 3


def test_a_file_landing_in_the_same_second_as_the_cursor_is_not_missed(zone, tmp_path):
    first = land(zone, tmp_path, "customers/2026-11-21/a.csv", b"customer_id\n1\n")
    before = evaluate(zone)
    second = land(zone, tmp_path, "customers/2026-11-21/b.csv", b"customer_id\n2\n")
    # The cursor as a tick leaves it when `b` lands within the second it had reached (S3 stamps whole
    # seconds): at b's own last-modified time, having handled only `a`. Built, not waited for, so the
    # case does not depend on the machine being fast enough to land both in one second.
    listed_b = zone.list_objects(prefix=second.key)[0]
    same_second = LandingCursor(listed_b.last_modified, LandingCursor.parse(before.cursor).handled_in_margin)
    assert object_version(first) in same_second.handled_in_margin

    after = evaluate(zone, same_second.serialize())

    assert requests_of(after) == {(AssetKey(["bronze", "customers"]), "2026-11-21",
                                   version(zone, second.key, b"customer_id\n2\n"))}


def test_a_file_that_appears_after_the_cursor_passed_its_mtime_is_not_missed(tmp_path):
    """A file moved into the folder after the tick that saw a newer one (a slow copy finishing late)."""
    zone = LocalLandingZone(root=str(tmp_path / "landing"))
    first = land(zone, tmp_path, "customers/2026-11-21/a.csv", b"customer_id\n1\n")
    before = evaluate(zone)
    late = land(zone, tmp_path, "customers/2026-11-21/late.csv", b"customer_id\n2\n")
    earlier = first.last_modified.timestamp() - 5
    os.utime(tmp_path / "landing" / late.key, (earlier, earlier))

    after = evaluate(zone, before.cursor)

    assert requests_of(after) == {(AssetKey(["bronze", "customers"]), "2026-11-21",
                                   version(zone, late.key, b"customer_id\n2\n"))}


def test_a_burst_is_batched_per_partition_and_bounded_per_tick(tmp_path):
    """On the folder; on S3 the same rule is exercised by the test with more than a thousand objects."""
    zone = LocalLandingZone(root=str(tmp_path / "landing"))
    days = [f"2026-11-{d:02d}" for d in range(21, 29)]
    sources = ["customers", "products", "transactions", "events"]
    for day in days:
        for source in sources:
            for n in range(2):
                land(zone, tmp_path, f"{source}/{day}/f{n}", f"{source} {day} {n}".encode())

    ticks, _ = drain(zone, cursor=None)

    # 32 partitions: the first tick requests 25 of them with all their files, the next the other 7.
    assert [len(tick.run_requests) for tick in ticks] == [MAX_RUN_REQUESTS_PER_TICK, 32 - MAX_RUN_REQUESTS_PER_TICK]
    requested = [request for tick in ticks for request in tick.run_requests]
    assert {(request.asset_selection[0].path[1], request.partition_key) for request in requested} == {
        (source, day) for source in sources for day in days}
    assert sum(files_covered(request.run_key) for request in requested) == len(days) * len(sources) * 2
    assert len({request.run_key for request in requested}) == len(requested)


def test_files_left_for_the_next_tick_are_not_lost_when_they_are_older_than_the_margin(tmp_path):
    """Files landed over the better part of an hour: the cursor must stop at the oldest file not yet
    requested, not at the newest file requested, or the re-listing margin would not reach back to it."""
    zone = LocalLandingZone(root=str(tmp_path / "landing"))
    start = time.time() - 3600
    # One more partition than a tick requests: two sources over the days from the first landing day.
    days = [(date(2026, 11, 20) + timedelta(days=n)).isoformat() for n in range((MAX_RUN_REQUESTS_PER_TICK + 2) // 2)]
    partitions = [(source, day) for day in days for source in ("customers", "products")][:MAX_RUN_REQUESTS_PER_TICK + 1]
    landed = [(f"{source}/{day}/f", start + i * 60) for i, (source, day) in enumerate(partitions)]
    landed.append((f"{partitions[0][0]}/{partitions[0][1]}/late", start + 40 * 60))
    for key, mtime in landed:
        obj = land(zone, tmp_path, key, key.encode())
        os.utime(tmp_path / "landing" / obj.key, (mtime, mtime))

    first = evaluate(zone)
    second = evaluate(zone, first.cursor)

    assert len(first.run_requests) == MAX_RUN_REQUESTS_PER_TICK
    source, day = partitions[-1]
    assert requests_of(second) == {(AssetKey(["bronze", source]), day,
                                    version(zone, f"{source}/{day}/f", f"{source}/{day}/f".encode()))}
    assert evaluate(zone, second.cursor).run_requests == []


def test_more_than_a_thousand_s3_objects_are_all_seen_in_bounded_batches(s3_zone):
    client = boto3.client("s3", endpoint_url=s3_zone.endpoint_url, region_name="us-east-1")
    days = [f"2026-11-{d:02d}" for d in range(21, 31)]
    sources = ["customers", "events", "transactions"]
    partitions = [(source, day) for source in sources for day in days]
    for i in range(1005):
        source, day = partitions[i % len(partitions)]
        client.put_object(Bucket=s3_zone.bucket, Key=f"{S3_PREFIX}{source}/{day}/o{i:04d}", Body=str(i).encode())

    ticks, cursor = drain(s3_zone, cursor=None)

    requested = [request for tick in ticks for request in tick.run_requests]
    assert sum(files_covered(request.run_key) for request in requested) == 1005
    assert {(request.asset_selection[0].path[1], request.partition_key) for request in requested} == set(partitions)
    assert [len(tick.run_requests) for tick in ticks] == [MAX_RUN_REQUESTS_PER_TICK, 30 - MAX_RUN_REQUESTS_PER_TICK]
    assert evaluate(s3_zone, cursor).run_requests == []


def test_keys_that_are_not_landing_files_are_skipped_and_named_in_the_log(zone, tmp_path, capfd):
    bad_keys = [
        "customers/readme.txt",                 # not <source>/<day>/<file>
        "suppliers/2026-11-21/s.csv",           # no such source
        "customers/2026-11-19/before_start.csv",  # day before the first Bronze partition
    ]
    for key in bad_keys:
        land(zone, tmp_path, key, key.encode())
    land(zone, tmp_path, "customers/2026-11-21/a.csv", b"customer_id\n1\n")

    result = evaluate(zone)

    assert requests_of(result) == {(AssetKey(["bronze", "customers"]), "2026-11-21",
                                    version(zone, "customers/2026-11-21/a.csv", b"customer_id\n1\n"))}
    log = capfd.readouterr().err
    assert all(key in log for key in bad_keys), log
    assert "day 2026-11-19 is before MEDALLION_FIRST_LANDING_DAY (2026-11-20)" in log
    assert evaluate(zone, result.cursor).run_requests == []
    assert not any(key in capfd.readouterr().err for key in bad_keys)  # reported once, not every tick


def copy_of_pipeline_warehouse(pipeline, tmp_path):
    """The demo pipeline's landing folder and warehouse, copied (mtimes kept) so a test may land more."""
    settings = pipeline[0]
    shutil.copytree(settings.landing.root, tmp_path / "landing")
    shutil.copy2(settings.duckdb_path, tmp_path / "warehouse.duckdb")
    return replace(settings, landing=LocalLandingZone(root=str(tmp_path / "landing")),
                   duckdb_path=tmp_path / "warehouse.duckdb")


def first_tick(settings) -> SensorResult:
    """The first tick of a sensor new to its instance (no cursor)."""
    return tick(settings, None)


def test_a_new_sensor_requests_no_run_for_what_bronze_has_already_loaded(pipeline, tmp_path):
    """`make demo` then `make dev`: the demo's files are all in Bronze's ledger, so the sensor's first tick
    requests no run for them (each would rebuild Silver and Gold for nothing: minutes at scale). What
    Bronze has not seen is still requested: a new file, and an existing key landed with new content."""
    settings = copy_of_pipeline_warehouse(pipeline, tmp_path)
    landed = settings.landing.list_objects()
    assert len(landed) >= 12

    result = first_tick(settings)
    assert result.run_requests == []
    assert f"{len(landed)} file(s) already in Bronze" in result.skip_reason.skip_message
    assert LandingCursor.parse(result.cursor).last_modified == landed[-1].last_modified

    changed = next(obj for obj in landed if obj.key.startswith("customers/"))
    text = (tmp_path / "landing" / changed.key).read_text()
    (tmp_path / "landing" / changed.key).write_text(text + text.splitlines()[1].replace(",", ",x", 1) + "\n")
    new_key = "products/2026-11-23/late.json"
    (tmp_path / "landing" / new_key).parent.mkdir(parents=True)
    shutil.copy(tmp_path / "landing" / next(o.key for o in landed if o.key.startswith("products/")),
                tmp_path / "landing" / new_key)
    (tmp_path / "landing" / new_key).write_text((tmp_path / "landing" / new_key).read_text() + "\n")

    requested = {(r.asset_selection[0].path[-1], r.partition_key) for r in first_tick(settings).run_requests}
    assert requested == {("customers", changed.key.split("/")[1]), ("products", "2026-11-23")}


def test_a_new_sensor_waits_while_another_process_writes_the_warehouse(pipeline, tmp_path):
    """DuckDB lets no other process read while one writes: the first tick cannot tell what Bronze holds,
    so it requests nothing and keeps no cursor (the next tick asks again) instead of replaying it all."""
    settings = copy_of_pipeline_warehouse(pipeline, tmp_path)
    writer = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
                               "print('holding', flush=True); time.sleep(60)", str(settings.duckdb_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "holding"
        busy = first_tick(settings)
        assert busy.run_requests == [] and busy.cursor is None
        assert str(settings.duckdb_path) in busy.skip_reason.skip_message
    finally:
        writer.kill()
        writer.wait()
    assert first_tick(settings).run_requests == []

"""The landing sensor: files arriving in the landing zone become partition runs that load Bronze and
bring everything built on it up to date, on a local folder and on S3 alike (it only talks to the
`landing` resource's `list_objects_since`)."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from medallion_platform.bronze.ledger import done_in_bronze
from medallion_platform.defs.automation import REFRESHED_EVERY_15_MINUTES
from medallion_platform.defs.landing import landing_key
from medallion_platform.landing import LandedObject, LandingZone, is_marker, parse_key
from medallion_platform.partitions import not_a_landing_day
from medallion_platform.sources import SOURCES
from medallion_platform.warehouse import Warehouse, WarehouseBusy

# A burst larger than this many (source, day) partitions is spread over several ticks.
MAX_RUN_REQUESTS_PER_TICK = 25

# Each tick re-lists from the cursor minus this margin. S3 LastModified has 1 s resolution and is
# stamped when an upload starts, so an object can become visible after the cursor has passed its
# LastModified; the margin is how late it may appear and still be picked up. The cursor remembers
# every object version handled within the margin, so the re-listing requests nothing twice.
RELIST_MARGIN = timedelta(seconds=30)


def bronze_asset_key(source: str) -> AssetKey:
    return AssetKey(["bronze", source])


# One run per landed partition carries the chain: Bronze for the day, then every table built on it
# (Silver, the Gold facts for the day). Launching a run costs seconds of process start-up, so
# hop-by-hop runs from the automation sensor would multiply it; the automation then only catches what
# such a run did not cover. Left out: the Gold tables over all history, whose cost does not shrink
# with the file: the automation refreshes them every 15 minutes.
REFRESHED_ON_A_CADENCE = AssetSelection.tag(REFRESHED_EVERY_15_MINUTES, "")


def refreshed_by_landing(source: str) -> AssetSelection:
    return AssetSelection.assets(bronze_asset_key(source)).downstream() - REFRESHED_ON_A_CADENCE


def object_version(obj: LandedObject) -> str:
    """What identifies one version of an object: a new content under the same key is a new version."""
    return f"{obj.key}:{obj.etag}"


@dataclass
class LandingCursor:
    """Serialized as JSON `{"last_modified": <ISO time>, "handled_in_margin": ["<key>:<etag>", ...]}`.

    `last_modified` is how far the sensor has got: it never passes an object still waiting for its run
    request, and each tick re-lists from RELIST_MARGIN before it. `handled_in_margin` holds every
    object version already handled (requested, or skipped as not a landing file) that such a
    re-listing can return, so none is requested twice, and nothing older is kept."""

    last_modified: datetime | None = None
    handled_in_margin: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, cursor: str | None) -> "LandingCursor":
        if not cursor:
            return cls()
        state = json.loads(cursor)
        last_modified = state["last_modified"]
        return cls(datetime.fromisoformat(last_modified) if last_modified else None,
                   set(state["handled_in_margin"]))

    def serialize(self) -> str:
        return json.dumps({
            "last_modified": self.last_modified.isoformat() if self.last_modified else None,
            "handled_in_margin": sorted(self.handled_in_margin),
        })

    @property
    def relist_since(self) -> datetime | None:
        return self.last_modified - RELIST_MARGIN if self.last_modified else None

    def advanced(self, listed: list[LandedObject], handled: list[LandedObject],
                 waiting: list[LandedObject]) -> "LandingCursor":
        """The cursor after a tick that listed `listed` and handled `handled`: it moves up to the
        newest object handled, but not past the oldest one still `waiting`, and never backwards (a
        re-listing from further back would return versions this cursor no longer remembers)."""
        if not handled:
            return self
        reached = waiting[0].last_modified if waiting else handled[-1].last_modified
        last_modified = max(reached, self.last_modified) if self.last_modified else reached
        handled_versions = self.handled_in_margin | {object_version(obj) for obj in handled}
        return LandingCursor(last_modified, {
            object_version(obj) for obj in listed
            if object_version(obj) in handled_versions and obj.last_modified > last_modified - RELIST_MARGIN
        })


def delivery(obj: LandedObject) -> str:
    """`<key>:<etag>@<last-modified>`: one delivery of an object. A key that returns to content it had
    before (A, then B, then A again) is a new delivery, so its run is new too (Bronze loads it again,
    and Silver takes it as the latest: medallion_platform/bronze/ledger.py)."""
    return f"{object_version(obj)}@{obj.last_modified.isoformat()}"


def partition_run_key(source: str, day: str, deliveries: list[str]) -> str:
    """The `delivery` for a single file; for a batch, `<source>/<day>:<count> files:<digest>` where the
    digest is the SHA-256 (first 16 hex digits) of the sorted deliveries joined by newlines, so the same
    set of deliveries always gets the same run key and Dagster launches it at most once."""
    if len(deliveries) == 1:
        return deliveries[0]
    digest = hashlib.sha256("\n".join(sorted(deliveries)).encode()).hexdigest()[:16]
    return f"{source}/{day}:{len(deliveries)} files:{digest}"


def bronze_partition_of(key: str) -> tuple[str, str]:
    """(source, day) of a landed file, or a ValueError naming the key: a day outside the landing days
    would make Dagster reject the run request and fail every tick on the same file."""
    source, day, _file = parse_key(key)
    if reason := not_a_landing_day(day):
        raise ValueError(f"landing key {key!r}: {reason}, no Bronze partition")
    return source, day


@sensor(
    name="landed_files_to_bronze",
    target=AssetSelection.assets(*(bronze_asset_key(source) for source in SOURCES)).downstream()
    - REFRESHED_ON_A_CADENCE,
    # Every 2 s: a landed file waits on average ~1 s for the tick that sees it. On S3 a tick is one
    # listing of the changed range (~43,000 LIST requests a day, cents).
    minimum_interval_seconds=2,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests a run for each (source, day) with newly landed files: that day's Bronze "
                "partition and every table downstream of it but the Gold tables refreshed every 15 minutes; "
                "records the new files on the external landing/<source> assets.",
)
def landed_files_to_bronze(context: SensorEvaluationContext, landing: LandingZone,
                           warehouse: Warehouse) -> SensorResult:
    """One sensor over the whole landing zone rather than one per source: a tick costs one listing
    (one sweep of S3 pages, not one per source), keys under an unknown source folder are seen and
    reported instead of silently ignored, and the per-tick run limit is shared in landing order.

    Batching: new objects are grouped by (source, day) partition, partitions ordered by their oldest
    new object ((last_modified, key) order). The first MAX_RUN_REQUESTS_PER_TICK partitions get one
    RunRequest each, covering all their new objects and keyed by `partition_run_key`; the objects of
    the other partitions wait, and the cursor stops at the oldest of them, so the next tick lists
    them again.

    A sensor new to its instance (no cursor: a new deployment over an existing bucket, `make dev` after
    `make demo`, a cursor reset) first asks Bronze's ledger what is done and requests nothing for it;
    later ticks see only what lands after, and the ledger still keeps each load exactly once.
    """
    cursor = LandingCursor.parse(context.cursor)
    listed = landing.list_objects_since("", cursor.relist_since)
    already_loaded: set[str] = set()
    if cursor.last_modified is None and listed:
        try:
            already_loaded = {object_version(obj) for obj in done_in_bronze(listed, warehouse.ledger_rows())}
        except WarehouseBusy as error:
            return SensorResult(skip_reason=f"the first tick reads what Bronze holds, and cannot now: {error}; "
                                            "the next tick asks again")

    batches: dict[tuple[str, str], list[str]] = {}
    arrived: dict[str, list[str]] = {}
    handled: list[LandedObject] = []
    waiting: list[LandedObject] = []
    for obj in listed:
        if object_version(obj) in cursor.handled_in_margin:
            continue
        if is_marker(obj.key) or object_version(obj) in already_loaded:  # nothing for Bronze to load
            handled.append(obj)
            continue
        try:
            partition = bronze_partition_of(obj.key)
        except ValueError as error:
            context.log.warning(f"no Bronze run for this file: {error}")
            handled.append(obj)
            continue
        if partition not in batches and len(batches) == MAX_RUN_REQUESTS_PER_TICK:
            waiting.append(obj)
            continue
        batches.setdefault(partition, []).append(delivery(obj))
        arrived.setdefault(partition[0], []).append(obj.key)
        handled.append(obj)
    cursor = cursor.advanced(listed, handled, waiting)

    asset_graph = context.repository_def.asset_graph
    run_requests = [
        RunRequest(
            run_key=partition_run_key(source, day, deliveries),
            asset_selection=[bronze_asset_key(source),
                             *sorted(refreshed_by_landing(source).resolve(asset_graph) - {bronze_asset_key(source)})],
            partition_key=day,
        )
        for (source, day), deliveries in batches.items()
    ]
    if not run_requests:
        loaded = f"; {len(already_loaded)} file(s) already in Bronze" if already_loaded else ""
        return SensorResult(skip_reason=f"no new files in {landing.describe()}{loaded}", cursor=cursor.serialize())
    return SensorResult(run_requests=run_requests, asset_events=landing_reports(arrived, landing),
                        cursor=cursor.serialize())


def landing_reports(arrived: dict[str, list[str]], landing: LandingZone) -> list[AssetMaterialization]:
    """The external landing assets updated by the feeds: one materialization per source with new files,
    naming them, since nothing in the pipeline materializes them."""
    return [
        AssetMaterialization(landing_key(source), description=f"{len(keys)} new file(s) in {landing.describe()}",
                             metadata={"files": len(keys), "days": sorted({parse_key(k)[1] for k in keys}),
                                       "keys": sorted(keys), "landing_zone": landing.describe()})
        for source, keys in sorted(arrived.items())
    ]


landing_sensors = [landed_files_to_bronze]

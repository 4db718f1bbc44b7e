"""What Bronze does with each delivery of a landed object, decided once for every warehouse.

A delivery is one (key, etag, last-modified) seen in the landing zone. The ledger
(`bronze.load_ledger`) holds one row per attempt to load a delivery, so what is done, what failed and
how often is visible there, and each warehouse's loader asks `decide` what to do next:

- a delivery already `loaded` (or recorded `duplicate`) is done: nothing happens;
- a key landed again with the content it last loaded (re-uploaded unchanged) adds nothing;
- content already loaded under another key, on a key that never loaded anything, is a `duplicate`:
  recorded, no rows (the same file re-sent under a new name);
- any other delivery loads: a new key, new content under a key, and content a key had before it
  changed (A, then B, then A again: the latest delivery wins in Silver, ordered by its last-modified);
- a delivery that `failed` is tried again on later runs, up to `MAX_ATTEMPTS` attempts in all; after
  that it is reported `gave_up` on each run until it is landed again (a new last-modified).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from medallion_platform.landing import LandedObject
from medallion_platform.sources import Source

# Attempts at one delivery before it is left alone: enough to ride out a transient read error or a
# file caught while it was written, few enough that a broken file does not cost every run forever.
MAX_ATTEMPTS = 3

DONE = ("loaded", "duplicate")


@dataclass(frozen=True)
class LedgerRow:
    """The part of a ledger row `decide` reads, for rows of the object's key or etag."""

    file_key: str
    etag: str
    file_last_modified: datetime | None
    status: str  # loaded | duplicate | failed
    error: str | None


@dataclass(frozen=True)
class Decision:
    action: str  # load | already_loaded | duplicate | gave_up
    attempt: int = 1  # for load: which attempt at this delivery this is
    duplicate_of: str | None = None
    detail: str | None = None


def ledger_history_sql(ledger: str, placeholder: str) -> str:
    """The rows `decide` needs, oldest first; parameters: source, key, etag."""
    return (f"SELECT file_key, etag, file_last_modified, status, error FROM {ledger} "
            f"WHERE source = {placeholder} AND (file_key = {placeholder} OR etag = {placeholder}) ORDER BY load_id")


def decide(obj: LandedObject, history: list[LedgerRow]) -> Decision:
    """What to do with this delivery of `obj`, given the ledger rows of its key or its etag (oldest first)."""
    delivery = [r for r in history if r.file_key == obj.key and r.etag == obj.etag
                and _same_instant(r.file_last_modified, obj.last_modified)]
    if any(r.status in DONE for r in delivery):
        return Decision("already_loaded")
    failures = [r for r in delivery if r.status == "failed"]
    if len(failures) >= MAX_ATTEMPTS:
        return Decision("gave_up", detail=(
            f"{obj.key}: failed {len(failures)} times, not retried (land it again to retry); "
            f"last error: {failures[-1].error}"))
    of_key = [r for r in history if r.file_key == obj.key and r.status in DONE]
    if of_key and of_key[-1].etag == obj.etag:
        return Decision("already_loaded")
    if not of_key:
        elsewhere = next((r.file_key for r in history if r.etag == obj.etag and r.status == "loaded"), None)
        if elsewhere is not None:
            return Decision("duplicate", duplicate_of=elsewhere, detail=f"same content as {elsewhere}")
    return Decision("load", attempt=len(failures) + 1)


LEDGER_ROWS_SQL = ("SELECT source, file_key, etag, file_last_modified, status, error "
                   "FROM bronze.load_ledger ORDER BY load_id")


def done_in_bronze(objects: list[LandedObject], ledger: list[tuple]) -> list[LandedObject]:
    """The objects Bronze has nothing left to do for (`decide` says already loaded, or a duplicate),
    given the whole ledger as LEDGER_ROWS_SQL reads it: what a landing sensor new to its instance must not
    request runs for."""
    of_key: dict[tuple[str, str], list[int]] = {}
    of_etag: dict[tuple[str, str], list[int]] = {}
    rows = []
    for position, (source, *fields) in enumerate(ledger):
        row = LedgerRow(*fields)
        rows.append(row)
        of_key.setdefault((source, row.file_key), []).append(position)
        of_etag.setdefault((source, row.etag), []).append(position)
    done = []
    for obj in objects:
        positions = sorted({*of_key.get((obj.source, obj.key), ()), *of_etag.get((obj.source, obj.etag), ())})
        if decide(obj, [rows[p] for p in positions]).action in ("already_loaded", "duplicate"):
            done.append(obj)
    return done


def _same_instant(recorded: datetime | None, listed: datetime) -> bool:
    """Both zone-aware; a row from before deliveries were recorded has none: its key and etag identify it."""
    return recorded is None or recorded == listed


@dataclass(frozen=True)
class FileColumns:
    """How a file's columns differ from the registry's: the input of the schema-change check."""

    unexpected: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    @classmethod
    def compare(cls, source: Source, present: list[str]) -> "FileColumns":
        known = set(source.column_names) | set(source.payload_keys)
        return cls(unexpected=tuple(sorted(c for c in present if c not in known)),
                   missing=tuple(c for c in source.column_names if c not in present))

    def __str__(self) -> str:
        parts = [f"unexpected columns: {', '.join(self.unexpected)}"] if self.unexpected else []
        parts += [f"missing columns: {', '.join(self.missing)}"] if self.missing else []
        return "; ".join(parts)


@dataclass
class FileResult:
    key: str
    status: str  # loaded | duplicate | failed | already_loaded | gave_up (| copy_skipped on Snowflake)
    rows_loaded: int = 0
    rows_rejected: int = 0
    detail: str | None = None
    columns: FileColumns = FileColumns()


@dataclass
class LoadReport:
    source: str
    files: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def failures(self) -> list[FileResult]:
        """Files this run could not load: failed now, or failed too often to be tried again."""
        return [f for f in self.files if f.status in ("failed", "gave_up")]

"""The landing zone: where feeds drop files, as a local folder or an S3 bucket, with one key layout.

Keys are `<source>/<YYYY-MM-DD>/<file name>` in both backends. An object's etag is the MD5 of its
content (what S3 reports for a single-part upload), so the Bronze ledger can recognise a file that is
delivered again under another key, whichever backend it came through.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterator
from urllib.parse import urlparse

import duckdb
from dagster import ConfigurableResource

from medallion_platform.sources import SOURCES

KEY_PATTERN = re.compile(r"^(?P<source>[a-z_]+)/(?P<day>\d{4}-\d{2}-\d{2})/(?P<file>[^/]+)$")


@dataclass(frozen=True)
class LandedObject:
    key: str
    etag: str
    size: int
    last_modified: datetime

    @property
    def source(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def last_modified_utc(self) -> datetime:
        """UTC without a zone, as Bronze keeps it (and Snowflake's METADATA$FILE_LAST_MODIFIED gives it)."""
        return self.last_modified.astimezone(timezone.utc).replace(tzinfo=None)


def is_marker(key: str) -> bool:
    """A file whose name starts with `_` or `.` (`_SUCCESS`, `.part`): a signal to other tools, not data."""
    return key.rsplit("/", 1)[-1].startswith(("_", "."))


def parse_key(key: str) -> tuple[str, str, str]:
    """Split a landing key into (source, day, file name), or say exactly what is wrong with it."""
    match = KEY_PATTERN.match(key)
    if not match or match["file"] in (".", ".."):
        raise ValueError(f"landing key {key!r} is not of the form <source>/<YYYY-MM-DD>/<file name>")
    source = match["source"]
    if source not in SOURCES:
        raise ValueError(f"landing key {key!r} names unknown source {source!r}; known: {', '.join(SOURCES)}")
    return source, match["day"], match["file"]


def check_key_stays_inside(key: str) -> str:
    """A key is a path below the landing root: no empty, `.` or `..` segment and no leading slash, which a
    file system or an HTTP client would resolve to somewhere else."""
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise ValueError(f"landing key {key!r} leads outside the landing root: empty, '.' or '..' segment")
    return key


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def httpfs_extension_directory() -> str:
    """Where the duckdb-ext-httpfs package keeps the extension: nothing is downloaded at run time."""
    import duckdb_ext  # noqa: PLC0415  (namespace package shipped by duckdb-ext-httpfs)

    return str(Path(next(iter(duckdb_ext.__path__))) / "extensions")


class LandingZone(ConfigurableResource):
    """Common interface of the two backends; Bronze and the sensors only talk to this."""

    def list_objects(self, prefix: str = "") -> list[LandedObject]:
        return self.list_objects_since(prefix, None)

    def list_objects_since(self, prefix: str, since: datetime | None) -> list[LandedObject]:
        """Objects under `prefix` last modified strictly after `since` (all of them for None), sorted
        by (last_modified, key): what a sensor needs to see only what landed since its last tick."""
        raise NotImplementedError

    def put_file(self, path: Path, key: str) -> LandedObject:
        raise NotImplementedError

    def read_head(self, key: str, size: int) -> bytes:
        """The first `size` bytes of an object (enough to read a CSV header); OSError if unreadable."""
        raise NotImplementedError

    def open_object(self, key: str) -> BinaryIO:
        """The object's bytes, exactly, as a stream to read a part at a time: the Bronze loader splits text
        feeds into records itself, in bounded memory. OSError if unreadable."""
        raise NotImplementedError

    def duckdb_uri(self, key: str) -> str:
        """What DuckDB's readers open for this key: that one object, whatever characters its key has."""
        raise NotImplementedError

    def configure_duckdb(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let a DuckDB connection read this backend's URIs."""

    def describe(self) -> str:
        raise NotImplementedError

    def deliver_tree(self, folder: Path, source: str) -> list[LandedObject]:
        """Upload every `<source>/<day>/<file>` under `folder` whose content is not already there."""
        existing = {o.key: o for o in self.list_objects(prefix=f"{source}/")}
        delivered = []
        for path in sorted(folder.glob(f"{source}/*/*")):
            key = path.relative_to(folder).as_posix()
            if not KEY_PATTERN.match(key):
                continue
            parse_key(key)
            current = existing.get(key)
            if current is None or current.etag != file_md5(path):
                delivered.append(self.put_file(path, key))
        return delivered


class LocalLandingZone(LandingZone):
    """A folder on this machine: the default, needs no account."""

    root: str = "data/landing"

    @property
    def _root(self) -> Path:
        return Path(self.root).resolve()

    def list_objects_since(self, prefix: str, since: datetime | None) -> list[LandedObject]:
        """By file mtime. Only the files modified after `since` are hashed, so a frequent sensor tick
        costs a directory walk, not a read of every landed file."""
        root = self._root
        if not root.exists():
            return []
        objects = []
        for path in _walk_files(root):
            key = path.relative_to(root).as_posix()
            if not key.startswith(prefix) or path.name.startswith("."):
                continue
            stat = path.stat()
            last_modified = datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc)
            if since is not None and last_modified <= since:
                continue
            objects.append(LandedObject(
                key=key, etag=file_md5(path), size=stat.st_size, last_modified=last_modified,
            ))
        return sorted(objects, key=lambda o: (o.last_modified, o.key))

    def _path(self, key: str) -> Path:
        """The file of a key, refused when it (or a link on its way) leads outside the landing folder."""
        root = self._root
        path = root / check_key_stays_inside(key)
        if not path.resolve().is_relative_to(root):
            raise ValueError(f"landing key {key!r} leads outside the landing folder {root}")
        return path

    def put_file(self, path: Path, key: str) -> LandedObject:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside and rename, so a listing never sees a half-copied file.
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(path, partial)
        os.replace(partial, target)
        stat = target.stat()
        return LandedObject(key, file_md5(target), stat.st_size,
                            datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc))

    def read_head(self, key: str, size: int) -> bytes:
        with open(self._path(key), "rb") as handle:
            return handle.read(size)

    def open_object(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def duckdb_uri(self, key: str) -> str:
        """DuckDB globs a local path that has `*`, `?` or `[`; each is escaped as a one-character class
        (`[*]`). Its glob cannot match a backslash in such a path, so that key is refused by name."""
        path = str(self._path(key))
        if not any(c in path for c in "*?["):
            return path
        if "\\" in path:
            raise ValueError(f"landing key {key!r}: DuckDB cannot open a local path with a backslash and a "
                             "glob character (*, ? or [) literally; rename the file")
        return re.sub(r"([*?\[])", r"[\1]", path)

    def describe(self) -> str:
        return f"local folder {self._root}"


class S3LandingZone(LandingZone):
    """An S3 bucket (or any S3-protocol server, given `endpoint_url`)."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region_name: str = "us-east-1"
    max_attempts: int = 8

    def _client(self):
        import boto3  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region_name,
            config=Config(retries={"max_attempts": self.max_attempts, "mode": "adaptive"}),
        )

    def _full_key(self, key: str) -> str:
        return f"{self.prefix.strip('/')}/{key}" if self.prefix.strip("/") else key

    def _object_key(self, key: str) -> str:
        return self._full_key(check_key_stays_inside(key))

    def _relative_key(self, full_key: str) -> str:
        base = self.prefix.strip("/")
        return full_key[len(base) + 1:] if base else full_key

    def list_objects_since(self, prefix: str, since: datetime | None) -> list[LandedObject]:
        """By S3 LastModified (1 s resolution), through every page of the listing, with this zone's
        client so the retries and backoff configured there apply."""
        from dagster_aws.s3.sensor import get_objects  # noqa: PLC0415

        items = get_objects(self.bucket, prefix=self._full_key(prefix), since_last_modified=since,
                            client=self._client())
        objects = [
            LandedObject(key=self._relative_key(item["Key"]), etag=item["ETag"].strip('"'),
                         size=item["Size"], last_modified=item["LastModified"])
            for item in items
        ]
        return sorted(objects, key=lambda o: (o.last_modified, o.key))

    def put_file(self, path: Path, key: str) -> LandedObject:
        client = self._client()
        with open(path, "rb") as body:  # a single PUT keeps the ETag equal to the content's MD5
            client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=body)
        head = client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        return LandedObject(key, head["ETag"].strip('"'), head["ContentLength"], head["LastModified"])

    def read_head(self, key: str, size: int) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            response = self._client().get_object(Bucket=self.bucket, Key=self._object_key(key),
                                                 Range=f"bytes=0-{size - 1}")
            return response["Body"].read()
        except (BotoCoreError, ClientError) as error:  # an OSError, as a local read's would be
            raise OSError(f"s3://{self.bucket}/{self._object_key(key)}: {error}") from error

    def open_object(self, key: str) -> BinaryIO:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            return _ReadErrorsAsOSError(
                self._client().get_object(Bucket=self.bucket, Key=self._object_key(key))["Body"],
                f"s3://{self.bucket}/{self._object_key(key)}", (BotoCoreError, ClientError))
        except (BotoCoreError, ClientError) as error:
            raise OSError(f"s3://{self.bucket}/{self._object_key(key)}: {error}") from error

    def duckdb_uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object_key(key)}"

    def configure_duckdb(self, con: duckdb.DuckDBPyConnection) -> None:
        import boto3  # noqa: PLC0415

        con.execute("SET extension_directory = ?", [httpfs_extension_directory()])
        con.execute("LOAD httpfs")
        # An s3:// URL is then one object, read literally: no glob (`*`, `?`, `[`) and no query string
        # (`?`), which a key may contain.
        con.execute("SET GLOBAL s3_url_compatibility_mode = true")
        credentials = boto3.session.Session().get_credentials()
        options = {"REGION": self.region_name}
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options["KEY_ID"] = frozen.access_key
            options["SECRET"] = frozen.secret_key
            if frozen.token:
                options["SESSION_TOKEN"] = frozen.token
        if self.endpoint_url:
            endpoint = urlparse(self.endpoint_url)
            options.update(ENDPOINT=endpoint.netloc, URL_STYLE="path",
                           USE_SSL=endpoint.scheme == "https")
        # Option names are ours; every value is a bound parameter, credentials included.
        body = ", ".join(["TYPE s3", *(f"{name} ?" for name in options)])
        con.execute(f"CREATE OR REPLACE SECRET medallion_landing ({body})", list(options.values()))

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix.strip('/')}{where}"


class _ReadErrorsAsOSError:
    """An S3 object's body whose read errors are OSErrors, as a local file's are: what the loader catches."""

    def __init__(self, body, name: str, errors: tuple[type[Exception], ...]):
        self._body, self._name, self._errors = body, name, errors

    def read(self, size: int = -1) -> bytes:
        try:
            return self._body.read(None if size < 0 else size)
        except self._errors as error:
            raise OSError(f"{self._name}: {error}") from error

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self._body.close()


def _walk_files(root: Path) -> Iterator[Path]:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            yield Path(dirpath) / name

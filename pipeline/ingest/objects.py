"""Calls in object storage: a manifest row may name `s3://bucket/key` where it would name a file.

Read through fsspec's s3fs, so any S3-compatible server works (AWS, MinIO, Ceph, moto): the endpoint is
storage.s3_endpoint_url, or AWS_ENDPOINT_URL, or AWS itself; keys come from the standard AWS variables or
profile, never from winloss's config. Every worker reads the object itself, so workers need no shared disk.

An object's call id is its URL and deal, like a file's path and deal. Its content hash is made from the object's
ETag and size, read with one HEAD request: stable for as long as the object is not rewritten, and planning a run
of ten thousand calls does not download ten thousand recordings to hash them (the workers download each once,
to analyse it).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from winloss.pipeline.errors import BadInputError, ConfigError

SCHEMES = ("s3://",)


def is_object_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SCHEMES)


class ObjectURL(str):
    """An object's URL (s3://bucket/key), held where a manifest row holds a file's Path."""

    @property
    def key(self) -> str:
        return self.split("://", 1)[1].partition("/")[2]

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.key).suffix

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any):
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls._validate, serialization=core_schema.to_string_ser_schema())

    @classmethod
    def _validate(cls, value: object) -> ObjectURL:
        if isinstance(value, cls):
            return value
        if is_object_url(value) and cls(value).key:
            return cls(value)
        raise ValueError(f"not an object URL ({', '.join(s + 'bucket/key' for s in SCHEMES)})")


class Objects:
    """Object storage as the run's settings reach it; the connection opens on first use."""

    def __init__(self, endpoint_url: str = ""):
        self.endpoint_url = endpoint_url

    @cached_property
    def fs(self):
        try:
            import s3fs
        except ImportError:
            raise ConfigError("s3:// calls need s3fs: pip install 'winloss[cluster]'") from None
        # no listing cache: a rewritten object must be seen as changed by the next run of the same process
        return s3fs.S3FileSystem(endpoint_url=self.endpoint_url or None, use_listings_cache=False,
                                 skip_instance_cache=True)

    def info(self, url: str) -> dict:
        """The object's metadata; BadInputError naming the URL when it cannot be read."""
        try:
            return self.fs.info(url, refresh=True)
        except FileNotFoundError:
            raise BadInputError(url, "object not found (check the bucket and key, and the endpoint "
                                     "storage.s3_endpoint_url)") from None
        except PermissionError as exc:
            raise BadInputError(url, f"access denied ({exc}): give this machine's AWS credentials read "
                                     f"access to the bucket") from None
        except Exception as exc:  # botocore's connection errors are not OSErrors
            raise BadInputError(url, f"object storage did not answer ({exc}); check storage.s3_endpoint_url "
                                     f"and the network") from None

    def exists(self, url: str) -> bool:
        """False only when the storage says the object is not there: an unreachable or refusing server must not
        make a stored call look gone (and be forgotten by `analyze --prune`)."""
        try:
            self.fs.info(url, refresh=True)
            return True
        except FileNotFoundError:
            return False
        except Exception:  # not answering is not gone
            return True

    def content_hash(self, info: dict) -> str:
        """The object's content hash: its ETag and size (a HEAD), not its bytes (a download)."""
        etag = str(info.get("ETag") or info.get("etag") or "").strip('"')
        if not etag:
            raise BadInputError(info.get("name", "?"), "the object storage gives no ETag for this object")
        return hashlib.sha256(f"s3\x00{etag}\x00{info.get('size')}".encode()).hexdigest()[:16]

    @contextmanager
    def local_copy(self, url: str) -> Iterator[Path]:
        """The object downloaded into a temporary folder (its name kept: readers go by the suffix), removed after."""
        with tempfile.TemporaryDirectory(prefix="winloss-object-") as tmp:
            path = Path(tmp) / (ObjectURL(url).name or "object")
            try:
                self.fs.get_file(url, str(path))
            except FileNotFoundError:
                raise BadInputError(url, "object not found (it was removed after the run was planned)") from None
            except Exception as exc:  # botocore's connection errors are not OSErrors
                raise BadInputError(url, f"could not download the object ({exc})") from None
            yield path

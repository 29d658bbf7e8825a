"""Where the bytes of evidence photos live: content-addressed by SHA-256, behind a small
interface with two implementations.

* :class:`LocalEvidenceStore` (the default, and the tested one): files under
  ``DATA_DIR/evidence/<first two hex digits>/<sha256>`` and the thumbnail beside it
  (``<sha256>.thumb.jpg``).  A file is written to a temporary name and renamed, so a
  reader never sees half a photo; the same photo uploaded twice is stored once.
* :class:`S3EvidenceStore`: an S3-style object store (``CITYGRID_EVIDENCE_STORE_URL=
  s3://bucket/prefix``), the same keys under the prefix; it needs ``boto3``, which reads
  the endpoint and credentials from the usual ``AWS_*`` variables.

The stream and the database never hold these bytes: an ``attached`` event carries the hash
and metadata only (:mod:`dashboard.domain.evidence`).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from dashboard.domain.evidence import is_sha256

KINDS = {"photo": "", "thumb": ".thumb.jpg"}


class EvidenceStoreError(Exception):
    """The store is misconfigured or unreachable (one line)."""


class EvidenceStore(Protocol):
    """Bytes by (sha256, kind); kind is ``photo`` (the original) or ``thumb``."""

    def put(self, sha256: str, kind: str, data: bytes) -> None: ...

    def get(self, sha256: str, kind: str) -> bytes | None: ...

    def has(self, sha256: str, kind: str) -> bool: ...


def key_of(sha256: str, kind: str) -> str:
    """The relative key of a stored object (``ab/ab12….thumb.jpg``); checks both parts, so
    no caller can make a path of anything but a hash."""
    if not is_sha256(sha256) or kind not in KINDS:
        raise ValueError(f"not an evidence key: {sha256[:70]!r} {kind!r}")
    return f"{sha256[:2]}/{sha256}{KINDS[kind]}"


class LocalEvidenceStore:
    """Content-addressed files under one folder."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, sha256: str, kind: str) -> Path:
        return self.root / key_of(sha256, kind)

    def put(self, sha256: str, kind: str, data: bytes) -> None:
        path = self.path(sha256, kind)
        if path.exists():   # content-addressed: the same name is the same bytes
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, sha256: str, kind: str) -> bytes | None:
        try:
            return self.path(sha256, kind).read_bytes()
        except FileNotFoundError:
            return None

    def has(self, sha256: str, kind: str) -> bool:
        return self.path(sha256, kind).exists()


class S3EvidenceStore:
    """The same keys in an S3-style bucket (``s3://bucket/prefix``)."""

    def __init__(self, url: str):
        bucket, _, prefix = url[len("s3://"):].partition("/")
        if not bucket:
            raise EvidenceStoreError(f"CITYGRID_EVIDENCE_STORE_URL {url!r} names no bucket (s3://bucket/prefix)")
        try:
            import boto3
        except ImportError:
            raise EvidenceStoreError("CITYGRID_EVIDENCE_STORE_URL is an s3:// URL but boto3 is not installed "
                                     "(pip install boto3)") from None
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)

    def _key(self, sha256: str, kind: str) -> str:
        key = key_of(sha256, kind)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, sha256: str, kind: str, data: bytes) -> None:
        if not self.has(sha256, kind):
            self.client.put_object(Bucket=self.bucket, Key=self._key(sha256, kind), Body=data)

    def get(self, sha256: str, kind: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(sha256, kind))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def has(self, sha256: str, kind: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256, kind))
            return True
        except Exception:  # noqa: BLE001 - botocore's ClientError 404 (botocore is optional)
            return False


def open_store(settings) -> EvidenceStore:
    """The store the settings name: an ``s3://`` URL, else ``DATA_DIR/evidence``."""
    url = settings.evidence_store_url
    if not url:
        return LocalEvidenceStore(Path(settings.data_dir) / "evidence")
    if url.startswith("s3://"):
        return S3EvidenceStore(url)
    raise EvidenceStoreError(f"CITYGRID_EVIDENCE_STORE_URL {url!r} is not an s3://bucket/prefix URL")

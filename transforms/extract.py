"""Pull: find a source's files and archive each exactly as received, under its content hash.

Every puller answers the same two questions, so the pipeline never knows where a file came
from: which files are waiting (:meth:`Puller.list_files`) and the bytes of one of them
(:meth:`Puller.fetch`). :class:`LocalFolderPuller` (a landing folder per body and domain) is the
default and the only method this release implements; HTTP, SFTP and S3 sources are declared
in the registry with ``pull.method`` and ``pull.conn_id`` and will be served through Airflow
connections behind the same protocol.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from transforms.config import SourceSpec
from transforms.errors import NgssError
from transforms.settings import Settings

log = logging.getLogger(__name__)
_SAFE_EXT = re.compile(r"^(\.[A-Za-z0-9]{1,8}){1,2}$")


class Puller(Protocol):
    """Where a source's files come from."""

    def list_files(self) -> list[str]:
        """Names of the files waiting, in the order they should be loaded (oldest first)."""
        ...

    def fetch(self, name: str, dest: Path) -> None:
        """Write the bytes of file ``name`` to ``dest``, unchanged."""
        ...


@dataclass(frozen=True)
class LocalFolderPuller:
    """Files matching ``pattern`` directly in ``folder`` (the source's landing folder).

    Only regular files that resolve inside the folder count: a symlink pointing elsewhere is
    ignored with a warning, so a landing folder cannot be used to read other files.
    """

    folder: Path
    pattern: str

    def _paths(self) -> dict[str, Path]:
        folder = self.folder.resolve()
        if not folder.is_dir():
            return {}
        out = {}
        for path in sorted(folder.glob(self.pattern)):
            real = path.resolve()
            if not real.is_file():
                continue
            if folder not in real.parents:
                log.warning("ignoring %s: it resolves outside the landing folder %s", path, folder)
                continue
            out[path.name] = path
        return out

    def list_files(self) -> list[str]:
        """Oldest first (modification time, then name): a corrected file dropped after the
        original is published after it, so it is the one that stays in the partition."""
        paths = self._paths()
        return sorted(paths, key=lambda n: (paths[n].stat().st_mtime_ns, n))

    def fetch(self, name: str, dest: Path) -> None:
        paths = self._paths()
        if name not in paths:
            raise FileNotFoundError(f"{name} is not in the landing folder {self.folder}")
        shutil.copyfile(paths[name], dest)


def puller_for(settings: Settings, source: SourceSpec) -> Puller:
    """The puller configured for ``source``.

    Raises:
        NgssError: for a method this release does not implement yet (http, sftp, s3).
    """
    if source.pull.method == "local":
        root = settings.generated if source.pull.root == "generated" else settings.landing
        return LocalFolderPuller(root / source.pull.path, source.pull.pattern)
    raise NgssError(
        f"{source.source_id}: pull method {source.pull.method!r} (connection "
        f"{source.pull.conn_id!r}) is not implemented in this release; use a local landing folder"
    )


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def archive_all(settings: Settings, source: SourceSpec, puller: Puller) -> list[dict[str, Any]]:
    """Fetch every waiting file and archive it as ``archive/<body>/<domain>/<sha256><ext>``.

    The same bytes always land at the same path, so pulling twice stores nothing new; a file is
    written under a temporary name and renamed, so a crash never leaves half a file archived.

    Returns:
        One dict per file: ``source_id``, ``file_name`` (as received), ``sha256``,
        ``archive_path``, ``size_bytes``, ``received_at`` (ISO 8601, UTC).
    """
    out = []
    folder = settings.archive / source.body / source.domain
    folder.mkdir(parents=True, exist_ok=True)
    for name in puller.list_files():
        tmp = folder / f".incoming-{os.getpid()}-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
        puller.fetch(name, tmp)
        digest = sha256_file(tmp)
        ext = "".join(Path(name).suffixes[-2:]).lower()
        ext = ext if _SAFE_EXT.match(ext) else ""
        target = folder / f"{digest}{ext}"
        if target.exists():
            tmp.unlink()
        else:
            os.replace(tmp, target)
        out.append(
            {
                "source_id": source.source_id,
                "file_name": name,
                "sha256": digest,
                "archive_path": str(target),
                "size_bytes": target.stat().st_size,
                "received_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    log.info("%s: %d file(s) pulled", source.source_id, len(out))
    return out

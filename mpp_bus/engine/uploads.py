"""The upload store: files a citizen attaches to an application, checked by content and kept by their sha256.

The portal's API puts a file in (``put``); the dispatcher reads it back by hash (``read``) just before the adapter sends
it to the agency. The type is decided by the file's first bytes, never by its name or the browser's claim, so a
renamed executable is refused; the name is kept only as a sanitised hint for the agency.

Example::

    uploads = UploadStore(Path("var/uploads"), max_bytes=5 * 1024 * 1024)
    stored = uploads.put(data, "Surat Pengantar RT.pdf")      # UploadRefused (message in Indonesian) if not allowed
    uploads.read(stored.content_hash) == data
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# Magic bytes of the types an agency accepts as a scanned document.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)
_HASH = re.compile(r"^[0-9a-f]{64}$")
MAX_NAME = 100


class UploadRefused(ValueError):
    """The file is not accepted; the message is for the citizen, in Indonesian."""


@dataclass(frozen=True)
class StoredUpload:
    content_hash: str
    media_type: str
    filename: str
    size: int


def sniff(data: bytes) -> tuple[str, str] | None:
    """The media type and extension the content's first bytes announce, or None when it is not an accepted type."""
    for magic, media_type, extension in _SIGNATURES:
        if data.startswith(magic):
            return media_type, extension
    return None


def sanitise_filename(name: str | None, extension: str) -> str:
    """A name safe to show and to send: no folders, no control or shell characters, ASCII, bounded, with the
    extension of the real content."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^A-Za-z0-9 _-]+", "_", stem).strip(" ._-")
    stem = re.sub(r"[ _]+", "_", stem)[:MAX_NAME - len(extension)] or "dokumen"
    return stem + extension


class UploadStore:
    """A folder of uploads named by content hash (created 0700: the files are citizens' documents)."""

    def __init__(self, folder: Path, *, max_bytes: int = 5 * 1024 * 1024) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes

    def _ensure_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def check(self, data: bytes) -> tuple[str, str]:
        """The media type and extension of ``data``, or ``UploadRefused`` with the reason in Indonesian."""
        if not data:
            raise UploadRefused("berkas kosong")
        if len(data) > self.max_bytes:
            raise UploadRefused(f"berkas terlalu besar (paling besar {self.max_bytes // (1024 * 1024)} MB)")
        kind = sniff(data)
        if kind is None:
            raise UploadRefused("jenis berkas tidak didukung: unggah PDF, JPEG atau PNG")
        return kind

    def put(self, data: bytes, filename: str | None = None) -> StoredUpload:
        """Check and keep ``data``; the same content is stored once whatever its name."""
        media_type, extension = self.check(data)
        digest = hashlib.sha256(data).hexdigest()
        self._ensure_folder()
        path = self.folder / digest
        if not path.exists():
            # Written beside and renamed: a reader never sees half a file, two writers of one content agree.
            temporary = self.folder / f".{digest}.{os.getpid()}.part"
            with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        return StoredUpload(digest, media_type, sanitise_filename(filename, extension), len(data))

    def exists(self, content_hash: str) -> bool:
        return bool(_HASH.match(content_hash)) and (self.folder / content_hash).is_file()

    def read(self, content_hash: str) -> bytes:
        """The content stored under ``content_hash``; ``FileNotFoundError`` when it is not there."""
        if not _HASH.match(content_hash):
            raise FileNotFoundError("not a content hash")
        return (self.folder / content_hash).read_bytes()

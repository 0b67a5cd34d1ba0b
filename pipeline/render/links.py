"""Where a page links a call's recording (or transcript) so the link still works once the page has left this
machine: relative to the page when the file sits below the page's folder, otherwise through the configured
`report.media_base_url` (a web server or bucket prefix), otherwise a relative path that holds while the page and
the calls move together. Never an absolute `file://` path: it names this disk and breaks everywhere else."""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path


def _url_path(parts: Path | str) -> str:
    return urllib.parse.quote(Path(parts).as_posix())


@dataclass(frozen=True)
class MediaLinks:
    """`page_dir` is the folder the page is written to; None for a page that travels alone (an email body or
    attachment), where only `base_url` links can work. With `media_root` set, the base URL serves that folder
    (the link keeps the path below it); unset, it serves the files by name."""

    page_dir: Path | None = None
    base_url: str = ""
    media_root: Path | None = None

    @classmethod
    def for_page(cls, page: Path, base_url: str = "", media_root: str = "") -> MediaLinks:
        """The links of a page written to `page`, with config's `report.media_base_url` and `report.media_root`."""
        return cls(page_dir=page.parent, base_url=base_url, media_root=Path(media_root) if media_root else None)

    def href(self, path: str | Path | None, at: float | None = None) -> str | None:
        """The link to `path` (at second `at`, as a media fragment), or None when no link would work."""
        if not path:
            return None
        media = Path(path).resolve()
        link = self._local(media, below_only=True) or self._served(media) or self._local(media, below_only=False)
        if link is None:
            return None
        return link if at is None else f"{link}#t={int(at)}"

    def _local(self, media: Path, below_only: bool) -> str | None:
        if self.page_dir is None:
            return None
        page_dir = self.page_dir.resolve()
        if media.is_relative_to(page_dir):
            return _url_path(media.relative_to(page_dir))
        if below_only:
            return None
        try:
            return _url_path(os.path.relpath(media, page_dir))
        except ValueError:  # another drive on Windows: no relative path exists
            return None

    def _served(self, media: Path) -> str | None:
        if not self.base_url:
            return None
        if self.media_root is None:
            tail = media.name
        elif media.is_relative_to(root := self.media_root.resolve()):
            tail = media.relative_to(root).as_posix()
        else:
            return None
        return f"{self.base_url.rstrip('/')}/{_url_path(tail)}"

    def travelling(self) -> MediaLinks:
        """The same links for a copy of the page that travels alone (email): only the served ones remain."""
        return MediaLinks(page_dir=None, base_url=self.base_url, media_root=self.media_root)

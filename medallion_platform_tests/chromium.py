"""Headless Chromium for the browser tests: a page opened from a file, its DOM after its scripts ran, and
a screenshot. Debian's `chromium`, which `make chromium` installs (a dependency of `make test`)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

# What this machine needs: no sandbox (tests run as root in a container), no GPU, and no traffic of
# Chromium's own (QUIC, sync, component updates, background requests): the page is all that is loaded.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
CANDIDATES = ("chromium", "chromium-browser")


def find_chromium() -> str | None:
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


@dataclass(frozen=True)
class Rendered:
    dom: str  # the document after its scripts ran
    screenshot: Path


def render(page: Path | str, screenshot: Path, *, width: int = 1400, height: int = 2600,
           budget_ms: int = 10_000, timeout_s: int = 120) -> Rendered:
    """Open `page` (a local file, or a URL on 127.0.0.1) in a fresh profile, let its scripts run for up to
    `budget_ms` of virtual time, save a `width` x `height` screenshot and return the DOM."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError(f"no Chromium on PATH (looked for {', '.join(CANDIDATES)}): run `make chromium`")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run(
            [chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={screenshot}",
             f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}", "--dump-dom",
             page.resolve().as_uri() if isinstance(page, Path) else page],
            capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0 or not screenshot.exists():
        raise RuntimeError(f"chromium exited {done.returncode} on {page}: {done.stderr[-2000:]}")
    return Rendered(dom=done.stdout, screenshot=screenshot)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element]

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str, css_class: str | None = None) -> list[Element]:
        return [e for e in self.iter() if e.tag == tag and (css_class is None or css_class in e.classes)]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, [])
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {k: v or "" for k, v in attrs}, [])
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}, []))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return


def parse_dom(dom: str) -> Element:
    """The dumped DOM as a tree of elements (the standard library's parser: nothing to install)."""
    builder = _TreeBuilder()
    builder.feed(dom)
    builder.close()
    return builder.root

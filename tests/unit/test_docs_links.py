"""The docs stand alone: every relative link in README.md and docs/ resolves inside the repository
(anchors included), and nothing points at the team's shared folder outside it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"(?<!!)\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
EXTERNAL = ("http://", "https://", "mailto:")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`|\*\*|__", "", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    seen: dict[str, int] = {}
    out = set()
    for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M):
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    return [m.group(1) for m in LINK.finditer(FENCE.sub("", path.read_text()))]


def test_there_are_docs_to_check() -> None:
    assert len(DOCS) > 5 and any(links(d) for d in DOCS)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_inside_the_repository(doc: Path) -> None:
    for target in links(doc):
        if target.startswith(EXTERNAL):
            continue
        path_part, _, anchor = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        assert dest.is_relative_to(ROOT), f"{doc.name}: {target} points outside the repository"
        assert dest.exists(), f"{doc.relative_to(ROOT)}: {target} does not exist"
        if anchor and dest.suffix == ".md":
            assert anchor in anchors(dest), f"{doc.relative_to(ROOT)}: no heading #{anchor} in {dest.relative_to(ROOT)}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_points_at_the_shared_folder(doc: Path) -> None:
    text = doc.read_text()
    for needle in ("../shared", "/work/shared", "shared reference folder", "seed-postmortem"):
        assert needle not in text, f"{doc.relative_to(ROOT)} mentions {needle!r}: say it in the repo's own words"


def test_slugs_follow_github() -> None:
    assert slug("Metrics, alerts, dashboard") == "metrics-alerts-dashboard"
    assert slug("While it is down: move traffic by hand") == "while-it-is-down-move-traffic-by-hand"
    assert slug("The `kubectl` plugin") == "the-kubectl-plugin"

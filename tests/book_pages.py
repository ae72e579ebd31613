"""Which pages the book has: read from _toc.yml, so a new chapter is tested without editing tests."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    """Every file the table of contents names, without suffix, root first."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files


def notebook_pages() -> list[Path]:
    """The pages that are MyST notebooks (they carry a kernelspec), i.e. that execute code."""
    pages = []
    for name in toc_files():
        path = ROOT / f"{name}.md"
        text = path.read_text() if path.exists() else ""
        front_matter = text.split("---")[1] if text.startswith("---") else ""
        if "kernelspec:" in front_matter:
            pages.append(path)
    return pages

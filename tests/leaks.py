"""Find the parts of an nbgrader source notebook that must never reach a student.

Two functions, used by the nbgrader tests and by the scan of the built book:

* :func:`secret_snippets` lists distinctive lines of a source notebook that only the
  instructor may see: solution regions (and solution cells without regions), hidden tests,
  mark schemes, and the multiple-choice answer keys in clear (``q1 = "B"``).
* :func:`find_leaks` says which of them occur in a text: a notebook file, an HTML page
  (nbconvert's, nbgrader's feedback, the Jupyter Book), or plain text.

Both sides are compared in a canonical form that survives rendering: HTML tags and entities,
notebook JSON escapes, ANSI colour codes, Markdown emphasis and list markers, typographic
quotes and dashes, and runs of whitespace are all normalized away.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

#: nbgrader's region delimiters (begin, end); a delimiter counts anywhere in a line.
REGIONS = {
    "solution": ("BEGIN SOLUTION", "END SOLUTION"),
    "hidden tests": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"),
    "mark scheme": ("BEGIN MARK SCHEME", "END MARK SCHEME"),
}

#: Lines shorter than this (in canonical form, without an assignment target, a leading
#: ``return`` and the like, or a trailing bracket) are too generic to mean anything.
MIN_LENGTH = 20

#: Lines that occur in every nbgrader notebook, secret or not.
GENERIC = frozenset(
    {
        "raise NotImplementedError()",
        "YOUR CODE HERE",
        "YOUR ANSWER HERE",
        # torch idioms that any training loop or chapter contains
        "optimizer.zero_grad()",
        "for block in model.layers:",
    }
)

#: A multiple-choice answer key such as ``q1 = "B"``: short, but the most secret line of all.
_ANSWER_KEY = re.compile(r"""^\s*\w+\s*=\s*(["'])\s*[A-Za-z]\s*\1\s*$""")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_TAG = re.compile(r"<[^>]*>")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_LINE_MARKER = re.compile(r"^(?:#{1,6}\s+|[-*+]\s+|>\s*|\d+[.)]\s+)+")
_TYPOGRAPHY = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u200b": "",
    }
)


def canon(text: str) -> str:
    """The form in which snippets and texts are compared."""
    text = _ANSI.sub("", text).translate(_TYPOGRAPHY)
    text = _LINK.sub(r"\1", text)
    lines = (_LINE_MARKER.sub("", line.strip()) for line in text.splitlines())
    # emphasis, code and table-cell markers vanish when Markdown is rendered
    text = " ".join(lines).replace("*", "").replace("`", "").replace("|", " ")
    text = re.sub(r"-{2,}", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _split_regions(source: str) -> tuple[list[str], list[tuple[str, list[str]]], bool]:
    """Split a cell into public lines and (kind, lines) secret regions; say if it had a solution."""
    public: list[str] = []
    regions: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    end = ""
    had_solution = False
    for line in source.splitlines():
        if current is None:
            opened = [(kind, pair) for kind, pair in REGIONS.items() if pair[0] in line]
            if opened:
                kind, (_, end) = opened[0]
                had_solution |= kind == "solution"
                current = []
                regions.append((kind, current))
            else:
                public.append(line)
        elif end in line:
            current = None
        else:
            current.append(line)
    return public, regions, had_solution


_KEYWORD = re.compile(r"^(?:return|raise|assert|yield|await|del|elif|if|while|with|for)\s+")
_TARGET = re.compile(r"^\(?[\w.]+(?:\s*,\s*[\w.]+)*\s*,?\)?\s*[-+*/|&]?=(?!=)\s*")
_TRAILER = re.compile(r"[\s,:;(\[{\\]+$")


def _core(canon_line: str) -> str:
    """The line without what makes it look unique but says nothing: ``x = ``, ``return``, ``(``."""
    core = _KEYWORD.sub("", canon_line)
    core = _TARGET.sub("", core, count=1)
    return _TRAILER.sub("", core)


def secret_snippets(
    source_notebook_path: str | Path, kinds: tuple[str, ...] = tuple(REGIONS)
) -> list[str]:
    """Distinctive lines of ``source_notebook_path`` that only an instructor may see.

    Returns stripped lines from solution regions (or from whole solution cells that have
    no region, which nbgrader replaces entirely), hidden-test regions and mark-scheme
    regions that are at least :data:`MIN_LENGTH` characters long in canonical form, plus
    every answer key such as ``q1 = "B"`` whatever its length. A region none of whose lines
    qualifies contributes its lines joined as one snippet. Lines that also occur in the
    public part of the notebook (what the release shows) are left out, so that a snippet
    found elsewhere is a real leak.
    """
    nb = json.loads(Path(source_notebook_path).read_text(encoding="utf-8"))
    public: list[str] = []
    regions: list[tuple[str, list[str]]] = []
    answer_keys: list[str] = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = _cell_source(cell)
        cell_public, cell_regions, had_solution = _split_regions(source)
        if meta.get("solution") and not had_solution:
            # nbgrader replaces a solution cell without regions by its stub
            cell_regions.append(("solution", cell_public))
            cell_public = []
        public.extend(cell_public)
        regions.extend(cell_regions)
        if meta.get("solution") and "solution" in kinds:
            solution_lines = [line for _, region in cell_regions for line in region]
            answer_keys.extend(line.strip() for line in solution_lines if _ANSWER_KEY.match(line))
    public_text = canon("\n".join(public))

    snippets: list[str] = []
    seen: set[str] = set()

    def add(snippet: str, *, key: bool = False) -> bool:
        form = canon(snippet)
        if not form or form in seen or form in public_text:
            return False
        core = _core(form)
        if not key and (form in GENERIC or len(core) < MIN_LENGTH or core in public_text):
            return False
        seen.add(form)
        snippets.append(snippet)
        return True

    for key in answer_keys:
        add(key, key=True)
    for kind, region in regions:
        if kind not in kinds:
            continue
        lines = [line.strip() for line in region if line.strip()]
        added = [add(line) for line in lines]
        if not any(added) and len(lines) > 1:
            add("\n".join(lines))
    return snippets


def _notebook_text(text: str) -> str | None:
    """Cell sources and outputs of a notebook given as JSON, or None if ``text`` is not one."""
    stripped = text.lstrip()
    if not stripped.startswith("{"):
        return None
    try:
        nb = json.loads(stripped)
    except ValueError:
        return None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None
    parts: list[str] = []
    for cell in nb["cells"]:
        parts.append(_cell_source(cell))
        for output in cell.get("outputs", []):
            for value in (output.get("text"), output.get("traceback"), output.get("evalue")):
                if value:
                    parts.append("".join(value) if isinstance(value, list) else str(value))
            for value in output.get("data", {}).values():
                parts.append("".join(value) if isinstance(value, list) else str(value))
    return "\n".join(parts)


_JSON_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')


def _json_unescape(text: str) -> str:
    """Decode JSON string escapes (``\\"``, ``\\n``, ``\\u2019``) wherever they occur."""
    return _JSON_ESCAPE.sub(lambda match: json.loads(f'"\\{match.group(1)}"'), text)


def find_leaks(text: str, snippets: list[str]) -> list[str]:
    """The snippets (from :func:`secret_snippets`) that occur in ``text``, in their order.

    ``text`` may be a notebook file's JSON, an HTML page or plain text: each snippet is looked
    for in the canonical form of the raw text, of the text with HTML tags removed and entities
    decoded, of the text with JSON string escapes decoded, and, for a whole notebook, of its
    cell sources and outputs.
    """
    views = [
        canon(html.unescape(text)),
        canon(html.unescape(_TAG.sub("", text))),
        canon(_json_unescape(text)),
    ]
    notebook = _notebook_text(text)
    if notebook is not None:
        views.append(canon(notebook))
    found: list[str] = []
    for snippet in snippets:
        form = canon(snippet)
        if form and snippet not in found and any(form in view for view in views):
            found.append(snippet)
    return found

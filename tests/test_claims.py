"""Claims about computed numbers are checked, and a false one fails the real book build."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from conftest import BIN, ROOT, STRICT_BUILD, tool_env

from vglib.claims import ClaimError, claim, orders_of_magnitude, pick


def test_a_true_claim_is_silent_and_a_false_one_quotes_the_sentence():
    claim(np.float64(2.0) > 1, "two is more than one")
    with pytest.raises(
        ClaimError, match=r"claim no longer true: 'the loss falls'.*before=1, after=2"
    ):
        claim(2 < 1, "the loss falls", before=1, after=2)
    with pytest.raises(ValueError, match="needs the sentence"):
        claim(True, "  ")


def test_pick_and_orders_of_magnitude_compute_the_words():
    assert pick({0.005: 0.6, 0.05: 0.4}) == 0.05
    assert pick({"a": 1.0, "b": 3.0}, best=max) == "b"
    with pytest.raises(ValueError, match="tie"):
        pick({"a": 1.0, "b": 1.0})
    assert orders_of_magnitude(1.0, 1.5e-8) == 7
    assert orders_of_magnitude(1.0, 1e-10) == 10
    with pytest.raises(ValueError, match="positive"):
        orders_of_magnitude(1.0, 0.0)


_PAGE = """\
---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
# A page with a claim

```{code-cell} ipython3
from myst_nb import glue
from vglib.claims import claim

deep, shallow = 0.69, 0.60
glue("deep", deep, display=False)
claim(deep < shallow, "the deep network ends with the lower loss", deep=deep, shallow=shallow)
```

The deep network ends with the lower loss ({glue:text}`deep:.2f`).
"""


@pytest.mark.slow
def test_a_false_claim_fails_the_book_build(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    shutil.copy(ROOT / "_config.yml", book / "_config.yml")  # the course's own build settings
    shutil.copy(ROOT / "references.bib", book / "references.bib")
    (book / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (book / "index.md").write_text(_PAGE)
    proc = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(book), *STRICT_BUILD],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"the build passed with a false claim:\n{output[-3000:]}"
    reports = "".join(p.read_text() for p in (book / "_build").rglob("reports/*.err.log"))
    assert "claim no longer true: 'the deep network ends with the lower loss'" in output + reports

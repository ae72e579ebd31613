"""What a reader gets in the HTML of the real, strict book build (the `html_dir` fixture)."""

from __future__ import annotations

import json

import pytest
from book_pages import ROOT, toc_files
from bs4 import BeautifulSoup


def _pages(html_dir):
    return {
        name: BeautifulSoup((html_dir / f"{name}.html").read_text(), "html.parser")
        for name in toc_files()
    }


@pytest.mark.slow
def test_every_toc_page_is_built_without_error_output(html_dir):
    for name, soup in _pages(html_dir).items():
        text = soup.get_text()
        assert "Traceback" not in text, name
        assert not soup.select(".output.stderr, .output.traceback"), f"{name}: stderr in page"
        assert "{glue" not in text, f"{name}: a glue reference was not resolved"
        assert all(img.get("alt") for img in soup.select("main img")), f"{name}: image without alt"


@pytest.mark.slow
def test_static_demos_are_explorable_without_a_kernel(html_dir):
    demos = 0
    for name, soup in _pages(html_dir).items():
        assert "application/vnd.jupyter.widget-view+json" not in str(soup), name
        for demo in soup.select("div.vg-demo"):
            demos += 1
            data = json.loads(demo.select_one("script.vg-data").string)
            controls = demo.select("[data-param]")
            sizes = [len(param["labels"]) for param in data["params"]]
            for control, size in zip(controls, sizes, strict=True):  # live unless single-valued
                assert control.has_attr("disabled") == (size == 1), f"{name}: {control['id']}"
            main = controls[0]
            assert main.name == "input" and int(main["max"]) >= 4, (
                "main parameter must be scrubbable"
            )
            assert len(data["frames"]) > int(main["max"]), f"{name}: too few frames"
            grid = 1
            for param in data["params"]:
                grid *= len(param["labels"])
            assert len(data["index"]) == grid, f"{name}: a grid point has no frame"
    assert demos >= 2


@pytest.mark.slow
def test_computed_tables_citations_and_navigation(html_dir):
    pages = _pages(html_dir)
    chapter = pages["chapters/saturating_activations"]
    assert len(chapter.select("main table")) >= 2, "computed Markdown tables must render as tables"
    assert "Glorot" in pages["references"].get_text()
    assert chapter.select("main a[href*='references.html#id']") or chapter.select(
        "a.reference.internal"
    )
    index = (html_dir / "intro.html").read_text()
    for name in toc_files()[1:]:  # the root page is the one being read
        assert f"{name}.html" in index, f"{name} missing from the navigation"


@pytest.mark.slow
def test_no_solution_hidden_test_key_or_rubric_in_the_built_book(html_dir):
    from leaks import find_leaks, secret_snippets

    sources = sorted((ROOT / "exercises" / "source").glob("*/*.ipynb"))
    assert sources, "no assignment source notebooks found"
    pages = sorted(html_dir.rglob("*.html"))
    assert pages
    for source in sources:
        snippets = secret_snippets(source)
        assert snippets, f"{source.name}: nothing secret found, so the scan could not fail"
        for page in pages:
            leaks = find_leaks(page.read_text(errors="replace"), snippets)
            assert not leaks, (
                f"{page.relative_to(html_dir)} shows {source.name} secrets: {leaks[:3]}"
            )


@pytest.mark.slow
def test_launch_buttons_come_from_the_repository_setting(html_dir):
    """Binder, JupyterHub (nbgitpuller) and Colab links on every chapter; Colab gets an .ipynb."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["repository"]["branch"]
    chapters = [name for name in toc_files() if name.startswith("chapters/")]
    assert chapters
    for name in chapters:
        soup = BeautifulSoup((html_dir / f"{name}.html").read_text(), "html.parser")
        links = [a["href"] for a in soup.select(".dropdown-launch-buttons a[href]")]
        binder = [u for u in links if u.startswith(config["launch_buttons"]["binderhub_url"])]
        hub = [u for u in links if u.startswith(config["launch_buttons"]["jupyterhub_url"])]
        colab = [u for u in links if u.startswith(config["launch_buttons"]["colab_url"])]
        assert binder == [f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{name}.md"]
        assert len(hub) == 1 and "git-pull?repo=" in hub[0] and f"{name}.md" in hub[0]
        assert colab == [
            f"https://colab.research.google.com/github/{repo}/blob/gh-pages/_sources/{name}.ipynb"
        ], colab
        # the notebook Colab opens: valid, executed, and installing vglib first on Colab
        import nbformat

        nb = nbformat.read(html_dir / "_sources" / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert nb.cells[0].metadata.get("vglib") == "colab-setup"
        assert f"git+https://github.com/{repo}" in nb.cells[0].source
        assert any(cell.get("outputs") for cell in nb.cells[1:]), f"{name}: not executed"

"""The built book in a real headless Chromium (Debian's, driven by Playwright), served on localhost.

Under CI (`VGLIB_STRICT=1`) a missing browser fails these tests instead of skipping them;
`.ci/run` installs Debian's `chromium` first.

Accessibility is checked with axe-core's rules on every page.

Screenshots of each chapter's first demo, before and after moving its main control, are
written to `test-artifacts/screenshots/` for a person to look at.
"""

from __future__ import annotations

import functools
import http.server
import threading
from urllib.parse import urlparse

import pytest
from book_pages import ROOT, toc_files
from chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium

ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    failures: list[str]

    def log_message(self, format, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        self.failures.append(f"{code} {self.path}")
        super().send_error(code, message, explain)


@pytest.fixture(scope="module")
def site(html_dir):
    """Serve the built book on 127.0.0.1; yields (base URL, list of failed local requests)."""
    failures: list[str] = []
    handler = functools.partial(
        type("Handler", (_QuietHandler,), {"failures": failures}), directory=str(html_dir)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", failures
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    require_chromium()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open(browser, url):
    """Open ``url``; return the page and the console errors raised by local resources."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    local = urlparse(url).netloc

    def on_console(message):
        source = message.location.get("url", "")
        # The machine is offline: MathJax's CDN cannot be reached. Errors about resources
        # from other hosts are the network's, not the book's, and are left out.
        if message.type == "error" and urlparse(source).netloc in ("", local):
            errors.append(f"{message.text} ({source})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.goto(url, wait_until="load")
    return page, errors


@pytest.mark.slow
def test_every_page_loads_without_errors(browser, site):
    base, failures = site
    for name in toc_files():
        page, errors = _open(browser, f"{base}/{name}.html")
        page.wait_for_timeout(300)
        assert not errors, f"{name}: console errors {errors}"
        page.close()
    assert not failures, f"failed requests to the local server: {failures}"


def _frame(demo):
    img = demo.locator("img")
    return img.get_attribute("src"), img.get_attribute("alt")


@pytest.mark.slow
def test_static_demos_respond_to_keyboard_without_a_kernel(browser, site):
    base, _ = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    checked = 0
    for name in toc_files():
        page, errors = _open(browser, f"{base}/{name}.html")
        demos = page.locator("div.vg-demo")
        for d in range(demos.count()):
            demo = demos.nth(d)
            demo.scroll_into_view_if_needed()
            if d == 0:
                demo.screenshot(path=str(ARTIFACTS / f"{name.replace('/', '__')}__before.png"))
            controls = demo.locator("[data-param]")
            assert controls.first.is_enabled(), f"{name}: demo {d}'s main control is disabled"
            for c in range(controls.count()):
                control = controls.nth(c)
                param = control.get_attribute("data-param")
                if not control.is_enabled():  # one precomputed value: nothing to move to
                    assert control.evaluate(
                        "e => e.type === 'range' ? e.max === '0' : e.options.length === 1"
                    )
                    continue
                before = _frame(demo)
                control.focus()
                # arrow keys step a range and a closed <select>; step back from the last value
                at_end = control.evaluate(
                    "e => e.type === 'range' ? e.value === e.max : e.selectedIndex === e.options.length - 1"
                )
                is_range = control.evaluate("e => e.type === 'range'")
                forward, back = (
                    ("ArrowRight", "ArrowLeft") if is_range else ("ArrowDown", "ArrowUp")
                )
                page.keyboard.press(back if at_end else forward)
                after = _frame(demo)
                assert after != before, f"{name}: demo {d} did not change when {param} moved"
                assert after[1], f"{name}: demo {d} frame without alt text"
                checked += 1
            if d == 0:
                demo.screenshot(path=str(ARTIFACTS / f"{name.replace('/', '__')}__after.png"))
        assert not errors, f"{name}: console errors while using demos: {errors}"
        page.close()
    assert checked >= 5


@pytest.mark.slow
def test_search_finds_a_chapter_by_a_word_in_it(browser, site):
    base, _ = site
    page, errors = _open(browser, f"{base}/search.html?q=saturated")
    results = page.locator("#search-results a")
    results.first.wait_for(timeout=15000)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("saturating_activations" in href for href in hrefs), hrefs
    assert not errors


@pytest.mark.slow
def test_table_of_contents_links_resolve(browser, site):
    base, failures = site
    page, _ = _open(browser, f"{base}/intro.html")
    links = page.locator("nav.bd-docs-nav a.reference.internal")
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert len(hrefs) >= len(toc_files()) - 1
    for href in hrefs:
        response = page.request.get(f"{base}/{href.split('#')[0]}")
        assert response.status == 200, f"{href}: HTTP {response.status}"
    assert not failures


@pytest.mark.slow
def test_no_serious_accessibility_violations(browser, site):
    """axe-core (injected into each page) finds no serious or critical violation."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    axe = axe_module.Axe()
    base, _ = site
    for name in [*toc_files(), "search"]:
        page, _ = _open(browser, f"{base}/{name}.html")
        violations = axe.run(page).response["violations"]
        serious = [
            f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]
        assert not serious, f"{name}: {serious}"
        page.close()

"""Browser fixtures (loaded from tests/conftest.py through ``pytest_plugins``).

``chromium``      one headless Chromium per test session (the system's binary);
``browser_page``  a fresh page at 1920×1080 whose problems are recorded: ``browser_page.watch``
                  is a :class:`tests.browser.PageWatch` (console errors, page errors, external
                  requests, dialogs); slowed down by ``CITYGRID_TEST_CPU_THROTTLE`` (tests/browser.py).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, PageWatch, launch, slow_down


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI but {CHROMIUM} does not exist")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    # bypass_csp: Playwright's string predicates run through eval, which the app's CSP forbids
    # (the CSP itself is checked by tests/test_hardening_browser.py).
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                   timezone_id="Asia/Shanghai", bypass_csp=True)
    page = context.new_page()
    page.watch = PageWatch().attach(page)
    slow_down(page)
    yield page
    context.close()

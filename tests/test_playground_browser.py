"""The LangServe playground in headless Chromium (Debian's package; Playwright cannot download browsers here)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import serve
from vetted_rag import Configuration
from vetted_rag.server.app import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it when run as root)")
def test_sign_in_then_type_a_question_and_get_an_answer(sample_dir, tmp_path):
    """Authentication on (the default): the playground sends a browser without a key to a sign-in
    page; after it, the page's own requests carry the HttpOnly cookie."""
    from playwright.sync_api import sync_playwright

    from vetted_rag.security.keys import KeyStore

    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    _, secret = KeyStore(data / "keys.sqlite").create("browser", "reader")
    app = create_app(Configuration(chat_model="heuristic", data_dir=str(data), cache_enabled=False))
    with serve(app) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(url + "/agent/playground/")
            assert "/login" in page.url
            page.fill("input[name=key]", secret)
            page.click("button[type=submit]")
            page.wait_for_url("**/agent/playground/")
            cookie = next(c for c in page.context.cookies() if c["name"] == "vetted_rag_key")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert page.evaluate("document.cookie") == ""  # page scripts cannot read the key
            page.locator("textarea").first.fill("How do I set a cost budget?")
            page.get_by_role("button", name="Start").click()
            page.wait_for_function("document.body.innerText.includes('\"run_id\"')", timeout=60_000)
            body = page.inner_text("body")
            assert '"status"' in body and "cost budget" in body
            page.screenshot(path=str(tmp_path / "playground.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()

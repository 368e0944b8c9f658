"""GraphiQL in a real browser, offline (issue #13, item 1): Debian's Chromium, driven by
Playwright, opens /graphql on a running demo server, sets an Authorization header in the
headers editor, runs a query, reads its result and a description in the docs explorer. Every
request that would leave the host is aborted and fails the test, as does any
Content-Security-Policy violation or script error: the page must work with no internet.

The browser is the system's (/usr/bin/chromium; `playwright install` is never used). Without
it the test skips, except in CI (BILLING_REQUIRE_POSTGRES=1, .ci/run installs it), where it
fails. The page does not depend on the database: one SQLite demo server serves it."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import pytest

from billing_center.schema.root import schema
from tests.live_server import running_server

CHROMIUM = os.environ.get("BILLING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
QUERY = "{ viewer { displayName } }"


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get("BILLING_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"CI must run the browser test, but there is no Chromium at {CHROMIUM} "
                    "(.ci/run installs Debian's `chromium`)")
    pytest.skip(f"no Chromium at {CHROMIUM}: `apt-get install chromium` to run GraphiQL in a browser")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """`billing-center serve` on a migrated, seeded SQLite file: its address and the demo tokens."""
    _require_chromium()
    with running_server(tmp_path_factory.mktemp("graphiql"), seed=True, BILLING_RATE_LIMIT_POINTS="0") as server:
        yield server.base, server.tokens_by_name


async def test_graphiql_works_offline_in_chromium_with_a_token_a_query_and_the_docs(demo_server):
    from playwright.async_api import async_playwright

    base, tokens = demo_server
    display_name, token = next(iter(tokens.items()))
    viewer_description = schema._schema.query_type.fields["viewer"].description
    assert viewer_description

    off_host: list[str] = []
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = await browser.new_context()

            def local(url: str) -> bool:
                return url.startswith("data:") or urlsplit(url).hostname in LOCAL_HOSTS

            async def only_this_host(route):  # as with no route to the internet
                await (route.continue_() if local(route.request.url) else route.abort())

            await context.route("**/*", only_this_host)
            # every request is reported here, aborted ones too
            context.on("request", lambda request: None if local(request.url) else off_host.append(request.url))
            page = await context.new_page()
            page.set_default_timeout(10_000)
            page.on("websocket", lambda socket: off_host.append(socket.url))
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
                    if message.type == "error" or "Content Security Policy" in message.text else None)
            # The browser's own report of each violation, registered before any page script.
            await page.add_init_script("""document.addEventListener("securitypolicyviolation",
                e => console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));""")

            response = await page.goto(f"{base}/graphql", wait_until="load")
            assert response.status == 200
            # once loaded (its scripts and stylesheets are), the page has asked no other host
            assert off_host == [], f"requests left the host: {off_host}"

            # the Authorization header, typed into GraphiQL's headers editor
            await page.get_by_role("button", name="Headers").click()
            await page.locator(".graphiql-editor-tool .graphiql-editor:visible").click()
            await page.keyboard.type(json.dumps({"Authorization": f"Bearer {token}"}))

            # the query, typed into the query editor in place of the default one, then run
            await page.locator(".graphiql-query-editor .CodeMirror").click()
            await page.keyboard.press("Control+A")
            await page.keyboard.type(QUERY)
            await page.locator(".graphiql-execute-button").click()
            result = page.locator(".result-window .CodeMirror-code")
            await result.get_by_text(display_name).wait_for()
            shown = (await result.inner_text()).replace("\xa0", " ")  # CodeMirror indents with NBSP
            assert json.loads(shown) == {"data": {"viewer": {"displayName": display_name}}}

            # the docs explorer, from the schema's introspection: the root type and a description
            await page.get_by_label("Show Documentation Explorer").click()
            await page.locator(".graphiql-doc-explorer").get_by_role("link", name="Query").click()
            await page.locator(".graphiql-doc-explorer").get_by_text(viewer_description).wait_for()

            # a dialog adds a <style> element: the page's nonce must admit it
            await page.get_by_label("Open settings dialog").click()
            await page.get_by_text("Persist headers").wait_for()
        finally:
            await browser.close()
    assert off_host == [], f"requests left the host: {off_host}"
    assert problems == []

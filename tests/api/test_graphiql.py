"""GraphiQL is served from the package's own files (issue #13, item 1): the page names only
same-origin files, runs no inline script, carries a strict Content-Security-Policy; its files
are cached for good at content-addressed URLs; production serves neither. The page is the same
on every database, so these run once, in process, without one (the browser test is
test_graphiql_browser.py)."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import httpx

from billing_center.app import create_app
from billing_center.config import Settings
from billing_center.domain.clock import FixedClock
from billing_center.domain.payment_gateway import SandboxGateway
from billing_center.graphiql import STATIC_DIR
from tests.conftest import START

ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT = Settings.from_env({"DATABASE_URL": "sqlite://:memory:"})
PRODUCTION = Settings.from_env({"DATABASE_URL": "sqlite://:memory:", "BILLING_ENV": "production"})
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _client(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, clock=FixedClock(START), manage_db=False, gateway=SandboxGateway())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


def _policy(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def _addresses(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', page)


async def test_graphiql_page_loads_only_same_origin_files_under_a_strict_csp():
    async with _client(DEVELOPMENT) as http:
        response = await http.get("/graphql", headers=BROWSER)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    # every file the page names is this server's (no CDN), and no script is inline
    addresses = [a for a in _addresses(page) if a != "data:,"]
    assert addresses and all(a.startswith("/graphiql/static/") for a in addresses), addresses
    assert "unpkg.com" not in page and "cdn" not in page.lower()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "<style" not in page and " style=" not in page
    policy = _policy(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["connect-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    nonce = re.search(r'data-style-nonce="([^"]+)"', page).group(1)
    assert f"'nonce-{nonce}'" in policy["style-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["cache-control"] == "no-store"


async def test_graphiql_style_nonce_is_new_on_every_page():
    async with _client(DEVELOPMENT) as http:
        first, second = [(await http.get("/graphql", headers=BROWSER)).headers["content-security-policy"]
                         for _ in range(2)]
    assert first != second


async def test_graphiql_files_are_served_immutable_and_compressed_at_their_content_address():
    async with _client(DEVELOPMENT) as http:
        page = (await http.get("/graphql", headers=BROWSER)).text
        addresses = [a for a in _addresses(page) if a.startswith("/graphiql/static/")]
        names = {a.rsplit("/", 1)[1] for a in addresses}
        assert {"react.production.min.js", "react-dom.production.min.js", "graphiql.min.js",
                "graphiql.min.css", "start.js"} <= names
        for address in addresses:
            response = await http.get(address)
            name = address.rsplit("/", 1)[1]
            assert response.status_code == 200, address
            assert response.content == (STATIC_DIR / name).read_bytes()
            assert "max-age=31536000" in response.headers["cache-control"]
            assert "immutable" in response.headers["cache-control"]
            kind = "text/javascript" if name.endswith(".js") else "text/css"
            assert response.headers["content-type"].startswith(kind)
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["content-encoding"] == "gzip"  # httpx asks for it
            plain = await http.get(address, headers={"accept-encoding": "identity"})
            assert "content-encoding" not in plain.headers
            assert plain.content == response.content
        # an old digest, another file of the folder or a path outside it: 404
        digest, name = addresses[0].split("/")[-2:]
        for wrong in (f"/graphiql/static/{'0' * len(digest)}/{name}",
                      f"/graphiql/static/{digest}/README.md",
                      f"/graphiql/static/{digest}/graphiql.html",
                      f"/graphiql/static/{digest}/..%2F..%2Fgraphiql.py"):
            assert (await http.get(wrong)).status_code == 404, wrong


async def test_production_serves_neither_graphiql_nor_its_files():
    async with _client(DEVELOPMENT) as http:
        addresses = [a for a in _addresses((await http.get("/graphql", headers=BROWSER)).text)
                     if a.startswith("/graphiql/")]
    async with _client(PRODUCTION) as http:
        assert (await http.get("/graphql", headers=BROWSER)).status_code == 404
        for address in addresses:
            assert (await http.get(address)).status_code == 404, address


def test_the_package_data_ships_every_graphiql_file():
    """An installed package (not only this checkout) must serve GraphiQL: pyproject's
    package-data covers every file of the folder."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["billing_center"]
    package = ROOT / "billing_center"
    for path in STATIC_DIR.iterdir():
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative

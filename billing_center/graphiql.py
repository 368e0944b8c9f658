"""GraphiQL served from the package's own files (billing_center/static/graphiql/, fetched by
scripts/vendor-graphiql): the page works with no internet and under a strict
Content-Security-Policy, since it loads nothing from another host and runs no inline script.

The page is what `GET /graphql` answers a browser (the view's `render_graphql_ide`); its files
are at `/graphiql/static/<digest>/<name>`, the digest being their content's, so that they can be
cached for a year and a new version is a new address. Production mounts neither (404).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import secrets
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
STATIC_PREFIX = "/graphiql/static"
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_IMMUTABLE = "public, max-age=31536000, immutable"
_PLACEHOLDER = re.compile(r"\{([\w.-]+)\}")


def content_security_policy(style_nonce: str) -> str:
    """The page's policy: scripts, styles, fetches only from this origin; no inline script, no
    eval, no frames, no plugins. Fonts and images also as `data:` (GraphiQL's CSS embeds its
    fonts and icons). Inline styles only with this response's nonce (the `<style>` a dialog adds);
    style properties set from script (CodeMirror, React) are not governed by CSP."""
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        f"style-src 'self' 'nonce-{style_nonce}'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ))


@dataclass(frozen=True)
class Asset:
    """One served file, read once."""

    name: str
    body: bytes
    digest: str
    media_type: str

    @property
    def url(self) -> str:
        """Its address: a new content, a new address (so browsers may keep it for a year)."""
        return f"{STATIC_PREFIX}/{self.digest}/{self.name}"

    @cached_property
    def gzipped(self) -> bytes:
        """Its body compressed once, on first use (GraphiQL's script: 1 MB, 310 kB gzipped)."""
        return gzip.compress(self.body, compresslevel=9, mtime=0)


@cache
def assets() -> dict[str, Asset]:
    """The page's scripts and stylesheets by file name (read once per process)."""
    found = {}
    for path in sorted(STATIC_DIR.iterdir()):
        media_type = _MEDIA_TYPES.get(path.suffix)
        if media_type is not None:
            body = path.read_bytes()
            found[path.name] = Asset(path.name, body, hashlib.sha256(body).hexdigest()[:16], media_type)
    return found


@cache
def _page_template() -> str:
    template = (STATIC_DIR / "graphiql.html").read_text("utf-8")
    files = assets()

    def address(match: re.Match[str]) -> str:
        name = match.group(1)
        return match.group(0) if name == "nonce" else files[name].url

    return _PLACEHOLDER.sub(address, template)


def page() -> Response:
    """The GraphiQL page, with its Content-Security-Policy (a fresh style nonce each time)."""
    nonce = base64.b64encode(secrets.token_bytes(16)).decode()
    return HTMLResponse(
        _page_template().replace("{nonce}", nonce),
        headers={
            "content-security-policy": content_security_policy(nonce),
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
        },
    )


async def static_file(request: Request) -> Response:
    """A file of the page at its digest's address; 404 for any other name or an old digest."""
    asset = assets().get(request.path_params["name"])
    if asset is None or asset.digest != request.path_params["digest"]:
        return PlainTextResponse("Not Found", status_code=404)
    headers = {"cache-control": _IMMUTABLE, "x-content-type-options": "nosniff", "vary": "accept-encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(asset.gzipped, media_type=asset.media_type, headers={**headers, "content-encoding": "gzip"})
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def routes() -> list[Route]:
    """The routes of GraphiQL's files (mounted only where GraphiQL is on)."""
    assets()  # read the files at start-up, not on the first browser's request
    return [Route(STATIC_PREFIX + "/{digest}/{name}", static_file, methods=["GET", "HEAD"])]

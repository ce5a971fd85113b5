"""The supervisor console: one page, served by the gateway at /console.

Rule 1: the page, its script, style and icon ship in the package
        (service/gateway/assets/) and are read once at start; nothing comes
        from a third party.
Rule 2: every answer carries a strict Content-Security-Policy: only this
        origin's files run and load (no inline script or style, no eval),
        the page connects only to its own origin, and no page may frame it.
Rule 3: the page holds the credentials it is given in memory only, acts
        through the Twilio REST routes with them, and watches through the
        event stream with a watch token it mints (events.py).
"""

from __future__ import annotations

from importlib import resources

from aiohttp import hdrs, web

PATH = "/console"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    hdrs.CACHE_CONTROL: "no-cache",
}
# URL path -> (asset file, content type).
ASSETS = {
    PATH: ("console.html", "text/html"),
    PATH + "/console.js": ("console.js", "text/javascript"),
    PATH + "/console.css": ("console.css", "text/css"),
    PATH + "/icon.svg": ("icon.svg", "image/svg+xml"),
}


def _read(name: str) -> bytes:
    return resources.files("service.gateway").joinpath("assets", name).read_bytes()


def add_routes(app: web.Application) -> None:
    for path, (name, content_type) in ASSETS.items():
        body = _read(name)

        async def serve(
            _: web.Request, body: bytes = body, content_type: str = content_type
        ) -> web.Response:
            return web.Response(
                body=body, content_type=content_type, charset="utf-8", headers=HEADERS
            )

        app.router.add_get(path, serve)

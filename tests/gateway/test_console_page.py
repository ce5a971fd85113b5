"""The console's files as the gateway serves them: shipped in the package, each
under a strict Content-Security-Policy, with no inline script or style and
nothing from another origin."""

from __future__ import annotations

import re

import aiohttp

from service.gateway import console
from tests.conftest import Harness

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
}


async def test_every_file_is_served_with_a_strict_policy(harness: Harness) -> None:
    base = harness.http_base
    async with aiohttp.ClientSession() as http:
        for path, (_, content_type) in console.ASSETS.items():
            async with http.get(base + path) as answer:
                assert answer.status == 200, path
                assert answer.content_type == content_type
                directives = dict(
                    d.strip().split(" ", 1)
                    for d in answer.headers["Content-Security-Policy"].split(";")
                )
                assert POLICY.items() <= directives.items(), directives
                assert answer.headers["X-Frame-Options"] == "DENY"
                assert answer.headers["X-Content-Type-Options"] == "nosniff"
                body = await answer.text()
            # Nothing from elsewhere: no absolute URL to fetch anything from.
            assert not re.search(r"""(src|href)=["']?(https?:)?//""", body), path
            assert "http://" not in body.replace("http://www.w3.org/2000/svg", "")
            assert "https://" not in body
        async with http.get(base + console.PATH) as page:
            html = await page.text()
    # Scripts only by src, styles only by link: nothing inline for the policy to refuse.
    assert re.findall(r"<script\b[^>]*>", html) == ['<script src="console/console.js" defer>']
    assert "<style" not in html
    assert re.search(r"<[^>]+\s(style|on[a-z]+)=", html) is None

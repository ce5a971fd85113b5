"""Unit tests: the attempts at one status callback (service.webhooks.attempts)."""

from __future__ import annotations

from service.webhooks.attempts import Policy, safe_url


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = Policy(max_attempts=8, backoff_seconds=1.0, backoff_max_seconds=10.0)
    assert [policy.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_a_logged_url_keeps_no_credentials_query_or_fragment() -> None:
    url = "https://user:pw@example.com:8443/cb/x?token=s3cret#frag"
    assert safe_url(url) == "https://example.com:8443/cb/x"


def test_an_unparsable_url_is_logged_as_such() -> None:
    assert safe_url("http://[::1/cb") == "<unparsable url>"

"""HTTPSettings: URLs normalised and checked, unknown keys refused, the key kept secret."""

from __future__ import annotations

import pytest
from harmony_agent.engines import HTTPSettings
from pydantic import SecretStr, ValidationError


def test_urls_are_normalised_and_one_url_may_be_a_string() -> None:
    settings = HTTPSettings(base_urls="http://gpu-1:8000/v1/", model="gpt-oss-20b")
    assert settings.base_urls == ("http://gpu-1:8000/v1",)
    both = HTTPSettings(base_urls=["http://a:8000/v1", "https://b/v1"], model="m")
    assert both.base_urls == ("http://a:8000/v1", "https://b/v1")


@pytest.mark.parametrize(
    "options",
    [
        {"base_urls": [], "model": "m"},
        {"base_urls": ["ftp://a/v1"], "model": "m"},
        {"base_urls": ["http://a/v1"], "model": ""},
        {"base_urls": ["http://a/v1"], "model": "m", "timeout": 3},
        {"base_urls": ["http://a/v1"], "model": "m", "max_retries": -1},
        {"base_urls": ["http://a/v1"], "model": "m", "extra_body": {"stream": False}},
        {"base_urls": ["http://a/v1"], "model": "m", "replica_max_outstanding": 0},
    ],
)
def test_invalid_settings_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        HTTPSettings(**options)  # type: ignore[arg-type]


def test_the_api_key_does_not_show_in_repr() -> None:
    settings = HTTPSettings(base_urls=["http://a/v1"], model="m", api_key=SecretStr("s3cret"))
    assert "s3cret" not in repr(settings)

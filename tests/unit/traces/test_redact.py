from __future__ import annotations

from harmony_agent.traces import REDACTED, Redactor


def test_known_secrets_are_hidden_everywhere() -> None:
    redactor = Redactor(["hunter2-password", "abc"])
    value = {"args": '{"password": "hunter2-password"}', "list": ["x hunter2-password y"], "n": 3}
    assert redactor.value(value) == {
        "args": f'{{"password": "{REDACTED}"}}',
        "list": [f"x {REDACTED} y"],
        "n": 3,
    }
    assert (
        redactor.text("abc stays: too short to be a secret")
        == "abc stays: too short to be a secret"
    )


def test_key_shaped_strings_are_hidden() -> None:
    redactor = Redactor()
    assert redactor.text("key sk-proj-ABCDEFGHIJKLMNOPQRST end") == f"key {REDACTED} end"
    assert (
        redactor.text("Authorization: Bearer eyJhbGciOi.payload")
        == f"Authorization: Bearer {REDACTED}"
    )
    assert redactor.text('{"api_key": "0123456789abcdef"}') == f'{{"api_key": "{REDACTED}"}}'
    assert redactor.text("token=abcdefgh1234") == f"token={REDACTED}"
    assert redactor.text("the token count is 12") == "the token count is 12"


def test_an_excerpt_hides_secrets_before_it_cuts() -> None:
    redactor = Redactor(["Zq7Xw9vB4nM2pL8r"])
    text = "x" * 10 + "Zq7Xw9vB4nM2pL8r and more"
    assert redactor.excerpt(text, 14) == "x" * 10 + REDACTED
    assert redactor.excerpt(text, 8) == "x" * 8
    assert redactor.excerpt(text, 100) == "x" * 10 + REDACTED + " and more"


def test_labelled_values_after_a_prefix_are_hidden() -> None:
    redactor = Redactor()
    text = 'access_token=abcdefgh1234 "client_secret": "abcdefgh1234" X-Api-Key: abcdefgh1234'
    assert redactor.text(text) == (
        f'access_token={REDACTED} "client_secret": "{REDACTED}" X-Api-Key: {REDACTED}'
    )


def test_a_stream_never_shows_a_secret_split_into_pieces() -> None:
    secret = "Project Falcon 7"
    text = f"use Bearer abc123def456 for {secret}, token: zyxw98765432 and sk-{'x' * 20}. Done"
    redactor = Redactor([secret])
    for size in (1, 2, 3, 7):
        stream = redactor.stream()
        shown = [stream.feed(text[i : i + size]) for i in range(0, len(text), size)]
        assert "".join(shown) + stream.flush() == redactor.text(text)
        assert not any(part in piece for piece in shown for part in ("abc1", "Falc", "zyx", "xxx"))

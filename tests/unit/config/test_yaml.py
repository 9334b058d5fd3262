from __future__ import annotations

import pytest
from harmony_agent.config._error import ConfigFileError
from harmony_agent.config._yaml import read_yaml

TEXT = """\
engine:
  kind: http
  base_urls: ["${HOST}/v1"]
  api_key: ${KEY}
limits:
  max_turns: 3
name: ${MISSING:-fallback}
"""


def test_values_lines_and_secrets() -> None:
    document = read_yaml(TEXT, "a.yaml", {"HOST": "http://h:8000", "KEY": "sk-secret-value"})
    assert document.data == {
        "engine": {"kind": "http", "base_urls": ["http://h:8000/v1"], "api_key": "sk-secret-value"},
        "limits": {"max_turns": 3},
        "name": "fallback",
    }
    assert document.line_of(("limits", "max_turns")) == 6
    assert document.line_of(("engine", "base_urls", 0)) == 3
    assert document.line_of(("limits", "not_there")) == 5
    assert document.secrets == ("sk-secret-value",)


def test_missing_variable_names_file_line_key_and_fix() -> None:
    with pytest.raises(ConfigFileError) as caught:
        read_yaml(TEXT, "a.yaml", {"HOST": "x"})
    assert str(caught.value) == (
        "a.yaml:4: engine.api_key: the environment variable KEY is not set; export it, or "
        "write ${KEY:-default} to give a default"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\n", "a.yaml:2: invalid YAML"),
        ("a: 1\na: 2\n", "a.yaml:2: a: this key is given twice; keep one"),
        ("a:\n  b: 1\n   c: 2\n", "a.yaml:3: invalid YAML"),
    ],
)
def test_malformed_yaml(text: str, expected: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        read_yaml(text, "a.yaml", {})
    assert str(caught.value).startswith(expected)


def test_unquoted_variable_in_a_flow_list_gets_a_hint() -> None:
    with pytest.raises(ConfigFileError, match=r"a.yaml:1: .*put values with \$\{...\} in quotes"):
        read_yaml("urls: [${HOST}/v1]\n", "a.yaml", {"HOST": "x"})

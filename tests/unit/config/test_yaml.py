from __future__ import annotations

import pytest
from harmony_agent.config._error import ConfigFileError
from harmony_agent.config._yaml import read_yaml

from tests.fakes import laughs

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


def test_alias_expansion_is_bounded() -> None:
    with pytest.raises(ConfigFileError) as caught:
        read_yaml(laughs(5), "a.yaml", {})
    assert str(caught.value).startswith("a.yaml:")
    assert "aliases repeat more than 10000 values" in str(caught.value)


def test_aliases_that_repeat_a_few_values_still_work() -> None:
    document = read_yaml("base: &b {x: 1}\nuse: [*b, *b]\n", "a.yaml", {})
    assert document.data == {"base": {"x": 1}, "use": [{"x": 1}, {"x": 1}]}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: &x [1, *x]\n", "a.yaml:1: a[1]:"),
        ("a: &x\n  b: *x\n", "a.yaml:2: a.b:"),
    ],
)
def test_a_recursive_anchor_is_a_config_error(text: str, where: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        read_yaml(text, "a.yaml", {})
    assert str(caught.value).startswith(where)
    assert "contains itself" in str(caught.value)


def test_deep_nesting_is_a_config_error() -> None:
    with pytest.raises(ConfigFileError, match=r"^a.yaml:1: invalid YAML: nested deeper than 100"):
        read_yaml("a: " + "[" * 2000 + "]" * 2000 + "\n", "a.yaml", {})


def test_deep_nesting_through_aliases_is_a_config_error() -> None:
    chain = ["n0: &n0 [1]", *(f"n{i}: &n{i} [*n{i - 1}]" for i in range(1, 150))]
    with pytest.raises(ConfigFileError, match="nested deeper than 100 levels"):
        read_yaml("\n".join(chain) + "\n", "a.yaml", {})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: " + "1" * 5000 + "\n", "a.yaml:1: a: invalid YAML value: Exceeds the limit"),
        ("a: !!timestamp 2001-13-45\n", "a.yaml:1: a: invalid YAML value: month must be"),
        ("a: !custom x\n", "a.yaml:1: a: invalid YAML value: could not determine a constructor"),
        ("a:\n  b: !!python/name:os.system\n", "a.yaml:2: a.b: invalid YAML value: could not"),
        ("? [1, 2]\n: x\n", "a.yaml:1: a key that is a list or mapping must be a string"),
        ("? " + "1" * 5000 + "\n: x\n", "a.yaml:1: invalid YAML value: Exceeds the limit"),
    ],
    ids=["huge integer", "bad date", "unknown tag", "python tag", "list key", "huge key"],
)
def test_values_yaml_cannot_construct_are_config_errors(text: str, expected: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        read_yaml(text, "a.yaml", {})
    assert str(caught.value).startswith(expected)

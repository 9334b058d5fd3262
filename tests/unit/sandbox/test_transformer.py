"""A forked kernel's input transformer skips tokenizing cells without IPython's syntax: it must
give exactly what IPython's own gives, for every input.
"""

from __future__ import annotations

import tokenize

import pytest
from harmony_agent.sandbox._inside import template
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.core.inputtransformer2 import TransformerManager

from tests.humaneval import humaneval

IPYTHON_SYNTAX = [
    "%time x = 1\n",
    "  %matplotlib inline\n",
    "!ls -l\n",
    "files = !ls\n",
    "files = \\\n  !ls\n",
    "x = %pwd\n",
    "x =  \\\n %pwd\n",
    "len?\n",
    "len??\n",
    "?len\n",
    "%%timeit\nx = 1\n",
    ",print a b\n",
    ";print a b\n",
    "/print 1 2\n",
    "if True:\n    !echo hi\n",
    "def f():\n\tx = !ls\n\treturn x\n",
    ">>> x = 1\n>>> %pwd\n",
    "In [1]: !ls\n",
]
"""Cells IPython transforms: each must reach its transformations."""

ALPHABET = [
    *"%!?,;/=\\ \t\f\n\r\x0b\x0c\u2028#'\"()[]{}:",
    "a",
    "x1",
    "if True:",
    "    ",
    ">>> ",
    "In [1]: ",
    "%%time",
    '"""',
]


def transformed(manager: TransformerManager, cell: str) -> str | type[BaseException]:
    """The cell as `manager` transforms it, or the kind of error that raised."""
    try:
        return manager.transform_cell(cell)
    except Exception as error:
        return type(error)


def assert_transformed_as_ipython_does(cell: str) -> str | type[BaseException]:
    """Checks that the template's transformer gives what IPython's gives, or, where IPython's
    tokenizer found a syntax error, a cell whose compilation raises one (what the kernel then
    shows); returns what it gave.
    """
    ours = transformed(template.Transformer(), cell)  # type: ignore[no-untyped-call]
    theirs = transformed(TransformerManager(), cell)  # type: ignore[no-untyped-call]
    if isinstance(ours, str) and not isinstance(theirs, str):
        with pytest.raises(SyntaxError if issubclass(theirs, SyntaxError) else theirs):
            compile(ours, "<cell>", "exec")
    else:
        assert ours == theirs
    return ours


@pytest.mark.parametrize("cell", IPYTHON_SYNTAX)
def test_ipython_syntax_is_transformed_as_ipython_does(cell: str) -> None:
    assert assert_transformed_as_ipython_does(cell) != cell


def test_python_is_left_untokenized_and_as_ipython_leaves_it() -> None:
    programs = humaneval()
    skipped = [
        program
        for program in programs
        if not template._may_have_ipython_syntax(program.splitlines(keepends=True))
    ]
    assert len(skipped) > len(programs) * 3 // 4  # the fast path is the common one
    for program in programs:
        assert_transformed_as_ipython_does(program)


@pytest.mark.filterwarnings("ignore:`make_tokens_by_line` received")  # lines without ends
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join))
def test_any_text_is_transformed_as_ipython_does(cell: str) -> None:
    assert_transformed_as_ipython_does(cell)


def test_an_added_token_transformation_is_never_skipped() -> None:
    class Shout:
        """A transformation of a user's own (none of IPython's four)."""

        def __init__(self, start: tuple[int, int]) -> None:
            self.start_line, self.start_col, self.priority = start[0] - 1, start[1], 0

        @classmethod
        def find(cls, tokens_by_line: list[list[tokenize.TokenInfo]]) -> Shout | None:
            return cls((1, 0)) if tokens_by_line[0][0].string.islower() else None

        def sortby(self) -> tuple[int, int, int]:
            return self.start_line, self.start_col, self.priority

        def transform(self, lines: list[str]) -> list[str]:
            return [line.upper() for line in lines]

    manager = template.Transformer()  # type: ignore[no-untyped-call]
    manager.token_transformers.append(Shout)
    assert manager.transform_cell("x = 1\n") == "X = 1\n"

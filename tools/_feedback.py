"""What the model reads when something went wrong, in one place: the loop's corrections, the
router's errors and the errors of invalid arguments. Each text says what happened and what
to do instead; tests/unit/test_feedback.py pins them all.

Tool results that report an error start with "Error: "; corrections (sent as a user message)
do not.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "MAX_PROBLEMS_SHOWN",
    "answer_before_required_call",
    "call_cut_off",
    "invalid_answer",
    "invalid_arguments",
    "json_not_a_number",
    "json_too_deep",
    "json_unusable",
    "mcp_server_down",
    "mcp_server_restarted",
    "no_such_tool",
    "not_an_object",
    "not_json",
    "required_call_first",
    "result_elided",
    "takes_no_arguments",
    "text_after_json",
    "tool_error",
    "tool_raised",
    "tool_timed_out",
    "unaddressed_call",
]

MAX_PROBLEMS_SHOWN = 3
"""The most argument problems one error lists (the rest are counted)."""


def tool_error(text: str) -> str:
    """A tool's error, as the model reads it."""
    return f"Error: {text}"


def call_cut_off() -> str:
    """A call cut off at the token limit: it did not run."""
    return tool_error(
        "the call was cut off at the token limit and did not run. Send a shorter one."
    )


def unaddressed_call(recipients: Sequence[str]) -> str:
    """A message that ended as a call (`<|call|>`) but named no tool."""
    example = recipients[0] if recipients else "functions.NAME"
    return (
        "Your last message was sent as a tool call but named no tool, so nothing ran. "
        f"Name the tool in the message header (to={example}). "
        f"Available tools: {', '.join(recipients) or 'none'}."
    )


def no_such_tool(recipient: str, recipients: Sequence[str]) -> str:
    """A call to a tool that does not exist."""
    known = ", ".join(recipients) or "none"
    return tool_error(f"there is no tool named {recipient!r}. Available tools: {known}.")


def answer_before_required_call(what: str) -> str:
    """An answer given before the call the developer requires (`tool_choice`)."""
    return f"You must call {what} before giving your final answer."


def required_call_first(recipient: str) -> str:
    """A call to another tool before the one the developer requires."""
    return tool_error(f"call {recipient} first; the developer requires it.")


def invalid_answer(problem: str, response_format: str) -> str:
    """A final answer that does not match the output type."""
    return (
        f"Your final answer is invalid: {problem}. Answer again with only the JSON that "
        f"matches the response format {response_format!r}."
    )


def tool_timed_out(recipient: str, timeout_s: float) -> str:
    """A call stopped at its time limit."""
    return tool_error(f"{recipient} did not finish within {timeout_s:g} s and was stopped.")


def tool_raised(recipient: str, error: BaseException) -> str:
    """A call whose handler raised an unexpected exception."""
    return tool_error(f"{recipient} raised {type(error).__name__}: {error}")


def mcp_server_restarted(server: str) -> str:
    """A call during which an MCP server stopped; it was started again, empty."""
    return (
        f"the MCP server {server!r} stopped during the call and was restarted; whatever it "
        "held is gone and the call may not have run. Call the tool again if you still need it."
    )


def mcp_server_down(server: str) -> str:
    """A call to an MCP server that stopped again after its restart."""
    return (
        f"the MCP server {server!r} stopped and could not be kept running; its tools are "
        "unavailable for the rest of this conversation. Do without them."
    )


def result_elided(author: str, tokens: int) -> str:
    """What stands in place of an old tool result removed to make room in the context."""
    return (
        f"[This result of {author} ({tokens} tokens) was removed to keep the conversation "
        "inside the context window. Call the tool again if you need it.]"
    )


def invalid_arguments(name: str, problems: Sequence[tuple[str, str]], fix: str) -> str:
    """Arguments that do not validate: `problems` are (where, what) pairs, `where` a path in
    the arguments ("" for the whole object); at most `MAX_PROBLEMS_SHOWN` are listed.
    """
    shown = [f"{where or 'arguments'}: {what}" for where, what in problems[:MAX_PROBLEMS_SHOWN]]
    more = len(problems) - len(shown)
    suffix = f" (and {more} more)" if more > 0 else ""
    return f"invalid arguments for {name}: {'; '.join(shown)}{suffix}. {fix}"


def takes_no_arguments(name: str) -> str:
    """Arguments sent to a function that takes none."""
    return f"{name} takes no arguments; call it with {{}}."


def not_json(message: str, line: int, column: int) -> str:
    """Arguments that are not valid JSON."""
    return (
        f"the arguments are not valid JSON ({message} at line {line} column {column}). "
        "Send a single JSON object."
    )


def json_too_deep() -> str:
    """Arguments nested deeper than the parser goes."""
    return "the arguments are nested too deeply; send flatter JSON."


def json_unusable(error: ValueError) -> str:
    """JSON that Python cannot read (e.g. an integer of thousands of digits)."""
    return f"the arguments are not usable JSON ({error})."


def json_not_a_number(constant: str) -> str:
    """`NaN` or `Infinity`, which are not JSON."""
    return f"the arguments contain {constant}, which is not JSON; send a number."


def text_after_json() -> str:
    """Arguments with text after the JSON object."""
    return "the arguments have text after the JSON object; send only the object."


def not_an_object(kind: str) -> str:
    """Arguments that are JSON but not an object."""
    return f"the arguments must be a JSON object, not {kind}."

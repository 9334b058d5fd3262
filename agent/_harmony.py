"""Everything that speaks harmony: the only module that imports `openai_harmony`.

Rendering of system, developer and user messages goes through the library. Two headers are
built here by hand because no library release renders them as the model was trained:

- a tool RESULT is recipient-first: `<|start|>functions.x to=assistant<|channel|>commentary
  <|message|>...<|end|>` (the harmony spec and the gpt-oss chat template);
- a REPAIRED assistant message is channel-first, the way the model writes calls:
  `<|start|>assistant<|channel|>commentary to=functions.x <|constrain|>json<|message|>...`.

Well-formed model output is never re-rendered: the loop appends the generated tokens verbatim.
"""

from __future__ import annotations

import codecs
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

import openai_harmony as oh
from harmony_agent._messages import Message
from harmony_agent._schema import model_facing_schema
from harmony_agent.tools import FunctionSpec, ToolNamespace

__all__ = [
    "ASSISTANT_HEADER",
    "SPELLINGS",
    "STOP_TOKENS",
    "Reasoning",
    "ResponseFormat",
    "SpecialToken",
    "TokenTextDecoder",
    "clip_text",
    "count_tokens",
    "decode",
    "encode_completion",
    "encode_text",
    "is_special",
    "parse_conversation",
    "render_assistant",
    "render_preamble",
    "render_tool_result",
    "render_user",
    "token_bytes",
    "trained_namespace",
    "vocabulary_size",
]

Reasoning = Literal["low", "medium", "high"]


class SpecialToken(IntEnum):
    """The structural tokens of the o200k_harmony vocabulary (ids fixed by the vocabulary)."""

    RETURN = 200002
    CONSTRAIN = 200003
    CHANNEL = 200005
    START = 200006
    END = 200007
    MESSAGE = 200008
    CALL = 200012


SPELLINGS: Mapping[SpecialToken, str] = {
    token: f"<|{token.name.lower()}|>" for token in SpecialToken
}
"""How each structural token is written as text."""

STOP_TOKENS: tuple[int, ...] = (SpecialToken.RETURN.value, SpecialToken.CALL.value)
"""Where generation stops: the end of an answer or of a tool call."""

_ASSISTANT = 173781
ASSISTANT_HEADER: tuple[int, ...] = (SpecialToken.START.value, _ASSISTANT)
"""`<|start|>assistant`: what a prompt ends with; the model writes the rest of the header."""

_REASONING = {
    "low": oh.ReasoningEffort.LOW,
    "medium": oh.ReasoningEffort.MEDIUM,
    "high": oh.ReasoningEffort.HIGH,
}
_BUILTIN_NAMESPACES = {
    "browser": oh.ToolNamespaceConfig.browser,
    "python": oh.ToolNamespaceConfig.python,
}


@dataclass(frozen=True)
class ResponseFormat:
    """A schema the final answer should follow, named as in the Responses API."""

    name: str
    description: str | None
    schema: Mapping[str, Any]


@functools.cache
def _encoding() -> oh.HarmonyEncoding:
    return oh.load_harmony_encoding(oh.HarmonyEncodingName.HARMONY_GPT_OSS)


def encode_text(text: str) -> list[int]:
    """Encodes text as plain text: a special token's spelling stays text, never structure."""
    return _encoding().encode(text, disallowed_special=())


def count_tokens(text: str) -> int:
    """How many tokens `text` takes as plain text."""
    return len(encode_text(text))


def encode_completion(text: str) -> list[int]:
    """Encodes text the way the model would have generated it: spellings become special tokens."""
    return _encoding().encode(text, allowed_special="all")


def clip_text(text: str, max_tokens: int) -> tuple[str, int]:
    """Cuts the middle out of `text` to fit `max_tokens`, keeping its head and tail and saying
    what was cut; returns the text and how many tokens were removed.
    """
    tokens = encode_text(text)
    if len(tokens) <= max_tokens:
        return text, 0
    tail = max_tokens // 4
    head = max(max_tokens - tail - 16, 0)
    removed = len(tokens) - head - tail
    note = f"\n[... {removed} tokens cut from the middle of this output ...]\n"
    return decode(tokens[:head]) + note + decode(tokens[len(tokens) - tail :]), removed


@functools.cache
def vocabulary_size() -> int:
    """How many token ids the encoding has: every id in `range(vocabulary_size())` decodes
    (the byte-pair tokens, then the special ones up to the largest id). Found by bisection
    over `is_special`, which holds from the first special token to the last.
    """
    encoding = _encoding()
    special, beyond = SpecialToken.RETURN.value, 1 << 32
    while beyond - special > 1:
        middle = (special + beyond) // 2
        if encoding.is_special_token(middle):
            special = middle
        else:
            beyond = middle
    return beyond


def is_special(token: int) -> bool:
    """Whether `token` is a special token (structural or reserved) rather than text."""
    return _encoding().is_special_token(token)


def decode(tokens: Iterable[int]) -> str:
    """Decodes tokens to text; special tokens appear as their spelling."""
    return _encoding().decode(list(tokens))


def token_bytes(token: int) -> bytes:
    """The bytes a token stands for (part of a character, for some); a special token's spelling."""
    return _encoding().decode([token], errors="surrogateescape").encode("utf-8", "surrogateescape")


class TokenTextDecoder:
    """Turns a stream of text tokens into text, holding back bytes of an unfinished character."""

    def __init__(self) -> None:
        self._bytes = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, token: int) -> str:
        """Returns the text that `token` completes (possibly empty)."""
        return self._bytes.decode(token_bytes(token))

    def flush(self) -> str:
        """Returns what is left, an unfinished character becoming U+FFFD."""
        return self._bytes.decode(b"", final=True)


def trained_namespace(name: Literal["browser", "python"]) -> ToolNamespace:
    """A built-in namespace as gpt-oss was trained on it: its description and functions
    (their descriptions and JSON Schemas) as harmony has them.
    """
    config = _BUILTIN_NAMESPACES[name]()
    functions = tuple(
        FunctionSpec(tool.name, tool.description, tool.parameters) for tool in config.tools
    )
    return ToolNamespace(name=config.name, description=config.description, functions=functions)


def _namespace_config(namespace: ToolNamespace) -> oh.ToolNamespaceConfig:
    if namespace.description is None and not namespace.functions:
        builtin = _BUILTIN_NAMESPACES.get(namespace.name)
        if builtin is not None:
            return builtin()
    return oh.ToolNamespaceConfig(
        name=namespace.name,
        description=namespace.description,
        tools=[_tool_description(function) for function in namespace.functions],
    )


def _tool_description(function: FunctionSpec) -> oh.ToolDescription:
    parameters = None if function.parameters is None else model_facing_schema(function.parameters)
    return oh.ToolDescription.new(function.name, function.description, parameters)


def render_preamble(
    *,
    identity: str,
    knowledge_cutoff: str,
    current_date: str | None,
    reasoning: Reasoning,
    builtin_tools: Sequence[ToolNamespace],
    instructions: str | None,
    functions: Sequence[FunctionSpec],
    response_format: ResponseFormat | None = None,
) -> list[int]:
    """Renders the system message, then the developer message when there is anything for it.

    A response format goes at the end of the developer message, as the harmony spec lays out:
    `# Response Formats`, `## {name}`, `// {description}`, then the schema as compact JSON.
    The library cannot render it, so it is added here.
    """
    system = (
        oh.SystemContent.new()
        .with_model_identity(identity)
        .with_knowledge_cutoff(knowledge_cutoff)
        .with_reasoning_effort(_REASONING[reasoning])
    )
    if current_date is not None:
        system = system.with_conversation_start_date(current_date)
    for namespace in builtin_tools:
        system = system.with_tools(_namespace_config(namespace))
    messages = [oh.Message.from_role_and_content(oh.Role.SYSTEM, system)]
    if instructions or functions:
        developer = oh.DeveloperContent.new()
        if instructions:
            developer = developer.with_instructions(instructions)
        if functions:
            developer = developer.with_function_tools([_tool_description(f) for f in functions])
        messages.append(oh.Message.from_role_and_content(oh.Role.DEVELOPER, developer))
    tokens = _encoding().render_conversation(oh.Conversation.from_messages(messages))
    if response_format is None:
        return tokens
    section = _response_format_section(response_format)
    if len(messages) == 1:
        return [
            *tokens,
            *_encoding().render(oh.Message.from_role_and_content(oh.Role.DEVELOPER, section)),
        ]
    # The section joins the developer message's text, and the whole text is encoded as one
    # string, as harmony encodes a message: encoded on its own, `.` + `\n\n` would stand where
    # the model saw `.\n\n`. The content is text only, so its last `<|message|>` opens it.
    opened = len(tokens) - tokens[::-1].index(SpecialToken.MESSAGE.value)
    text = f"{decode(tokens[opened:-1])}\n\n{section}"
    return [*tokens[:opened], *encode_text(text), SpecialToken.END.value]


def _response_format_section(response_format: ResponseFormat) -> str:
    lines = ["# Response Formats", "", f"## {response_format.name}", ""]
    if response_format.description:
        lines.append(f"// {response_format.description}")
    schema = model_facing_schema(response_format.schema)
    lines.append(json.dumps(schema, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines)


def parse_conversation(tokens: Sequence[int]) -> list[Message]:
    """Reads a whole rendered conversation with harmony's strict parser.

    Raises `ValueError` when the tokens are not well-formed harmony.
    """
    try:
        parsed = _encoding().parse_messages_from_completion_tokens(list(tokens), None, strict=True)
    except oh.HarmonyError as error:
        raise ValueError(f"not well-formed harmony: {error}") from None
    return [
        Message(
            author=message.author.name or message.author.role.value,
            text="".join(c.text for c in message.content if isinstance(c, oh.TextContent)),
            channel=message.channel,
            recipient=message.recipient,
            content_type=message.content_type,
        )
        for message in parsed
    ]


def render_user(text: str) -> list[int]:
    """Renders a user message."""
    message = oh.Message.from_role_and_content(oh.Role.USER, text)
    return _encoding().render(message)


def render_tool_result(author: str, channel: str | None, text: str) -> list[int]:
    """Renders a tool's result in the trained order: recipient first, then the channel."""
    tokens = [SpecialToken.START.value, *encode_text(f"{author} to=assistant")]
    if channel:
        tokens += [SpecialToken.CHANNEL.value, *encode_text(channel)]
    return [*tokens, SpecialToken.MESSAGE.value, *encode_text(text), SpecialToken.END.value]


def render_assistant(
    *,
    channel: str,
    recipient: str | None,
    content_type: str | None,
    text: str,
) -> list[int]:
    """Renders a repaired assistant message in the order the model writes it: channel first.

    A message to a recipient is a call and ends with `<|call|>`; any other with `<|end|>`.
    """
    header = channel
    if recipient:
        header += f" to={recipient}"
    tokens = [*ASSISTANT_HEADER, SpecialToken.CHANNEL.value, *encode_text(header)]
    if content_type:
        constrained = content_type.removeprefix(SPELLINGS[SpecialToken.CONSTRAIN])
        if constrained != content_type:
            tokens += [*encode_text(" "), SpecialToken.CONSTRAIN.value, *encode_text(constrained)]
        else:
            tokens += encode_text(f" {content_type}")
    terminator = SpecialToken.CALL if recipient else SpecialToken.END
    return [*tokens, SpecialToken.MESSAGE.value, *encode_text(text), terminator.value]

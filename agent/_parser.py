"""A tolerant, incremental parser of the tokens the model generates.

It reads the tokens that follow a prompt ending in `<|start|>assistant` and yields messages,
each with the tokens that represent it in the transcript: the generated tokens verbatim when
the message is well formed, a canonical rendering when it had to be repaired. Every repair is
recorded as a `Recovery`; nothing the model writes makes it raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import Enum, auto

from harmony_agent import _harmony
from harmony_agent._harmony import SPELLINGS, SpecialToken
from harmony_agent._messages import Message, Recovery, RecoveryKind

__all__ = ["CompletionParser", "ContentDelta", "ParsedMessage", "parse_header"]

CHANNELS = ("analysis", "commentary", "final")
_HEADER_TOKEN_LIMIT = 64
_LITERAL = re.compile(r"<\|(?:start|end|message|channel|constrain|call|return)\|>")
_MESSAGE_LITERAL = SPELLINGS[SpecialToken.MESSAGE]
_HEADER_MARKERS = re.compile(r"(<\|channel\|>|<\|constrain\|>)")
_RECIPIENT = re.compile(r"[A-Za-z0-9_.\-:/]+")
_LEADING_NON_LETTERS = re.compile(r"^[^A-Za-z]+")
_CONTENT_TYPES = frozenset({"json", "code", "text", "markdown"})
_TERMINATORS = {
    SpecialToken.END.value: SpecialToken.END,
    SpecialToken.CALL.value: SpecialToken.CALL,
    SpecialToken.RETURN.value: SpecialToken.RETURN,
}
# A message boundary spelled out inside content: `<|end|><|start|>assistant<|channel|>x<|message|>`.
_SPELLED_BOUNDARY = re.compile(
    r"(?:<\|(?P<terminator>end|call|return)\|>)?\s*<\|start\|>(?P<header>(?:(?!<\|message\|>).){0,200}?)<\|message\|>",
    re.DOTALL,
)
_SPELLED_TAIL = re.compile(r"<\|(end|call|return)\|>\s*$")
_SPELLED_TERMINATORS = {
    "end": SpecialToken.END,
    "call": SpecialToken.CALL,
    "return": SpecialToken.RETURN,
}


@dataclass(frozen=True)
class Header:
    """What a message header says, and what had to be repaired to read it."""

    author: str
    channel: str | None
    recipient: str | None
    content_type: str | None
    repairs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedMessage:
    """A message read from the model's output.

    `terminator` is the token that ended it as written (None: none did). `tokens` is what the
    transcript keeps for it; `repaired` says whether those are a re-rendering.
    """

    message: Message
    terminator: SpecialToken | None
    tokens: tuple[int, ...]
    repaired: bool
    truncated: bool = False


@dataclass(frozen=True)
class ContentDelta:
    """Text of the message being generated, as it streams."""

    channel: str | None
    recipient: str | None
    text: str


def parse_header(text: str) -> Header:
    """Reads a header like `assistant<|channel|>commentary to=functions.f <|constrain|>json`.

    Accepts the recipient before or after the channel, a recipient glued to a marker, a
    channel with text glued on, and leftover words; each repair is listed on the result.
    """
    parts = _HEADER_MARKERS.split(text)
    repairs: list[str] = []
    role_words = parts[0].split()
    channel_words: list[str] = []
    if role_words and role_words[0] != "assistant" and role_words[0].startswith("assistant"):
        repairs.append(f"role {role_words[0]!r} read as 'assistant'")
        role_words[0] = "assistant"
    elif role_words and role_words[0] in CHANNELS:
        # `<|end|>commentary to=functions.f ...`: the channel without <|start|>assistant<|channel|>
        repairs.append(f"channel {role_words[0]!r} without a role and <|channel|>")
        channel_words, role_words = role_words, ["assistant"]
    constrain: str | None = None
    for marker, segment in zip(parts[1::2], parts[2::2], strict=True):
        if marker == SPELLINGS[SpecialToken.CHANNEL]:
            if channel_words:
                repairs.append("a second <|channel|> in the header")
            channel_words += segment.split()
        elif constrain is None and segment.split():
            first, *rest = segment.split()
            constrain = first
            channel_words += rest
    words = role_words + channel_words
    recipient = _recipient(words, repairs)
    author = "assistant"
    if role_words and not role_words[0].startswith("to="):
        author = role_words[0]
    elif role_words or not words:
        repairs.append("no role in the header")
    channel = _channel(channel_words, repairs)
    content_type = None if constrain is None else SPELLINGS[SpecialToken.CONSTRAIN] + constrain
    leftovers = [w for w in channel_words[1:] + role_words[1:] if not w.startswith("to=")]
    for word in leftovers:
        if content_type is None and word in _CONTENT_TYPES:
            content_type = word
        else:
            repairs.append(f"leftover word {word!r} in the header")
    if content_type is not None and recipient is None:
        repairs.append(f"content type {content_type!r} without a recipient")
        content_type = None
    return Header(author, channel, recipient, content_type, tuple(repairs))


def _recipient(words: list[str], repairs: list[str]) -> str | None:
    targets = [word.removeprefix("to=") for word in words if word.startswith("to=")]
    if not targets:
        return None
    if targets[0].startswith("to="):
        repairs.append(f"recipient {targets[0]!r} has a repeated 'to='")
        while targets[0].startswith("to="):
            targets[0] = targets[0].removeprefix("to=")
    if len(targets) > 1:
        repairs.append(f"several recipients {targets}; the first one was used")
    match = _RECIPIENT.match(targets[0])
    recipient = match.group(0).rstrip(".") if match else ""
    if recipient != targets[0]:
        repairs.append(f"recipient {targets[0]!r} read as {recipient!r}")
    return recipient if recipient and recipient not in ("assistant", "user") else None


def _channel(words: list[str], repairs: list[str]) -> str | None:
    if not words or words[0].startswith("to="):
        return None
    word = words[0]
    if word in CHANNELS:
        return word
    letters = _LEADING_NON_LETTERS.sub("", word)
    for channel in CHANNELS:
        if letters.startswith(channel):
            repairs.append(f"channel {word!r} read as {channel!r}")
            return channel
    repairs.append(f"unknown channel {word!r}")
    return None


class _State(Enum):
    BETWEEN = auto()
    HEADER = auto()
    CONTENT = auto()


_NO_HEADER = Header("assistant", None, None, None)


@dataclass
class _Draft:
    """The message being read."""

    tokens: list[int]
    header: str
    header_tokens: int = 0
    spelled_since_special: str = ""
    malformed: bool = False
    parsed: Header = _NO_HEADER
    content: list[str] = field(default_factory=list)
    decoder: _harmony.TokenTextDecoder = field(default_factory=_harmony.TokenTextDecoder)


class CompletionParser:
    """Feeds on generated tokens; collects `messages` and `recoveries`."""

    def __init__(self) -> None:
        self.messages: list[ParsedMessage] = []
        self.recoveries: list[Recovery] = []
        self._state = _State.HEADER
        self._draft = _Draft(tokens=list(_harmony.ASSISTANT_HEADER), header="assistant")

    def feed(self, token: int) -> ContentDelta | None:
        """Reads one token; returns the text it adds to the current message, if any."""
        if token == SpecialToken.START:
            if self._state is _State.HEADER and self._draft.header.strip() in ("", "assistant"):
                self._recover(RecoveryKind.DROPPED_EMPTY, "a repeated <|start|>")
            elif self._state is _State.HEADER:
                self._draft.malformed = True
                self._begin_content(*self._headless_body(self._draft.header))
                self._close(None)
            elif self._state is not _State.BETWEEN:
                self._close(None)
            self._draft = _Draft(tokens=[token], header="")
            self._state = _State.HEADER
            return None
        if self._state is _State.BETWEEN:
            if not _begins_message(token):
                self._recover(RecoveryKind.STRAY_TOKEN, f"token {token} outside a message")
                return None
            # `<|end|>assistant<|channel|>...` or `<|end|><|channel|>...`: no <|start|>.
            self._recover(RecoveryKind.MISSING_START, "a message began without <|start|>")
            self._draft = _Draft(tokens=[SpecialToken.START.value], header="", malformed=True)
            self._state = _State.HEADER
        terminator = _TERMINATORS.get(token)
        if terminator is not None:
            self._draft.tokens.append(token)
            if self._state is _State.HEADER:
                self._draft.malformed = True
                self._begin_content(*self._headless_body(self._draft.header))
            self._close(terminator)
        elif token == SpecialToken.CHANNEL and self._state is _State.CONTENT:
            # `...<|channel|>final<|message|>`: a new message without <|end|><|start|>assistant.
            self._close(None)
            self._draft = _Draft(tokens=[*_harmony.ASSISTANT_HEADER, token], header="assistant")
            self._draft.header += SPELLINGS[SpecialToken.CHANNEL]
            self._draft.malformed = True
            self._state = _State.HEADER
        elif token in (SpecialToken.CHANNEL, SpecialToken.CONSTRAIN, SpecialToken.MESSAGE):
            self._draft.tokens.append(token)
            self._extend_header(SPELLINGS[SpecialToken(token)], special=True)
        elif _harmony.is_special(token):
            self._recover(RecoveryKind.STRAY_TOKEN, f"special token {token} ignored")
        else:
            self._draft.tokens.append(token)
            if self._state is _State.HEADER:
                self._extend_header(_harmony.decode([token]), special=False)
            else:
                return self._content_delta(self._draft.decoder.feed(token))
        return None

    @property
    def at_final_answer(self) -> bool:
        """Whether the last token fed was the `<|message|>` of a `final` message to nobody:
        the point where the answer's text begins.
        """
        draft = self._draft
        return (
            self._state is _State.CONTENT
            and draft.tokens[-1] == SpecialToken.MESSAGE
            and draft.parsed.channel == "final"
            and draft.parsed.recipient is None
            and not draft.content
        )

    def finish(self, *, truncated: bool) -> None:
        """Ends the generation; `truncated` says it stopped at the token limit."""
        if self._state is _State.CONTENT:
            self._close(None, truncated=truncated)
        elif self._state is _State.HEADER and self._draft.header not in ("", "assistant"):
            if truncated:
                self._recover(RecoveryKind.TRUNCATED, "the generation stopped inside a header")
            else:
                self._draft.malformed = True
                self._begin_content(*self._headless_body(self._draft.header))
                self._close(None)
        self._state = _State.BETWEEN

    def _recover(self, kind: RecoveryKind, detail: str) -> None:
        self.recoveries.append(Recovery(kind, detail))

    def _extend_header(self, text: str, *, special: bool) -> None:
        draft = self._draft
        draft.header_tokens += 1
        if special:
            draft.spelled_since_special = ""
            if text == _MESSAGE_LITERAL:
                self._begin_content(draft.header, "", delimited=True)
            else:
                draft.header += text
            return
        draft.header += text
        draft.spelled_since_special += text
        if not draft.malformed and _LITERAL.search(draft.spelled_since_special):
            draft.malformed = True
            self._recover(RecoveryKind.SPELLED_SPECIAL_TOKEN, "a special token written as text")
        if _MESSAGE_LITERAL in draft.header:
            self._recover(RecoveryKind.SPELLED_SPECIAL_TOKEN, "<|message|> written as text")
            header, _, rest = draft.header.partition(_MESSAGE_LITERAL)
            self._begin_content(header, rest)
        elif "\n" in draft.header or draft.header_tokens > _HEADER_TOKEN_LIMIT:
            draft.malformed = True
            self._begin_content(*self._headless_body(draft.header))

    def _headless_body(self, header_text: str) -> tuple[str, str]:
        """Splits a header that never reached `<|message|>` into the header and the body the
        model wrote straight after it (`... <|constrain|>json{"city": ...}<|call|>`).
        """
        brace = header_text.find("{")
        if brace < 0 or not _plausible_header(header_text[:brace]):
            return header_text, ""
        self._recover(RecoveryKind.HEADER_REPAIRED, "no <|message|> between header and body")
        return header_text[:brace], header_text[brace:]

    def _begin_content(self, header_text: str, content: str, *, delimited: bool = False) -> None:
        """Reads the header; text that cannot be a header becomes the content. `delimited`:
        a real `<|message|>` token ended it, so a short one is a header (`user`, a tool name).
        """
        draft = self._draft
        if _plausible_header(header_text) or (delimited and len(header_text.split()) <= 2):
            draft.parsed = parse_header(header_text)
        else:
            self._recover(RecoveryKind.MISSING_HEADER, "text without a message header")
            draft.malformed = True
            content = header_text.removeprefix("assistant") + content
        if content:
            draft.content.append(content)
        self._state = _State.CONTENT

    def _content_delta(self, text: str) -> ContentDelta | None:
        if not text:
            return None
        self._draft.content.append(text)
        header = self._draft.parsed
        return ContentDelta(header.channel, header.recipient, text)

    def _close(self, terminator: SpecialToken | None, *, truncated: bool = False) -> None:
        draft = self._draft
        self._state = _State.BETWEEN
        text = "".join(draft.content) + draft.decoder.flush()
        pieces = _split_spelled(draft.parsed, text, terminator)
        spelled = len(pieces) > 1 or pieces[-1][2] is not terminator
        if spelled:
            self._recover(RecoveryKind.SPELLED_SPECIAL_TOKEN, "a message boundary written as text")
        if truncated:
            self._recover(RecoveryKind.TRUNCATED, "the message was cut off at the token limit")
        elif pieces[-1][2] is None:
            self._recover(RecoveryKind.MISSING_TERMINATOR, "the message was not closed")
        verbatim = not (spelled or draft.malformed)
        for header, piece_text, piece_terminator in pieces:
            complete = self._complete_header(header, piece_terminator)
            verbatim = verbatim and complete == header and not header.repairs
            if _empty_and_repaired(complete, piece_text, piece_terminator, verbatim, truncated):
                self._recover(RecoveryKind.DROPPED_EMPTY, "a malformed message without content")
                continue
            self.messages.append(
                _parsed(complete, piece_text, piece_terminator, draft.tokens, verbatim, truncated)
            )

    def _complete_header(self, header: Header, terminator: SpecialToken | None) -> Header:
        """Records the header's repairs and fills in a missing channel."""
        for repair in header.repairs:
            self._recover(RecoveryKind.HEADER_REPAIRED, repair)
        if header.recipient and terminator in (SpecialToken.END, SpecialToken.RETURN):
            self._recover(
                RecoveryKind.CALL_TERMINATOR,
                f"a call to {header.recipient} ended with {SPELLINGS[terminator]}",
            )
        if header.recipient is None and terminator is SpecialToken.CALL:
            self._recover(RecoveryKind.CALL_WITHOUT_RECIPIENT, "<|call|> without a recipient")
        if header.channel is not None:
            return header
        if terminator is SpecialToken.RETURN:
            channel = "final"
        else:
            channel = "commentary" if header.recipient else "analysis"
        self._recover(RecoveryKind.HEADER_REPAIRED, f"no channel; read as {channel!r}")
        return replace(header, channel=channel)


def _begins_message(token: int) -> bool:
    """Whether a token outside any message starts one that lacks its `<|start|>`: text
    (not mere whitespace) or `<|channel|>`.
    """
    if token == SpecialToken.CHANNEL:
        return True
    return not _harmony.is_special(token) and bool(_harmony.decode([token]).strip())


def _empty_and_repaired(
    header: Header,
    text: str,
    terminator: SpecialToken | None,
    verbatim: bool,
    truncated: bool,
) -> bool:
    """Whether a message is a repaired husk with nothing to keep: no text, no recipient, and
    not an answer or a call (those are handled by the loop).
    """
    return (
        not verbatim
        and not truncated
        and not text.strip()
        and header.recipient is None
        and terminator not in (SpecialToken.CALL, SpecialToken.RETURN)
    )


def _plausible_header(text: str) -> bool:
    """Whether `text` can be a header rather than content written without one."""
    return (
        SPELLINGS[SpecialToken.CHANNEL] in text
        or " to=" in f" {text}"
        or text.strip() in ("", "assistant")
    )


def _split_spelled(
    header: Header, text: str, terminator: SpecialToken | None
) -> list[tuple[Header, str, SpecialToken | None]]:
    """Splits content at message boundaries the model wrote as text."""
    pieces: list[tuple[Header, str, SpecialToken | None]] = []
    current, start = header, 0
    for match in _SPELLED_BOUNDARY.finditer(text):
        spelled = match.group("terminator")
        pieces.append(
            (current, text[start : match.start()], _SPELLED_TERMINATORS.get(spelled or ""))
        )
        current, start = parse_header(match.group("header")), match.end()
    tail = text[start:]
    if terminator is None and (spelled_tail := _SPELLED_TAIL.search(tail)):
        tail, terminator = tail[: spelled_tail.start()], _SPELLED_TERMINATORS[spelled_tail.group(1)]
    pieces.append((current, tail, terminator))
    return pieces


def _parsed(
    header: Header,
    text: str,
    terminator: SpecialToken | None,
    tokens: list[int],
    verbatim: bool,
    truncated: bool,
) -> ParsedMessage:
    """Builds the message and its transcript tokens: verbatim with the closing token the
    message needs (`<|call|>` for a call, else `<|end|>`), or re-rendered when repaired.
    """
    message = Message(header.author, text, header.channel, header.recipient, header.content_type)
    closing = SpecialToken.CALL if header.recipient else SpecialToken.END
    if verbatim:
        body = tokens[:-1] if terminator is not None else tokens
        return ParsedMessage(message, terminator, (*body, closing.value), False, truncated)
    rendered = _harmony.render_assistant(
        channel=header.channel or "analysis",
        recipient=header.recipient,
        content_type=header.content_type,
        text=text,
    )
    return ParsedMessage(message, terminator, tuple(rendered), True, truncated)

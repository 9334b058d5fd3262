"""A `harmony-agent serve` subprocess on a free loopback port, serving a scripted agent: the
server as a user starts it, for real clients to talk to.

Each test's conversation is a script chosen by a key word in its user message.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
API_KEY = "sk-test-4f1c9a"
MODEL = "scripted"

THINK = "<|channel|>analysis<|message|>{}<|end|><|start|>assistant"
WEATHER_CALL = (
    THINK.format("The user wants the weather. I will call get_weather.")
    + '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{{"city": "{}"}}<|call|>'
)
CONVERT_CALL = (
    THINK.format("I will convert it.")
    + '<|channel|>commentary to=functions.convert <|constrain|>json<|message|>{"value": 70, "to": "celsius"}<|call|>'
)


def final(text: str, thought: str = "Done.") -> str:
    """A completion that reasons, then answers `text`."""
    return THINK.format(thought) + f"<|channel|>final<|message|>{text}<|return|>"


def weather(city: str = "Paris") -> list[str]:
    """A client function call to get_weather, then an answer from its output."""
    return [WEATHER_CALL.format(city), final(f"It is 21 °C in {city}.", "21 degrees.")]


SCRIPTS: dict[str, list[str]] = {
    "hello-sync": [final("Hello there.")],
    "hello-async": [final("Hello there.")],
    "hello-stream": [final("Hello there.", "Greet them back.")],
    "weather-sync": weather(),
    "weather-stream": weather(),
    "weather-previous": weather(),
    "weather-replay": weather(),
    "weather-lost-reasoning": weather(),
    "convert-server": [CONVERT_CALL, final("70 °F is 21.1 °C.")],
    # constrained: the first generation stops at the answer's header, the second writes it
    "json-answer": [final("{"), '{"city": "Paris", "celsius": 21}<|return|>'],
    "previous-turn": [final("First answer."), final("Second answer.")],
    "long-answer": [final("A long answer that goes on and on and on, well past the limit.")],
    "restart-check": [final("Stored before the restart.")],
    "chat-hello": [final("Hi from chat.")],
    "chat-stream": [final("Streamed chat.", "Thinking in the stream.")],
    "chat-weather": weather(),
    "chat-weather-stream": weather(),
    "chat-weather-deltas": weather()[:1],
    "agents-responses": [*weather(), final("You asked about Paris.")],
    "agents-chat": [*weather("Oslo"), final("You asked about Oslo.")],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running server: its base URL and process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"


def write_config(directory: Path, scripts: dict[str, list[str]]) -> Path:
    """A scripted agent config with a server-side function (`convert`)."""
    shutil.copy(ROOT / "configs" / "example_functions.py", directory / "example_functions.py")
    config = {
        "engine": {"kind": "scripted", "script": scripts},
        "reasoning": "low",
        "current_date": "2026-11-24",
        "instructions": "Answer briefly.",
        "tools": {"functions": ["example_functions:convert"]},
    }
    path = directory / f"{MODEL}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


@contextlib.contextmanager
def running_server(
    *arguments: str, directory: Path, start_timeout_s: float = 60
) -> Iterator[Server]:
    """`harmony-agent serve ARGUMENTS` on a free port, until the block ends; it must answer
    `/health` within `start_timeout_s`.
    """
    port = free_port()
    executable = Path(sys.executable).parent / "harmony-agent"
    log = directory / f"server-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(executable), "serve", *arguments, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server")


@pytest.fixture(scope="session")
def server(server_dir: Path) -> Iterator[Server]:
    """The scripted agent served with an API key and a store file."""
    config = write_config(server_dir, SCRIPTS)
    with running_server(
        str(config),
        "--api-key",
        API_KEY,
        "--store",
        str(server_dir / "store.sqlite"),
        directory=server_dir,
    ) as running:
        yield running

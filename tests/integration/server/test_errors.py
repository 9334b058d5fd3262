"""Bad requests get OpenAI-shaped errors with the right status and the parameter at fault,
never a 500; the limits on bodies and waiting runs; a stored response survives a restart.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from openai import OpenAI

from tests.integration.server.conftest import (
    API_KEY,
    MODEL,
    Server,
    final,
    running_server,
    write_config,
)

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def post(server: Server, path: str, body: Any, **options: Any) -> httpx.Response:
    return httpx.post(f"{server.v1}{path}", json=body, headers=AUTH, timeout=30, **options)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": MODEL, "input": 123}, "input"),
        ({"model": MODEL}, "input"),
        ({"input": "hi"}, "model"),
        ({"model": MODEL, "input": "hi", "temperature": "hot"}, "temperature"),
        ({"model": MODEL, "input": "hi", "temperature": 7}, "temperature"),
        ({"model": MODEL, "input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"model": MODEL, "input": "hi", "stream": "yes"}, "stream"),
        ({"model": MODEL, "input": [{"content": "no role"}]}, "input[0].role"),
        ({"model": MODEL, "input": [{"role": "wizard", "content": "x"}]}, "input[0].role"),
        ({"model": MODEL, "input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
        (
            {
                "model": MODEL,
                "input": [{"type": "function_call_output", "call_id": "call_nope", "output": "1"}],
            },
            "input[0].call_id",
        ),
        ({"model": MODEL, "input": [{"role": "assistant", "content": "I answer"}]}, "input[0]"),
        (
            {"model": MODEL, "input": "hi", "tools": [{"type": "function", "name": "bad name"}]},
            "tools[0].name",
        ),
        ({"model": MODEL, "input": "hi", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        (
            {"model": MODEL, "input": "hi", "tools": [{"type": "function", "name": "convert"}]},
            "tools[0].name",
        ),
        (
            {
                "model": MODEL,
                "input": "hi",
                "tools": [
                    {
                        "type": "function",
                        "name": "f",
                        "parameters": {"type": "object", "properties": {"a": {"type": 5}}},
                    }
                ],
            },
            "tools[0].parameters",
        ),
        (
            {"model": MODEL, "input": "hi", "tool_choice": {"type": "function", "name": "nope"}},
            "tool_choice",
        ),
        ({"model": MODEL, "input": "hi", "tool_choice": {"type": "function"}}, "tool_choice.name"),
        (
            {
                "model": MODEL,
                "input": "hi",
                "text": {"format": {"type": "json_schema", "name": "x"}},
            },
            "text.format.schema",
        ),
    ],
)
def test_a_bad_responses_request_is_a_400_naming_the_parameter(
    server: Server, body: dict[str, Any], param: str
) -> None:
    response = post(server, "/responses", body)
    assert response.status_code == 400, response.text
    assert error_of(response)["param"] == param
    assert error_of(response)["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": MODEL, "messages": []}, "messages"),
        ({"model": MODEL, "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        (
            {"model": MODEL, "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].tool_call_id",
        ),
        (
            {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "n": 2},
            "n",
        ),
    ],
)
def test_a_bad_chat_request_is_a_400_naming_the_parameter(
    server: Server, body: dict[str, Any], param: str
) -> None:
    response = post(server, "/chat/completions", body)
    assert response.status_code == 400, response.text
    assert error_of(response)["param"] == param


def test_a_body_that_is_not_json_is_a_400(server: Server) -> None:
    response = httpx.post(
        f"{server.v1}/responses",
        content=b"{not json",
        headers={**AUTH, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "JSON" in error_of(response)["message"]


def test_a_huge_body_is_refused_with_413(server: Server) -> None:
    response = post(server, "/responses", {"model": MODEL, "input": "x" * (9 << 20)})
    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"


def test_unknown_model_and_previous_response_are_404s(server: Server) -> None:
    client = OpenAI(base_url=server.v1, api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError) as unknown_model:
        client.responses.create(model="gpt-9", input="hi")
    assert unknown_model.value.body["param"] == "model"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError) as unknown_previous:
        client.responses.create(model=MODEL, input="hi", previous_response_id="resp_nope")
    assert unknown_previous.value.body["param"] == "previous_response_id"  # type: ignore[index]


@pytest.mark.parametrize("key", [None, "sk-wrong", API_KEY + "x"])
def test_a_missing_or_wrong_api_key_is_a_401(server: Server, key: str | None) -> None:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    response = httpx.post(
        f"{server.v1}/responses", json={"model": MODEL, "input": "hi"}, headers=headers
    )
    assert response.status_code == 401
    assert error_of(response)["type"] == "authentication_error"


def test_an_unknown_route_is_an_openai_shaped_404(server: Server) -> None:
    response = httpx.get(f"{server.v1}/nothing-here", headers=AUTH)
    assert response.status_code == 404
    assert error_of(response)["type"] == "not_found_error"


def test_an_engine_failure_is_a_503(server: Server) -> None:
    response = post(server, "/responses", {"model": MODEL, "input": "no script has this key"})
    assert response.status_code == 503
    assert error_of(response)["code"] == "engine_unavailable"


def test_health_and_metrics(server: Server) -> None:
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    post(server, "/responses", {"model": "gpt-9", "input": "hi"})
    text = httpx.get(f"{server.url}/metrics").text
    assert "# TYPE harmony_agent_runs_total counter" in text
    assert "# TYPE harmony_agent_run_seconds histogram" in text
    assert 'harmony_agent_errors_total{endpoint="/v1/responses",status="404"}' in text


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[Server]:
    """One run at a time, none waiting, and a slow script."""
    script = {
        "slow": [final("A slow answer.")] * 2,
        "vanish": [final(" ".join(["A very slow answer"] * 50)), final("Answered.")],
    }
    config = write_config(tmp_path, script)
    text = config.read_text().replace("kind: scripted", "kind: scripted\n  token_delay_s: 0.2")
    config.write_text(text)
    with running_server(
        str(config),
        "--max-running",
        "1",
        "--max-waiting",
        "0",
        "--store",
        ":memory:",
        directory=tmp_path,
    ) as running:
        yield running


def test_a_run_beyond_the_waiting_limit_is_a_429_with_retry_after(slow_server: Server) -> None:
    body = {"model": MODEL, "input": "slow", "stream": True}
    with httpx.stream("POST", f"{slow_server.v1}/responses", json=body, timeout=30) as running:
        assert running.status_code == 200
        lines = running.iter_lines()
        assert next(lines) == "event: response.created"  # the run holds the only slot
        chat = {"model": MODEL, "messages": [{"role": "user", "content": "slow"}]}
        for path, refused_body in [
            ("/responses", {**body, "stream": False}),
            ("/responses", body),
            ("/chat/completions", chat),
            ("/chat/completions", {**chat, "stream": True}),
        ]:
            refused = httpx.post(f"{slow_server.v1}{path}", json=refused_body)
            assert refused.status_code == 429, (path, refused_body)
            assert refused.headers["retry-after"] == "1"
            assert error_of(refused)["type"] == "rate_limit_error"
    wait_for(lambda: metric(slow_server, "harmony_agent_runs_cancelled_total") == 1)
    answered = httpx.post(f"{slow_server.v1}/responses", json={**body, "stream": False}, timeout=30)
    assert answered.status_code == 200  # the slot was freed when the client went away


def test_a_stored_response_survives_a_restart(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    first_config = write_config(tmp_path, {"restart": [final("Stored before the restart.")]})
    with running_server(str(first_config), "--store", str(store), directory=tmp_path) as first:
        stored = post(first, "/responses", {"model": MODEL, "input": "restart: remember"}).json()
    second_config = write_config(tmp_path, {"restart": [final("Continued after it.")]})
    with running_server(str(second_config), "--store", str(store), directory=tmp_path) as second:
        body = {"model": MODEL, "input": "restart: go on", "previous_response_id": stored["id"]}
        continued = post(second, "/responses", body)
    assert continued.status_code == 200, continued.text
    assert continued.json()["output_text"] == "Continued after it."


def wait_for(condition: Callable[[], bool], *, timeout: float = 30) -> None:
    """Returns once `condition()` holds; fails if it does not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)


def metric(server: Server, name: str) -> float:
    """The summed value of a metric's samples (0 when it has none yet)."""
    text = httpx.get(f"{server.url}/metrics").text
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))


@pytest.mark.parametrize("path", ["/responses", "/chat/completions"])
def test_a_non_streamed_run_is_cancelled_when_its_client_goes_away(
    slow_server: Server, path: str
) -> None:
    body: dict[str, Any] = {"model": MODEL}
    if path == "/responses":
        body["input"] = "vanish"
    else:
        body["messages"] = [{"role": "user", "content": "vanish"}]
    request = httpx.Request("POST", f"{slow_server.v1}{path}", json=body)
    address = urlsplit(slow_server.url)
    head = f"POST {request.url.raw_path.decode()} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in request.headers.items()
    )
    with socket.create_connection((address.hostname or "", address.port or 80)) as client:
        client.sendall(f"{head}\r\n".encode() + request.read())
        wait_for(lambda: metric(slow_server, "harmony_agent_runs_running") == 1)
    # the client went away long before the slow answer's 200 tokens
    wait_for(lambda: metric(slow_server, "harmony_agent_runs_cancelled_total") == 1)
    assert metric(slow_server, "harmony_agent_runs_running") == 0
    answered = post(slow_server, path, body)
    assert answered.status_code == 200, answered.text  # the slot is free, not a 429
    assert "Answered." in answered.text

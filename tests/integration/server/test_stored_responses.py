"""Stored responses through the openai SDK: retrieved and deleted by id, evicted oldest first
beyond `--store-max-responses`, and a response created with `store: false` is not stored
(404, as OpenAI answers), while its segments still restore a replayed history.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from tests.integration.server.conftest import (
    MODEL,
    Server,
    final,
    running_server,
    weather,
    write_config,
)

SCRIPTS = {
    "kept": [final("Kept.")],
    "deleted": [final("Deleted.")],
    "unstored": [final("Not stored.")],
    "evicted": [final("Evicted."), final("Never continued.")],
    "newer": [final("Newer.")] * 2,
    "replayed": weather(),
}
WEATHER_TOOL: Any = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAI]:
    """A server keeping at most two stored responses."""
    directory: Path = tmp_path_factory.mktemp("stored")
    config = write_config(directory, SCRIPTS)
    arguments = (str(config), "--store", ":memory:", "--store-max-responses", "2")
    with running_server(*arguments, directory=directory) as server:
        yield client_of(server)


def client_of(server: Server) -> OpenAI:
    return OpenAI(base_url=server.v1, api_key="unused", max_retries=0)


def test_a_stored_response_is_retrieved_by_its_id(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="kept")
    retrieved = client.responses.retrieve(created.id)
    assert retrieved.model_dump() == created.model_dump()


def test_a_deleted_response_is_gone(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="deleted")
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)


def test_a_response_not_stored_cannot_be_retrieved_or_continued(client: OpenAI) -> None:
    created = client.responses.create(model=MODEL, input="unstored", store=False)
    assert created.output_text == "Not stored."
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="unstored", previous_response_id=created.id)


def test_a_replayed_history_continues_a_response_not_stored(client: OpenAI) -> None:
    question: Any = {"role": "user", "content": "replayed: weather in Paris?"}
    first = client.responses.create(
        model=MODEL, input=[question], tools=[WEATHER_TOOL], store=False
    )
    call = first.output[-1]
    assert call.type == "function_call"
    replay: list[Any] = [
        question,
        {
            "type": "function_call",
            "call_id": call.call_id,
            "name": call.name,
            "arguments": call.arguments,
        },
        {"type": "function_call_output", "call_id": call.call_id, "output": "21 C"},
    ]
    second = client.responses.create(model=MODEL, input=replay, tools=[WEATHER_TOOL], store=False)
    assert second.output_text == "It is 21 °C in Paris."


def test_the_oldest_response_is_evicted_beyond_the_limit(client: OpenAI) -> None:
    oldest = client.responses.create(model=MODEL, input="evicted")
    for _ in range(2):
        client.responses.create(model=MODEL, input="newer")
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(oldest.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="evicted", previous_response_id=oldest.id)

"""How the server runs: where it listens, who may call it, where it stores responses, and
its limits.
"""

from __future__ import annotations

from pathlib import Path

from harmony_agent.server._store import Retention
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, SecretStr

__all__ = ["ServerSettings"]


class ServerSettings(BaseModel):
    """The server's settings. `api_keys` empty: no key is asked for (bind to loopback then).

    `store` is the SQLite file of stored responses (`:memory:`: nothing survives a restart).
    It keeps at most `store_max_responses` responses and `store_max_segments` records of
    generated segments (the newest), none older than `store_max_age_s` seconds.
    At most `max_running` runs go at once and `max_waiting` more wait for one; beyond that a
    request gets 429. Request bodies are at most `max_body_bytes`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    api_keys: tuple[SecretStr, ...] = ()
    store: Path | str = Path(".harmony-agent") / "responses.sqlite"
    store_max_responses: PositiveInt = Retention.max_responses
    store_max_segments: PositiveInt = Retention.max_segments
    store_max_age_s: PositiveInt = Retention.max_age_s
    max_running: PositiveInt = 16
    max_waiting: int = Field(default=64, ge=0)
    max_body_bytes: PositiveInt = 8 * 1024 * 1024

    @property
    def retention(self) -> Retention:
        """What the store keeps."""
        return Retention(self.store_max_responses, self.store_max_segments, self.store_max_age_s)

"""A real `vllm serve` process on a free loopback port, for the end-to-end tests.

`VLLMServer(model_dir)` starts `python -m vllm.entrypoints.openai.api_server` with the test
interpreter, waits for `/health`, and on exit kills the server's whole process group (the API
server and its engine-core processes). Use it as a context manager, sync or async.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

SERVED_MODEL = "tiny-gpt-oss"


class VLLMServerError(RuntimeError):
    """The server did not start; the message ends with the tail of its log."""


class VLLMServer:
    """One `vllm serve` process for a checkpoint directory with its tokenizer files (structured
    outputs compile JSON Schemas over its vocabulary; prompts and outputs stay token ids).

    `args` are added to the command line; `env` to the environment (`VLLM_CPU_KVCACHE_SPACE`
    defaults to 1 GiB, enough for the tiny checkpoint). `startup_s` is how long the server took
    to answer `/health`.
    """

    def __init__(
        self,
        model: Path,
        *,
        served_model_name: str = SERVED_MODEL,
        max_model_len: int = 4096,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        startup_timeout_s: float = 600.0,
    ) -> None:
        self.port = _free_port()
        self.served_model_name = served_model_name
        self.startup_timeout_s = startup_timeout_s
        self.startup_s: float | None = None
        self.command = [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(model),
            "--served-model-name",
            served_model_name,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            # as VLLMSettings(structured_outputs=True) configures the in-process engine
            "--structured-outputs-config",
            '{"backend": "xgrammar", "disable_any_whitespace": true}',
            "--max-model-len",
            str(max_model_len),
            # on the CPU the KV cache size comes from VLLM_CPU_KVCACHE_SPACE; on a GPU this
            # leaves room for an in-process engine of the same test session
            "--gpu-memory-utilization",
            "0.3",
            # report prefix-cache hits (`cached_tokens` in the usage)
            "--enable-prompt-tokens-details",
            *args,
        ]
        # unbuffered: the access log (uvicorn's, on stdout) reaches the log file as it is written
        self._env = {
            "VLLM_CPU_KVCACHE_SPACE": "1",
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self._log_path = Path(tempfile.mkstemp(prefix="vllm-serve-", suffix=".log")[1])
        self._process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0

    @property
    def base_url(self) -> str:
        """The API root, e.g. `http://127.0.0.1:PORT/v1`."""
        return f"http://127.0.0.1:{self.port}/v1"

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's output."""
        text = self._log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def completions_from(self, client_ports: Iterable[int]) -> bool:
        """Whether the access log shows a `/v1/completions` request from a loopback client
        port among `client_ports` (logged as its response starts: a streamed completion is
        then under way).
        """
        text = self._log_path.read_text(errors="replace")
        return any(f':{port} - "POST /v1/completions ' in text for port in client_ports)

    def __enter__(self) -> VLLMServer:
        self._start()
        try:
            while not self._ready():
                time.sleep(0.5)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> VLLMServer:
        self._start()
        try:
            while True:
                if await asyncio.to_thread(self._ready):
                    break
                await asyncio.sleep(0.5)
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def stop(self) -> None:
        """Terminates the process group (SIGTERM, SIGKILL what is left after 20 s); removes the log."""
        process = self._process
        if process is None:
            return
        self._process = None
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group
        process.wait()
        self._log_path.unlink(missing_ok=True)

    def _start(self) -> None:
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
            )
        self._started_at = time.monotonic()

    def _ready(self) -> bool:
        """Whether `/health` answers 200; raises `VLLMServerError` if the server died or the
        startup timeout passed.
        """
        assert self._process is not None
        elapsed = time.monotonic() - self._started_at
        if self._process.poll() is not None:
            raise VLLMServerError(
                f"vllm serve exited with code {self._process.returncode} after {elapsed:.0f} s; "
                f"its log ends with:\n{self.log_tail()}"
            )
        if elapsed > self.startup_timeout_s:
            raise VLLMServerError(
                f"vllm serve did not answer /health within {self.startup_timeout_s:.0f} s; "
                f"its log ends with:\n{self.log_tail()}"
            )
        try:
            healthy = httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2.0).is_success
        except httpx.HTTPError:
            return False
        if healthy:
            self.startup_s = elapsed
        return healthy


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port

"""The host's end of one kernel's channels: shell, iopub and control sockets speaking the
Jupyter messaging protocol through jupyter_client's Session.

Only iopub is read (the kernel's output and status arrive there); requests go out on shell
and control, and the shell replies are discarded. The sockets connect at once: ZMQ keeps
trying until the kernel has bound its ipc sockets, and requests wait in its queues.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.session import Session

__all__ = ["KernelChannels", "connection_info"]

_RETRY_MS = 5
"""How often a socket retries connecting (ZMQ's default is 100 ms): channels connect before
their kernel has bound its ipc sockets."""


def connection_info(run_dir: str, key: str) -> KernelConnectionInfo:
    """Where a kernel whose ipc sockets live in `run_dir` listens, and the key that signs its
    messages (ipc sockets are files named `{ip}-{port}`: small fixed ports name them).
    """
    return {
        "shell_port": 1,
        "iopub_port": 2,
        "stdin_port": 3,
        "control_port": 4,
        "hb_port": 5,
        "transport": "ipc",
        "ip": f"{run_dir}/k",
        "key": key,
        "signature_scheme": "hmac-sha256",
        "kernel_name": "",
    }


class KernelChannels:
    """Connected sockets to one kernel; `close` them when done."""

    def __init__(self, connection: KernelConnectionInfo) -> None:
        context = _context(os.getpid())
        self._session = Session(
            key=str(connection["key"]).encode(),
            signature_scheme=str(connection["signature_scheme"]),
        )
        self._shell: zmq.Socket[bytes] = zmq.Socket(context, zmq.DEALER)  # never awaited
        self._control: zmq.Socket[bytes] = zmq.Socket(context, zmq.DEALER)
        self._iopub = context.socket(zmq.SUB)
        self._iopub.setsockopt(zmq.SUBSCRIBE, b"")
        endpoint = f"{connection['transport']}://{connection['ip']}-{{}}"
        for socket, port in (
            (self._shell, connection["shell_port"]),
            (self._control, connection["control_port"]),
            (self._iopub, connection["iopub_port"]),
        ):
            socket.setsockopt(zmq.RECONNECT_IVL, _RETRY_MS)
            socket.connect(endpoint.format(port))

    def request(self, msg_type: str, content: dict[str, Any], *, control: bool = False) -> str:
        """Sends a request on shell (or control); returns its message id."""
        message = self._session.msg(msg_type, content)
        self._session.send(self._control if control else self._shell, message)
        return str(message["header"]["msg_id"])

    async def output(self) -> dict[str, Any]:
        """The next message the kernel publishes on iopub."""
        _, frames = self._session.feed_identities(await self._iopub.recv_multipart())
        return self._session.deserialize(frames)

    def discard_replies(self) -> None:
        """Drops the shell replies received so far (iopub carries what the host needs)."""
        while self._shell.poll(0):
            self._shell.recv_multipart()

    def close(self) -> None:
        """Closes the sockets, dropping whatever is still queued."""
        for socket in (self._shell, self._control, self._iopub):
            socket.close(linger=0)


@functools.cache
def _context(pid: int) -> zmq.asyncio.Context:
    """The ZMQ context of every kernel's channels in process `pid` (a forked child gets its
    own).
    """
    return zmq.asyncio.Context()

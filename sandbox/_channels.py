"""The host's end of one kernel's channels: shell, iopub and control, speaking the Jupyter
messaging protocol (jupyter_client's Session) over ZMTP 3.0 on the kernel's ipc sockets.

The host speaks ZMTP itself rather than through libzmq, for two guarantees libzmq cannot give:
- Nothing the kernel sends is buffered past a bound. libzmq caps the size of each frame but
  not the number of frames in a message: a kernel whose code holds the connection key can
  send one message of endless frames, and libzmq would hold all of it. Here a message over
  `MAX_MESSAGE_BYTES` or `MAX_FRAMES` is read on and discarded as it arrives (and counted).
- Each socket path is followed once, before any of the kernel's code has run. libzmq
  reconnects to the path whenever a connection drops, and the kernel's code can drop it and
  plant a symbolic link there; these connections are never made again.

Iopub is read for output; requests go out on shell and control, and of their replies only
those the host asked to see (`reply`) are parsed: the rest are discarded.
The channels connect at once and keep trying until the kernel has bound its sockets;
requests sent before that wait in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import socket
import struct
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.session import DELIM as DELIMITER
from jupyter_client.session import Session

__all__ = ["MAX_FRAMES", "MAX_MESSAGE_BYTES", "ChannelBroken", "KernelChannels", "connection_info"]

MAX_MESSAGE_BYTES = 32 << 20
"""The largest message (all its frames) the host takes from a kernel; larger ones are dropped."""
MAX_FRAMES = 64
"""The most frames a message from a kernel may have (a Jupyter message has 7 and buffers)."""
_RETRY_S = 0.005
"""How often a channel retries connecting before its kernel has bound its socket."""
_MAX_COMMAND_BYTES = 64 << 10
_CHUNK = 1 << 16
_MORE, _LONG, _COMMAND = 1, 2, 4
_GREETING = b"\xff" + bytes(8) + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + bytes(32)


class ChannelBroken(ConnectionError):
    """A channel to the kernel closed, or the kernel broke the protocol."""


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
    """Connections to one kernel's shell, iopub and control sockets; `close` them when done.

    `dropped` counts the messages discarded so far: over the bounds, or not a well-formed
    signed Jupyter message.
    """

    def __init__(self, connection: KernelConnectionInfo) -> None:
        self._session = Session(
            key=str(connection["key"]).encode(),
            signature_scheme=str(connection["signature_scheme"]),
        )
        path = f"{connection['ip']}-{{}}"
        self._shell = _Connection(path.format(connection["shell_port"]), b"DEALER")
        self._control = _Connection(path.format(connection["control_port"]), b"DEALER")
        self._iopub = _Connection(path.format(connection["iopub_port"]), b"SUB")
        self._iopub.send([b"\x01"])  # subscribe to every topic (ZMTP 3.0's subscription)
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks = [
            asyncio.create_task(self._read_replies()),
            asyncio.create_task(self._control.drain()),
        ]
        self.dropped = 0

    def request(self, msg_type: str, content: dict[str, Any], *, control: bool = False) -> str:
        """Sends a request on shell (or control); returns its message id."""
        message = self._session.msg(msg_type, content)
        frames = self._session.serialize(message)
        (self._control if control else self._shell).send(frames)
        return str(message["header"]["msg_id"])

    def reply(self, msg_id: str) -> asyncio.Future[dict[str, Any]]:
        """The future shell reply to the request `msg_id` (ask before awaiting anything after
        the request, and `forget` it when done); it fails with `ChannelBroken` when the
        connection ends first.
        """
        future = self._replies[msg_id] = asyncio.get_running_loop().create_future()
        return future

    def forget(self, msg_id: str) -> None:
        """Stops waiting for the reply to `msg_id`."""
        future = self._replies.pop(msg_id, None)
        if future is not None:
            future.cancel()

    async def _read_replies(self) -> None:
        """Reads shell replies, hands over the ones asked for and drops the rest."""
        try:
            while True:
                frames = await self._shell.receive()
                if frames is None or not self._replies:
                    continue
                message = self._parse(frames)
                if message is None:
                    self.dropped += 1
                    continue
                future = self._replies.pop(str(message["parent_header"].get("msg_id")), None)
                if future is not None and not future.done():
                    future.set_result(message)
        except ChannelBroken as broken:
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(broken)
                    future.exception()  # retrieved: nobody may await it any more

    async def output(self) -> dict[str, Any]:
        """The next well-formed message the kernel publishes on iopub; raises `ChannelBroken`
        when the connection ends.
        """
        while True:
            frames = await self._iopub.receive()
            message = None if frames is None else self._parse(frames)
            if message is not None:
                return message
            self.dropped += 1

    def _parse(self, frames: list[bytes]) -> dict[str, Any] | None:
        """The message `frames` hold, its dates left as text (jupyter_client's `deserialize`
        parses every date of every message, which the host never reads); None for a
        malformed or wrongly signed one.
        """
        try:
            signature, *signed = frames[frames.index(DELIMITER) + 1 :][:5]
            if len(signed) < 4 or not hmac.compare_digest(signature, self._session.sign(signed)):
                return None
            fields = ("header", "parent_header", "metadata", "content")
            message: dict[str, Any] = {
                name: json.loads(part) for name, part in zip(fields, signed, strict=True)
            }
        except Exception:  # anything malformed: layout, JSON
            return None
        if not all(isinstance(message[name], dict) for name in fields):
            return None
        message["msg_type"] = message["header"].get("msg_type")
        return message if isinstance(message["msg_type"], str) else None

    def close(self) -> None:
        """Closes the connections, dropping whatever is still queued."""
        for task in self._tasks:
            task.cancel()
        for connection in (self._shell, self._control, self._iopub):
            connection.close()


class _Connection:
    """One ZMTP 3.0 connection (NULL mechanism) to a kernel's socket at `path`, opened in
    the background on creation; what is sent before it is open waits.
    """

    def __init__(self, path: str, socket_type: bytes) -> None:
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: list[bytes] = []
        self._opening = asyncio.create_task(self._open(path, socket_type))

    async def _open(self, path: str, socket_type: bytes) -> asyncio.StreamReader:
        reader, writer = await asyncio.open_unix_connection(sock=await _connected(path))
        ready = b"\x05READY" + _property(b"Socket-Type", socket_type)
        writer.write(_GREETING + _frame(ready, _COMMAND))
        try:
            greeting = await reader.readexactly(len(_GREETING))
            if greeting[0] != 0xFF or greeting[9] & 1 != 1 or greeting[10] < 3:
                raise ChannelBroken("the kernel's socket does not speak ZMTP 3")
            if greeting[12:32].rstrip(b"\0") != b"NULL":
                raise ChannelBroken("the kernel's socket asks for a security mechanism")
            flags, size = await _header(reader)
            if not flags & _COMMAND or size > _MAX_COMMAND_BYTES:
                raise ChannelBroken("the kernel's socket sent no READY command")
            if not (await reader.readexactly(size)).startswith(b"\x05READY"):
                raise ChannelBroken("the kernel's socket refused the connection")
        except (OSError, asyncio.IncompleteReadError) as error:
            writer.close()
            message = f"the kernel's socket closed during the handshake: {error}"
            raise ChannelBroken(message) from None
        for data in self._waiting:
            writer.write(data)
        self._waiting.clear()
        self._writer = writer
        return reader

    def send(self, frames: list[bytes]) -> None:
        """Sends one message (now, or once the connection is open)."""
        last = len(frames) - 1
        data = b"".join(_frame(frame, 0 if i == last else _MORE) for i, frame in enumerate(frames))
        if self._writer is None:
            self._waiting.append(data)
        else:
            self._writer.write(data)

    async def receive(self) -> list[bytes] | None:
        """The next message's frames; None for a message over the bounds (read and dropped).
        Raises `ChannelBroken` when the connection ends or breaks the protocol.
        """
        reader = await asyncio.shield(self._opening)  # a caller that gives up stops no open
        frames: list[bytes] = []
        size, dropped = 0, False
        try:
            while True:
                flags, length = await _header(reader)
                if flags & _COMMAND:  # e.g. a heartbeat PING: nothing the host answers
                    if frames or dropped or length > _MAX_COMMAND_BYTES:
                        raise ChannelBroken("the kernel sent a malformed command")
                    await reader.readexactly(length)
                    continue
                if dropped or len(frames) == MAX_FRAMES or length > MAX_MESSAGE_BYTES - size:
                    dropped = True
                    await _skip(reader, length)
                else:
                    frames.append(await reader.readexactly(length))
                    size += length
                if not flags & _MORE:
                    return None if dropped else frames
        except (OSError, asyncio.IncompleteReadError) as error:
            raise ChannelBroken(f"the kernel's connection ended: {error}") from None

    async def drain(self) -> None:
        """Reads and drops every message (the replies nobody awaits) until the connection
        ends.
        """
        with contextlib.suppress(ChannelBroken):
            while True:
                await self.receive()

    def close(self) -> None:
        """Closes the connection (or stops opening it)."""
        self._opening.cancel()
        if self._writer is not None:
            self._writer.close()


async def _connected(path: str) -> socket.socket:
    """A socket connected to the unix socket `path`, tried every `_RETRY_S` until something
    listens there (a plain non-blocking connect: less than half the CPU of an attempt
    through asyncio's streams).
    """
    while True:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.setblocking(False)
        try:
            connection.connect(path)
        except OSError:  # not bound yet (or its queue of connections is full)
            connection.close()
            await asyncio.sleep(_RETRY_S)
        else:
            return connection


def _frame(body: bytes, flags: int) -> bytes:
    if len(body) > 255:
        return struct.pack(">BQ", flags | _LONG, len(body)) + body
    return struct.pack(">BB", flags, len(body)) + body


def _property(name: bytes, value: bytes) -> bytes:
    return struct.pack(">B", len(name)) + name + struct.pack(">I", len(value)) + value


async def _header(reader: asyncio.StreamReader) -> tuple[int, int]:
    """A frame's flags and size."""
    flags = (await reader.readexactly(1))[0]
    if flags & _LONG:
        return flags, int.from_bytes(await reader.readexactly(8), "big")
    return flags, (await reader.readexactly(1))[0]


async def _skip(reader: asyncio.StreamReader, length: int) -> None:
    """Reads `length` bytes and drops them, a chunk at a time."""
    while length > 0:
        chunk = await reader.read(min(length, _CHUNK))
        if not chunk:
            raise asyncio.IncompleteReadError(b"", length)
        length -= len(chunk)

"""Kernel channels and the start handshake, against a stand-in kernel of real ZMQ sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
import zmq
import zmq.asyncio
from harmony_agent.sandbox._channels import KernelChannels, connection_info
from harmony_agent.sandbox._kernel import Kernel
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.session import Session

KEY = "a-test-key"


@dataclass
class StandIn:
    """The kernel's side: shell and iopub sockets bound where the channels connect."""

    connection: KernelConnectionInfo
    session: Session
    shell: zmq.asyncio.Socket
    iopub: zmq.asyncio.Socket

    async def subscribed(self) -> None:
        """Waits for the host's subscription (what ipykernel welcomes)."""
        assert (await self.iopub.recv())[:1] == b"\x01"

    def publish(self, execution_state: str, parent: dict[str, Any] | None = None) -> None:
        self.session.send(self.iopub, "status", {"execution_state": execution_state}, parent=parent)

    async def request(self) -> dict[str, Any]:
        _, frames = self.session.feed_identities(await self.shell.recv_multipart())
        return self.session.deserialize(frames)


@pytest_asyncio.fixture
async def kernel(tmp_path: Path) -> AsyncIterator[StandIn]:
    context = zmq.asyncio.Context()
    shell, iopub = context.socket(zmq.ROUTER), context.socket(zmq.XPUB)
    shell.bind(f"ipc://{tmp_path}/k-1")
    iopub.bind(f"ipc://{tmp_path}/k-2")
    yield StandIn(connection_info(str(tmp_path), KEY), Session(key=KEY.encode()), shell, iopub)
    context.destroy(linger=0)


async def test_the_starting_status_completes_the_handshake(kernel: StandIn) -> None:
    channels = KernelChannels(kernel.connection)
    try:
        handshake = asyncio.create_task(Kernel._handshake(channels))
        await kernel.subscribed()
        kernel.publish("starting")
        await asyncio.wait_for(handshake, 5)
        asked = await kernel.shell.poll(200)
        assert not asked, "no kernel info was asked for"
    finally:
        channels.close()


async def test_a_missed_start_is_made_up_for_by_kernel_info(kernel: StandIn) -> None:
    kernel.publish("starting")  # before anyone subscribed: lost
    channels = KernelChannels(kernel.connection)
    try:
        handshake = asyncio.create_task(Kernel._handshake(channels))
        await kernel.subscribed()
        request = await asyncio.wait_for(kernel.request(), 5)
        assert request["msg_type"] == "kernel_info_request"
        kernel.publish("idle", parent=request)
        await asyncio.wait_for(handshake, 5)
    finally:
        channels.close()


async def test_requests_sent_before_the_kernel_binds_arrive(tmp_path: Path) -> None:
    channels = KernelChannels(connection_info(str(tmp_path), KEY))
    context = zmq.asyncio.Context()
    try:
        sent = channels.request("execute_request", {"code": "1 + 1"})
        control = channels.request("interrupt_request", {}, control=True)
        await asyncio.sleep(0.05)  # the kernel binds later; the channels keep trying
        shell, control_socket = context.socket(zmq.ROUTER), context.socket(zmq.ROUTER)
        shell.bind(f"ipc://{tmp_path}/k-1")
        control_socket.bind(f"ipc://{tmp_path}/k-4")
        session = Session(key=KEY.encode())
        for socket, msg_id in ((shell, sent), (control_socket, control)):
            _, frames = session.feed_identities(await asyncio.wait_for(socket.recv_multipart(), 1))
            assert session.deserialize(frames)["header"]["msg_id"] == msg_id
    finally:
        channels.close()
        context.destroy(linger=0)

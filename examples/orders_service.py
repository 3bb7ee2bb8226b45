"""A tiny orders service, and its client: the system under test of the demo.

The service speaks newline-delimited JSON over TCP.
A client first logs in, which takes a while (``--login-delay``, 0.5 s), like an
OAuth round trip or a password hash does; then it submits orders with ids of its
choosing.  The service answers at once with ``"pending"`` and settles the order
about one second later (``--delay``): ``"done"`` with its total, or
``"rejected"`` when the item is not in stock.  Clients learn the outcome by
polling the order's status, like the system tests of many real services do.

Run it by hand (Ctrl-C stops it)::

    python examples/orders_service.py --port 8765

Tests start it as a separate process with ``ServiceProcess`` and talk to it with
``OrdersClient``.  Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
from typing import Any

PRICES = {"book": 12.50, "pen": 1.20, "lamp": 30.00, "mug": 7.90}
USERS = {"demo": "secret"}


class OrdersService:
    """The service: orders in memory, each settled *delay* seconds after submission."""

    def __init__(self, delay: float = 1.0, login_delay: float = 0.5) -> None:
        self.delay = delay
        self.login_delay = login_delay
        self.sessions: set[str] = set()
        self.orders: dict[str, dict[str, Any]] = {}
        self._writers: set[asyncio.StreamWriter] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self._server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on *host*:*port* (0 picks a free port); return the bound address."""
        self._server = await asyncio.start_server(self._serve, host, port)
        return self._server.sockets[0].getsockname()[:2]

    async def close(self) -> None:
        """Stop listening, drop the clients and forget pending settlements."""
        for timer in self._timers:
            timer.cancel()
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                    if request.get("op") == "login":
                        reply = await self.login(request)
                    else:
                        reply = self.handle(request)
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    reply = {"error": f"bad request: {exc}"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def login(self, request: dict[str, Any]) -> dict[str, Any]:
        """Check a user's password, slowly; answer a session token."""
        await asyncio.sleep(self.login_delay)
        if USERS.get(str(request["user"])) != request["password"]:
            return {"error": "wrong user or password"}
        token = os.urandom(8).hex()
        self.sessions.add(token)
        return {"token": token}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request of a logged-in client: ``submit`` or ``status``."""
        if request.get("token") not in self.sessions:
            return {"error": "not logged in"}
        op = request["op"]
        if op == "submit":
            order_id = str(request["id"])
            if order_id in self.orders:
                return {"error": f"duplicate order id {order_id!r}"}
            quantity = int(request.get("quantity", 1))
            if quantity < 1:
                return {"error": f"quantity must be >= 1, got {quantity}"}
            self.orders[order_id] = {
                "id": order_id,
                "item": str(request["item"]),
                "quantity": quantity,
                "status": "pending",
            }
            loop = asyncio.get_running_loop()
            self._timers.append(loop.call_later(self.delay, self._settle, order_id))
            return dict(self.orders[order_id])
        if op == "status":
            order = self.orders.get(str(request["id"]))
            if order is None:
                return {"id": request["id"], "status": "unknown"}
            return dict(order)
        return {"error": f"unknown op {op!r}"}

    def _settle(self, order_id: str) -> None:
        order = self.orders[order_id]
        price = PRICES.get(order["item"])
        if price is None:
            order.update(status="rejected", reason=f"{order['item']!r} is out of stock")
        else:
            order.update(status="done", total=round(price * order["quantity"], 2))


class OrdersClient:
    """One connection to the service, logged in once, usable by concurrent tasks.

    Requests are answered in order, so one request at a time goes over the
    connection; tasks that share the client take turns (``_turn``).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._turn = asyncio.Lock()
        self.token: str | None = None

    @classmethod
    async def connect(cls, host: str, port: int) -> OrdersClient:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def login(self, user: str, password: str) -> None:
        self.token = (await self.request(op="login", user=user, password=password))["token"]

    async def request(self, **message: Any) -> dict[str, Any]:
        if self.token is not None:
            message["token"] = self.token
        async with self._turn:
            self._writer.write(json.dumps(message).encode() + b"\n")
            await self._writer.drain()
            line = await self._reader.readline()
        if not line:
            raise ConnectionError("the orders service closed the connection")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    async def submit(self, order_id: str, item: str, quantity: int = 1) -> dict[str, Any]:
        return await self.request(op="submit", id=order_id, item=item, quantity=quantity)

    async def status(self, order_id: str) -> dict[str, Any]:
        return await self.request(op="status", id=order_id)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


class ServiceProcess:
    """The service in a child process, for a test module's fixtures.

    The child exits when its stdin closes, so it does not outlive the tests,
    even when they are killed.
    """

    def __init__(self, delay: float = 1.0, login_delay: float = 0.5) -> None:
        self.delay = delay
        self.login_delay = login_delay
        self.address: tuple[str, int] | None = None
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> tuple[str, int]:
        command = [sys.executable, os.path.abspath(__file__), "--port", "0"]
        command += ["--delay", str(self.delay), "--login-delay", str(self.login_delay)]
        command += ["--exit-on-eof"]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        banner = self._process.stdout.readline()  # "listening on HOST:PORT"
        if not banner.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the orders service did not start: {banner!r}")
        host, port = banner.split()[-1].rsplit(":", 1)
        self.address = (host, int(port))
        return self.address

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


async def _main(port: int, delay: float, login_delay: float, exit_on_eof: bool) -> None:
    service = OrdersService(delay, login_delay)
    host, port = await service.start(port=port)
    print(f"listening on {host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def wait_for_eof() -> None:
        # The parent closes our stdin (or dies): time to go.
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    if exit_on_eof:
        threading.Thread(target=wait_for_eof, daemon=True).start()
    try:
        await stop.wait()
    finally:
        await service.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds to settle an order")
    parser.add_argument("--login-delay", type=float, default=0.5, help="seconds to log in")
    parser.add_argument("--exit-on-eof", action="store_true", help="stop when stdin closes")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.port, args.delay, args.login_delay, args.exit_on_eof))

"""A local stand-in for the Bot API over HTTP, for running `liaison run` as a real process.

It listens on 127.0.0.1 only. ``getUpdates`` behaves as Telegram's does: updates are
kept until a later call confirms them with a higher ``offset``, and a long poll waits
until one is queued or its timeout passes. Every call is recorded (through the same
``RecordingRequest`` the in-process tests read), and the other methods answer with its
minimal valid results: getMe, sendMessage, editMessageText, answerCallbackQuery,
setMyCommands, deleteWebhook, setWebhook, getFile and file downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from liaison.bot.sandbox.fake_telegram import Call, RecordingRequest

MAX_BATCH = 100


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _value(raw: str) -> Any:
    """Form fields carry JSON for anything but plain strings (PTB's encoding)."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class FakeBotApi:
    """The HTTP Bot API on 127.0.0.1: feed it updates, read what the bot called."""

    def __init__(self) -> None:
        self.recording = RecordingRequest()
        self.queue: list[dict[str, Any]] = []
        self.confirmed: set[int] = set()
        self._arrived = asyncio.Event()
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    # Feeding and reading ---------------------------------------------------------------
    def feed(self, updates: Sequence[Mapping[str, Any]]) -> None:
        """Queues updates for getUpdates, in update_id order."""
        self.queue.extend(dict(update) for update in updates)
        self.queue.sort(key=lambda update: int(update["update_id"]))
        self._arrived.set()

    def calls(self, method: str) -> list[Call]:
        return [call for call in self.recording.calls if call.method == method]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # The HTTP side -----------------------------------------------------------------------
    async def _params(self, request: Request) -> dict[str, Any]:
        """Query string and body: urlencoded form (what PTB sends without files) or JSON.

        Uploads (multipart) are recorded without their fields.
        """
        params: dict[str, Any] = {k: _value(v) for k, v in request.query_params.items()}
        kind = request.headers.get("content-type", "")
        body = await request.body()
        if kind.startswith("application/json") and body:
            loaded = json.loads(body)
            params.update(loaded if isinstance(loaded, dict) else {})
        elif kind.startswith("application/x-www-form-urlencoded"):
            text = body.decode("utf-8")
            params.update({k: _value(v) for k, v in parse_qsl(text, keep_blank_values=True)})
        return params

    async def _method(self, request: Request) -> Response:
        method = request.path_params["method"]
        params = await self._params(request)
        call = Call(method, params)
        self.recording.calls.append(call)
        if method == "getUpdates":
            return JSONResponse({"ok": True, "result": await self._updates(params)})
        return JSONResponse({"ok": True, "result": self.recording._result(method, params)})

    async def _updates(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset")
        if offset is not None:
            confirmed = [u for u in self.queue if int(u["update_id"]) < int(offset)]
            self.confirmed.update(int(u["update_id"]) for u in confirmed)
            self.queue = [u for u in self.queue if int(u["update_id"]) >= int(offset)]
        if not self.queue:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), float(params.get("timeout") or 0))
        return self.queue[: int(params.get("limit") or MAX_BATCH)]

    async def _file(self, request: Request) -> Response:
        content = self.recording.files.get(request.path_params["path"])
        if content is None:
            return Response("Not Found", status_code=404)
        return Response(content)

    def asgi(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )

    # Lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Listens on a free port of 127.0.0.1."""
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            self.asgi(), log_config=None, access_log=False, lifespan="off", timeout_keep_alive=30
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._arrived.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            await self._task
        if self._socket is not None:
            self._socket.close()

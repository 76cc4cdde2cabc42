"""A recording stand-in for the Bot API transport, used by the tests and the offline demo.

It subclasses python-telegram-bot's BaseRequest, so the whole library runs as in
production: only the HTTP exchange is replaced. It records every call with its
parameters, answers with minimal valid results, and can be told to fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

BOT_ID = 7000000001
BOT_USERNAME = "liaison_test_bot"
FAKE_TOKEN = f"{BOT_ID}:TEST-TOKEN-not-a-real-secret-xxxxxxxx"
FIXED_DATE = 1_700_000_000


class Fault(StrEnum):
    RETRY_AFTER = "retry_after"  # 429 with parameters.retry_after
    FORBIDDEN = "forbidden"  # 403: the user blocked the bot
    CHAT_NOT_FOUND = "chat_not_found"  # 400
    SERVER_ERROR = "server_error"  # 502
    TIMEOUT = "timeout"  # no answer in time; the message may or may not have gone out
    MIGRATED = "migrated"  # 400 with parameters.migrate_to_chat_id
    NOT_MODIFIED = "not_modified"  # 400: an edit to the same content (a double tap)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    fault: Fault | None = None
    # Files uploaded with the call (sendDocument ...): field name → (file name, bytes).
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class _PlannedFault:
    fault: Fault
    method: str | None
    chat_id: int | None
    times: int
    retry_after: int
    migrate_to: int


@dataclass
class RecordingRequest(BaseRequest):
    bot_id: int = BOT_ID
    username: str = BOT_USERNAME
    calls: list[Call] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    # What getFile reports as a file's size, when a test wants it to differ from the bytes
    # (None: no size at all, as Telegram sometimes answers).
    file_sizes: dict[str, int | None] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    on_call: Callable[[Call], None] | None = None
    _faults: list[_PlannedFault] = field(default_factory=list)
    _next_message_id: int = 1000

    # BaseRequest hooks -------------------------------------------------------------
    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if "/file/bot" in url:
            path = url.split("/file/bot", 1)[1].split("/", 1)[1]
            if path in self.files:
                return 200, self.files[path]
            return 404, b"Not Found"
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        planned = self._take_fault(name, params.get("chat_id"))
        call = Call(name, params, planned.fault if planned else None, _uploads(request_data))
        self.calls.append(call)
        if self.on_call is not None:
            self.on_call(call)
        if planned is not None:
            return self._fault_response(planned)
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    # Fault injection ----------------------------------------------------------------
    def fail(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int = 3,
        migrate_to: int = -1001234567890,
    ) -> None:
        """Makes the next ``times`` matching calls fail with ``fault``."""
        self._faults.append(_PlannedFault(fault, method, chat_id, times, retry_after, migrate_to))

    def _take_fault(self, method: str, chat_id: Any) -> _PlannedFault | None:
        for planned in self._faults:
            if planned.method not in (None, method):
                continue
            if planned.chat_id is not None and str(planned.chat_id) != str(chat_id):
                continue
            planned.times -= 1
            if planned.times <= 0:
                self._faults.remove(planned)
            return planned
        return None

    @staticmethod
    def _fault_response(planned: _PlannedFault) -> tuple[int, bytes]:
        if planned.fault is Fault.TIMEOUT:
            raise TimedOut("fake transport: timed out")
        code, description, parameters = {
            Fault.RETRY_AFTER: (
                429,
                f"Too Many Requests: retry after {planned.retry_after}",
                {"retry_after": planned.retry_after},
            ),
            Fault.FORBIDDEN: (403, "Forbidden: bot was blocked by the user", None),
            Fault.CHAT_NOT_FOUND: (400, "Bad Request: chat not found", None),
            Fault.NOT_MODIFIED: (
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
                None,
            ),
            Fault.SERVER_ERROR: (502, "Bad Gateway", None),
            Fault.MIGRATED: (
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": planned.migrate_to},
            ),
        }[planned.fault]
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return code, json.dumps(body).encode()

    # Results ----------------------------------------------------------------------------
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Liaison",
            "username": self.username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        self._next_message_id += 1
        chat_id = int(params.get("chat_id", 0))
        message = {
            "message_id": int(params.get("message_id", self._next_message_id)),
            "date": FIXED_DATE,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self.bot_user(),
        }
        message.update(extra)
        return message

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return self.bot_user()
        if method in ("sendMessage", "editMessageText"):
            return self._message(params, text=params.get("text", ""))
        if method in ("sendDocument", "sendPhoto", "sendVoice", "sendMediaGroup"):
            return self._message(params, caption=params.get("caption", ""))
        if method == "getFile":
            file_id = str(params.get("file_id"))
            content = self.files.get(f"files/{file_id}", b"")
            result = {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": self.file_sizes.get(file_id, len(content)),
                "file_path": f"files/{file_id}",
            }
            return {key: value for key, value in result.items() if value is not None}
        if method == "getUpdates":
            pending, self.updates = self.updates, []
            return pending
        if method == "getMyCommands":
            return []
        return True

    # Reading what was sent -------------------------------------------------------------
    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method and not call.fault]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [
            str(params.get("text", ""))
            for call in self.calls
            if call.method in ("sendMessage", "editMessageText") and not call.fault
            for params in [call.params]
            if chat_id is None or int(params.get("chat_id", 0)) == chat_id
        ]

    def last_text(self, chat_id: int | None = None) -> str:
        texts = self.texts(chat_id)
        if not texts:
            raise AssertionError("the bot sent no text")
        return texts[-1]

    def documents(self, chat_id: int | None = None) -> list[tuple[str, bytes]]:
        """Documents sent (to one chat), as (file name, bytes), in order."""
        return [
            upload
            for call in self.calls
            if call.method == "sendDocument" and not call.fault
            if chat_id is None or int(call.params.get("chat_id", 0)) == chat_id
            for upload in call.uploads.values()
        ]

    def clear(self) -> None:
        self.calls.clear()


def _uploads(request_data: RequestData | None) -> dict[str, tuple[str, bytes]]:
    if request_data is None or not request_data.contains_files:
        return {}
    found: dict[str, tuple[str, bytes]] = {}
    for name, (file_name, content, _mime) in request_data.multipart_data.items():
        data = content if isinstance(content, bytes) else content.read()
        found[name] = (file_name or name, data)
    return found

"""Builders of realistic updates, parsed by python-telegram-bot exactly as real ones are."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from telegram import Bot, Update

FIXED_DATE = 1_700_000_000


@dataclass(frozen=True)
class FakeUser:
    id: int
    first_name: str = "Test"
    language_code: str | None = "zh-hans"
    username: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        if self.username:
            data["username"] = self.username
        return data


class UpdateFactory:
    """Makes updates with unique ids; each method returns a parsed telegram.Update."""

    def __init__(self, bot: Bot, start_id: int = 10_000) -> None:
        self.bot = bot
        self._update_ids = itertools.count(start_id)
        self._message_ids = itertools.count(1)

    def _chat(self, user: FakeUser) -> dict[str, Any]:
        return {"id": user.id, "type": "private", "first_name": user.first_name}

    def _message(self, user: FakeUser, **fields: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": FIXED_DATE,
            "chat": self._chat(user),
            "from": user.as_dict(),
            **fields,
        }

    def _update(self, **payload: Any) -> Update:
        update = Update.de_json({"update_id": next(self._update_ids), **payload}, self.bot)
        assert update is not None
        return update

    def text(self, user: FakeUser, text: str) -> Update:
        return self._update(message=self._message(user, text=text))

    def command(self, user: FakeUser, text: str, *, bot_username: str | None = None) -> Update:
        """A command with its bot_command entity; bot_username makes "/cmd@bot args"."""
        command, _, rest = text.partition(" ")
        if bot_username:
            command = f"{command}@{bot_username}"
        full = f"{command} {rest}".rstrip() if rest else command
        entity = {"type": "bot_command", "offset": 0, "length": len(command)}
        return self._update(message=self._message(user, text=full, entities=[entity]))

    def contact(
        self,
        user: FakeUser,
        phone: str,
        *,
        contact_user_id: int | None = None,
        first_name: str = "Contact",
    ) -> Update:
        contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
        if contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return self._update(message=self._message(user, contact=contact))

    def edited(self, user: FakeUser, text: str, message_id: int = 1) -> Update:
        message = self._message(user, text=text, edit_date=FIXED_DATE + 60)
        message["message_id"] = message_id
        return self._update(edited_message=message)

    def forwarded(self, user: FakeUser, text: str, origin_name: str = "Someone") -> Update:
        origin = {"type": "hidden_user", "sender_user_name": origin_name, "date": FIXED_DATE}
        return self._update(message=self._message(user, text=text, forward_origin=origin))

    def callback(self, user: FakeUser, data: str, *, message_id: int = 1) -> Update:
        message = {
            "message_id": message_id,
            "date": FIXED_DATE,
            "chat": self._chat(user),
            "from": {"id": 1, "is_bot": True, "first_name": "Liaison"},
            "text": "…",
        }
        query = {
            "id": str(next(self._update_ids)),
            "from": user.as_dict(),
            "chat_instance": f"ci-{user.id}",
            "data": data,
            "message": message,
        }
        return self._update(callback_query=query)

    def document(
        self,
        user: FakeUser,
        *,
        file_id: str,
        file_name: str,
        mime_type: str,
        size: int | None,
        caption: str | None = None,
    ) -> Update:
        """A document; ``size=None`` leaves the size out, as Telegram sometimes does."""
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
        }
        if size is not None:
            document["file_size"] = size
        fields: dict[str, Any] = {"document": document}
        if caption:
            fields["caption"] = caption
        return self._update(message=self._message(user, **fields))

    def photo(self, user: FakeUser, *, file_id: str, size: int, group: str | None = None) -> Update:
        sizes = [
            {
                "file_id": f"{file_id}-s",
                "file_unique_id": f"u-{file_id}-s",
                "width": 90,
                "height": 90,
                "file_size": size // 10,
            },
            {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "width": 1280,
                "height": 960,
                "file_size": size,
            },
        ]
        fields: dict[str, Any] = {"photo": sizes}
        if group:
            fields["media_group_id"] = group
        return self._update(message=self._message(user, **fields))

    def voice(self, user: FakeUser, *, file_id: str, duration: int, size: int) -> Update:
        voice = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": size,
        }
        return self._update(message=self._message(user, voice=voice))

    def group_text(self, user: FakeUser, text: str, chat_id: int = -100200300) -> Update:
        chat = {"id": chat_id, "type": "supergroup", "title": "A group"}
        message = {
            "message_id": next(self._message_ids),
            "date": FIXED_DATE,
            "chat": chat,
            "from": user.as_dict(),
            "text": text,
        }
        return self._update(message=message)

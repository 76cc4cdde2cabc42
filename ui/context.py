"""The typed context and bot_data every handler receives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from liaison.services.clock import Clock
from liaison.services.exports.desk import ExportDesk
from liaison.services.people import Actor
from liaison.storage.database import Database
from liaison.ui.downloads import Downloader
from liaison.ui.i18n import Translator, translator


class BotData:
    """Live services shared by handlers; set once when the Application is built, never pickled.

    Handlers see only this: no settings object, no sender, nothing of the composition root.
    """

    db: Database
    clock: Clock
    data_dir: Path
    default_locale: str
    default_phone_region: str
    # One export at a time per process (handlers/exports.py and the e-mail sender).
    exports: ExportDesk
    # Whether an SMTP server is configured, so exports can be offered by e-mail.
    mail_enabled: bool = False
    downloader: Downloader


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """Carries the actor and translator the guard resolved for this update."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.actor: Actor | None = None
        self.t: Translator = translator(self.bot_data.default_locale)

    @property
    def db(self) -> Database:
        return self.bot_data.db

    @property
    def clock(self) -> Clock:
        return self.bot_data.clock

    @property
    def data_dir(self) -> Path:
        return self.bot_data.data_dir

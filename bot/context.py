"""The typed context and bot_data every handler receives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Translator, translator
from bot.settings import Settings
from services.clock import Clock
from services.people import Actor
from storage.database import Database

if TYPE_CHECKING:
    from bot.dispatcher import Dispatcher


class BotData:
    """Live services shared by handlers; set once in build_application, never pickled."""

    settings: Settings
    db: Database
    clock: Clock
    dispatcher: Dispatcher


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
        self.t: Translator = translator(self.bot_data.settings.default_locale)

    @property
    def db(self) -> Database:
        return self.bot_data.db

    @property
    def clock(self) -> Clock:
        return self.bot_data.clock

    @property
    def settings(self) -> Settings:
        return self.bot_data.settings


BotApplication = Application[ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any]

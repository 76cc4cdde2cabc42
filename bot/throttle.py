"""A token bucket per Telegram user, in front of the guard (group -2): floods are dropped.

A stranger once sent 300 ``/start CODE`` guesses in 16 seconds; each was answered and
audited, eating the bot's shared send budget (about 30 messages a second for everyone).
Every user, stranger or not, now has a bucket of BURST updates that refills at RATE per
second: a person typing, tapping buttons or sending an album of ten photos never meets
it; a script does at once. An update over the limit is dropped without an answer, except
for one "please slow down" per NOTICE_EVERY, in the reader's language.

The numbers are constants of the composition root, not settings: they bound what one
account can cost the installation, which is the same for every programme. The buckets
live in this process's memory (a restart refills them); each instance of a multi-instance
deployment keeps its own, which at worst multiplies the rate by the number of instances.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from liaison.handlers.replies import reply
from liaison.services.clock import Clock
from liaison.services.people import load_actor
from liaison.ui.context import BotContext
from liaison.ui.i18n import choose_locale, translator

log = logging.getLogger(__name__)

BURST = 20.0
RATE = 0.5  # updates a second, sustained: thirty a minute
NOTICE_EVERY = timedelta(minutes=1)
MAX_TRACKED = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float  # seconds, on the clock's timeline
    noticed_at: float | None = None


class Throttle:
    """Token buckets by user id, on the application's clock (a fake one in tests)."""

    def __init__(
        self,
        clock: Clock,
        *,
        burst: float = BURST,
        rate: float = RATE,
        notice_every: timedelta = NOTICE_EVERY,
    ) -> None:
        self.clock, self.burst, self.rate = clock, burst, rate
        self.notice_every = notice_every.total_seconds()
        self._buckets: dict[int, _Bucket] = {}

    def take(self, user_id: int) -> tuple[bool, bool]:
        """Takes a token for one update: (allowed, tell the user to slow down)."""
        now = self.clock.now().timestamp()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._forget_idle(now)
            bucket = self._buckets[user_id] = _Bucket(self.burst, now)
        elapsed = max(0.0, now - bucket.at)
        bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True, False
        if bucket.noticed_at is not None and now - bucket.noticed_at < self.notice_every:
            return False, False
        bucket.noticed_at = now
        return False, True

    def reset(self) -> None:
        self._buckets.clear()

    def _forget_idle(self, now: float) -> None:
        """Drops buckets that have filled up again: their users are not flooding now."""
        self._buckets = {
            user: bucket
            for user, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self.rate < self.burst
        }


def throttle_handler(throttle: Throttle) -> Any:
    async def limit(update: Update, context: BotContext) -> None:
        """Lets an update through if its sender has a token; drops it quietly otherwise."""
        user = update.effective_user
        if user is None:
            return
        allowed, notice = throttle.take(user.id)
        if allowed:
            return
        log.info("update %s from user %s dropped: over the rate limit", update.update_id, user.id)
        if notice:
            await _slow_down(update, context, user.id, user.language_code)
        raise ApplicationHandlerStop

    return limit


async def _slow_down(
    update: Update, context: BotContext, user_id: int, language_code: str | None
) -> None:
    """Asks once per window, in the reader's language, to slow down."""
    actor = await load_actor(context.db, user_id)
    t = translator(
        choose_locale(
            actor.locale if actor else None,
            language_code,
            actor.programme_locale if actor else None,
            context.bot_data.default_locale,
        )
    )
    text = t(
        "You are sending messages faster than I can answer them, so I skipped some. "
        "Please wait a minute, then send again."
    )
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None and update.message is not None:
        await reply(update, text)

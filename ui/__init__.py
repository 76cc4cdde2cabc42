"""What handlers and the outbox sender share: translator, typed context, texts, buttons."""

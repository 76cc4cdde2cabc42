"""Phone numbers normalised to E.164, so "+86 138-0000-1234" and "13800001234" match."""

from __future__ import annotations


def normalise_phone(raw: str, default_region: str = "CN") -> str | None:
    """Returns the E.164 form, or None when the text is not a plausible phone number.

    Telegram sends contacts as bare digits with the country code ("8613800001234"), so a
    number without "+" is tried as international first, then as local to the default region.
    """
    import phonenumbers  # slow to load (its metadata); only enrolment and rosters need it

    text = raw.strip()
    if not text:
        return None
    candidates = [text] if text.startswith("+") else [f"+{text}", text]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return None

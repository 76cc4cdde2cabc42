"""E-mail addresses as the roster writes them: checked once, stored in one form."""

from __future__ import annotations

import re

# A practical check, not RFC 5322 in full: one @, a local part without spaces, and a
# domain of dot-separated labels ending in a top-level domain (Unicode domains allowed).
_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$", re.UNICODE)


def normalise_email(text: str) -> str | None:
    """The address with its domain in lower case, or None when it is not an address."""
    candidate = text.strip().strip("<>").strip()
    local, at, domain = candidate.rpartition("@")
    if not at or not local or not domain or len(candidate) > 254:
        return None
    if not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    labels = domain.lower().split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    if labels[-1].isdigit() or "_" in domain:
        return None
    return f"{local}@{'.'.join(labels)}"

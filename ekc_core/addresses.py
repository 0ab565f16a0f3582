"""A citizen's written-channel addresses: e-mail and messenger / social-network ids.

Gateways send the sender as they see it ("Ivan.Petrov@Mail.ru", "vk.com/id123",
"tg:@ivan_petrov"); a citizen's card keeps the same forms. Both are compared folded:
trimmed and in lower case (mail systems and the networks ignore case).
"""

from __future__ import annotations

import re

from ekc_core.enums import Channel

#: an address typed to look a citizen up: one "@" with a dotted domain, no scheme or path
_EMAIL = re.compile(r"^[^@\s:/]+@[^@\s:/]+\.[^@\s:/.]+$")
MESSENGER_MAX = 200


def looks_like_email(text: str) -> bool:
    """Whether what the operator typed (or a gateway sent) is an e-mail address."""
    return bool(_EMAIL.match(text.strip()))


_BRACKETED = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def address_key(text: str) -> str:
    """How addresses are stored and compared: trimmed, lower case; «Иван <a@b.ru>» as
    mail headers write it is its address."""
    bracketed = _BRACKETED.search(text)
    return (bracketed.group(1) if bracketed else text).strip().lower()


def sender_kind(channel: Channel, sender: str | None) -> str | None:
    """Which of a citizen's fields a contact's sender can be found in: "email" on the
    e-mail channel (or any address that is one), "messenger" on the other written
    channels, None for calls and for no sender."""
    if not sender or not sender.strip() or channel in (Channel.phone, Channel.video):
        return None
    if channel == Channel.email or looks_like_email(address_key(sender)):
        return "email"
    return "messenger"


def email_of(sender: str | None) -> str | None:
    """The e-mail address in a sender («Анна <anna@mail.ru>» → anna@mail.ru), or None."""
    if not sender:
        return None
    key = address_key(sender)
    return key if looks_like_email(key) else None

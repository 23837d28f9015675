"""The spam list: rules kept by staff (sender, sender domain, subject, a header) and the one
function that says whether a received message matches one of them.

Matching ignores letter case and surrounding white space; a header rule is tried against
every occurrence of the header (a message may carry several, and a sender can put a
harmless one first). A sender domain rule also catches its subdomains.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from email.message import Message as EmailMessage
from email.utils import parseaddr

from django.db.models import F

from support.models import SpamRule

Kind = SpamRule.Kind

# On every installation (migration 0004) and in the demo: what an upstream filter
# (SpamAssassin, rspamd's compatible headers) says about a message it judged spam.
DEFAULT_RULES = [
    (Kind.HEADER_EQUALS, "X-Spam-Flag", "YES",
     "The mail server's spam filter marked the message as spam."),
    (Kind.HEADER_STARTS, "X-Spam-Status", "Yes",
     "SpamAssassin's verdict: \"Yes, score=...\"."),
]


def _folded(value: object) -> str:
    """Text for comparing: letter case, runs of white space and NUL ignored."""
    return " ".join(str(value).replace("\x00", "").split()).casefold()


def _header_values(message: EmailMessage, name: str) -> list[str]:
    """Every occurrence of a header as text; a malformed one is read raw, never raised."""
    try:
        return [str(value) for value in message.get_all(name) or []]
    except Exception:  # the email package raises many kinds on hostile headers
        try:
            return [str(raw) for key, raw in message.raw_items() if key.lower() == name.lower()]
        except Exception:
            return []


def _sender(message: EmailMessage) -> str:
    values = _header_values(message, "From")
    try:
        return _folded(parseaddr(values[0])[1]) if values else ""
    except Exception:  # as hostile as any header; no sender then
        return ""


def _rule_matches(rule: SpamRule, *, sender: str, subject: str,
                  message: EmailMessage) -> bool:
    value = _folded(rule.value)
    if not value:
        return False  # an empty rule would catch everything
    if rule.kind == Kind.SENDER:
        return sender == value
    if rule.kind == Kind.DOMAIN:
        domain, wanted = sender.rpartition("@")[2], value.lstrip("@.")
        return "@" in sender and (domain == wanted or domain.endswith("." + wanted))
    if rule.kind == Kind.SUBJECT:
        return value in subject
    if rule.kind in SpamRule.HEADER_KINDS:
        values = [_folded(found) for found in _header_values(message, rule.header.strip())]
        if rule.kind == Kind.HEADER_EQUALS:
            return value in values
        if rule.kind == Kind.HEADER_STARTS:
            return any(found.startswith(value) for found in values)
        return any(value in found for found in values)
    return False


def spam_match(message: EmailMessage, rules: Iterable[SpamRule]) -> SpamRule | None:
    """The first enabled rule the message matches, in the order given; None when none."""
    sender = _sender(message)
    subjects = _header_values(message, "Subject")
    subject = _folded(subjects[0]) if subjects else ""
    for rule in rules:
        if rule.enabled and _rule_matches(rule, sender=sender, subject=subject,
                                          message=message):
            return rule
    return None


def spam_rules_active() -> list[SpamRule]:
    """The rules ``receive`` applies, in a stable order (the oldest first)."""
    return list(SpamRule.objects.filter(enabled=True).order_by("pk"))


def spam_rule_hit(rule: SpamRule, *, now: datetime) -> None:
    """Count a hit in one statement: concurrent deliveries never lose one."""
    SpamRule.objects.filter(pk=rule.pk).update(hits=F("hits") + 1, last_hit_at=now)


def spam_rules_default(*, now: datetime) -> int:
    """Add the default rules that are missing (one per kind and header); returns how many.
    A default a staff member switched off stays off."""
    added = 0
    for kind, header, value, note in DEFAULT_RULES:
        _rule, created = SpamRule.objects.get_or_create(
            kind=kind, header__iexact=header,
            defaults={"header": header, "value": value, "note": note, "created_at": now})
        added += created
    return added

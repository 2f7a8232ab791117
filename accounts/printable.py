"""The one rule for characters that would not print as typed: line breaks, other control
characters and bidi overrides. A label shows on one line everywhere (top bar, admin, audit
trail) and must read the way it was typed; a user name typed at sign-in is anyone's text
and must not forge a log line of its own."""

from __future__ import annotations

import re

UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def has_unprintable(text: str) -> bool:
    return UNPRINTABLE.search(text) is not None


def one_line(text: str) -> str:
    """``text`` with every unprintable character shown escaped (``\\n``, ``\\u202e``)."""
    return UNPRINTABLE.sub(lambda match: match.group().encode("unicode_escape").decode(), text)

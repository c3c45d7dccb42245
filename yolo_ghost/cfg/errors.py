"""The one exception type for configs that cannot be found, read or built, and the one way to print an error."""

from __future__ import annotations

import re


class ConfigError(ValueError):
    """A model or dataset config that cannot be found or built; the message says what to change."""


def one_line(e: BaseException, typed: bool = False, limit: int | None = None) -> str:
    """An exception's message on one line, without ultralytics' colour codes, emoji and ``ERROR`` tags.

    ``typed=True`` puts the exception type first (``TypeError: ...``), for errors from deep inside torch or
    ultralytics whose message alone does not say what went wrong (an unreadable checkpoint); ``limit`` caps the
    length of the message.
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).replace("❌", "").replace("\ufe0f", "")
    if typed:
        text = text.replace("ERROR", "")
    text = " ".join(text.split())[:limit]
    if not typed:
        return text
    return f"{type(e).__name__}: {text}" if text else type(e).__name__

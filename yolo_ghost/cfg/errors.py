"""The one exception type for configs that cannot be found, read or built."""

from __future__ import annotations


class ConfigError(ValueError):
    """A model or dataset config that cannot be found or built; the message says what to change."""

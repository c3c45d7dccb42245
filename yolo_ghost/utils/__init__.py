"""Helpers every layer may use and that use no other layer: atomic file writes."""

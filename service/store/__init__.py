"""Participant store: the port and its adapters (SQLite is the embedded default)."""

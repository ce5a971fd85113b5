"""Rollcall's server: conferences, participants and their event log."""

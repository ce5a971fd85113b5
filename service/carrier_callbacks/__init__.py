"""Callbacks a carrier sends Rollcall: call progress and conference events (ingest.py)."""

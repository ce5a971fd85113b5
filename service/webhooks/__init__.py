"""Twilio-format callbacks: status callbacks out, driven from the event log."""

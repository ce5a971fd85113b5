"""The Twilio adapter of the carrier port: Twilio's Participants API upstream.

It speaks to any Twilio-compatible API (Twilio, SignalWire's compatibility
API, another Rollcall's gateway) through its base URL; see adapter.py.
"""

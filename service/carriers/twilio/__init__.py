"""The Twilio adapter of the carrier port: Twilio's Participants API upstream.

Rule 1: it speaks to any Twilio-compatible API (Twilio, SignalWire's compatibility
        API, another Rollcall's gateway), chosen only by its base URL
        (TwilioOptions.base_url); adapter.py states the adapter's own rules.
"""

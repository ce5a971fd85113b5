"""Twilio-format callbacks: status callbacks out, driven from the event log.

Rule 1: a callback is sent from the event log, never from inside a change: the
        change feed only wakes a conference's lane (service.webhooks.dispatcher), so
        an RPC never waits for HTTP.
"""

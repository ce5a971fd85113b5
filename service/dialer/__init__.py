"""Outbound-call dialer: the port and its adapters (simulated is the default)."""

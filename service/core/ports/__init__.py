"""The ports the core owns: what it asks of a store, a dialer and a carrier."""

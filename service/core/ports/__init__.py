"""The ports the core owns: what it asks of a store, a carrier, the change feed and dead letters.

Rule 1: each port is a typing.Protocol (store.py, with privacy.py as a part of it;
        carrier.py, feed.py, dead_letters.py), and the core reaches an adapter only
        through one.
"""

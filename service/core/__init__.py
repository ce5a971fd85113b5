"""The core: conferences, participants and their rules.

Rule 1: no grpc, no SQL: the core imports nothing of the server but itself and the
        clock (service.clock).
Rule 2: what it needs of a store, a carrier, the change feed and dead letters it asks
        through the ports it owns (service.core.ports).
"""

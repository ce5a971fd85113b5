"""The ports the core owns: what it asks of a store, a carrier, the change feed and dead letters."""

"""Rollcall's server: conferences, participants and their event log.

Rule 1: imports run faces -> core <- adapters: the core (service.core) imports
        nothing of the server but itself and the clock; the adapters (service.store,
        service.carriers, service.webhooks) never import a face; the two faces
        (service.rpc, service.gateway) never import each other.
Rule 2: an adapter never imports another adapter; only the factories that pick one
        from the settings (service.store.choose, service.carriers.choose) import
        several. tests/test_import_arrows.py checks both rules.
"""

"""The store's adapters (sqlite/, postgres/, memory/) and what they share.

Rule 1: each adapter package opens through its own factory and never imports
        another adapter; what they share lives here (parts, rows, pages, caches).
Rule 2: `choose.open_store` picks the adapter the settings name.
"""

"""``follow``: tail Cowrie's live log into the database, enrich and alert as sessions arrive."""

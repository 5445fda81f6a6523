"""Enrichment of what attackers fetch: files (SHA-256), URLs and the hosts that serve them (issue #19).

Each source speaks one provider's API for one kind of subject (``file``, ``url`` or ``host``) and goes
through the same guard, budget, breaker and ledger as the IP sources (:mod:`..guard`); the pass
(:mod:`.pipeline`) asks each unique subject once per source per TTL.
"""

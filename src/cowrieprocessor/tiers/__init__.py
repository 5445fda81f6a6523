"""The three tiers at work: enrich each unique IP once, keep current state, freeze time-of-attack snapshots."""

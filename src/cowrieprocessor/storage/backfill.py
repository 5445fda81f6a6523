"""Set-based steps of the v15 -> v16 upgrade, run inside the migration's transaction.

Every statement here is one ``INSERT ... SELECT`` or ``UPDATE`` over the whole table: no OFFSET loops and
no row-by-row Python, so the upgrade scales with the database engine rather than with the client.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

BASELINE_QUERIES: dict[str, str] = {
    "sessions": "SELECT COUNT(*) FROM session_summaries",
    "sessions_with_enrichment": "SELECT COUNT(*) FROM session_summaries WHERE enrichment IS NOT NULL",
    "unique_source_ips": "SELECT COUNT(DISTINCT source_ip) FROM session_summaries",
    "raw_events": "SELECT COUNT(*) FROM raw_events",
    "auth_attempts": "SELECT COUNT(*) FROM auth_attempts",
    "commands": "SELECT COUNT(*) FROM commands",
    "file_transfers": "SELECT COUNT(*) FROM file_transfers",
    "ssh_keys": "SELECT COUNT(*) FROM ssh_keys",
}


def measure(bind: Connection) -> dict[str, int]:
    """The metrics that must survive any schema change, as they are now."""
    return {name: int(bind.execute(text(sql)).scalar_one()) for name, sql in BASELINE_QUERIES.items()}


def record_baseline(bind: Connection, from_revision: str) -> dict[str, int]:
    metrics = measure(bind)
    bind.execute(
        text("INSERT INTO migration_baseline (metric, value, from_revision) VALUES (:m, :v, :r)"),
        [{"m": name, "v": value, "r": from_revision} for name, value in metrics.items()],
    )
    return metrics


def populate_tiers(bind: Connection) -> None:
    """Give every session's source IP its inventory row, with counters from event times."""
    bind.execute(
        text(
            """
            INSERT INTO ip_inventory (ip_address, first_seen, last_seen, session_count)
            SELECT source_ip, MIN(first_event_at), MAX(COALESCE(last_event_at, first_event_at)), COUNT(*)
            FROM session_summaries
            WHERE source_ip IS NOT NULL
            GROUP BY source_ip
            """
        )
    )


def add_session_ip_foreign_key(bind: Connection) -> None:
    """Sessions -> IP inventory; on PostgreSQL added NOT VALID and validated, so the lock is short."""
    orphans = bind.execute(
        text(
            "SELECT COUNT(*) FROM session_summaries s WHERE s.source_ip IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM ip_inventory i WHERE i.ip_address = s.source_ip)"
        )
    ).scalar_one()
    if orphans:
        raise RuntimeError(f"{orphans} sessions reference IPs missing from ip_inventory; upgrade aborted")
    if bind.dialect.name == "postgresql":
        bind.execute(
            text(
                "ALTER TABLE session_summaries ADD CONSTRAINT fk_session_summaries_source_ip_ip_inventory "
                "FOREIGN KEY (source_ip) REFERENCES ip_inventory (ip_address) NOT VALID"
            )
        )
        bind.execute(
            text("ALTER TABLE session_summaries VALIDATE CONSTRAINT fk_session_summaries_source_ip_ip_inventory")
        )
        return
    from alembic import op

    with op.batch_alter_table("session_summaries") as batch:
        batch.create_foreign_key(
            "fk_session_summaries_source_ip_ip_inventory", "ip_inventory", ["source_ip"], ["ip_address"]
        )

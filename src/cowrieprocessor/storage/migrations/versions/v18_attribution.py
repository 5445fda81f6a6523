"""v18: country codes upper-cased everywhere they are stored or derived.

Revision ID: v18
Revises: v17

Sources and v15 documents spell a country ``"au"`` as well as ``"AU"``; stored as given, ``query sessions
--country AU`` missed them. This revision:

- recreates ``ip_inventory.geo_country`` with the upper-cased expression (``storage.generated.
  GEO_COUNTRY_V18``): PostgreSQL drops and re-adds the generated column; SQLite, which cannot add a stored
  generated column, rebuilds the table (foreign keys are off during migrations and checked before commit);
- upper-cases the stored ``asn_inventory.organization_country`` and ``session_summaries.snapshot_country``
  (the snapshot guard is lifted for that one statement: the values keep their meaning, only their case
  changes).

Downgrade restores v16's expression; the upper-cased values stay upper-case (their lower-case originals are
still in each document).
"""

from __future__ import annotations

import re

from alembic import op
from sqlalchemy import Connection, text

from cowrieprocessor.storage import snapshot_guard
from cowrieprocessor.storage.generated import GENERATED_SQL, GEO_COUNTRY_V18

revision = "v18"
down_revision = "v17"
branch_labels = None
depends_on = None
#: Tables this revision rewrites or fills, vacuumed and analysed after it commits (``storage.maintenance``).
rewrites = {"upgrade": ("ip_inventory", "asn_inventory", "session_summaries"), "downgrade": ("ip_inventory",)}

INDEX = "ix_ip_inventory_geo_country"


def _postgresql(bind: Connection, expression: str) -> None:
    bind.execute(text("ALTER TABLE ip_inventory DROP COLUMN geo_country"))  # drops its index too
    bind.execute(
        text(f"ALTER TABLE ip_inventory ADD COLUMN geo_country text GENERATED ALWAYS AS ({expression}) STORED")
    )
    bind.execute(text("ALTER TABLE ip_inventory ALTER COLUMN geo_country SET NOT NULL"))
    bind.execute(text(f"CREATE INDEX {INDEX} ON ip_inventory (geo_country)"))


def _sqlite(bind: Connection, old: str, new: str) -> None:
    """SQLite's documented table rebuild: same definition with the new expression, rows copied, renamed."""
    table_sql = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ip_inventory'")
    ).scalar_one()
    if table_sql.count(old) != 1:
        raise RuntimeError("ip_inventory.geo_country does not have the expected expression; upgrade aborted")
    head = re.match(r'CREATE TABLE ("?)ip_inventory\1\s*\(', table_sql)  # quoted once SQLite renamed it
    if head is None:
        raise RuntimeError(f"unexpected ip_inventory definition: {table_sql[:60]!r}")
    rebuilt = "CREATE TABLE ip_inventory_v18 (" + table_sql[head.end() :].replace(old, new)
    others = (
        bind.execute(
            text(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'ip_inventory' AND type IN ('index', 'trigger') "
                "AND sql IS NOT NULL"
            )
        )
        .scalars()
        .all()
    )
    columns = ", ".join(
        f'"{row[1]}"' for row in bind.execute(text("PRAGMA table_xinfo(ip_inventory)")) if row[6] == 0
    )  # hidden = 0: stored columns; generated ones (2, 3) are computed again
    bind.execute(text(rebuilt))
    bind.execute(text(f"INSERT INTO ip_inventory_v18 ({columns}) SELECT {columns} FROM ip_inventory"))
    bind.execute(text("DROP TABLE ip_inventory"))
    bind.execute(text("ALTER TABLE ip_inventory_v18 RENAME TO ip_inventory"))
    for statement in others:
        bind.execute(text(statement))


def _set_expression(bind: Connection, old: str, new: str) -> None:
    if bind.dialect.name == "postgresql":
        _postgresql(bind, new)
    else:
        _sqlite(bind, old, new)


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    _set_expression(bind, GENERATED_SQL["geo_country"][dialect], GEO_COUNTRY_V18[dialect])
    bind.execute(
        text(
            "UPDATE asn_inventory SET organization_country = UPPER(organization_country) "
            "WHERE organization_country <> UPPER(organization_country)"
        )
    )
    snapshot_guard.remove(bind)
    bind.execute(
        text(
            "UPDATE session_summaries SET snapshot_country = UPPER(snapshot_country) "
            "WHERE snapshot_country <> UPPER(snapshot_country)"
        )
    )
    snapshot_guard.install(bind)


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    _set_expression(bind, GEO_COUNTRY_V18[dialect], GENERATED_SQL["geo_country"][dialect])

"""Metric storage at scale (issue 16): compressed segments and terminal chunks, the min/max/last pyramid.

Existing rows are not rewritten: their ``codec`` is 0 (raw arrays / bytes), which stays readable; new
writes are compressed, and an open tail segment is compressed when it is next extended. ``series.points``
is filled from the segments, and every series already past ``pyramid.MIN_POINTS`` gets its pyramid here,
so a long run recorded before the upgrade has fast coarse views too.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("metric_segments", sa.Column("codec", sa.SmallInteger, nullable=False, server_default="0"))
    op.add_column("series", sa.Column("points", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("series", sa.Column("pyramid_base", sa.BigInteger))
    op.add_column("series", sa.Column("pyramid_upto", sa.BigInteger))
    op.add_column("log_chunks", sa.Column("codec", sa.SmallInteger, nullable=False, server_default="0"))
    op.add_column("log_chunks", sa.Column("size", sa.BigInteger))
    op.execute("UPDATE log_chunks SET size = length(data)")
    op.create_table(
        "metric_pyramid",
        sa.Column("series_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("cell", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        *(
            sa.Column(f"{what}_{part}", sa.BigInteger if part == "step" else sa.Float)
            for what in ("first", "min", "max", "last")
            for part in ("step", "value", "time")
        ),
        sa.Column("nan_step", sa.BigInteger),
        sa.Column("nan_time", sa.Float),
        sqlite_with_rowid=False,
    )
    op.execute(
        "UPDATE series SET points = COALESCE((SELECT SUM(n) FROM metric_segments s WHERE s.series_id = series.id), 0)"
    )
    _build_pyramids()


def _build_pyramids() -> None:
    from trainboard.server.store import pyramid
    from trainboard.server.store.metrics import build_pyramid

    conn = op.get_bind()
    ids = [
        int(r[0])
        for r in conn.execute(sa.text("SELECT id FROM series WHERE points >= :n"), {"n": pyramid.MIN_POINTS}).all()
    ]
    for series_id in ids:
        build_pyramid(conn, series_id=series_id)


def _decompress_all() -> None:
    """Before a downgrade: every compressed row back to raw, which the older code reads."""
    from trainboard.server.store import codec
    from trainboard.server.store.segments import decode

    conn = op.get_bind()
    for sid, st, va, ti in conn.execute(
        sa.text("SELECT id, steps, vals, times FROM metric_segments WHERE codec = 1")
    ).all():
        p = decode(bytes(st), bytes(va), bytes(ti), codec.ZSTD)
        conn.execute(
            sa.text("UPDATE metric_segments SET steps = :s, vals = :v, times = :t, codec = 0 WHERE id = :id"),
            {"s": p.steps.tobytes(), "v": p.values.tobytes(), "t": p.times.tobytes(), "id": sid},
        )
    for run_id, offset, data in conn.execute(
        sa.text('SELECT run_id, "offset", data FROM log_chunks WHERE codec = 1')
    ).all():
        conn.execute(
            sa.text('UPDATE log_chunks SET data = :d, codec = 0 WHERE run_id = :r AND "offset" = :o'),
            {"d": codec.decode_bytes(bytes(data), codec.ZSTD), "r": run_id, "o": offset},
        )


def downgrade() -> None:
    _decompress_all()
    op.drop_table("metric_pyramid")
    with op.batch_alter_table("log_chunks") as batch:
        batch.drop_column("size")
        batch.drop_column("codec")
    with op.batch_alter_table("series") as batch:
        batch.drop_column("pyramid_upto")
        batch.drop_column("pyramid_base")
        batch.drop_column("points")
    with op.batch_alter_table("metric_segments") as batch:
        batch.drop_column("codec")

"""Table definitions (SQLAlchemy Core). Every change here needs an Alembic migration.

Times are epoch seconds (float) everywhere in storage; the API turns run/event times into ISO 8601.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: An id the API takes as a JSON integer (up to 2**53 - 1): BIGINT on PostgreSQL, where an INTEGER column makes
#: the driver cast the parameter to a 32-bit integer and fail on a larger one (migration 0010). On SQLite an
#: INTEGER primary key is already 64 bits, and must stay spelled INTEGER to remain the rowid.
WIDE_ID = BigInteger().with_variant(Integer(), "sqlite")

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(512), nullable=False),
    Column("project", String(256), nullable=False, server_default="default"),
    Column("status", String(16), nullable=False),
    Column("config", Text, nullable=False, server_default="{}"),  # JSON
    Column("start_time", Float, nullable=False),
    Column("end_time", Float),
    Column("exit_code", Integer),
    Column("heartbeat_time", Float),
    Column("last_step", BigInteger),
    Column("log_size", BigInteger, nullable=False, server_default="0"),
    Column("log_trimmed", BigInteger, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(256)),  # the user who created it (auth on); editors delete only their own
    Column("notes", Text, nullable=False, server_default=""),  # Markdown, rendered safely by the web UI
    Column("archived", Boolean, nullable=False, server_default="0"),  # hidden from lists unless asked for
    Index("ix_runs_start_time", "start_time"),
    Index("ix_runs_name_status", "name", "status"),
)

# One row per (run, metric key): segments reference it by a small integer.
series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("key", String(256), nullable=False),
    Column("max_step", BigInteger),  # highest step stored
    Column("tail_id", Integer),  # the open (small, still appendable) segment, if any
    Column("points", BigInteger, nullable=False, server_default="0"),  # values written (replaced ones too)
    Column("pyramid_base", BigInteger),  # level-0 cell width of its pyramid (store/pyramid.py); NULL: none yet
    Column("pyramid_upto", BigInteger),  # the pyramid covers steps up to here (the open tail is folded in later)
    UniqueConstraint("run_id", "key", name="uq_series_run_key"),
)

# Every point, stored columnar in segments: little-endian int64 steps, float64 values (NaN and +/-Inf
# as IEEE values) and float64 wall times. A batch's points of one key become one segment (a small tail
# segment is extended by later appends until it holds SEAL_POINTS). Reading one key of one run is an
# index range scan over (series_id, last_step); later segments win for a repeated step.
metric_segments = Table(
    "metric_segments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("series_id", Integer, nullable=False),
    Column("first_step", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    Column("n", Integer, nullable=False),
    Column("steps", LargeBinary, nullable=False),
    Column("vals", LargeBinary, nullable=False),
    Column("times", LargeBinary, nullable=False),
    Column("codec", SmallInteger, nullable=False, server_default="0"),  # 0 raw arrays, 1 compressed (store/codec.py)
    Index("ix_metric_segments_series_last", "series_id", "last_step"),
)

# Multi-resolution summaries of long series (store/pyramid.py): per level and cell of base * 4**level
# steps, the count and the first, minimum, maximum, last and first-NaN points (step, value, wall time;
# a missing one is NULL). Maintained at ingest, read for coarse views of big ranges.
metric_pyramid = Table(
    "metric_pyramid",
    metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=False),
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("cell", BigInteger, primary_key=True, autoincrement=False),
    Column("n", BigInteger, nullable=False),
    *(
        Column(f"{what}_{part}", BigInteger if part == "step" else Float)
        for what in ("first", "min", "max", "last")
        for part in ("step", "value", "time")
    ),
    Column("nan_step", BigInteger),
    Column("nan_time", Float),
    sqlite_with_rowid=False,  # the primary key is the row's only index
)

# Per client stream, the highest sequence number committed: a re-sent point is ignored.
ingest_cursors = Table(
    "ingest_cursors",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("max_seq", BigInteger, nullable=False),
)

# Raw terminal bytes, append-only; offsets are per run over both sources.
log_chunks = Table(
    "log_chunks",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("offset", BigInteger, primary_key=True, autoincrement=False),
    Column("source", String(8), nullable=False),
    Column("time", Float, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("codec", SmallInteger, nullable=False, server_default="0"),  # 0 as written, 1 zstd (store/codec.py)
    Column("size", BigInteger),  # bytes of the chunk as written (``data`` may be compressed)
    # A rank's chunk (migration 0013, store/ranks.py): its rank and its offset in that rank's own stream.
    Column("rank", Integer),
    Column("rank_offset", BigInteger),
    Index("ix_log_chunks_rank", "run_id", "rank", "rank_offset"),
)

# The terminal size the program saw, from byte ``offset`` of its raw log on (one row per change).
terminal_sizes = Table(
    "terminal_sizes",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("offset", BigInteger, primary_key=True, autoincrement=False),
    Column("cols", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
)

# Lines derived from log_chunks (terminal semantics) plus structured lines posted by clients.
log_lines = Table(
    "log_lines",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("line_number", BigInteger, primary_key=True, autoincrement=False),
    Column("time", Float, nullable=False),
    Column("source", String(8), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("display", Text, nullable=False),
    Column("rank", Integer),  # the rank whose stream the line comes from (migration 0013); NULL: unranked
    Index("ix_log_lines_run_level", "run_id", "level", "line_number"),
    Index("ix_log_lines_run_rank", "run_id", "rank", "line_number"),
)

# Where each run's line index stands (store/line_index.py): raw offset indexed, splitter state, open lines.
log_index_state = Table(
    "log_index_state",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("offset", BigInteger, nullable=False),
    Column("state", Text, nullable=False, server_default="{}"),
    Column("open_lines", Text, nullable=False, server_default="[]"),
    Column("open_count", Integer, nullable=False, server_default="0"),
    Column("last_data", Float, nullable=False, server_default="0"),
    Index("ix_log_index_state_open", "open_count", "last_data"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("size", BigInteger),
    Column("step", BigInteger),
    Column("metrics", Text, nullable=False, server_default="{}"),
    Column("metadata", Text, nullable=False, server_default="{}"),
    Column("is_best", Boolean, nullable=False, server_default="0"),
    Column("valid", Boolean, nullable=False, server_default="0"),
    Column("invalid_reason", Text),
    Column("created_at", Float, nullable=False),
    Index("ix_checkpoints_run", "run_id", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", WIDE_ID, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("time", Float, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", Text, nullable=False, server_default="{}"),
    Index("ix_events_run", "run_id", "id"),
)

system_metrics = Table(
    "system_metrics",
    metadata,
    Column("id", WIDE_ID, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("data", Text, nullable=False),  # JSON sample
    Index("ix_system_metrics_time", "time"),
)


# Runs as experiments (issue 14, migration 0006; queried by server/runs_query).
run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("tag", String(128), primary_key=True),
    Index("ix_run_tags_tag", "tag"),
)

# The run's config flattened to dotted keys (nested dicts), one row per leaf, rewritten whenever the config
# changes: the same typed comparisons on SQLite and PostgreSQL, indexable, and the column picker's key list.
run_config = Table(
    "run_config",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("num", Float),  # numbers (and booleans as 0/1)
    Column("text", Text),  # strings as given; numbers, booleans, lists and null as JSON text
    Index("ix_run_config_key_num", "key", "num", "run_id"),  # covering: a filter probe reads no row
)

# Per run and metric key: the value at the highest step, the extremes (NaN left out) and the point count,
# maintained by the metric write path (store/run_summaries.py), never computed per request.
run_metric_summaries = Table(
    "run_metric_summaries",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("last_step", BigInteger),
    Column("last_val", Float),  # NULL when the last value is NaN
    Column("min_val", Float),
    Column("max_val", Float),
    Column("n", BigInteger, nullable=False, server_default="0"),
    Index("ix_run_metric_summaries_key_last", "key", "last_val", "run_id"),
)

# Saved runs-table views per project: name -> filter, sort, columns.
saved_views = Table(
    "saved_views",
    metadata,
    Column("project", String(256), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("filter", Text, nullable=False, server_default=""),
    Column("sort", String(300), nullable=False, server_default=""),
    Column("columns", Text, nullable=False, server_default="[]"),  # JSON
    Column("created_by", String(256)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# The web run page's layout (panel sizes, collapsed panels, pinned charts) per project and user ("" when
# authentication is off), as one JSON document the UI owns.
layouts = Table(
    "layouts",
    metadata,
    Column("project", String(256), primary_key=True),
    Column("owner", String(256), primary_key=True),
    Column("layout", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Launched runs (issue 13, migration 0007): which provider runs the job, its job id there, who launched it, the
# spec (secrets left out) and the job's last observed state. ``finished``: the job is over and the run ended.
launches = Table(
    "launches",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("provider", String(32), nullable=False),
    Column("job_id", String(256)),
    Column("launched_by", String(256)),
    Column("launched_at", Float, nullable=False),
    Column("spec", Text, nullable=False, server_default="{}"),  # JSON: argv, env (no secrets), cwd, resources, image
    Column("state", String(16), nullable=False, server_default="queued"),  # providers.base.JobState
    Column("native_state", String(64)),
    Column("reason", Text),
    Column("exit_code", Integer),
    Column("finished", Boolean, nullable=False, server_default="0"),
    Column("cancel_requested_at", Float),
    Column("cancelled_by", String(256)),
    Column("token_id", WIDE_ID),  # the run-scoped write token the job uploads with (trainboard sync too)
    Column("deploy_owner", String(512)),  # the server process deploying it (until the job id is recorded)
    Column("deploy_until", Float),  # that process's lease on the deploy (renewed while deploy runs)
    Index("ix_launches_finished", "finished"),
)

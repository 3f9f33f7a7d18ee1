"""Raw terminal bytes: append-only chunks per run with byte offsets, source and arrival time.

Offsets count over both sources of a run in arrival order (the order a terminal showed them).
Appending is one INSERT per chunk, never a rewrite. Bytes are stored exactly (BLOB / bytea); a chunk
of ``codec.MIN_CHUNK_COMPRESS`` bytes or more is stored zstd-compressed when that is smaller (``codec``
1), with its length as written in ``size``, so offsets and ranges are those of the bytes as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from sqlalchemy import Connection

from trainboard.server.store import codec, ranks
from trainboard.server.store.cursors import set_stream_cursor, stream_cursor
from trainboard.server.store.sql import placeholder

#: (seq or None, source, time, data)
Chunk = tuple[int | None, str, float, bytes]


@dataclass
class AppendResult:
    appended: int = 0  # bytes
    duplicates: int = 0  # chunks ignored: their seq was already committed
    size: int = 0  # the log's end offset after the append
    #: (end offset, source, time, data) of each stored chunk, for live fan-out and line indexing.
    stored: list[tuple[int, str, float, bytes]] = field(default_factory=list)
    #: Per input chunk, the offset its bytes start at; None for a duplicate (e.g. to place a terminal size).
    offsets: list[int | None] = field(default_factory=list)
    #: Per stored chunk, its end offset in its rank's own stream (None: an unranked chunk).
    rank_ends: list[int | None] = field(default_factory=list)


def append(conn: Connection, *, run_id: str, stream: str | None, chunks: list[Chunk]) -> AppendResult | None:
    """Append chunks in order; ``None`` for an unknown run. A rank's chunk has a tagged source
    (``store.ranks.rank_source``): it is stored with its rank and its offset in that rank's stream."""
    ph = placeholder(conn)
    row = conn.exec_driver_sql(f"SELECT log_size FROM runs WHERE id = {ph}", (run_id,)).first()
    if row is None:
        return None
    size = int(row[0])
    result = AppendResult(size=size)
    max_seq = None if stream is None else stream_cursor(conn, run_id=run_id, stream=stream)
    new_max = max_seq
    rows = []
    tagged = {source: ranks.split_source(source) for _s, source, _t, _d in chunks}
    rank_size = ranks.rank_sizes(conn, run_id=run_id, ranks={r for _s, r in tagged.values() if r is not None})
    for seq, source, at, data in chunks:
        if max_seq is not None and seq is not None:
            if seq <= max_seq:
                result.duplicates += 1
                result.offsets.append(None)
                continue
            new_max = seq if new_max is None else max(new_max, seq)
        result.offsets.append(size)
        if not data:
            continue
        stored, how = codec.encode_bytes(data)
        plain, rank = tagged[source]
        rank_at = None if rank is None else rank_size[rank]
        rows.append((run_id, size, plain, at, stored, how, len(data), rank, rank_at))
        size += len(data)
        if rank is not None:
            rank_size[rank] += len(data)
        result.stored.append((size, source, at, data))
        result.rank_ends.append(None if rank is None else rank_size[rank])
    if rows:
        conn.exec_driver_sql(
            'INSERT INTO log_chunks (run_id, "offset", source, time, data, codec, size, rank, rank_offset) '
            f"VALUES ({ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph}, {ph})",
            rows,
        )
        ranks.set_rank_sizes(conn, run_id=run_id, sizes=rank_size)
        conn.exec_driver_sql(f"UPDATE runs SET log_size = {ph} WHERE id = {ph}", (size, run_id))
        result.appended = size - result.size
    if stream is not None and new_max is not None and new_max != max_seq:
        set_stream_cursor(conn, run_id=run_id, stream=stream, seq=new_max)
    result.size = size
    return result


@dataclass
class LogExtent:
    size: int  # end offset
    start: int  # first offset still stored (after retention trimming)


def extent(conn: Connection, *, run_id: str) -> LogExtent | None:
    ph = placeholder(conn)
    row = conn.exec_driver_sql(f"SELECT log_size, log_trimmed FROM runs WHERE id = {ph}", (run_id,)).first()
    return None if row is None else LogExtent(size=int(row[0]), start=int(row[1]))


def iter_range(
    conn: Connection,
    *,
    run_id: str,
    offset: int,
    limit: int | None = None,
    window: int = 256 * 1024,
    source: str | None = None,
) -> Iterator[tuple[int, str, float, bytes]]:
    """Yield (chunk offset, source, time, bytes) covering [offset, offset + limit), the first and last
    cut to the range, in order; only chunks of ``source`` when given. A rank's chunk has its tagged source."""
    ph = placeholder(conn)
    end = None if limit is None else offset + limit
    row = conn.exec_driver_sql(
        f'SELECT "offset" FROM log_chunks WHERE run_id = {ph} AND "offset" <= {ph} ORDER BY "offset" DESC LIMIT 1',
        (run_id, offset),
    ).first()
    pos = int(row[0]) if row else offset
    while end is None or pos < end:
        # A window of offsets, not a LIMIT: PostgreSQL without fresh statistics (a log that grew since the
        # last ANALYZE) plans "offset >= pos ORDER BY offset LIMIT n" as a scan of every later chunk plus a
        # sort, which made reading a log of many small chunks quadratic (6 s for 1.5 MB). Offsets are
        # contiguous, so each window holds the chunks that start in it, and an empty one is skipped.
        rows = conn.exec_driver_sql(
            f'SELECT "offset", source, time, data, codec, rank FROM log_chunks WHERE run_id = {ph} '
            f'AND "offset" >= {ph} AND "offset" < {ph} ORDER BY "offset"',
            (run_id, pos, pos + window),
        ).all()
        if not rows:
            after = conn.exec_driver_sql(
                f'SELECT MIN("offset") FROM log_chunks WHERE run_id = {ph} AND "offset" >= {ph}', (run_id, pos)
            ).first()
            if after is None or after[0] is None or (end is not None and int(after[0]) >= end):
                return
            pos = int(after[0])
            continue
        for off, plain, at, stored, how, rank in rows:
            off = int(off)
            src = ranks.rank_source(plain, rank)
            data = codec.decode_bytes(bytes(stored), how)
            if end is not None and off >= end:
                return
            if source is not None and src != source:
                continue
            lo = max(0, offset - off)
            hi = len(data) if end is None else min(len(data), end - off)
            if lo < hi:
                yield off + lo, src, at, data[lo:hi]
        pos += window


def read(conn: Connection, *, run_id: str, offset: int, limit: int, source: str | None = None) -> bytes:
    """Bytes [offset, offset + limit) of the log (fewer at its end); of one source when given."""
    parts = iter_range(conn, run_id=run_id, offset=offset, limit=limit, source=source)
    return b"".join(part for _o, _s, _t, part in parts)


def trim_run(conn: Connection, *, run_id: str, keep_bytes: int, reason: str) -> dict[str, int] | None:
    """Delete the run's oldest chunks so that at most about ``keep_bytes`` stay (whole chunks), and the
    lines older than what remains; records a ``log_trimmed`` event. ``None`` when nothing was trimmed."""
    from trainboard.server.store.events import add_event

    ph = placeholder(conn)
    ext = extent(conn, run_id=run_id)
    if ext is None or ext.size - ext.start <= keep_bytes:
        return None
    target = ext.size - keep_bytes
    removed = conn.exec_driver_sql(
        f'DELETE FROM log_chunks WHERE run_id = {ph} AND "offset" + COALESCE(size, length(data)) <= {ph}',
        (run_id, target),
    ).rowcount
    row = conn.exec_driver_sql(
        f'SELECT "offset", time FROM log_chunks WHERE run_id = {ph} ORDER BY "offset" LIMIT 1', (run_id,)
    ).first()
    new_start, first_time = (int(row[0]), float(row[1])) if row else (ext.size, float("inf"))
    if new_start <= ext.start:
        return None
    lines = conn.exec_driver_sql(
        f"DELETE FROM log_lines WHERE run_id = {ph} AND time < {ph}", (run_id, first_time)
    ).rowcount
    conn.exec_driver_sql(f"UPDATE runs SET log_trimmed = {ph} WHERE id = {ph}", (new_start, run_id))
    info = {"bytes": new_start - ext.start, "chunks": removed, "lines": lines, "start": new_start}
    add_event(
        conn,
        run_id=run_id,
        kind="log_trimmed",
        message=f"log trimmed ({reason}): the oldest {info['bytes']} bytes and {lines} lines were removed; "
        f"the log now starts at byte {new_start}",
        data=info,
    )
    return info


def stored_bytes(conn: Connection) -> int:
    """Log bytes stored for all runs."""
    row = conn.exec_driver_sql("SELECT COALESCE(SUM(log_size - log_trimmed), 0) FROM runs").first()
    return int(row[0]) if row else 0


def oldest_runs_with_logs(conn: Connection, limit: int = 20) -> list[str]:
    """Runs holding log bytes, the one with the oldest stored chunk first."""
    rows = conn.exec_driver_sql(
        "SELECT run_id, MIN(time) AS t FROM log_chunks GROUP BY run_id ORDER BY t LIMIT " + str(int(limit))
    ).all()
    return [r[0] for r in rows]


#: Chunk bytes one write job appends at most (line indexing included): a larger upload is written as
#: several jobs, so other clients' writes go on between them.
PART_BYTES = 1024 * 1024


def parts(chunks: list[Chunk], max_bytes: int = PART_BYTES) -> list[tuple[int, int]]:
    """``[lo, hi)`` ranges of whole chunks of at most ``max_bytes`` each (a bigger chunk alone). One range
    only when the chunks' seqs do not increase: dedupe by the stream's cursor needs them in order."""
    seqs = [c[0] for c in chunks if c[0] is not None]
    if any(b <= a for a, b in pairwise(seqs)):
        return [(0, len(chunks))]
    ranges: list[tuple[int, int]] = []
    lo = size = 0
    for i, chunk in enumerate(chunks):
        if i > lo and size + len(chunk[3]) > max_bytes:
            ranges.append((lo, i))
            lo, size = i, 0
        size += len(chunk[3])
    ranges.append((lo, len(chunks)))
    return ranges

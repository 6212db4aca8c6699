"""CRUD through asyncpg (binary formats, prepared statements, executemany, binary COPY). Usage: asyncpg_crud.py PORT TABLE"""
import asyncio
import datetime
import io
import sys
try:
    import asyncpg
except ImportError:
    print("missing Python package: pip install asyncpg")
    sys.exit(3)

async def main(port, table):
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="meshdb", database="meshdb")
    await conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, name text, score double precision, data bytea)")
    await conn.execute(f"INSERT INTO {table} VALUES (1, 'one', 1.5, '\\x0102'::bytea)")
    await conn.executemany(f"INSERT INTO {table} (id, name, score) VALUES ($1, $2, $3)",
                           [(2, "two", 2.5), (3, "three", None)])
    rows = await conn.fetch(f"SELECT id, name, score FROM {table} ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "one", 1.5), (2, "two", 2.5), (3, "three", None)], rows
    statement = await conn.prepare(f"SELECT name FROM {table} WHERE id = $1")
    assert await statement.fetchval(2) == "two"
    assert await statement.fetchval(3) == "three"
    assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 3
    new_id = await conn.fetchval(f"INSERT INTO {table} (id, name) VALUES ($1, $2) RETURNING id", 10, "ten")
    assert new_id == 10, new_id
    assert await conn.fetchval(f"DELETE FROM {table} WHERE id = $1 RETURNING name", 10) == "ten"
    status = await conn.execute(f"UPDATE {table} SET score = $1 WHERE id = $2", 9.0, 3)
    assert status == "UPDATE 1", status
    try:
        await conn.execute("SELECT * FROM missing_table")
        raise AssertionError("no error")
    except asyncpg.PostgresError as error:
        assert error.sqlstate == "42P01", error.sqlstate
    # Bulk load and export: asyncpg's COPY is the binary format.
    loaded = [(100 + i, f"bulk {i}", i / 4, bytes([i, 255 - i]) if i % 3 else None) for i in range(50)]
    status = await conn.copy_records_to_table(table, records=loaded, columns=["id", "name", "score", "data"])
    assert status == "COPY 50", status
    rows = await conn.fetch(f"SELECT id, name, score, data FROM {table} WHERE id >= 100 ORDER BY id")
    assert [tuple(r) for r in rows] == loaded, rows[:3]
    out = io.BytesIO()
    status = await conn.copy_from_query(f"SELECT id, name FROM {table} WHERE id >= 100 AND id < 103 ORDER BY id",
                                        output=out, format="binary")
    assert status == "COPY 3", status
    data = out.getvalue()
    assert data.startswith(b"PGCOPY\n\xff\r\n\x00") and data.endswith(b"\xff\xff"), data[:20]
    assert b"bulk 2" in data, data
    await conn.execute(f"CREATE TABLE {table}_when (id int PRIMARY KEY, at timestamp, amount numeric, ok boolean, small smallint)")
    moments = [(1, datetime.datetime(2026, 11, 21, 23, 30, 15, 250000), 12.5, True, 7), (2, None, None, False, -3)]
    await conn.copy_records_to_table(f"{table}_when", records=moments)
    rows = await conn.fetch(f"SELECT id, at, amount, ok, small FROM {table}_when ORDER BY id")
    assert [(r[0], r[1], float(r[2]) if r[2] is not None else None, r[3], r[4]) for r in rows] == moments, rows
    # Describe types a parameter by its cast, and by the column of IN and BETWEEN: asyncpg refused
    # ints for parameters described as text ("expected str, got int").
    assert await conn.fetchval("select $1::int + 1", 41) == 42
    assert await conn.fetchval("select $1::bigint * 2", 2 ** 40) == 2 ** 41
    rows = await conn.fetch(f"SELECT id FROM {table} WHERE id IN ($1, $2) ORDER BY id", 1, 3)
    assert [r[0] for r in rows] == [1, 3], rows
    rows = await conn.fetch(f"SELECT id FROM {table} WHERE id BETWEEN $1 AND $2 ORDER BY id", 2, 3)
    assert [r[0] for r in rows] == [2, 3], rows
    # Binary results of oid, date and timestamptz went out as their text bytes.
    assert await conn.fetchval("select 1::oid") == 1
    today = await conn.fetchval("select current_date")
    assert isinstance(today, datetime.date) and abs((today - datetime.date.today()).days) <= 1, today
    now = await conn.fetchval("select current_timestamp")
    assert abs(now - datetime.datetime.now(datetime.timezone.utc)) < datetime.timedelta(minutes=10), now
    await conn.close()

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
print("OK")

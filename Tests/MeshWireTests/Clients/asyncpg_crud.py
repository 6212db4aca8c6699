"""CRUD through asyncpg (binary formats, prepared statements, executemany). Usage: asyncpg_crud.py PORT TABLE"""
import asyncio
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
    await conn.close()

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
print("OK")

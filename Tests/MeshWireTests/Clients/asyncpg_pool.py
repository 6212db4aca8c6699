"""asyncpg's connection pool: every released connection is reset with
`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`, which must succeed for the
pool to hand the connection out again. Usage: asyncpg_pool.py PORT NAME"""
import asyncio
import sys
try:
    import asyncpg
except ImportError:
    print("missing Python package: pip install asyncpg")
    sys.exit(3)


async def main(port, name):
    pool = await asyncpg.create_pool(host="127.0.0.1", port=port, user="meshdb", database="meshdb",
                                     min_size=1, max_size=2, server_settings={"application_name": name})
    for round in range(6):
        async with pool.acquire() as conn:
            await conn.execute("SET application_name = 'changed'")
            assert await conn.fetchval("SELECT 41 + 1") == 42
    # The reset put the startup settings back.
    async with pool.acquire() as conn:
        assert await conn.fetchval("SHOW application_name") == name
    await pool.close()

asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
print("OK")

"""bytea round trips through psycopg2 (simple protocol: the value travels inside the statement as
hex). Usage: psycopg2_bytea.py PORT TABLE [MAX_MIB]. Sizes: 0 B, 1 B, 64 KiB - 1, 64 KiB + 1,
10 MiB random, and 100 MiB compressible (up to MAX_MIB, default 100); each read back with its
SHA-256, length() and octet_length() checked, then updated and deleted."""
import hashlib
import io
import os
import sys
import time
try:
    import psycopg2
except ImportError:
    print("missing Python package: pip install psycopg2-binary")
    sys.exit(3)

port, table = int(sys.argv[1]), sys.argv[2]
max_mib = int(sys.argv[3]) if len(sys.argv) > 3 else 100
conn = psycopg2.connect(host="127.0.0.1", port=port, user="meshdb", dbname="meshdb")
conn.autocommit = True
cur = conn.cursor()
cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text, body bytea)")


def compressible(size):
    line = b"MeshDB keeps large bytea values in the chunk store; "
    return (line * (size // len(line) + 1))[:size]


values = [(0, b""), (1, b"\x00"), (2, os.urandom(65535)), (3, os.urandom(65537)), (4, os.urandom(10 << 20))]
if max_mib >= 100:
    values.append((5, compressible(100 << 20)))
for id, value in values:
    started = time.monotonic()
    cur.execute(f"INSERT INTO {table} VALUES (%s, %s, %s)", (id, f"v{len(value)}", psycopg2.Binary(value)))
    cur.execute(f"SELECT body, length(body), octet_length(body) FROM {table} WHERE id = %s", (id,))
    body, length, octets = cur.fetchone()
    assert hashlib.sha256(bytes(body)).digest() == hashlib.sha256(value).digest(), f"{len(value)} bytes differ"
    assert length == len(value) and octets == len(value), (length, octets, len(value))
    print(f"{len(value)} bytes: in and out in {time.monotonic() - started:.1f} s", flush=True)

# A query that does not return the column reads no chunk, and sees the sizes.
cur.execute(f"SELECT id, length(body) FROM {table} ORDER BY id")
assert cur.fetchall() == [(id, len(value)) for id, value in values]

# COPY FROM in text format: a bytea field is its hex form, its backslash doubled by COPY's escaping.
copied = os.urandom(300_000)
cur.copy_expert(f"COPY {table} (id, name, body) FROM STDIN", io.StringIO(f"7\tcopied\t\\\\x{copied.hex()}\n"))
cur.execute(f"SELECT body, length(body) FROM {table} WHERE id = 7")
body, length = cur.fetchone()
assert bytes(body) == copied and length == len(copied), length
cur.execute(f"DELETE FROM {table} WHERE id = 7")

replacement = os.urandom(200_000)
cur.execute(f"UPDATE {table} SET body = %s WHERE id = 1", (psycopg2.Binary(replacement),))
cur.execute(f"SELECT body FROM {table} WHERE id = 1")
assert bytes(cur.fetchone()[0]) == replacement
cur.execute(f"DELETE FROM {table} WHERE id >= 3")
assert cur.rowcount == len(values) - 3
cur.execute(f"SELECT count(*) FROM {table}")
assert cur.fetchone()[0] == 3
print("OK")

"""Transaction blocks through psycopg2 with autocommit off (its default: it sends BEGIN before the
first statement). Usage: psycopg2_transactions.py PORT TABLE"""
import sys
try:
    import psycopg2
except ImportError:
    print("missing Python package: pip install psycopg2-binary")
    sys.exit(3)

port, table = int(sys.argv[1]), sys.argv[2]
def connect():
    return psycopg2.connect(host="127.0.0.1", port=port, user="meshdb", dbname="meshdb")

setup = connect()
setup.autocommit = True
setup.cursor().execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v text) SHARDS 1")

writer, reader = connect(), connect()
reader.autocommit = True
cur, look = writer.cursor(), reader.cursor()

# Inserts inside a block are seen by the block, not by another session, until COMMIT.
cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)", [(1, "one"), (2, "two"), (3, "three")])
assert writer.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
cur.execute(f"SELECT count(*) FROM {table}")
assert cur.fetchone() == (3,), "the block reads its own writes"
look.execute(f"SELECT count(*) FROM {table}")
assert look.fetchone() == (0,), "another session must not see uncommitted rows"
writer.commit()
look.execute(f"SELECT count(*) FROM {table}")
assert look.fetchone() == (3,), "committed rows are visible"

# ROLLBACK discards.
cur.execute(f"INSERT INTO {table} VALUES (4, 'four')")
writer.rollback()
look.execute(f"SELECT count(*) FROM {table}")
assert look.fetchone() == (3,), "rolled-back row is gone"

# An error aborts the block: 25P02 until ROLLBACK.
try:
    cur.execute("SELECT * FROM missing_table")
    raise AssertionError("no error")
except psycopg2.Error as error:
    assert error.pgcode == "42P01", error.pgcode
assert writer.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR
try:
    cur.execute(f"SELECT 1")
    raise AssertionError("no 25P02")
except psycopg2.Error as error:
    assert error.pgcode == "25P02", error.pgcode
writer.rollback()
cur.execute(f"SELECT count(*) FROM {table}")
assert cur.fetchone() == (3,)
writer.commit()

# A client killed (SIGKILL) inside a block leaves nothing behind: its connection closes, the block
# rolls back, and the shard it held takes other writes again.
import os, signal, subprocess, time
child = subprocess.Popen([sys.executable, "-c", f"""
import psycopg2, sys, time
conn = psycopg2.connect(host="127.0.0.1", port={port}, user="meshdb", dbname="meshdb")
cur = conn.cursor()
cur.execute("INSERT INTO {table} VALUES (10, 'doomed')")
print("inside", flush=True)
time.sleep(600)
"""], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "inside"
os.kill(child.pid, signal.SIGKILL)
child.wait()
deadline = time.time() + 60
while True:
    try:
        look.execute(f"INSERT INTO {table} VALUES (11, 'after')")
        break
    except psycopg2.Error as error:
        if time.time() > deadline:
            raise AssertionError(f"the killed client's block still holds the shard: {error.pgcode} {error}")
        time.sleep(0.2)
look.execute(f"SELECT id FROM {table} ORDER BY id")
assert look.fetchall() == [(1,), (2,), (3,), (11,)], "the killed client's row must be gone"
print("OK")

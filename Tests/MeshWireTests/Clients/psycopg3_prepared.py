"""psycopg 3 prepares a query server-side on its fifth run (prepare_threshold) and drops its
prepared statements with DEALLOCATE; after a rollback it sends DEALLOCATE ALL. Both must succeed.
Usage: psycopg3_prepared.py PORT TABLE"""
import sys
try:
    import psycopg
except ImportError:
    print("missing Python package: pip install psycopg")
    sys.exit(3)

port, table = int(sys.argv[1]), sys.argv[2]
with psycopg.connect(host="127.0.0.1", port=port, user="meshdb", dbname="meshdb", prepare_threshold=1) as conn:
    conn.prepared_max = 2  # a third prepared query evicts one: DEALLOCATE _pg3_n
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v text)")
    conn.commit()
    for i in range(8):
        conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (i, f"v{i}"))
        for query in (f"SELECT v FROM {table} WHERE id = %s", f"SELECT count(*) FROM {table} WHERE id < %s",
                      f"SELECT id FROM {table} WHERE v = %s"):
            conn.execute(query, (i,) if "v =" not in query else (f"v{i}",)).fetchall()
    conn.commit()
    conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (100, "gone"))
    for i in range(3):
        conn.execute(f"SELECT v FROM {table} WHERE id = %s", (i,)).fetchall()
    assert conn._prepared._names, "a statement is prepared server-side before the rollback"
    conn.rollback()  # ROLLBACK, then DEALLOCATE ALL
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 8
    assert conn.execute(f"SELECT v FROM {table} WHERE id = %s", (3,)).fetchone()[0] == "v3"
    conn.commit()
print("OK")

"""CRUD through psycopg2 (simple protocol, client-side parameters). Usage: psycopg2_crud.py PORT TABLE"""
import sys
try:
    import psycopg2
except ImportError:
    print("missing Python package: pip install psycopg2-binary")
    sys.exit(3)

port, table = int(sys.argv[1]), sys.argv[2]
conn = psycopg2.connect(host="127.0.0.1", port=port, user="meshdb", dbname="meshdb")
conn.autocommit = True
cur = conn.cursor()
cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v text)")
cur.execute(f"INSERT INTO {table} VALUES (%s, %s)", (1, "one"))
cur.executemany(f"INSERT INTO {table} VALUES (%s, %s)", [(2, "two"), (3, "it's")])
cur.execute(f"SELECT id, v FROM {table} WHERE id >= %s ORDER BY id", (2,))
assert cur.fetchall() == [(2, "two"), (3, "it's")]
cur.execute(f"UPDATE {table} SET v = %s WHERE id = %s", ("uno", 1))
assert cur.rowcount == 1
cur.execute(f"DELETE FROM {table} WHERE id = 3")
assert cur.rowcount == 1
try:
    cur.execute("SELECT * FROM missing_table")
    raise AssertionError("no error")
except psycopg2.Error as error:
    assert error.pgcode == "42P01", error.pgcode
cur.execute(f"SELECT id, v FROM {table} ORDER BY id")
assert cur.fetchall() == [(1, "uno"), (2, "two")]
print("OK")

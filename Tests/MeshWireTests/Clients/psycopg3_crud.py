"""CRUD through psycopg 3 (extended protocol, server-side parameters). Usage: psycopg3_crud.py PORT TABLE"""
import sys
try:
    import psycopg
except ImportError:
    print("missing Python package: pip install psycopg")
    sys.exit(3)

port, table = int(sys.argv[1]), sys.argv[2]
with psycopg.connect(host="127.0.0.1", port=port, user="meshdb", dbname="meshdb", autocommit=True) as conn:
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text, score real)")
    cur.execute(f"INSERT INTO {table} VALUES (%s, %s, %s)", (1, "one", 1.5))
    cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s)", [(2, "two", None), (3, "it's", 3.0)])
    cur.execute(f"SELECT id, name, score FROM {table} WHERE id >= %s ORDER BY id", (2,))
    rows = cur.fetchall()
    assert rows == [(2, "two", None), (3, "it's", 3.0)], rows
    cur.execute(f"UPDATE {table} SET name = %s WHERE id = %s", ("uno", 1))
    assert cur.rowcount == 1, cur.rowcount
    cur.execute(f"DELETE FROM {table} WHERE id = %s", (3,))
    assert cur.rowcount == 1, cur.rowcount
    try:
        cur.execute("SELECT * FROM missing_table")
        raise AssertionError("no error")
    except psycopg.errors.UndefinedTable as error:
        assert error.sqlstate == "42P01"
    cur.execute(f"SELECT name FROM {table} ORDER BY id")
    assert [r[0] for r in cur.fetchall()] == ["uno", "two"]
    with cur.copy(f"COPY {table} (id, name) FROM STDIN") as copy:
        for i in range(10, 20):
            copy.write_row((i, f"n{i}"))
    cur.execute(f"SELECT count(*) FROM {table}")
    assert cur.fetchone()[0] == 12
    lines = []
    with cur.copy(f"COPY (SELECT id, name FROM {table} WHERE id < 11 ORDER BY id) TO STDOUT") as copy:
        for row in copy.rows():
            lines.append(row)
    assert lines == [("1", "uno"), ("2", "two"), ("10", "n10")], lines
    # Binary COPY out: the header travels with the first row (with no rows, with the trailer);
    # on its own it was "bad copy data: fields number truncated".
    for bound, expected in [(11, [(1, "uno"), (2, "two"), (10, "n10")]), (0, [])]:
        with cur.copy(f"COPY (SELECT id, name FROM {table} WHERE id < {bound} ORDER BY id) TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text"])
            rows = list(copy.rows())
        assert rows == expected, rows
    cur.execute("select 1::oid", binary=True)
    assert cur.fetchone()[0] == 1
print("OK")

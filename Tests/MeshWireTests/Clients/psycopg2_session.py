"""What a session is told at startup (libpq through psycopg2): startup parameters and the
options switches become settings, current_user is the login, pg_backend_pid() is the process id
of BackendKeyData, and a setting the session refuses fails the login. Usage: psycopg2_session.py PORT NAME"""
import sys
try:
    import psycopg2
except ImportError:
    print("missing Python package: pip install psycopg2-binary")
    sys.exit(3)

port, name = int(sys.argv[1]), sys.argv[2]


def connect(**extra):
    return psycopg2.connect(host="127.0.0.1", port=port, dbname="meshdb", **extra)


conn = connect(user="meshdb", application_name="app " + name,
               options="-c mesh.read_consistency=local --work-mem=64MB -c search_path=a\\ b")
conn.autocommit = True
cur = conn.cursor()
for setting, expected in [("application_name", "app " + name), ("mesh.read_consistency", "local"),
                          ("work_mem", "64MB"), ("search_path", "a b")]:
    cur.execute(f"SHOW {setting}")
    assert cur.fetchone()[0] == expected, (setting, expected)
assert conn.get_parameter_status("application_name") == "app " + name
cur.execute("SELECT pg_backend_pid(), current_user, session_user")
pid, current, session = cur.fetchone()
assert pid == conn.get_backend_pid() and pid > 0, (pid, conn.get_backend_pid())
assert (current, session) == ("meshdb", "meshdb"), (current, session)

# SET of a reported parameter is reported back (ParameterStatus); RESET returns to the startup value.
cur.execute("SET application_name = 'renamed'")
assert conn.get_parameter_status("application_name") == "renamed"
cur.execute("RESET application_name")
cur.execute("SHOW application_name")
assert cur.fetchone()[0] == "app " + name
assert conn.get_parameter_status("application_name") == "app " + name

# A setting given twice (options, then a parameter): the parameter wins, in SHOW and in
# ParameterStatus alike.
twice = connect(user="meshdb", options="-c application_name=first", application_name="second")
twice_cur = twice.cursor()
twice_cur.execute("SHOW application_name")
assert twice_cur.fetchone()[0] == "second"
assert twice.get_parameter_status("application_name") == "second", twice.get_parameter_status("application_name")
twice.close()

# Another login is its own current_user (the demo trusts every user the catalog knows).
user = f"{name}_user"
cur.execute(f"CREATE USER {user} PASSWORD 'pw'")
other = connect(user=user)
other_cur = other.cursor()
other_cur.execute("SELECT current_user, session_user")
assert other_cur.fetchone() == (user, user)
other.close()
cur.execute(f"DROP USER {user}")

for options, message in [("-c mesh.read_consistency=bogus", 'invalid value for parameter "mesh.read_consistency"'),
                         ("-B 100", "invalid command-line argument for server process: -B")]:
    try:
        connect(user="meshdb", options=options).close()
        raise AssertionError(f"options {options!r} were accepted")
    except psycopg2.OperationalError as error:
        assert message in str(error), str(error)

# The refused logins harmed nothing: the first session goes on.
cur.execute("SELECT 1")
assert cur.fetchone() == (1,)
conn.close()
print("OK")

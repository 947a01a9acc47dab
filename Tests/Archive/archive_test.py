#!/usr/bin/env python3
"""A hospital group's archive on a real PostgreSQL (Debian's postgresql, started here on a free
loopback port in a temporary directory): two hospitals' centrals, each holding a demo hospital
and writing survey responses, archive into one database with `serve --archive`.

Each hospital's central connects as its own PostgreSQL role, registered by the group's
administrator with `suifang archive setup`; the role may write its own hospital's partitions and
nothing else.

Covers: both hospitals' rows arrive, each under its hospital; PostgreSQL restarted mid-stream
and the archive catches up; the group's views (NPS per hospital x ward x month x mode,
satisfaction, complaint ageing) match each central's own statistics exactly; the high-water
marks deleted (every row sent again) duplicate nothing; a hospital's role cannot read, write or
delete another hospital's rows or marks, move a registration or replace a view (a stolen central's
credentials); a central that claims another hospital's name, or one not registered, is refused; no archive row is written for a central that is not told to archive.

    Tests/Archive/archive_test.py --binary .build/debug/suifang
"""
import argparse, contextlib, glob, os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from suifang_node import DemoCentral, check, free_port  # noqa: E402

DATABASE = "group_archive"
OWNER = "archive_owner"  # the group's administrator: owns the database and the archive, no superuser


class Postgres:
    """A PostgreSQL server of our own: initdb in a temporary directory, trust on loopback only,
    run as the `postgres` user when this runs as root (PostgreSQL refuses root)."""

    def __init__(self):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not versions:
            raise SystemExit("PostgreSQL is not installed (scripts/install-deps.sh test installs it)")
        self.bin = versions[-1]
        self.work = tempfile.mkdtemp(prefix="suifang-pg-")
        os.chmod(self.work, 0o755)
        self.data = os.path.join(self.work, "data")
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.work, "postgres", "postgres")
        self.pg("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        self.options = f"-p {self.port} -k {self.work} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg("pg_ctl", "-D", self.data, "-o", self.options, "-l", os.path.join(self.work, "log"), "-w", "start")
        self.sql(f"CREATE ROLE {OWNER} LOGIN", database="postgres")
        self.sql(f"CREATE DATABASE {DATABASE} OWNER {OWNER}", database="postgres")

    def pg(self, tool, *args):
        subprocess.run(self.as_user + [os.path.join(self.bin, tool), *args], check=True, capture_output=True, text=True)

    @property
    def url(self):
        return self.url_as(OWNER)

    def url_as(self, role):
        return f"postgres://{role}@127.0.0.1:{self.port}/{DATABASE}"

    def sql(self, statement, database=DATABASE, role="postgres"):
        """Rows of `statement` (tab-separated fields), as lists of strings."""
        result = subprocess.run(
            [os.path.join(self.bin, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", role, "-d", database,
             "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", statement],
            capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.strip())
        return [line.split("\t") for line in result.stdout.splitlines() if line]

    def count(self, statement):
        try:
            return int(self.sql(statement)[0][0])
        except (RuntimeError, IndexError):
            return -1

    def restart(self):
        self.pg("pg_ctl", "-D", self.data, "-o", self.options, "-l", os.path.join(self.work, "log"), "-m", "fast", "-w", "restart")

    def stop(self):
        try:
            self.pg("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.work, ignore_errors=True)


def wait_for(condition, what, seconds=90):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for: {what}")


class Hospital(DemoCentral):
    """A demo hospital's central (its own cluster) archiving as `name`, writing responses."""

    def __init__(self, binary, name, postgres, patients, traffic_seconds):
        self.name = name
        super().__init__(binary, f"archive-{name}", patients=patients)
        self.serve_args = ["--archive", postgres.url_as(role_of(name)), "--archive-hospital", name,
                           "--traffic-per-second", "8", "--traffic-seconds", str(traffic_seconds),
                           "--traffic-log", os.path.join(self.work, "traffic.log")]

    def stats(self, token):
        """(NPS rows, satisfaction rows, complaint ageing) from this central's own API."""
        _, nps = self.request("GET", "/api/stats/nps?from=2000-01-01&to=2099-12-31&period=month", token=token)
        _, ageing = self.request("GET", "/api/stats/complaint-ageing", token=token)
        return nps, ageing


def role_of(hospital):
    return "hospital_" + hospital.replace("-", "_")


def set_up(binary, postgres, hospital, create=True):
    """The group's administrator registers `hospital` for its own role (created first)."""
    if create:
        postgres.sql(f"CREATE ROLE {role_of(hospital)} LOGIN")
    result = subprocess.run([binary, "archive", "setup", "--archive", postgres.url, "--hospital", hospital,
                             "--role", role_of(hospital), "--reader", "group_office", "--json"], capture_output=True, text=True)
    check(result.returncode == 0 and role_of(hospital) in result.stdout, f"archive setup registers {hospital}: {result.stdout}{result.stderr}")


def refused(postgres, role, statement):
    """Whether PostgreSQL refuses `statement` run as `role`."""
    try:
        postgres.sql(statement, role=role)
        return False
    except RuntimeError as error:
        return "permission denied" in str(error) or "violates partition constraint" in str(error)


def attacks(postgres):
    """What fz-1's role (a stolen central's credentials) tries against fz-2: all refused."""
    other = postgres.sql("SELECT id FROM suifang._archive_hospital WHERE hospital = 'fz-2'")[0][0]
    own = postgres.sql("SELECT id FROM suifang._archive_hospital WHERE hospital = 'fz-1'")[0][0]
    role = role_of("fz-1")
    row = "(id, _hospital, _origin, _seq, _stamp_ms) VALUES ('forged', 'fz-2', '00', 1, 1)"
    for statement in [
        f"INSERT INTO suifang.survey_response {row}",
        f"INSERT INTO suifang.survey_response__h{other} {row}",
        f"INSERT INTO suifang.survey_response__h{own} {row}",
        f"UPDATE suifang.survey_response__h{other} SET overall = 1",
        f"DELETE FROM suifang.survey_response__h{other}",
        f"SELECT count(*) FROM suifang.survey_response__h{other}",
        "SELECT count(*) FROM suifang.survey_response",
        "SELECT count(*) FROM suifang.nps_month",
        f"DELETE FROM suifang._archive_mark__h{other}",
        "UPDATE suifang._archive_hospital SET role = 'hospital_fz_1' WHERE hospital = 'fz-2'",
        "SELECT role FROM suifang._archive_hospital",
        "SELECT * FROM suifang.archive_status",
        "CREATE OR REPLACE VIEW suifang.nps_month AS SELECT 1 AS hospital",
        "CREATE TABLE suifang.planted (x int)",
    ]:
        check(refused(postgres, role, statement), f"fz-1's role is refused: {statement}")
    check(int(postgres.sql(f"SELECT count(*) FROM suifang.survey_response__h{own}", role=role)[0][0]) > 0, "fz-1's role reads its own partition")
    # A temporary type named like one claim_hospital uses, whose check runs the caller's code as the
    # archive's owner when the function converts a value to it (helper review, H1): never used.
    planted = """
        CREATE FUNCTION pg_temp.own(v pg_catalog.text) RETURNS bool LANGUAGE plpgsql AS $$
        BEGIN IF current_user <> session_user THEN
          EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA suifang TO hospital_fz_1';
        END IF; RETURN true; END $$;
        CREATE DOMAIN pg_temp.t AS pg_catalog.text CHECK (pg_temp.own(VALUE));
        CREATE TYPE pg_temp.record AS (role pg_temp.t, id int, cluster_key pg_catalog.text);
        SELECT * FROM suifang.claim_hospital('fz-2', 'x');
        SELECT * FROM suifang.claim_hospital('fz-1', 'x');
    """
    try:
        postgres.sql(planted, role=role)
    except RuntimeError:
        pass
    check(refused(postgres, role, f"SELECT count(*) FROM suifang.survey_response__h{other}"),
          "a temporary type planted by fz-1's role runs nothing as the archive's owner")
    check(refused(postgres, "group_office", "DELETE FROM suifang.survey_response"), "the group office reads, never writes")
    check(int(postgres.sql("SELECT count(*) FROM suifang.nps_month", role="group_office")[0][0]) > 0, "the group office reads the views")


def setup_refused(binary, postgres, hospital, role, reader=None, expected=""):
    """Whether `archive setup` refuses to register `hospital` for `role` (and `reader`), saying `expected`."""
    command = [binary, "archive", "setup", "--archive", postgres.url, "--hospital", hospital, "--role", role]
    result = subprocess.run(command + (["--reader", reader] if reader else []), capture_output=True, text=True)
    return result.returncode != 0 and expected in result.stderr


def administration(binary, postgres):
    """What the administrator's `archive setup` refuses, and what a role keeps once its hospital moves."""
    postgres.sql("CREATE ROLE hospital_fz_3 LOGIN")
    postgres.sql("CREATE ROLE hospital_fz_3b LOGIN")
    postgres.sql("CREATE ROLE archive_admin_friend LOGIN SUPERUSER")
    # Roles that can act as more than a hospital's own (role membership, with or without INHERIT).
    fz_2 = postgres.sql("SELECT id FROM suifang._archive_hospital WHERE hospital = 'fz-2'")[0][0]
    for statement in ["CREATE ROLE writes_all LOGIN", "GRANT pg_write_all_data TO writes_all",
                      "CREATE ROLE climber LOGIN", "GRANT archive_admin_friend TO climber",
                      "CREATE ROLE owner_friend LOGIN", f"GRANT {OWNER} TO owner_friend",
                      "CREATE ROLE sneaky LOGIN NOINHERIT", "GRANT group_office TO sneaky",
                      "CREATE ROLE twin LOGIN", f"GRANT {role_of('fz-2')} TO twin",
                      "CREATE ROLE host LOGIN", f"GRANT host TO {role_of('fz-2')}",
                      "CREATE ROLE office_twin LOGIN", f"GRANT {role_of('fz-1')} TO office_twin",
                      "CREATE ROLE office_host LOGIN", f"GRANT office_host TO {role_of('fz-1')}",
                      "CREATE ROLE snoop LOGIN", "CREATE ROLE snoop_group NOLOGIN", "GRANT snoop_group TO snoop",
                      f"GRANT SELECT ON suifang.survey_response__h{fz_2} TO snoop_group",
                      "CREATE ROLE colsnoop LOGIN", "GRANT SELECT (id) ON suifang.patient TO colsnoop",
                      "CREATE ROLE office_writes LOGIN", "GRANT DELETE ON suifang.survey_response TO office_writes",
                      "CREATE ROLE creator LOGIN", "GRANT CREATE ON SCHEMA suifang TO creator",
                      "CREATE ROLE seqsnoop LOGIN", "GRANT USAGE ON SEQUENCE suifang._archive_hospital_id_seq TO seqsnoop"]:
        postgres.sql(statement)
    for hospital, role, reader, expected, what in [
        ("fz-3", "postgres", None, "ordinary role", "a superuser as a hospital's role"),
        ("fz-3", "archive_admin_friend", None, "ordinary role", "another superuser"),
        ("fz-3", "pg_read_all_data", None, "ordinary role", "a predefined pg_ role"),
        ("fz-3", role_of("fz-2"), None, "already writes hospital 'fz-2'", "one role for two hospitals"),
        ("fz-3", "group_office", None, "reads every hospital", "the group office's reader as a hospital's role"),
        ("fz-3", "hospital_fz_3", role_of("fz-1"), "writes hospital 'fz-1'", "a hospital's role as the reader"),
        ("fz-3", "hospital_fz_3", "hospital_fz_3", "reads every hospital", "the same role as writer and reader"),
        ("fz-3", "writes_all", None, "ordinary role", "a role granted pg_write_all_data"),
        ("fz-3", "climber", None, "ordinary role", "a member of a superuser role"),
        ("fz-3", "owner_friend", None, "ordinary role", "a member of the archive's owner"),
        ("fz-3", "sneaky", None, "reads every hospital", "a NOINHERIT member of the reader"),
        ("fz-3", "twin", None, "can act one as the other", "a member of another hospital's role"),
        ("fz-3", "host", None, "can act one as the other", "a role another hospital's role is a member of"),
        ("fz-3", "hospital_fz_3", "office_twin", "can act one as the other", "a reader that is a member of a hospital's role"),
        ("fz-3", "hospital_fz_3", "office_host", "can act one as the other", "a reader a hospital's role is a member of"),
        ("fz-3", "hospital_fz_3", "writes_all", "ordinary role", "a reader granted pg_write_all_data"),
        ("fz-3", "hospital_fz_3", "climber", "ordinary role", "a reader that can act as a superuser"),
        ("fz-3", "snoop", None, "not hospital 'fz-3''s own partition", "a role granted another hospital's partition by hand"),
        ("fz-3", "colsnoop", None, "not hospital 'fz-3''s own partition", "a role granted a column of every hospital's patients"),
        ("fz-3", "hospital_fz_3", "office_writes", "the reader only reads", "a reader that may delete"),
        ("fz-3", "creator", None, "may create objects", "a role that may create in the schema"),
        ("fz-3", "seqsnoop", None, "suifang._archive_hospital_id_seq", "a role that may advance the registrations' sequence"),
    ]:
        check(setup_refused(binary, postgres, hospital, role, reader, expected), f"archive setup refuses {what}")
    postgres.sql("CREATE ROLE database_owner LOGIN")
    postgres.sql(f"ALTER DATABASE {DATABASE} OWNER TO database_owner")
    check(setup_refused(binary, postgres, "fz-3", "database_owner", expected="the database's owner"), "archive setup refuses the database's owner")
    postgres.sql(f"ALTER DATABASE {DATABASE} OWNER TO {OWNER}")
    check(postgres.count("SELECT count(*) FROM suifang._archive_hospital WHERE hospital = 'fz-3'") == 0, "refused setups register nothing")
    # A hospital moved to another role: the old role keeps nothing in the archive. Meanwhile fz-1's
    # role holds its claim open in a transaction: setting up goes on all the same.
    # Sessions holding what locks they can (attacker review): setting up goes on all the same.
    fz_2 = postgres.sql("SELECT id FROM suifang._archive_hospital WHERE hospital = 'fz-2'")[0][0]
    holders = [
        (role_of("fz-1"), "SELECT * FROM suifang.claim_hospital('fz-1', 'not-the-key');", "a hospital's claim held open"),
        # PREPARE locks what it names before any privilege is checked.
        (role_of("fz-1"), "PREPARE b AS SELECT 1 FROM suifang.survey_response;", "a parent table named by a hospital's role"),
        (role_of("fz-1"), "PREPARE c AS SELECT 1 FROM suifang.archive_status;", "a view named by a hospital's role"),
        (role_of("fz-2"), f"LOCK TABLE suifang.patient__h{fz_2} IN ACCESS EXCLUSIVE MODE;", "a hospital's own partition locked"),
        ("group_office", "SELECT count(*) FROM suifang.nps_month;", "a report reading a view"),
    ]
    # The table setups lock is in the owner's own schema: no other role can name it, so none can
    # hold a lock on it or queue one (CREATE RULE waits for its lock before privileges are checked).
    for role in (role_of("fz-1"), "group_office"):
        for statement in ["PREPARE a AS SELECT 1 FROM suifang_admin._archive_setup",
                          "CREATE RULE r AS ON INSERT TO suifang_admin._archive_setup DO INSTEAD NOTHING"]:
            check(refused(postgres, role, statement), f"{role} cannot name the setups' lock table: {statement}")
    with held_sessions(postgres, holders):
        started = time.time()
        set_up(binary, postgres, "fz-3", create=False)
        check(time.time() - started < 8, f"none of them holds setting up ({time.time() - started:.1f} s)")
    ids = [row[0] for row in postgres.sql("SELECT id FROM suifang._archive_hospital ORDER BY id")]
    check(ids == ["1", "2", "3"], f"claims and refused setups consume no registration number ({ids})")
    # Moved to a role the old one can act as, the old role would keep the hospital.
    postgres.sql("GRANT hospital_fz_3b TO hospital_fz_3")
    check(setup_refused(binary, postgres, "fz-3", "hospital_fz_3b", expected="can act one as the other"),
          "archive setup refuses to move a hospital to a role its old role can act as")
    postgres.sql("REVOKE hospital_fz_3b FROM hospital_fz_3")
    check(not setup_refused(binary, postgres, "fz-3", "hospital_fz_3b"), "archive setup moves fz-3 to another role")
    check(postgres.sql("SELECT has_schema_privilege('hospital_fz_3', 'suifang', 'USAGE')")[0][0] == "f", "the old role loses the schema")
    check(postgres.sql("SELECT has_function_privilege('hospital_fz_3', 'suifang.claim_hospital(text, text)', 'EXECUTE')")[0][0] == "f",
          "the old role may no longer claim a hospital")
    check(postgres.sql("SELECT has_function_privilege('hospital_fz_1', 'suifang.claim_hospital(text, text)', 'EXECUTE')")[0][0] == "t",
          "a registered role may")
    # An object in the archive's schema that its administrator does not own: setup stops and says so.
    postgres.sql("CREATE ROLE planter LOGIN")
    postgres.sql("GRANT CREATE, USAGE ON SCHEMA suifang TO planter")
    postgres.sql("CREATE FUNCTION suifang.planted() RETURNS int LANGUAGE sql AS 'SELECT 1'", role="planter")
    check(setup_refused(binary, postgres, "fz-3", "hospital_fz_3b", expected="owned by another role"), "archive setup refuses a schema holding another role's objects")
    postgres.sql("DROP FUNCTION suifang.planted()")
    postgres.sql("REVOKE CREATE, USAGE ON SCHEMA suifang FROM planter")
    check(not setup_refused(binary, postgres, "fz-3", "hospital_fz_3b"), "and runs again once they are gone")
    default_privileges(binary, postgres)


@contextlib.contextmanager
def held_sessions(postgres, holders):
    """Sessions that each run a statement as a role in a transaction they keep open."""
    sessions = []
    try:
        for role, statement, what in holders:
            holder = subprocess.Popen([os.path.join(postgres.bin, "psql"), "-h", "127.0.0.1", "-p", str(postgres.port), "-U", role,
                                       "-d", DATABASE, "-Atq"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            sessions.append(holder)
            holder.stdin.write(f"BEGIN;\n{statement}\nSELECT 'held';\nSELECT pg_sleep(120);\n")
            holder.stdin.flush()
            lines = [holder.stdout.readline().strip() for _ in range(2 if statement.startswith("SELECT") else 1)]
            check(lines[-1] == "held", f"held open: {what}")
        yield
    finally:
        for holder in sessions:
            holder.kill()
            holder.wait()


def default_privileges(binary, postgres):
    """Rights that reach a new hospital's partitions after the roles were vetted: the owner's default
    privileges, or a right granted by hand to a registered role since its setup. Setup refuses both."""
    postgres.sql("CREATE ROLE hospital_fz_4 LOGIN")
    fz_1 = role_of("fz-1")
    postgres.sql(f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA suifang GRANT SELECT ON TABLES TO {fz_1}")
    check(setup_refused(binary, postgres, "fz-4", "hospital_fz_4", expected="default privileges"),
          "archive setup refuses while the owner's default privileges would give new tables to another role")
    check(postgres.count(f"SELECT count(*) FROM information_schema.role_table_grants WHERE grantee = '{fz_1}' AND table_name LIKE '%\\_\\_h4'") == 0,
          "and fz-1's role got nothing of fz-4's")
    postgres.sql(f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA suifang REVOKE SELECT ON TABLES FROM {fz_1}")
    fz_2 = postgres.sql("SELECT id FROM suifang._archive_hospital WHERE hospital = 'fz-2'")[0][0]
    postgres.sql(f"GRANT SELECT ON suifang.patient__h{fz_2} TO {fz_1}")
    check(setup_refused(binary, postgres, "fz-4", "hospital_fz_4", expected=f"role '{fz_1}', which writes hospital 'fz-1'"),
          "archive setup refuses while a registered role was granted another hospital's partition since its setup")
    postgres.sql(f"REVOKE SELECT ON suifang.patient__h{fz_2} FROM {fz_1}")
    postgres.sql(f"GRANT CREATE ON SCHEMA suifang TO {role_of('fz-2')}")
    check(setup_refused(binary, postgres, "fz-4", "hospital_fz_4", expected="may create objects"),
          "archive setup refuses while a registered role was given CREATE on the schema since its setup")
    postgres.sql(f"REVOKE CREATE ON SCHEMA suifang FROM {role_of('fz-2')}")
    check(not setup_refused(binary, postgres, "fz-4", "hospital_fz_4"), "and sets fz-4 up once both are taken back")


def group_nps(postgres, hospital):
    rows = postgres.sql(
        f"SELECT ward_id, month, mode, promoters, passives, detractors, recommenders, nps FROM suifang.nps_month "
        f"WHERE hospital = '{hospital}' ORDER BY ward_id, month, mode")
    return [(w, m, mode, int(p), int(pa), int(d), int(r), float(n)) for w, m, mode, p, pa, d, r, n in rows]


def central_nps(rows):
    return sorted((r["wardId"], r["period"], r["mode"], r["promoters"], r["passives"], r["detractors"], r["responses"], float(r["nps"]))
                  for r in rows)


def group_ageing(postgres, hospital):
    rows = postgres.sql(f"SELECT status, open, overdue FROM suifang.complaint_ageing WHERE hospital = '{hospital}'")
    return {status: int(open_) for status, open_, _ in rows}, sum(int(overdue) for _, _, overdue in rows)


def matches(postgres, hospital, token):
    nps, ageing = hospital.stats(token)
    if not isinstance(nps, list) or not isinstance(ageing, dict):
        return False
    by_status, overdue = group_ageing(postgres, hospital.name)
    ours, theirs = central_nps(nps), group_nps(postgres, hospital.name)
    last_difference[hospital.name] = (
        [row for row in ours if row not in theirs][:5], [row for row in theirs if row not in ours][:5],
        (ageing["byStatus"], ageing["overdue"]), (by_status, overdue))
    return ours == theirs and by_status == ageing["byStatus"] and overdue == ageing["overdue"]


last_difference = {}


def responses(postgres, name):
    return postgres.count(f"SELECT count(*) FROM suifang.survey_response WHERE _hospital = '{name}'")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/debug/suifang")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    postgres = Postgres()
    hospitals = []
    try:
        postgres.sql("CREATE ROLE group_office LOGIN")
        for name in ("fz-1", "fz-2"):
            set_up(binary, postgres, name)
        hospitals = [Hospital(binary, "fz-1", postgres, 90, 24), Hospital(binary, "fz-2", postgres, 60, 24)]
        for hospital in hospitals:
            hospital.start()
        traffic_ends = time.time() + 24
        tokens = {h.name: h.login("manager") for h in hospitals}
        wait_for(lambda: all(responses(postgres, h.name) > 0 for h in hospitals), "both hospitals' responses in the archive")
        check(True, "two centrals archive into one PostgreSQL database, each under its hospital")
        before = {h.name: responses(postgres, h.name) for h in hospitals}
        time.sleep(2)
        postgres.restart()
        check(True, "PostgreSQL restarted mid-stream (fast shutdown, sessions cut)")
        wait_for(lambda: all(responses(postgres, h.name) > before[h.name] for h in hospitals), "the archive going on after the restart")
        check(True, "the archive resumed after PostgreSQL came back")
        # Traffic ends after 24 s; then everything must be there, and the views must agree.
        time.sleep(max(0, traffic_ends + 2 - time.time()))
        for hospital in hospitals:
            wait_for(lambda: matches(postgres, hospital, tokens[hospital.name]), f"{hospital.name}'s group views equal to its central's statistics")
        check(True, "NPS per hospital x ward x month x mode and complaint ageing in the group's views equal each central's own")
        check(postgres.count("SELECT count(*) FROM suifang.nps_month WHERE hospital NOT IN ('fz-1', 'fz-2')") == 0, "no row without its hospital")
        counts = {h.name: responses(postgres, h.name) for h in hospitals}
        patients = {h.name: postgres.count(f"SELECT count(*) FROM suifang.patient WHERE _hospital = '{h.name}'") for h in hospitals}
        check(patients["fz-1"] > 0 and patients["fz-2"] > 0, f"every table is archived (patients: {patients})")
        check(postgres.count("SELECT count(*) FROM suifang.app_user") > 0
              and postgres.count("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'suifang' AND column_name = 'password_hash'") == 0,
              "accounts are archived without their password hashes")

        # Idempotent: the marks lost, every row is sent again; nothing doubles.
        first = hospitals[0]
        first.process.terminate()
        first.process.wait(timeout=20)
        postgres.sql("DELETE FROM suifang._archive_mark WHERE hospital = 'fz-1'")
        first.serve_args = ["--archive", postgres.url_as(role_of("fz-1")), "--archive-hospital", "fz-1"]
        first.start()
        wait_for(lambda: postgres.count("SELECT count(*) FROM suifang._archive_mark WHERE hospital = 'fz-1'") > 0, "fz-1's marks written again")
        wait_for(lambda: matches(postgres, first, first.login("manager")), "fz-1's views equal again after every row was sent again")
        check(responses(postgres, "fz-1") == counts["fz-1"], f"re-sent rows duplicate nothing ({counts['fz-1']} responses)")
        check(postgres.count("SELECT count(*) FROM (SELECT _hospital, id FROM suifang.survey_response GROUP BY 1, 2 HAVING count(*) > 1) d") == 0,
              "one archive row per hospital and key")

        attacks(postgres)
        # A central that claims fz-2's name (as the archive's owner, or with fz-1's role), or a
        # name nobody registered for its role, is refused and writes nothing.
        # A second cluster with fz-1's own role and name (a restored copy, a test cluster given
        # production's credentials) is refused too: the archive is bound to fz-1's cluster.
        for label, role, name, expected in [("owner", OWNER, "fz-2", "another role"), ("stolen", role_of("fz-1"), "fz-2", "another role"),
                                            ("unregistered", role_of("fz-1"), "fz-9", "not registered"),
                                            ("second-cluster", role_of("fz-1"), "fz-1", "another cluster")]:
            impostor = DemoCentral(binary, f"archive-impostor-{label}", patients=20,
                                   serve_args=["--archive", postgres.url_as(role), "--archive-hospital", name])
            hospitals.append(impostor)
            impostor.start()
            wait_for(lambda: expected in impostor.log_tail(20000), f"the {label} impostor's archive refused")
            impostor.stop()
        check(responses(postgres, "fz-2") == counts["fz-2"], "a central cannot write under another hospital's name")
        check(postgres.count("SELECT count(*) FROM suifang._archive_hospital WHERE hospital = 'fz-9'") == 0, "nor register a name of its own")
        check(responses(postgres, "fz-1") == counts["fz-1"], "a second cluster with fz-1's credentials writes nothing")
        administration(binary, postgres)
    except (AssertionError, RuntimeError):
        for name, difference in last_difference.items():
            print(f"--- {name}: central only {difference[0]}; archive only {difference[1]}; ageing {difference[2]} vs {difference[3]}")
        for hospital in hospitals:
            print(f"--- {hospital.work} serve log:\n" + hospital.log_tail(4000))
        raise
    finally:
        for hospital in hospitals:
            hospital.stop()
        postgres.stop()
    print("archive to PostgreSQL: ok")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""docs/openapi.yaml as a contract, checked by an independent OpenAPI fuzzer: schemathesis (PyPI,
installed into a cached venv) against a live central node holding the demo hospital.

Every phase (examples, coverage, fuzzing, stateful) and every check runs twice:
  1. as a machine, with a machine credential holding every machine scope (`token create`): the routes
     a PBX, an SMS gateway or a FHIR client calls answer, all others refuse as documented;
  2. as an administrator's session, so the whole API is reached with generated valid and invalid
     input (the session's own logout is left out: it would end the run's login).
Any failure (a 5xx, an undocumented status code or content type, a response that does not match its
schema, a schema-valid request refused, a schema-violating request accepted, an undeclared method not
answered 405) fails the test; the node's log must hold no demo patient's name.

    Tests/OpenAPI/conformance_test.py --binary .build/debug/suifang [--examples 25] [--seed 1]
"""
import argparse, os, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from suifang_node import DemoCentral, check, ensure_venv  # noqa: E402

REQUIREMENT = "schemathesis==4.32.5"
SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "openapi.yaml")
CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemathesis.toml")


def schemathesis_ready():
    try:
        import schemathesis
        return schemathesis.__version__ == REQUIREMENT.split("==")[1]
    except (ImportError, AttributeError):
        return False


ensure_venv("schemathesis-venv", REQUIREMENT, schemathesis_ready)


def schemathesis(node, token, label, examples, seed, extra=()):
    """Runs `st run` against `node` with `token`; returns its exit status."""
    st = os.path.join(os.path.dirname(sys.executable), "st")
    report = os.path.join(node.work, f"report-{label}")
    command = [st, "--config-file", CONFIG, "run", SCHEMA, "--url", node.url, "--tls-verify", node.ca,
               "-H", f"Authorization: Bearer {token}",
               "--phases", "examples,coverage,fuzzing,stateful", "--checks", "all",
               "--max-examples", str(examples), "--seed", str(seed), "--workers", "1",
               "--request-timeout", "30", "--suppress-health-check", "too_slow,filter_too_much",
               "--report", "junit", "--report-dir", report, "--no-color", *extra]
    print(f"schemathesis as {label}: {' '.join(command[3:5])} … --seed {seed} --max-examples {examples}", flush=True)
    environment = dict(os.environ, SCHEMATHESIS_HOOKS="")
    return subprocess.run(command, env=environment, cwd=node.work).returncode  # its cache stays in the temporary folder


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/debug/suifang")
    parser.add_argument("--examples", type=int, default=25, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--only", choices=["machine", "session"], help="run one of the two passes")
    args = parser.parse_args()
    node = DemoCentral(os.path.abspath(args.binary), "openapi").start()
    failures = []
    try:
        if args.only in (None, "machine"):
            machine = node.token("integration", "screen-pop", "sms-gateway", "fhir")
            if schemathesis(node, machine, "machine", args.examples, args.seed) != 0:
                failures.append("machine credential")
        if args.only in (None, "session"):
            admin = node.login("admin")
            status = schemathesis(node, admin, "session", args.examples, args.seed,
                                  ["--exclude-path", "/api/logout"])
            if status != 0:
                failures.append("administrator session")
        log = node.log_tail(10_000_000)
        check("张" not in log and "李" not in log and "王" not in log, "the node's log holds no patient name")
        check(node.request("GET", "/api/health")[0] == 200, "the node still answers after the fuzzing")
    finally:
        node.stop()
    if failures:
        raise SystemExit("OpenAPI conformance FAILED for: " + ", ".join(failures))
    print("OpenAPI conformance: ok")


if __name__ == "__main__":
    main()

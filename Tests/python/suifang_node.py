"""What the Python real-counterpart tests share: a central node of the demo hospital started from the
binary under test, on free loopback ports in a temporary folder, and a venv for PyPI counterparts.

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
    from suifang_node import DemoCentral, check, ensure_venv
"""
import json, os, shutil, socket, ssl, subprocess, sys, tempfile, time, urllib.error, urllib.request

DEMO_PASSWORD = "demo-password-for-tests"


def free_port():
    """A TCP port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(condition, what):
    """Fails the test with `what` unless `condition` holds; prints it when it does."""
    if not condition:
        raise AssertionError(what)
    print("  ok:", what)


def ensure_venv(name, requirement, ready):
    """Re-executes this script inside a cached venv (~/.cache/suifang/NAME) holding `requirement`
    (a pip requirement) unless `ready()` says the current interpreter has it already."""
    if ready():
        return
    venv = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "suifang", name)
    python = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        raise SystemExit(f"{requirement} did not install into {venv}")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", requirement], check=True)
    os.execv(python, [python] + sys.argv)


def parsed(raw):
    """A response body as JSON, or as text when it is not JSON, or None when empty."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


class DemoCentral:
    """A central node holding the demo hospital (`debug load-demo`), serving HTTPS on a free port.
    Its users are the demo's (`admin`, `manager`, `agent1`, …) with the password `DEMO_PASSWORD`."""

    def __init__(self, binary, prefix, patients=120, serve_args=()):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix=f"suifang-{prefix}-")
        self.dir = os.path.join(self.work, "central")
        self.port = free_port()
        self.run("init", "--role", "central", "--name", "central", "--dir", self.dir, "--listen", "127.0.0.1:0", "--no-encryption")
        self.run("debug", "load-demo", "--dir", self.dir, "--patients", str(patients), "--password", DEMO_PASSWORD)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.tls = ssl.create_default_context(cafile=self.ca)
        self.log = open(os.path.join(self.work, "serve.log"), "w+")
        self.serve_args = list(serve_args)
        self.process = None

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def run(self, *args):
        """Runs a `suifang` command on this node's folder and returns its standard output."""
        return subprocess.run([self.binary, *args], check=True, capture_output=True, text=True).stdout

    def token(self, name, *scopes):
        """A new machine credential (`token create`) holding `scopes`."""
        arguments = ["token", "create", "--dir", self.dir, "--name", name, "--json"]
        for scope in scopes:
            arguments += ["--scope", scope]
        return json.loads(self.run(*arguments))["token"]

    def start(self):
        self.process = subprocess.Popen([self.binary, "serve", "--dir", self.dir, "--http", f"127.0.0.1:{self.port}", *self.serve_args],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            if self.request("GET", "/api/health")[0] == 200:
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit("the node did not come up:\n" + self.log_tail())

    def request(self, method, path, body=None, token=None):
        """(status, body parsed as JSON, or text); status 0 when nothing answered."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, method=method, data=data)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.tls) as response:
                return response.status, parsed(response.read())
        except urllib.error.HTTPError as error:
            return error.code, parsed(error.read())
        except OSError:
            return 0, None

    def login(self, user):
        status, body = self.request("POST", "/api/login", {"username": user, "password": DEMO_PASSWORD})
        if status != 200:
            raise AssertionError(f"login as {user}: HTTP {status}")
        return body["token"]

    def log_tail(self, characters=3000):
        self.log.flush()
        with open(self.log.name, errors="replace") as log:
            return log.read()[-characters:]

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.work, ignore_errors=True)

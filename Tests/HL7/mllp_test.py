#!/usr/bin/env python3
"""The HIS feed against a real HL7 library: messages built and parsed by python-hl7 (Debian's
python3-hl7), sent over MLLP to a running `suifang serve --mllp`, checked through its API.

Covers every ADT event Suifang takes, UTF-8 and GB18030, a wrong encoding, segments in an unusual
order, repeated fields, a 2 MB message, a truncated frame, a flood of 1,000 messages on one
connection (all acknowledged, applied once), an unmapped ward queued and replayed, and logs
without patient data.

    Tests/HL7/mllp_test.py --binary .build/debug/suifang
"""
import argparse, json, os, shutil, socket, ssl, subprocess, sys, tempfile, time, urllib.request

import hl7

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
PASSWORD = "his-test-password-1"
NAMES = ["张三", "李四", "王小五"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """A central node with an admin, two wards and a code map, serving HTTP and MLLP on loopback."""

    def __init__(self, binary):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="suifang-hl7-")
        self.dir = os.path.join(self.work, "central")
        self.http_port, self.mllp_port = free_port(), free_port()
        run = lambda *args, **kw: subprocess.run([binary, *args], check=True, capture_output=True, text=True, **kw)
        run("init", "--role", "central", "--name", "central", "--dir", self.dir, "--listen", "127.0.0.1:0", "--no-encryption")
        run("user", "add", "--dir", self.dir, "admin", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
        self.log = open(os.path.join(self.work, "serve.log"), "w+")
        self.process = subprocess.Popen(
            [binary, "serve", "--dir", self.dir, "--http", f"127.0.0.1:{self.http_port}", "--mllp", f"127.0.0.1:{self.mllp_port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        # HTTPS with the certificate central's CA issued at init; trust that CA only.
        self.base = f"https://127.0.0.1:{self.http_port}"
        self.tls = ssl.create_default_context(cafile=os.path.join(self.dir, "ca.pem"))
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.mllp_port), timeout=1):
                    pass
                status, session = self.api("POST", "/api/login", {"username": "admin", "password": PASSWORD})
                if status == 200:
                    self.token = session["token"]
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("the node did not come up:\n" + self.logs())
        for kind, id, body in [("department", "D-CARD", {"name": "心内科"}), ("department", "D-ORTH", {"name": "骨科"}),
                               ("ward", "W-CARD", {"name": "心内一病区", "departmentId": "D-CARD"}),
                               ("ward", "W-ORTH", {"name": "骨科病区", "departmentId": "D-ORTH"}),
                               ("staff", "S-LI", {"name": "李医生", "departmentId": "D-CARD"})]:
            self.expect_ok("PUT", f"/api/reference/{kind}/{id}", dict(body, id=id))
        for kind, code, target in [("ward", "W12", "W-CARD"), ("ward", "W20", "W-ORTH"), ("department", "CARD", "D-CARD"), ("doctor", "D01", "S-LI")]:
            self.expect_ok("PUT", f"/api/his/codes/{kind}/{code}", {"targetId": target})

    def api(self, method, path, body=None):
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode() if body is not None else None, method=method)
        request.add_header("Content-Type", "application/json")
        if getattr(self, "token", None):
            request.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.tls) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def expect_ok(self, method, path, body=None):
        status, answer = self.api(method, path, body)
        assert status == 200, f"{method} {path}: {status} {answer}"
        return answer

    def archive(self, his_id):
        status, answer = self.api("GET", f"/api/patients/his-{his_id}")
        return answer if status == 200 else None

    def logs(self):
        self.log.flush()
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.work, ignore_errors=True)


class Connection:
    """One MLLP connection: frames go out, ACKs come back parsed by python-hl7."""

    def __init__(self, port):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buffer = b""

    def send(self, data):
        self.socket.sendall(SB + data + EB + CR)

    def receive(self):
        while EB + CR not in self.buffer:
            chunk = self.socket.recv(65536)
            if not chunk:
                raise AssertionError("the node closed the connection without an ACK")
            self.buffer += chunk
        frame, self.buffer = self.buffer.split(EB + CR, 1)
        assert frame.startswith(SB), "an ACK starts with 0x0B"
        return hl7.parse(frame[1:].decode("utf-8"))

    def exchange(self, data):
        self.send(data)
        return self.receive()

    def close(self):
        self.socket.close()


def message(trigger, control, pid=None, pv1=None, extra=(), charset=None):
    """An ADT message built with python-hl7: a parsed skeleton whose fields are assigned one by one."""
    msh = f"MSH|^~\\&|HISAPP|HOSP|SUIFANG|CENTRAL|20261201090000||ADT^{trigger}^ADT_{trigger}|{control}|P|2.5"
    text = "\r".join([msh, f"EVN|{trigger}|20261201090000", "PID|1"] + (["PV1|1"] if pv1 is not None else []) + list(extra))
    msg = hl7.parse(text)
    fields = {3: "P1^^^HIS^PI", 5: "张^三", 7: "19600501", 8: "F", 13: "13800138000"}
    fields.update(pid or {})
    for number, value in fields.items():
        set_field(msg, "PID", number, value)
    for number, value in (pv1 or {}).items():
        set_field(msg, "PV1", number, value)
    if charset:
        set_field(msg, "MSH", 18, charset)
    return msg


def set_field(msg, segment, number, value):
    """Assigns a whole field (components and repetitions as written) through python-hl7."""
    target = msg.segment(segment)
    while len(target) <= number:
        target.append(msg.create_field([""]))
    # MSH counts its field separator as field 1, and python-hl7 indexes it the same way.
    target[number] = hl7.parse(f"MSH|^~\\&\rZZZ|{value}").segment("ZZZ")[1]


def visit(number="V1", ward="W12", more=None):
    fields = {2: "I", 3: f"{ward}^301^2", 7: "D01^李^医生", 10: "CARD", 19: number, 44: "20261201083000"}
    fields.update(more or {})
    return fields


def ack_code(ack):
    return str(ack.segment("MSA")[1])


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("  ok:", what)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/debug/suifang")
    args = parser.parse_args()
    node = Node(os.path.abspath(args.binary))
    try:
        run(node)
    except Exception:
        print(node.logs()[-4000:], file=sys.stderr)
        raise
    finally:
        node.stop()
    print("HL7 over MLLP: ok")


def run(node):
    mllp = Connection(node.mllp_port)
    enc = lambda m, encoding="utf-8": str(m).encode(encoding)

    print("every ADT event, in order, on one connection")
    ack = mllp.exchange(enc(message("A01", "E1", pv1=visit(), extra=["DG1|1||I21.9^^ICD10"])))
    check(ack_code(ack) == "AA" and str(ack.segment("MSA")[2]) == "E1", "A01 acknowledged AA with MSA-2 echoing MSH-10")
    check(str(ack.segment("MSH")[9]) == "ACK^A01^ACK" and str(ack.segment("MSH")[5]) == "HISAPP", "the ACK answers the sender")
    archive = node.archive("P1")
    check(archive and archive["patient"]["name"] == "张三" and archive["encounters"][0]["wardId"] == "W-CARD", "the admission is in the archive")
    check(archive["encounters"][0]["doctorId"] == "S-LI" and archive["encounters"][0]["diagnosisCode"] == "I21.9", "doctor and diagnosis mapped")
    check(ack_code(mllp.exchange(enc(message("A02", "E2", pv1=visit(ward="W20", more={6: "W12^301^2"}))))) == "AA", "A02 transfer")
    check(node.archive("P1")["encounters"][0]["wardId"] == "W-ORTH", "transferred to the mapped ward")
    check(ack_code(mllp.exchange(enc(message("A12", "E3", pv1=visit())))) == "AA", "A12 cancel transfer")
    check(node.archive("P1")["encounters"][0]["wardId"] == "W-CARD", "back in the first ward")
    check(ack_code(mllp.exchange(enc(message("A03", "E4", pv1=visit(more={45: "20261205100000", 36: "20"}))))) == "AA", "A03 discharge")
    encounter = node.archive("P1")["encounters"][0]
    check(encounter["dischargedAt"].startswith("2026-12-05T10:00:00") and encounter["dischargeStatus"] == "died", "discharged, disposition 20 read as died")
    check(ack_code(mllp.exchange(enc(message("A13", "E5", pv1=visit())))) == "AA", "A13 cancel discharge")
    check(node.archive("P1")["encounters"][0].get("dischargedAt") is None, "admitted again")
    check(ack_code(mllp.exchange(enc(message("A11", "E6", pv1=visit())))) == "AA", "A11 cancel admit")
    check(node.archive("P1")["encounters"][0]["cancelled"] is True, "the admission is cancelled")
    check(ack_code(mllp.exchange(enc(message("A04", "E7", pv1=visit("OP1", more={2: "O"}))))) == "AA", "A04 outpatient registration")
    check(any(e["kind"] == "outpatient" for e in node.archive("P1")["encounters"]), "the outpatient visit is recorded")
    check(ack_code(mllp.exchange(enc(message("A08", "E8", pid={13: "13900139000"}, pv1=visit())))) == "AA", "A08 update patient")
    check(node.archive("P1")["patient"]["phone"] == "13900139000", "the phone changed")
    check(ack_code(mllp.exchange(enc(message("A28", "E9", pid={3: "P2^^^HIS^PI", 5: "张^叁"})))) == "AA", "A28 add person")
    check(ack_code(mllp.exchange(enc(message("A31", "E10", pid={3: "P2^^^HIS^PI", 5: "张^叁", 13: "13700137000"})))) == "AA", "A31 update person")
    check(node.archive("P2")["patient"]["phone"] == "13700137000", "the person is updated")
    check(ack_code(mllp.exchange(enc(message("A40", "E11", extra=["MRG|P2^^^HIS^PI"])))) == "AA", "A40 merge")
    check(node.archive("P2")["redirectedFrom"] == "his-P2" and node.archive("P2")["patient"]["id"] == "his-P1", "P2 shows as P1")

    print("acknowledgements: AE, AR, and resends")
    resent = mllp.exchange(enc(message("A01", "E1", pv1=visit(), extra=["DG1|1||I21.9^^ICD10"])))
    check(ack_code(resent) == "AA" and len(node.archive("P1")["encounters"]) == 2, "a resent message is acknowledged AA and applied once")
    unmapped = mllp.exchange(enc(message("A01", "Q1", pid={3: "P3^^^HIS^PI"}, pv1=visit("V3", ward="W99"))))
    check(ack_code(unmapped) == "AE" and str(unmapped.segment("ERR")[3]).startswith("103"), "an unmapped ward gets AE with ERR 103")
    unknown = mllp.exchange(enc(message("A03", "Q2", pv1=visit("NOPE"))))
    check(ack_code(unknown) == "AE" and str(unknown.segment("ERR")[3]).startswith("204"), "a discharge of an unknown visit gets AE with ERR 204")
    oru = hl7.parse(str(message("A01", "R1", pv1=visit())).replace("ADT^A01^ADT_A01", "ORU^R01^ORU_R01"))
    check(ack_code(mllp.exchange(enc(oru))) == "AR", "an ORU gets AR")
    check(ack_code(mllp.exchange(b"MSH|^~\\&|HISAPP|HOSP|||x||ADT^A01|R2|P|2.5\rPID|1||P 9")) == "AR", "a malformed message gets AR")

    print("the refused queue: map the ward, replay")
    queue = node.expect_ok("GET", "/api/his/refused")
    entry = next(e for e in queue if e["controlId"] == "Q1")
    check(entry["errorCode"] == "103" and "W99" in entry["reason"] and all(n not in json.dumps(queue) for n in NAMES), "queued, reason without patient data")
    node.expect_ok("PUT", "/api/his/codes/ward/W99", {"targetId": "W-ORTH"})
    check(node.expect_ok("POST", f"/api/his/refused/{entry['id']}/replay")["ack"] == "AA", "replayed once mapped")
    check(node.archive("P3")["encounters"][0]["wardId"] == "W-ORTH", "the replayed admission is in the archive")

    print("encodings")
    gb = message("A28", "G1", pid={3: "P4^^^HIS^PI", 5: "王^小五"}, charset="GB 18030-2000")
    ack = mllp.exchange(enc(gb, "gb18030"))
    check(ack_code(ack) == "AA" and str(ack.segment("MSH")[18]) == "GB 18030-2000", "a GB18030 message is applied")
    check(node.archive("P4")["patient"]["name"] == "王小五", "its name is read right")
    utf = message("A28", "G2", pid={3: "P5^^^HIS^PI", 5: "李^四"}, charset="UNICODE UTF-8")
    check(ack_code(mllp.exchange(enc(utf))) == "AA" and node.archive("P5")["patient"]["name"] == "李四", "a UTF-8 message is applied")
    wrong = message("A28", "G3", pid={3: "P6^^^HIS^PI", 5: "李^四"}, charset="UNICODE UTF-8")
    check(ack_code(mllp.exchange(enc(wrong, "gb18030"))) == "AR" and node.archive("P6") is None, "GBK bytes labelled UTF-8 are refused, nothing garbled kept")
    undeclared = message("A28", "G4", pid={3: "P7^^^HIS^PI", 5: "李^四"})
    check(ack_code(mllp.exchange(enc(undeclared, "gb18030"))) == "AR" and node.archive("P7") is None, "undeclared GBK is refused")

    print("unusual order, repeated fields, escapes")
    odd = message("A01", "U1", pid={3: "310101196005011234^^^GOV^NNCHN~P8^^^HIS^PI", 5: "O\\T\\Brien^Mary~Alias^Other",
                                    13: "^PRN^PH^^^^^^^^^02012345678~13800138000"}, pv1=visit("V8"))
    odd.reverse()  # PV1, PID, EVN … MSH last: put MSH back first, keep the rest reversed
    odd.insert(0, odd.pop())
    ack = mllp.exchange(enc(odd))
    check(ack_code(ack) == "AA", "segments in reverse order are read")
    patient = node.archive("P8")["patient"]
    check(patient["name"] == "Mary O&Brien" and patient["idNumber"] == "310101196005011234" and patient["phone"] == "02012345678",
          "repeated identifiers, names and phones: the typed or first one taken, escapes decoded")

    print("size and framing")
    big = message("A08", "B1", pv1=visit(), extra=[f"NTE|{i}||" + "x" * 1000 for i in range(2000)])
    data = enc(big)
    check(len(data) > 2_000_000, f"the message is {len(data)} bytes")
    check(ack_code(mllp.exchange(data)) == "AA", "a 2 MB message is applied")
    truncated = Connection(node.mllp_port)
    truncated.socket.sendall(SB + enc(message("A28", "T1", pid={3: "P9^^^HIS^PI"}))[:60])
    truncated.close()
    time.sleep(0.3)
    check(ack_code(mllp.exchange(enc(message("A28", "T2", pid={3: "P10^^^HIS^PI"})))) == "AA", "after a truncated frame the node still answers")
    check(node.archive("P9") is None, "the truncated message was not applied")
    restart = Connection(node.mllp_port)
    restart.socket.sendall(SB + b"MSH|^~\\&|half a message")
    check(ack_code(restart.exchange(enc(message("A28", "T3", pid={3: "P11^^^HIS^PI"})))) == "AA", "a frame restarted mid-way is dropped, the next applied")
    restart.close()

    print("a flood of 1,000 messages on one connection")
    flood = [enc(message("A01", f"F{i}", pid={3: f"F{i % 100}^^^HIS^PI"}, pv1=visit(f"FV{i}"))) for i in range(1000)]
    start = time.time()
    mllp.socket.sendall(b"".join(SB + m + EB + CR for m in flood))
    acks = [mllp.receive() for _ in flood]
    check([str(a.segment("MSA")[2]) for a in acks] == [f"F{i}" for i in range(1000)], "1,000 ACKs, in order")
    check(all(ack_code(a) == "AA" for a in acks), f"all AA ({time.time() - start:.1f} s)")
    mllp.socket.sendall(b"".join(SB + m + EB + CR for m in flood))
    check(all(ack_code(mllp.receive()) == "AA" for _ in flood), "all 1,000 sent again: AA again")
    visits = sum(len(node.archive(f"F{p}")["encounters"]) for p in range(100))
    check(visits == 1000, f"1,000 admissions applied once each ({visits})")
    mllp.close()

    print("logs")
    logs = node.logs()
    check("HL7 message applied" in logs and "hl7.control" in logs, "each message is logged by event and control id")
    check(all(name not in logs for name in NAMES + ["13900139000", "Mary"]), "no patient name or phone in the logs")


if __name__ == "__main__":
    main()

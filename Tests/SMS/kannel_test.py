#!/usr/bin/env python3
"""SMS through a real Kannel (Debian's kannel and kannel-extras): central sends through smsbox's
sendsms, bearerbox routes to the fake SMS centre (fakesmsc), delivery reports come back to
central's dlr-url and patients' replies through the sms-service get-url.

Covers: a Chinese message arrives at the phone (fakesmsc) once, in UCS-2; its reports mark it
delivered; a reply "TD" opts the number out and other replies are kept; with Kannel down the
message is retried with back-off, not failed, and goes out once Kannel is back; the callbacks
refuse a request without the gateway's machine credential.

    Tests/SMS/kannel_test.py --binary .build/debug/suifang
"""
import argparse, datetime, json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request

PASSWORD = "sms-test-password-1"
KANNEL_PASSWORD = "kannel-secret-9"
PHONE = "13800138000"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, what, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {what}")


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("  ok:", what)


class Kannel:
    """bearerbox, smsbox and fakesmsc on free loopback ports, configured in a temporary directory."""

    def __init__(self, work, callback_port, token):
        self.work = work
        self.admin, self.box, self.smsc, self.sendsms = (free_port() for _ in range(4))
        self.conf = os.path.join(work, "kannel.conf")
        inbound = f"http://127.0.0.1:{callback_port}/api/sms/kannel/inbound?token={token}&from=%p&text=%a"
        with open(self.conf, "w") as f:
            f.write(f"""group = core
admin-port = {self.admin}
admin-password = admin-{os.getpid()}
smsbox-port = {self.box}
log-file = "{work}/bearerbox.log"
log-level = 1
access-log = "{work}/access.log"
dlr-storage = internal
box-allow-ip = 127.0.0.1

group = smsc
smsc = fake
smsc-id = FAKE
port = {self.smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box}
sendsms-port = {self.sendsms}
log-file = "{work}/smsbox.log"
log-level = 1
mo-recode = true

group = sendsms-user
username = suifang
password = {KANNEL_PASSWORD}
concatenation = true
max-messages = 4

group = sms-service
keyword = default
get-url = "{inbound}"
max-messages = 0
catch-all = yes
""")
        self.processes = []

    def start(self, mo_messages=()):
        """Starts the boxes; fakesmsc sends `mo_messages` (patients' texts) once, then listens."""
        self.processes.append(subprocess.Popen(["/usr/sbin/bearerbox", self.conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: self.listening(self.box), "bearerbox")
        self.processes.append(subprocess.Popen(["/usr/sbin/smsbox", self.conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: self.listening(self.sendsms), "smsbox")
        self.phone_log = open(os.path.join(self.work, f"fakesmsc-{len(self.processes)}.log"), "w+")
        messages = list(mo_messages) or ["10086 95500 text keepalive"]
        self.processes.append(subprocess.Popen(
            ["/usr/lib/kannel/test/fakesmsc", "-H", "127.0.0.1", "-r", str(self.smsc), "-i", "3600", "-m", str(len(messages) + 1), *messages],
            stdout=self.phone_log, stderr=subprocess.STDOUT))
        time.sleep(1)

    @staticmethod
    def listening(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    def received(self):
        """What the fake SMS centre got: (from, to, text) per message."""
        self.phone_log.flush()
        got, parts = [], {}
        with open(self.phone_log.name, errors="replace") as f:
            for line in f:
                if "Got message" in line and "<" in line:
                    sender, receiver, coding, data = line.split("<", 1)[1].rstrip(">\n").split(" ", 3)
                    if coding == "udh":
                        # One part of a long (concatenated) SMS: `udh <header> data <UCS-2>`; the phone joins them.
                        udh, data = data.split(" data ", 1)
                        header = urllib.parse.unquote_to_bytes(udh.replace("+", " "))
                        reference, total, number = header[3], header[4], header[5]
                        text = urllib.parse.unquote_to_bytes(data.replace("+", " ")).decode("utf-16-be")
                        received = parts.setdefault((sender, receiver, reference), {})
                        received[number] = text
                        if len(received) == total:
                            got.append((sender, receiver, "".join(received[n] for n in sorted(received))))
                        continue
                    raw = urllib.parse.unquote_to_bytes(data.replace("+", " "))  # fakesmsc writes a space as +
                    got.append((sender, receiver, raw.decode("utf-16-be") if coding == "ucs-2" else raw.decode()))
        return got

    def stop(self):
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []


class Central:
    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.dir = os.path.join(work, "central")
        self.port = free_port()
        self.run("init", "--role", "central", "--name", "central", "--dir", self.dir, "--listen", "127.0.0.1:0", "--no-encryption")
        self.run("user", "add", "--dir", self.dir, "admin", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
        self.run("user", "add", "--dir", self.dir, "agent", "--role", "agent", "--password-stdin", input=PASSWORD + "\n")
        self.token = json.loads(self.run("token", "create", "--dir", self.dir, "--name", "kannel", "--scope", "sms-gateway", "--json"))["token"]
        self.process = None

    def run(self, *args, input=None):
        return subprocess.run([self.binary, *args], check=True, capture_output=True, text=True, input=input).stdout

    def configure(self, kannel):
        for name, secret in [("kannel.pass", KANNEL_PASSWORD), ("kannel-callback.token", self.token)]:
            path = os.path.join(self.work, name)
            with open(path, "w") as f:
                f.write(secret + "\n")
            os.chmod(path, 0o600)
        path = os.path.join(self.dir, "node.json")
        with open(path) as f:
            config = json.load(f)
        config["kannel"] = {
            "sendsmsURL": f"http://127.0.0.1:{kannel.sendsms}/cgi-bin/sendsms", "username": "suifang",
            "passwordFile": os.path.join(self.work, "kannel.pass"), "from": "95500",
            "callbackURL": f"http://127.0.0.1:{self.port}", "callbackTokenFile": os.path.join(self.work, "kannel-callback.token")}
        with open(path, "w") as f:
            json.dump(config, f)

    def start(self):
        self.log = open(os.path.join(self.work, "serve.log"), "w+")
        # Plain HTTP on loopback: Kannel's callbacks come from this machine.
        self.process = subprocess.Popen([self.binary, "serve", "--dir", self.dir, "--http", f"127.0.0.1:{self.port}", "--insecure-http"],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.session = wait_for(lambda: self.login("admin"), "central's API")

    def login(self, user):
        status, answer = self.api("POST", "/api/login", {"username": user, "password": PASSWORD}, token=None)
        return answer["token"] if status == 200 else None

    def api(self, method, path, body=None, token="session"):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=json.dumps(body).encode() if body is not None else None, method=method)
        request.add_header("Content-Type", "application/json")
        if token == "session":
            token = self.session
        if token:
            request.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError as error:
            return 0, str(error)

    def message(self, id):
        status, page = self.api("GET", "/api/sms/outbox?limit=500")
        assert status == 200, page
        return next((m for m in page["items"] if m["id"] == id), None)

    def logs(self):
        self.log.flush()
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/debug/suifang")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="suifang-kannel-")
    central = Central(os.path.abspath(args.binary), work)
    kannel = Kannel(work, central.port, central.token)
    try:
        central.configure(kannel)
        run(central, kannel)
    except Exception:
        for name in ["serve.log", "smsbox.log", "bearerbox.log"]:
            path = os.path.join(work, name)
            if os.path.exists(path):
                print(f"--- {name}", file=sys.stderr)
                print(open(path, errors="replace").read()[-3000:], file=sys.stderr)
        raise
    finally:
        kannel.stop()
        central.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("SMS through Kannel: ok")


def run(central, kannel):
    print("a message goes out through Kannel and its reports come back")
    central.start()
    agent = central.login("agent")
    kannel.start()
    status, sent = central.api("POST", "/api/sms/send", {"phone": PHONE, "body": "张三您好，请于12月10日复查。"}, token=agent)
    check(status in (200, 201), f"an SMS is queued ({status})")
    id = sent["id"]
    wait_for(lambda: kannel.received(), "the message at the phone")
    got = kannel.received()
    check(got == [("95500", PHONE, "张三您好，请于12月10日复查。")], f"the phone got it once, from the sender number, in UCS-2: {got}")
    delivered = wait_for(lambda: (central.message(id) or {}).get("status") == "delivered", "the delivery report")
    check(delivered, "Kannel's delivery report marked it delivered")

    print("replies from patients")
    kannel.stop()
    kannel.start(mo_messages=[f"{PHONE} 95500 text TD"])
    wait_for(lambda: central.api("GET", "/api/sms/inbound?limit=50", token=agent)[1]["items"], "the reply TD")
    status, refused = central.api("POST", "/api/sms/send", {"phone": PHONE, "body": "再次提醒"}, token=agent)
    check(status == 409 and "opted out" in str(refused), f"the reply TD opted {PHONE} out ({status})")

    print("the callbacks need the gateway's credential")
    status, _ = central.api("GET", f"/api/sms/kannel/dlr?id={id}&type=2&reason=forged", token=None)
    check(status == 401, f"a report without a credential is refused ({status})")
    status, _ = central.api("GET", f"/api/sms/kannel/dlr?id={id}&type=2&reason=forged&token=sfm_{'A' * 43}", token=None)
    check(status == 401 and central.message(id)["status"] == "delivered", "a report with a wrong credential changes nothing")
    status, _ = central.api("GET", f"/api/sms/kannel/inbound?from=13700137000&text=TD&token={central.session}", token=None)
    check(status == 401, "a person's session in the query opens nothing")

    print("Kannel down: retried with back-off, sent once it is back")
    kannel.stop()
    status, queued = central.api("POST", "/api/sms/send", {"phone": "13700137000", "body": "明天上午复诊"}, token=agent)
    second = queued["id"]
    retried = wait_for(lambda: (central.message(second) or {}).get("attempts", 0) >= 1 and central.message(second), "a failed attempt")
    check(retried["status"] == "queued" and "unreachable" in (retried.get("error") or ""), f"still queued after Kannel refused the connection: {retried}")
    question = "请问明天门诊几点开"
    kannel.start(mo_messages=[f"13900139000 95500 ucs2 {urllib.parse.quote(question.encode('utf-16-be'))}"])
    wait_for(lambda: (central.message(second) or {}).get("status") in ("sent", "delivered"), "the retry", seconds=90)
    check([m for m in kannel.received() if m[1] == "13700137000"] == [("95500", "13700137000", "明天上午复诊")], "sent once Kannel was back, once")
    replies = wait_for(lambda: [r for r in central.api("GET", "/api/sms/inbound?limit=50", token=agent)[1]["items"] if r["body"] == question],
                       "the patient's question")
    check(replies[0]["phone"] == "139****9000" and not replies[0]["optedOut"], "a Chinese reply is kept for agents, number masked")

    automatic_messages(central, kannel, agent)

    logs = central.logs()
    check(KANNEL_PASSWORD not in logs and "张三" not in logs and central.token not in logs, "no password, token or text in the node's log")


def automatic_messages(central, kannel, agent):
    """What the node sends by itself: tomorrow's appointment reminded today, a holiday greeted on its first day."""
    print("an appointment reminder and a holiday greeting go out through Kannel by themselves")
    hospital = datetime.timezone(datetime.timedelta(hours=8))
    today = datetime.datetime.now(hospital).date()
    tomorrow = today + datetime.timedelta(days=1)
    phone, name = "13600136000", "王五"

    def ok(answer, what):
        check(answer[0] in (200, 201), f"{what} ({answer[0]}: {str(answer[1])[:120]})")
        return answer[1]

    # Sent at once: the reminder and greeting times are set to midnight, whatever the hour of the test.
    for key in ("appointmentReminderTime", "greetingTime"):
        ok(central.api("PUT", f"/api/settings/{key}", {"value": "00:00"}), f"the setting {key}")
    ok(central.api("PUT", "/api/reference/department/D-CARD", {"name": "心内科"}), "a department")
    ok(central.api("PUT", "/api/reference/ward/W-CARD", {"name": "心内一病区", "departmentId": "D-CARD"}), "a ward")
    ok(central.api("PUT", "/api/sms/templates/appointmentReminder",
                   {"name": "预约提醒", "kind": "appointment", "body": "{name}您好，请于{date} {time}到{department}就诊。"}), "the reminder template")
    patient = ok(central.api("POST", "/api/patients", {"name": name, "phone": phone}, token=agent), "an archive")["id"]
    ok(central.api("POST", "/api/appointments", {"patientId": patient, "kind": "visit", "departmentId": "D-CARD",
                                                 "scheduledAt": f"{tomorrow}T09:30:00+08:00"}, token=agent), "an appointment tomorrow")
    reminder = ("95500", phone, f"{name}您好，请于{tomorrow} 09:30到心内科就诊。")
    wait_for(lambda: reminder in kannel.received(), "the appointment reminder at the phone", seconds=60)

    # A holiday starting today (the hospital's own calendar day) greets the patients discharged within a year.
    yesterday = datetime.datetime.now(hospital) - datetime.timedelta(days=1)
    encounter = ok(central.api("POST", "/api/encounters", {"patientId": patient, "kind": "inpatient", "departmentId": "D-CARD", "wardId": "W-CARD",
                                                           "admittedAt": yesterday.isoformat(timespec="seconds")}, token=agent), "an admission")["id"]
    ok(central.api("POST", f"/api/encounters/{encounter}/discharge",
                   {"at": datetime.datetime.now(hospital).isoformat(timespec="seconds"), "status": "improved"}, token=agent), "the discharge")
    ok(central.api("PUT", "/api/sms/templates/holiday", {"name": "节日问候", "kind": "holiday", "body": "{name}您好，{hospital}祝您{holiday}快乐！"}),
       "the holiday template")
    ok(central.api("PUT", f"/api/calendar/{today}", {"working": False, "name": "院庆日"}), "today as the hospital's holiday")
    greeting = ("95500", phone, f"{name}您好，医院祝您院庆日快乐！")
    wait_for(lambda: greeting in kannel.received(), "the holiday greeting at the phone", seconds=60)
    time.sleep(12)  # two more dispatcher rounds: nothing is queued or sent twice
    got = [m for m in kannel.received() if m[1] == phone]
    check(got == [reminder, greeting], f"each went out once: {got}")

    print("a survey link in an SMS: the patient answers on the phone page, once")
    ok(central.api("PUT", "/api/settings/surveyLinkBase", {"value": f"http://127.0.0.1:{central.port}"}), "the link address")
    definition = {"questions": [{"id": "overall", "text": "总体满意度", "type": "scale5", "required": True, "role": "overall"},
                                {"id": "nps", "text": "推荐意愿", "type": "nps", "required": True, "role": "recommend"}]}
    ok(central.api("PUT", "/api/templates/visit", {"name": "就诊满意度", "definition": definition}), "a survey")
    ok(central.api("PUT", "/api/sms/templates/rate", {"name": "评价", "kind": "followup", "body": "{name}您好，请评价本次就诊：{surveyLink}"}),
       "a template with a survey link")
    ok(central.api("POST", "/api/sms/campaigns", {"name": "就诊评价", "templateId": "rate", "audience": {"departments": ["D-CARD"]},
                                                  "surveyTemplateId": "visit"}), "the group send")
    prefix = f"{name}您好，请评价本次就诊：http://127.0.0.1:{central.port}/s/"

    # Longer than 70 characters: it goes as a concatenated SMS (Kannel's concatenation and max-messages).
    texts = wait_for(lambda: [m[2] for m in kannel.received() if m[1] == phone and m[2].startswith(prefix)], "the SMS with its link", seconds=60)
    link = texts[0].split("：", 1)[1]
    check(link.split("/s/", 1)[1] not in central.logs(), "the link's token is in no log")
    try:
        with urllib.request.urlopen(link, timeout=30) as response:
            page = response.read().decode()
    except urllib.error.HTTPError as error:
        raise AssertionError(f"the link answered {error.code}: {error.read().decode()[-400:]!r}")
    check('id="survey"' in page and "总体满意度" in page and name not in page, "the link opens the survey, without the patient's name")
    form = urllib.parse.urlencode({"templateVersion": "1", "q_overall": "5", "q_nps": "10"}).encode()
    request = urllib.request.Request(link, data=form, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=30) as response:
        check("提交成功" in response.read().decode(), "the answers are taken")
    with urllib.request.urlopen(request, timeout=30) as response:
        check("已经提交过" in response.read().decode(), "a second answer is not")
    archive = ok(central.api("GET", f"/api/patients/{patient}", token=agent), "the archive")
    modes = [r.get("mode") for r in archive["surveyResponses"]]
    check(modes.count("sms") == 1, f"one response by SMS link in the archive: {modes}")


if __name__ == "__main__":
    main()

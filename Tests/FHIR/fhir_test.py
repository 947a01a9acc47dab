#!/usr/bin/env python3
"""FHIR R4 read access, checked by an independent implementation of the FHIR models:
`fhir.resources` 5.1.1 (FHIR 4.0.1, from PyPI, installed into a cached virtual environment).

A central node holding the demo hospital serves /fhir; every resource it returns (the
CapabilityStatement, Patients, Encounter and QuestionnaireResponse search Bundles page by page,
Questionnaires, OperationOutcomes) is parsed strictly by the models, and the references between
them are followed: every response's questionnaire and subject resolve, its answers fit the items.

    Tests/FHIR/fhir_test.py --binary .build/debug/suifang
"""
import argparse, json, os, sys, urllib.error, urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from suifang_node import DemoCentral, check, ensure_venv  # noqa: E402

REQUIREMENT = "fhir.resources==5.1.1"  # the last release whose models are FHIR R4 (4.0.1)


def fhir_r4_ready():
    try:
        import fhir.resources
        return fhir.resources.__fhir_version__ == "4.0.1"
    except (ImportError, AttributeError):
        return False


ensure_venv("fhir-r4-venv", REQUIREMENT, fhir_r4_ready)

from fhir.resources.fhirelementfactory import FHIRElementFactory  # noqa: E402  (after the environment is ready)


class Node(DemoCentral):
    """The demo central with a FHIR reader's credential and a PBX's (another scope)."""

    def __init__(self, binary):
        super().__init__(binary, "fhir")
        self.fhir_token = self.token("reporting", "fhir")
        self.pbx_token = self.token("pbx", "screen-pop")
        self.start()

    def get(self, path, token="fhir"):
        """(status, Content-Type, JSON body) of a GET; `token` is "fhir", "pbx", a session token or None."""
        url = path if path.startswith("https://") else self.url + path
        request = urllib.request.Request(url)
        token = {"fhir": self.fhir_token, "pbx": self.pbx_token}.get(token, token)
        if token:
            request.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.tls) as response:
                return response.status, response.headers.get("Content-Type"), json.loads(response.read().decode())
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type"), json.loads(error.read().decode() or "{}")
        except OSError:
            return 0, None, None


def validate(resource, expected_type):
    """Parses `resource` strictly with the R4 models (unknown members, wrong types and malformed
    dates raise); returns it."""
    assert resource.get("resourceType") == expected_type, f"expected {expected_type}, got {resource.get('resourceType')}"
    FHIRElementFactory.instantiate(expected_type, resource, strict=True)
    return resource


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/debug/suifang")
    args = parser.parse_args()
    node = Node(os.path.abspath(args.binary))
    try:
        run(node)
    except Exception:
        print(node.log_tail(), file=sys.stderr)
        raise
    finally:
        node.stop()
    print("FHIR R4: ok")


def run(node):
    print("the CapabilityStatement")
    status, content_type, capability = node.get("/fhir/metadata", None)
    check(status == 200 and content_type.startswith("application/fhir+json"), "metadata answers application/fhir+json without a login")
    validate(capability, "CapabilityStatement")
    check(capability["fhirVersion"] == "4.0.1" and {r["type"] for r in capability["rest"][0]["resource"]} ==
          {"Patient", "Encounter", "Questionnaire", "QuestionnaireResponse"}, "it names FHIR 4.0.1 and the four resources")

    print("who may read")
    status, _, outcome = node.get("/fhir/QuestionnaireResponse", None)
    check(status == 401 and validate(outcome, "OperationOutcome"), "no credential: 401 with an OperationOutcome")
    check(node.get("/fhir/QuestionnaireResponse", "pbx")[0] == 403, "a credential of another scope: 403")
    check(node.get("/fhir/QuestionnaireResponse", node.login("agent1"))[0] == 403, "an agent's session: 403")
    check(node.get("/fhir/QuestionnaireResponse?_count=1", node.login("manager"))[0] == 200, "a manager's session reads")

    print("QuestionnaireResponse, page by page")
    responses, pages, url = [], 0, "/fhir/QuestionnaireResponse?authored=ge2020-01-01&_count=25"
    while url:
        status, _, bundle = node.get(url)
        check(status == 200, f"page {pages + 1} answers") if pages == 0 else None
        assert status == 200, bundle
        validate(bundle, "Bundle")
        assert bundle["type"] == "searchset"
        for entry in bundle.get("entry", []):
            responses.append(validate(entry["resource"], "QuestionnaireResponse"))
            assert entry["fullUrl"].endswith("/QuestionnaireResponse/" + entry["resource"]["id"])
        pages += 1
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    check(len(responses) > 100 and pages > 4, f"{len(responses)} responses on {pages} pages, every Bundle and resource valid R4")
    check(len({r["id"] for r in responses}) == len(responses), "no response twice across pages")
    modes = {next(e["valueCode"] for e in r["extension"] if e["url"] == "urn:suifang:fhir:survey-mode") for r in responses}
    check(modes <= {"bedside", "phone", "sms", "kiosk"} and len(modes) >= 2, f"each carries its survey mode ({sorted(modes)})")
    check(all(any(t["system"] == "urn:suifang:ward" for t in r.get("meta", {}).get("tag", [])) for r in responses if r.get("meta")), "wards as tags")
    later = node.get("/fhir/QuestionnaireResponse?authored=ge2099-01-01")[2]
    check(validate(later, "Bundle") and not later.get("entry"), "authored in the future: an empty Bundle")
    check(node.get("/fhir/QuestionnaireResponse?authored=yesterday")[0] == 400, "a malformed authored: 400")

    print("every Questionnaire they name")
    questionnaires = {}
    for qr in responses:
        qid = qr["questionnaire"].rsplit("/", 1)[1]
        if qid not in questionnaires:
            status, _, questionnaire = node.get(f"/fhir/Questionnaire/{qid}")
            assert status == 200, (qid, questionnaire)
            questionnaires[qid] = validate(questionnaire, "Questionnaire")
        items = {item["linkId"]: item for item in questionnaires[qid]["item"]}
        for answered in qr.get("item", []):
            item = items.get(answered["linkId"])
            assert item, f"{qr['id']} answers {answered['linkId']}, which {qid} does not ask"
            for answer in answered["answer"]:
                if item["type"] == "choice" and "valueCoding" in answer:
                    codes = {o["valueCoding"]["code"] for o in item.get("answerOption", []) if "valueCoding" in o}
                    assert answer["valueCoding"]["code"] in codes, (qid, answered)
                if item["type"] == "integer":
                    assert "valueInteger" in answer, (qid, answered)
    check(len(questionnaires) >= 1, f"{len(questionnaires)} questionnaires valid, every answer fits its item")

    print("the patients and their encounters")
    subjects = sorted({qr["subject"]["reference"].split("/", 1)[1] for qr in responses})[:15]
    encounters = 0
    for pid in subjects:
        status, _, patient = node.get(f"/fhir/Patient/{pid}")
        assert status == 200, (pid, patient)
        validate(patient, "Patient")
        assert patient["gender"] in {"male", "female", "other", "unknown"}
        status, _, bundle = node.get(f"/fhir/Encounter?patient={pid}")
        assert status == 200, bundle
        validate(bundle, "Bundle")
        for entry in bundle.get("entry", []):
            encounter = validate(entry["resource"], "Encounter")
            assert encounter["subject"]["reference"].startswith("Patient/")
            assert encounter["status"] in {"in-progress", "finished", "entered-in-error"}
            assert encounter["class"]["code"] in {"IMP", "AMB"}
            encounters += 1
    check(encounters >= len(subjects) // 2, f"{len(subjects)} patients and {encounters} encounters valid R4")
    status, _, outcome = node.get("/fhir/Patient/no-such-patient")
    check(status == 404 and validate(outcome, "OperationOutcome"), "an unknown patient: 404 with an OperationOutcome")
    check(node.get("/fhir/Encounter")[0] == 400, "Encounter without patient: 400")


if __name__ == "__main__":
    main()

"""Shared by the sandbox conformance probes (sandbox_conformance.py: every kind of response;
sandbox_conformance_params.py: every documented parameter): the OpenAPI file turned into JSON
Schema, a plain HTTP client for the sandbox, and check(), which prints ok/FAIL and counts
failures in `failures`.

Both probes take the same arguments: SANDBOX_URL OPENAPI_JSON API_KEY.
The OpenAPI 3.0 schemas are turned into JSON Schema (draft 7) first:
- `nullable: true`, and every property that is not `required`, also accept null: the
  PagerDuty docs say "any field may be null unless it is required" (docs/pagerduty-api.md §1);
- `oneOf` becomes `anyOf`: the file's oneOf branches overlap (e.g. every Channel variant
  accepts {"type": "website"}), so a strict oneOf rejects every real response;
- two documented spec/live-API differences follow the live API (docs/pagerduty-api.md §2.3, §2.8), and only
  those fields are relaxed: `IncidentBody.details` (a string on the live API, an object in
  the file) and the acknowledge log entry's `type` (`acknowledge_log_entry` live,
  `acknowledgement_log_entry` in the file).
"""
import copy
import hashlib
import base64
import http.client
import json
import sys
import urllib.parse

import jsonschema

URL, SPEC_PATH, API_KEY = sys.argv[1], sys.argv[2], sys.argv[3]
u = urllib.parse.urlsplit(URL)
HOST, PORT = u.hostname, u.port
failures = 0

spec = json.load(open(SPEC_PATH))
components = copy.deepcopy(spec["components"])

# --- the two live-API differences (see the module docstring) ---
components["schemas"]["IncidentBody"]["properties"]["details"] = {}
ack = components["schemas"]["AcknowledgeLogEntry"]["allOf"][1]["properties"]
ack["type"] = {"type": "string", "enum": ["acknowledge_log_entry"]}


def nullable(schema):
    return {"anyOf": [schema, {"type": "null"}]}


def convert(node):
    if isinstance(node, list):
        return [convert(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k in ("discriminator", "example", "examples", "xml", "externalDocs", "deprecated") or k.startswith("x-"):
            continue
        if k == "oneOf":
            out["anyOf"] = convert(v)
        elif k == "properties" and isinstance(v, dict):
            req = set(node.get("required", []))
            out[k] = {name: (convert(p) if name in req else nullable(convert(p))) for name, p in v.items()}
        else:
            out[k] = convert(v)
    if out.pop("nullable", False):
        return nullable(out)
    return out


components = convert(components)


def schema_for(path, method, status):
    op = spec["paths"][path][method.lower()]
    resp = op["responses"].get(str(status))
    if resp is None:
        return None
    while "$ref" in resp:
        resp = spec["components"]["responses"][resp["$ref"].split("/")[-1]]
    s = convert(resp["content"]["application/json"]["schema"])
    root = dict(s)
    root["components"] = components
    return root


def request(method, path, query=None, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    target = path
    if query:
        target += "?" + urllib.parse.urlencode(query, doseq=True)
    h = {"Accept": "application/vnd.pagerduty+json;version=2"}
    h.update(headers or {})
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body)
            h["Content-Type"] = "application/json"
        else:
            data = body
    conn.request(method, target, body=data, headers=h)
    r = conn.getresponse()
    raw = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return r.status, hdrs, raw


def entity_schema(name):
    return {"$ref": "#/components/schemas/" + name, "components": components}


def as_reference(obj):
    return {k: obj.get(k) for k in ("id", "summary", "self", "html_url")} | {"type": obj["type"] + "_reference"}


def expand_checks(doc, expanded):
    """include[] swaps references for full objects, which the file models only for some
    fields (Incident.service...). Elsewhere (LogEntry.incident, User.contact_methods...) each
    expanded object is validated against its own entity schema, then put back as the
    reference the file expects before the whole response is validated."""
    errors = []
    for items, field, schema_name in expanded:
        for holder in items(doc):
            value = holder.get(field)
            objs = value if isinstance(value, list) else [value]
            for i, obj in enumerate(objs):
                for e in jsonschema.Draft7Validator(entity_schema(schema_name)).iter_errors(obj):
                    errors.append(f"{field} as {schema_name}: {e.message[:200]}")
                objs[i] = as_reference(obj)
            holder[field] = objs if isinstance(value, list) else objs[0]
    return errors


def check(name, spec_path, method, status_expected, resp, skip_reason=None, expanded=()):
    global failures
    status, _, raw = resp
    if status != status_expected:
        failures += 1
        print(f"FAIL {name}: status {status}, expected {status_expected}: {raw[:300]!r}")
        return None
    try:
        doc = json.loads(raw)
    except ValueError as e:
        failures += 1
        print(f"FAIL {name}: body is not JSON: {e}")
        return None
    if skip_reason:
        print(f"ok {name} (schema not applied: {skip_reason})")
        return doc
    errs = expand_checks(doc, expanded)
    if errs:
        failures += 1
        print(f"FAIL {name}: {errs[0]}")
        return None
    schema = schema_for(spec_path, method, status)
    if schema is None:
        # PUT /incidents/{id} lists no 400: its errors use the shared error schema
        schema = schema_for("/incidents", "GET", 400)
    errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errs:
        failures += 1
        e = errs[0]
        print(f"FAIL {name}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
        return None
    print(f"ok {name}")
    return doc


KEY = {"Authorization": f"Token token={API_KEY}"}

# users come from the control API; the From header names one on writes
info = json.loads(request("GET", "/__sandbox/info")[2])
user = info["users"][0]
service = info["services"][0]["id"]
WRITE = dict(KEY, From=user["email"])


def oauth_token(scope):
    verifier = "conformance-verifier-0123456789-abcdefghijklmnop"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://127.0.0.1:9/cb"
    st, h, _ = request("GET", "/oauth/authorize", {"client_id": info["client_id"], "redirect_uri": redirect,
                       "response_type": "code", "scope": scope, "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(h["location"]).query)["code"][0]
    form = urllib.parse.urlencode({"grant_type": "authorization_code", "client_id": info["client_id"],
                                   "code": code, "redirect_uri": redirect, "code_verifier": verifier})
    st, _, raw = request("POST", "/oauth/token", body=form,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    return json.loads(raw)["access_token"]



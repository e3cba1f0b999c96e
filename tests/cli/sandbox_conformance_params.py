#!/usr/bin/env python3
"""The parameter probe: every parameter and body field PagerDuty's OpenAPI file documents for
the nine operations vsrun uses is either checked here for its effect on the sandbox, or
listed with a reason in sandbox_conformance_allowlist.txt. A parameter the file gains
later, checked by neither, fails the probe, as do stale entries.

usage: sandbox_conformance_params.py SANDBOX_URL OPENAPI_JSON API_KEY
Every answer a check reads is validated against the file's response schema.
Keys look like `listIncidents query:statuses[]`, `getIncident query:include[]=services`
(each include[] value is its own key), `createIncident body:incident.title`,
`updateIncident header:From`, `getUser path:id`.
"""
import copy
import json
import os
import re
import sys

import jsonschema

import sandbox_conformance_lib as lib
from sandbox_conformance_lib import KEY, WRITE, info, request, schema_for, service

NINE = ["getIncident", "listIncidents", "createIncident", "updateIncident", "createIncidentNote",
        "listIncidentNotes", "getLogEntry", "listLogEntries", "getUser"]
ALLOWLIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_conformance_allowlist.txt")


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].split("/")[1:]:
            target = target[part]
        node = target
    return node


def documented(spec):
    """{key: (operationId, method, path)} for every documented parameter and body field."""
    out = {}
    ops = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") in NINE:
                ops[op["operationId"]] = (method.upper(), path, op, item)
    for op_id in NINE:
        if op_id not in ops:
            out[f"{op_id} operation"] = (op_id, None, None)  # the file lost the operation
            continue
        method, path, op, item = ops[op_id]
        for p in op.get("parameters", []) + item.get("parameters", []):
            p = resolve(spec, p)
            out[f"{op_id} {p['in']}:{p['name']}"] = (op_id, method, path)
            schema = resolve(spec, p.get("schema", {}))
            if p["name"] == "include[]":
                for v in resolve(spec, schema.get("items", schema)).get("enum", []):
                    out[f"{op_id} query:include[]={v}"] = (op_id, method, path)
        if "requestBody" in op:
            body = resolve(spec, op["requestBody"])["content"]["application/json"]["schema"]
            for wrapper, inner in resolve(spec, body).get("properties", {}).items():
                for field in resolve(spec, inner).get("properties", {}):
                    out[f"{op_id} body:{wrapper}.{field}"] = (op_id, method, path)
    return out


def read_allowlist():
    """{key: reason}; a key may start with `*` for every operation."""
    entries = {}
    with open(ALLOWLIST) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            m = re.match(r"^(\S+ \S+)\s{2,}(\S.*)$", line)
            if not m:
                raise SystemExit(f"FAIL param allowlist line {n}: want `OPERATION KIND:NAME  reason`: {line!r}")
            entries[m.group(1)] = m.group(2)
    return entries


def allowed(key, allow):
    if key in allow:
        return allow[key]
    return allow.get("* " + key.split(" ", 1)[1])


# ---- requests whose answers are validated ----

class Bad(Exception):
    pass


def call(method, path, spec_path, status, query=None, body=None, headers=None, raw_body=None):
    """Sends a request, wants `status`, validates the JSON answer against the schema the file
    gives for it, and returns the decoded answer."""
    if raw_body is not None:
        st, _, raw = request(method, path, query, body=raw_body, headers=headers or WRITE)
    else:
        st, _, raw = request(method, path, query, body=body, headers=headers or (WRITE if body is not None else KEY))
    if st != status:
        raise Bad(f"{method} {path} {query or ''}: status {st}, expected {status}: {raw[:200]!r}")
    doc = json.loads(raw)
    schema = schema_for(spec_path, method, st) or schema_for("/incidents", "GET", 400)
    errs = list(jsonschema.Draft7Validator(schema).iter_errors(doc))
    if errs:
        raise Bad(f"{method} {path}: answer fails the schema: {errs[0].message[:200]}")
    return doc


def want(cond, why):
    if not cond:
        raise Bad(why)


def incidents(query, status=200):
    q = {"date_range": "all", "limit": 100}
    q.update(query)
    return call("GET", "/incidents", "/incidents", status, q)


def incident(inc_id, query=None):
    return call("GET", f"/incidents/{inc_id}", "/incidents/{id}", 200, query)["incident"]


def create(**fields):
    inc = {"type": "incident", "title": "probe", "service": {"id": service, "type": "service_reference"}}
    inc.update(fields)
    return call("POST", "/incidents", "/incidents", 201, body={"incident": inc})["incident"]


def update(inc_id, code=200, headers=None, **fields):
    fields.setdefault("type", "incident_reference")
    return call("PUT", f"/incidents/{inc_id}", "/incidents/{id}", code, body={"incident": fields},
                headers=headers)


def logs(query, status=200):
    return call("GET", "/log_entries", "/log_entries", status, query)


CHECKS = {}


def probe(*keys):
    def register(fn):
        for k in keys:
            CHECKS[k] = fn
        return fn
    return register


# ---- fixtures from the seeded account ----
SEEDED = incidents({"limit": 100, "include[]": ["priorities"]})["incidents"]
# the newest seeded incidents (before the probe creates any): days apart, within 6 months
RECENT = incidents({"sort_by": "created_at:desc", "limit": 20})["incidents"]
A_USER, B_USER = info["users"][0], info["users"][1]
OBSERVER = next(u for u in info["users"] if u["role"] == "observer")
PRIORITY = next(i["priority"]["id"] for i in SEEDED if i.get("priority"))
EP = SEEDED[0]["escalation_policy"]["id"]
TEAM = next(i["teams"][0]["id"] for i in SEEDED if i["teams"])
OTHER_SERVICE = info["services"][1]["id"]


# ---- listIncidents ----
@probe("listIncidents query:limit")
def _():
    d = incidents({"limit": 3})
    want(len(d["incidents"]) == 3 and d["limit"] == 3, "limit=3 gives 3")
    incidents({"limit": 101}, status=400)


@probe("listIncidents query:offset")
def _():
    a, b = incidents({"limit": 5})["incidents"], incidents({"limit": 3, "offset": 2})["incidents"]
    want([i["id"] for i in a[2:]] == [i["id"] for i in b], "offset=2 skips two")


@probe("listIncidents query:total")
def _():
    want(incidents({"total": "true"})["total"] >= len(SEEDED), "total=true counts")
    want(incidents({})["total"] is None, "total is null unless asked")


@probe("listIncidents query:date_range", "listIncidents query:since", "listIncidents query:until")
def _():
    d = incidents({"date_range": "all", "total": "true"})
    newest = sorted(i["created_at"] for i in d["incidents"])  # a page's worth is enough
    q = {"since": newest[-1], "until": "2100-01-01T00:00:00Z"}
    call("GET", "/incidents", "/incidents", 400, q)  # more than 6 months
    mid, oldest = RECENT[10]["created_at"], RECENT[-1]["created_at"]
    want(oldest < mid, "seeded incidents at different times")
    page = call("GET", "/incidents", "/incidents", 200, {"since": mid, "limit": 100})["incidents"]
    want(page and all(i["created_at"] >= mid for i in page), "since filters")
    page = call("GET", "/incidents", "/incidents", 200, {"since": oldest, "until": mid, "limit": 100})["incidents"]
    want(page and all(oldest <= i["created_at"] < mid for i in page), "until filters (exclusive)")
    want(d["total"] > call("GET", "/incidents", "/incidents", 200, {"total": "true"})["total"],
         "date_range=all widens the default month")


@probe("listIncidents query:incident_key")
def _():
    inc = create(incident_key="probe/key/1")
    got = incidents({"incident_key": "probe/key/1"})["incidents"]
    want([i["id"] for i in got] == [inc["id"]], "incident_key matches one")


@probe("listIncidents query:service_ids[]")
def _():
    got = incidents({"service_ids[]": OTHER_SERVICE})["incidents"]
    want(got and all(i["service"]["id"] == OTHER_SERVICE for i in got), "service filter")
    incidents({"service_ids": OTHER_SERVICE}, status=400)


@probe("listIncidents query:team_ids[]")
def _():
    got = incidents({"team_ids[]": TEAM})["incidents"]
    want(got and all(TEAM in [t["id"] for t in i["teams"]] for i in got), "team filter")


@probe("listIncidents query:user_ids[]")
def _():
    got = incidents({"user_ids[]": A_USER["id"], "date_range": "all"})["incidents"]
    want(all(i["status"] != "resolved" and A_USER["id"] in [a["assignee"]["id"] for a in i["assignments"]]
             for i in got), "user filter: open incidents assigned to the user")


@probe("listIncidents query:urgencies[]")
def _():
    got = incidents({"urgencies[]": "low"})["incidents"]
    want(got and all(i["urgency"] == "low" for i in got), "urgency filter")
    incidents({"urgencies[]": "medium"}, status=400)


@probe("listIncidents query:statuses[]")
def _():
    got = incidents({"statuses[]": ["triggered", "acknowledged"]})["incidents"]
    want(got and all(i["status"] in ("triggered", "acknowledged") for i in got), "status filter")
    incidents({"statuses": "triggered"}, status=400)


@probe("listIncidents query:time_zone")
def _():
    got = incidents({"time_zone": "Asia/Tokyo", "limit": 2})["incidents"]
    want(all(i["created_at"].endswith("+09:00") for i in got), "times in the zone")
    incidents({"time_zone": "Mars/Olympus"}, status=400)


@probe("listIncidents query:sort_by")
def _():
    got = incidents({"sort_by": "incident_number:desc", "limit": 10})["incidents"]
    nums = [i["incident_number"] for i in got]
    want(nums == sorted(nums, reverse=True), "incident_number:desc")
    incidents({"sort_by": "title"}, status=400)


# include[] values: each swaps a reference for the full object (`incidents` lists and gets)
def include_effect(op, value):
    def fetch(q):
        if op == "listIncidents":
            return incidents(dict(q, **{"statuses[]": "acknowledged", "limit": 5}))["incidents"]
        return [incident(ACKED["id"], q)]
    got = fetch({"include[]": value})
    plain = fetch({})
    want(got, "incidents to look at")
    checks = {
        "acknowledgers": lambda i: all(a["acknowledger"]["type"] == "user" for a in i["acknowledgements"]),
        "agents": lambda i: i["last_status_change_by"]["type"] in ("user", "service"),
        "assignees": lambda i: all(a["assignee"]["type"] == "user" for a in i["assignments"]),
        "users": lambda i: all(a["assignee"]["type"] == "user" for a in i["assignments"]),
        "conference_bridge": lambda i: "conference_bridge" in i,
        "custom_fields": lambda i: i.get("custom_fields") == [],
        "escalation_policies": lambda i: i["escalation_policy"]["type"] == "escalation_policy",
        "first_trigger_log_entries": lambda i: i["first_trigger_log_entry"]["type"] == "trigger_log_entry",
        "services": lambda i: i["service"]["type"] == "service",
        "teams": lambda i: all(t["type"] == "team" for t in i["teams"]),
    }
    want(value in checks, "no effect check for include[]=" + value)
    want(all(checks[value](i) for i in got), f"include[]={value} has its effect")
    want(not all(checks[value](i) for i in plain), f"include[]={value}: without it the field differs")


ACKED = create(title="acknowledged for includes", conference_bridge={"conference_number": "+1 555", "conference_url": "https://meet.example/x"})
update(ACKED["id"], status="acknowledged")
for v in ["acknowledgers", "agents", "assignees", "users", "conference_bridge", "escalation_policies",
          "first_trigger_log_entries", "services", "teams"]:
    probe(f"listIncidents query:include[]={v}")(lambda v=v: include_effect("listIncidents", v))
for v in ["acknowledgers", "agents", "assignees", "users", "conference_bridge", "custom_fields",
          "escalation_policies", "first_trigger_log_entries", "services", "teams"]:
    probe(f"getIncident query:include[]={v}")(lambda v=v: include_effect("getIncident", v))


@probe("listIncidents query:include[]", "getIncident query:include[]")
def _():
    incidents({"include[]": "nonsense"}, status=400)
    call("GET", f"/incidents/{ACKED['id']}", "/incidents/{id}", 400, {"include[]": "nonsense"})
    want(incident(ACKED["id"], {"include[]": "body"}).get("body") is not None, "include[]=body")


# ---- getIncident ----
@probe("getIncident path:id")
def _():
    want(incident(ACKED["id"])["id"] == ACKED["id"], "by ID")
    want(incident(str(ACKED["incident_number"]))["id"] == ACKED["id"], "by number")
    call("GET", "/incidents/QNOTTHERE", "/incidents/{id}", 404)


# ---- createIncident ----
@probe("createIncident body:incident.type", "createIncident body:incident.title", "createIncident body:incident.service")
def _():
    inc = create(title="probe title")
    want(inc["title"] == "probe title" and inc["service"]["id"] == service, "title and service kept")
    call("POST", "/incidents", "/incidents", 400, body={"incident": {"title": "x", "service": {"id": service, "type": "service_reference"}}})
    call("POST", "/incidents", "/incidents", 400, body={"incident": {"type": "incident", "service": {"id": service, "type": "service_reference"}}})
    call("POST", "/incidents", "/incidents", 400, body={"incident": {"type": "incident", "title": "x"}})


@probe("createIncident body:incident.priority")
def _():
    want(create(priority={"id": PRIORITY, "type": "priority_reference"})["priority"]["id"] == PRIORITY, "priority kept")


@probe("createIncident body:incident.urgency")
def _():
    want(create(urgency="low")["urgency"] == "low", "urgency kept")
    call("POST", "/incidents", "/incidents", 400, body={"incident": {"type": "incident", "title": "x", "urgency": "medium",
         "service": {"id": service, "type": "service_reference"}}})


@probe("createIncident body:incident.body")
def _():
    inc = create(body={"type": "incident_body", "details": "probe details"})
    want("body" not in inc, "not returned unless included")
    want(incident(inc["id"], {"include[]": "body"})["body"]["details"] == "probe details", "details kept")


@probe("createIncident body:incident.incident_key")
def _():
    inc = create(incident_key="probe/dedup")
    want(inc["incident_key"] == "probe/dedup", "key kept")
    call("POST", "/incidents", "/incidents", 400, body={"incident": {"type": "incident", "title": "x", "incident_key": "probe/dedup",
         "service": {"id": service, "type": "service_reference"}}})


@probe("createIncident body:incident.assignments")
def _():
    inc = create(assignments=[{"assignee": {"id": B_USER["id"], "type": "user_reference"}}])
    want([a["assignee"]["id"] for a in inc["assignments"]] == [B_USER["id"]] and inc["assigned_via"] == "direct_assignment",
         "assigned directly")


@probe("createIncident body:incident.escalation_policy")
def _():
    want(create(escalation_policy={"id": EP, "type": "escalation_policy_reference"})["escalation_policy"]["id"] == EP, "policy kept")


@probe("createIncident body:incident.incident_type")
def _():
    want(create(incident_type={"name": "probe_type"})["incident_type"]["name"] == "probe_type", "type kept")


@probe("createIncident body:incident.conference_bridge")
def _():
    inc = create(conference_bridge={"conference_number": "+1 555 0100", "conference_url": "https://meet.example/p"})
    got = incident(inc["id"], {"include[]": "conference_bridge"})["conference_bridge"]
    want(got["conference_url"] == "https://meet.example/p", "bridge kept")


# ---- headers of the writes ----
def write_headers(op_id, method, path, spec_path, body):
    call(method, path, spec_path, 400, body=body, headers=KEY)  # no From with an account key
    call(method, path, spec_path, 403, body=body, headers=dict(KEY, From=OBSERVER["email"]))  # an observer
    call(method, path, spec_path, 400, raw_body=json.dumps(body), headers=WRITE)  # no Content-Type


@probe("createIncident header:From", "createIncident header:Content-Type")
def _():
    write_headers("createIncident", "POST", "/incidents", "/incidents",
                  {"incident": {"type": "incident", "title": "x", "service": {"id": service, "type": "service_reference"}}})


@probe("updateIncident header:From", "updateIncident header:Content-Type")
def _():
    inc = create()
    write_headers("updateIncident", "PUT", f"/incidents/{inc['id']}", "/incidents/{id}",
                  {"incident": {"type": "incident_reference", "status": "acknowledged"}})


@probe("createIncidentNote header:From", "createIncidentNote header:Content-Type")
def _():
    inc = create()
    write_headers("createIncidentNote", "POST", f"/incidents/{inc['id']}/notes", "/incidents/{id}/notes",
                  {"note": {"content": "x"}})


# ---- updateIncident ----
@probe("updateIncident path:id", "updateIncident body:incident.type", "updateIncident body:incident.status")
def _():
    inc = create()
    want(update(inc["id"], status="acknowledged")["incident"]["status"] == "acknowledged", "acknowledged")
    want(update(inc["id"], 400, status="acknowledged")["error"]["code"] == 1002, "a second acknowledge is 1002")
    want(update(inc["id"], status="resolved")["incident"]["status"] == "resolved", "resolved")
    want(update(inc["id"], 400, status="resolved")["error"]["code"] == 1001, "a second resolve is 1001")
    update(inc["id"], 400, status="exploded")
    update(inc["id"], 400, type="incident_body", title="x")
    call("PUT", f"/incidents/{inc['incident_number']}", "/incidents/{id}", 404,
         body={"incident": {"type": "incident_reference", "title": "x"}})


@probe("updateIncident body:incident.resolution")
def _():
    inc = create()
    update(inc["id"], status="resolved", resolution="probe fixed")
    les = call("GET", f"/incidents/{inc['id']}/log_entries", "/incidents/{id}/log_entries", 200)["log_entries"]
    want(any(le["type"] == "resolve_log_entry" and le.get("note") == "probe fixed" for le in les), "resolution on the log entry")


@probe("updateIncident body:incident.title")
def _():
    inc = create()
    want(update(inc["id"], title="renamed")["incident"]["title"] == "renamed", "renamed")


@probe("updateIncident body:incident.priority")
def _():
    inc = create()
    want(update(inc["id"], priority={"id": PRIORITY, "type": "priority_reference"})["incident"]["priority"]["id"] == PRIORITY, "by reference")
    update(inc["id"], 400, priority={"id": "PNOTTHERE", "type": "priority_reference"})


@probe("updateIncident body:incident.escalation_level")
def _():
    inc = create()
    les = lambda: [le["type"] for le in call("GET", f"/incidents/{inc['id']}/log_entries", "/incidents/{id}/log_entries", 200)["log_entries"]]
    update(inc["id"], escalation_level=2)
    want("escalate_log_entry" in les(), "escalated")
    update(inc["id"], 400, escalation_level="2")
    update(inc["id"], 400, escalation_level=99)


@probe("updateIncident body:incident.assignments")
def _():
    inc = create()
    got = update(inc["id"], assignments=[{"assignee": {"id": B_USER["id"], "type": "user_reference"}}])["incident"]
    want([a["assignee"]["id"] for a in got["assignments"]] == [B_USER["id"]], "reassigned")


@probe("updateIncident body:incident.incident_type")
def _():
    inc = create()
    update(inc["id"], incident_type={"name": "probe_changed"})
    want(incident(inc["id"])["incident_type"]["name"] == "probe_changed", "applied")


@probe("updateIncident body:incident.escalation_policy")
def _():
    other = next(i["escalation_policy"]["id"] for i in SEEDED if i["escalation_policy"]["id"] != EP)
    inc = create()
    want(update(inc["id"], escalation_policy={"id": other, "type": "escalation_policy_reference"})["incident"]["escalation_policy"]["id"] == other, "policy changed")


@probe("updateIncident body:incident.urgency")
def _():
    inc = create()
    want(update(inc["id"], urgency="low")["incident"]["urgency"] == "low", "urgency changed")


@probe("updateIncident body:incident.conference_bridge")
def _():
    inc = create()
    update(inc["id"], conference_bridge={"conference_number": "+1 555 0199", "conference_url": "https://meet.example/u"})
    want(incident(inc["id"], {"include[]": "conference_bridge"})["conference_bridge"]["conference_number"] == "+1 555 0199", "bridge set")


@probe("updateIncident body:incident.service")
def _():
    inc = create()
    want(update(inc["id"], service={"id": OTHER_SERVICE, "type": "service_reference"})["incident"]["service"]["id"] == OTHER_SERVICE, "moved")


# ---- notes ----
@probe("createIncidentNote path:id", "createIncidentNote body:note.content", "listIncidentNotes path:id")
def _():
    inc = create()
    n = call("POST", f"/incidents/{inc['id']}/notes", "/incidents/{id}/notes", 200, body={"note": {"content": "probe note"}})
    want(n["note"]["content"] == "probe note", "note kept")
    call("POST", f"/incidents/{inc['id']}/notes", "/incidents/{id}/notes", 400, body={"note": {}})
    got = call("GET", f"/incidents/{inc['id']}/notes", "/incidents/{id}/notes", 200)["notes"]
    want([x["content"] for x in got] == ["probe note"], "listed")
    call("GET", "/incidents/QNOTTHERE/notes", "/incidents/{id}/notes", 404)
    call("GET", f"/incidents/{inc['incident_number']}/notes", "/incidents/{id}/notes", 404)


# ---- log entries ----
@probe("listLogEntries query:limit", "listLogEntries query:offset", "listLogEntries query:total")
def _():
    a = logs({"limit": 5, "total": "true"})
    b = logs({"limit": 3, "offset": 2})
    want(len(a["log_entries"]) == 5 and isinstance(a["total"], int), "limit and total")
    want([x["id"] for x in a["log_entries"][2:]] == [x["id"] for x in b["log_entries"]], "offset")
    logs({"limit": 101}, status=400)


@probe("listLogEntries query:since", "listLogEntries query:until")
def _():
    page = logs({"limit": 100})["log_entries"]
    mid = page[len(page) // 2]["created_at"]
    want(all(le["created_at"] >= mid for le in logs({"since": mid, "limit": 100})["log_entries"]), "since")
    want(all(le["created_at"] < mid for le in logs({"until": mid, "limit": 100})["log_entries"]), "until")
    logs({"since": "2020-01-01T00:00:00Z", "until": "2021-01-01T00:00:00Z"}, status=400)  # more than 6 months


@probe("listLogEntries query:time_zone", "getLogEntry query:time_zone")
def _():
    le = logs({"time_zone": "Asia/Kolkata", "limit": 1})["log_entries"][0]
    want(le["created_at"].endswith("+05:30"), "list in the zone")
    one = call("GET", f"/log_entries/{le['id']}", "/log_entries/{id}", 200, {"time_zone": "Asia/Kolkata"})["log_entry"]
    want(one["created_at"].endswith("+05:30"), "one in the zone")


@probe("listLogEntries query:is_overview")
def _():
    got = logs({"is_overview": "true", "limit": 100})["log_entries"]
    want(got and not any(le["type"] in ("notify_log_entry", "annotate_log_entry") for le in got), "overview drops notify and notes")


@probe("listLogEntries query:team_ids[]")
def _():
    got = logs({"team_ids[]": TEAM, "limit": 50})["log_entries"]
    want(got and all(TEAM in [t["id"] for t in le["teams"]] for le in got), "team filter")
    logs({"team_ids": TEAM}, status=400)


def log_include(op, value, field, full_type):
    def fetch(q):
        if op == "listLogEntries":
            return logs(dict(q, limit=10))["log_entries"]
        le_id = logs({"limit": 1})["log_entries"][0]["id"]
        return [call("GET", f"/log_entries/{le_id}", "/log_entries/{id}", 200, q)["log_entry"]]
    # the file models the expanded objects only as references: compare types, not schemas
    st, _, raw = request("GET", "/log_entries" if op == "listLogEntries" else
                         f"/log_entries/{logs({'limit': 1})['log_entries'][0]['id']}", dict({"include[]": value}, limit=10)
                         if op == "listLogEntries" else {"include[]": value}, headers=KEY)
    want(st == 200, f"include[]={value}: status {st}")
    doc = json.loads(raw)
    got = doc["log_entries"] if op == "listLogEntries" else [doc["log_entry"]]
    types = lambda les: [t["type"] for le in les for t in (le[field] if isinstance(le[field], list) else [le[field]])]
    want(got and all(t == full_type for t in types(got)), f"include[]={value} expands {field}")
    want(not any(t == full_type for t in types(fetch({}))), f"without include[]={value}, {field} is a reference")


for op in ("listLogEntries", "getLogEntry"):
    for value, field, full_type in [("incidents", "incident", "incident"), ("services", "service", "service"),
                                    ("teams", "teams", "team")]:
        probe(f"{op} query:include[]={value}")(lambda op=op, v=value, f=field, t=full_type: log_include(op, v, f, t))


@probe("listLogEntries query:include[]", "getLogEntry query:include[]")
def _():
    logs({"include[]": "nonsense"}, status=400)


@probe("getLogEntry path:id")
def _():
    le = logs({"limit": 1})["log_entries"][0]
    want(call("GET", f"/log_entries/{le['id']}", "/log_entries/{id}", 200)["log_entry"]["id"] == le["id"], "by ID")
    call("GET", "/log_entries/RNOTTHERE", "/log_entries/{id}", 404)


# ---- getUser ----
@probe("getUser path:id")
def _():
    want(call("GET", f"/users/{B_USER['id']}", "/users/{id}", 200)["user"]["email"] == B_USER["email"], "by ID")
    call("GET", "/users/PNOTTHERE", "/users/{id}", 404)


def user_include(value, check):
    st, _, raw = request("GET", f"/users/{A_USER['id']}", {"include[]": value}, headers=KEY)
    want(st == 200, f"status {st}")
    got = json.loads(raw)["user"]
    plain = call("GET", f"/users/{A_USER['id']}", "/users/{id}", 200)["user"]
    want(check(got) and not check(plain), f"include[]={value} has its effect")


probe("getUser query:include[]=contact_methods")(lambda: user_include(
    "contact_methods", lambda u: u["contact_methods"] and all(c["type"].endswith("_contact_method") for c in u["contact_methods"])))
probe("getUser query:include[]=notification_rules")(lambda: user_include(
    "notification_rules", lambda u: u["notification_rules"] and all(r["type"] == "assignment_notification_rule" for r in u["notification_rules"])))
probe("getUser query:include[]=teams")(lambda: user_include(
    "teams", lambda u: u["teams"] and all(t["type"] == "team" for t in u["teams"])))
probe("getUser query:include[]=subdomains")(lambda: user_include("subdomains", lambda u: u.get("subdomains") == ["sandbox"]))
probe("getUser query:include[]=calendar_urls")(lambda: user_include("calendar_urls", lambda u: "http_cal_url" in u))


@probe("getUser query:include[]")
def _():
    call("GET", f"/users/{A_USER['id']}", "/users/{id}", 400, {"include[]": "nonsense"})


# ---- the walk over the file ----
def walk(spec, allow, report):
    keys = documented(spec)
    for key in sorted(keys):
        checked, reason = key in CHECKS, allowed(key, allow)
        if checked and key in allow:
            report(False, key, "both checked and allowlisted: drop the allowlist entry")
        elif checked:
            try:
                CHECKS[key]()
                report(True, key, "checked")
            except (Bad, KeyError, IndexError, TypeError, StopIteration, ValueError) as e:
                report(False, key, f"{type(e).__name__}: {e}")
        elif reason:
            report(True, key, "allowlisted: " + reason)
        else:
            report(False, key, "documented in the OpenAPI file but neither checked nor allowlisted")
    for key in sorted(set(CHECKS) - set(keys)):
        report(False, key, "checked here but not in the OpenAPI file (stale check)")
    for key in sorted(allow):
        if not key.startswith("* ") and key not in keys:
            report(False, key, "allowlisted but not in the OpenAPI file (stale entry)")
    return keys


def main():
    spec = lib.spec
    allow = read_allowlist()

    def report(ok, key, why):
        if ok:
            print(f"ok param {key}: {why}")
        else:
            lib.failures += 1
            print(f"FAIL param {key}: {why}")

    keys = walk(spec, allow, report)
    print(f"ok param probe: {len(keys)} documented parameters and fields of {len(NINE)} operations walked")

    # control: a parameter added to a newer file is noticed, and so is a lost operation
    newer = copy.deepcopy(spec)
    newer["paths"]["/incidents"]["get"]["parameters"].append(
        {"name": "probe_new_filter[]", "in": "query", "schema": {"type": "string"}})
    del newer["paths"]["/log_entries/{id}"]["get"]
    missed = []
    saved = dict(CHECKS)
    CHECKS.clear()  # only the bookkeeping, not the requests, for the control
    CHECKS.update({k: (lambda: None) for k in saved})
    walk(newer, allow, lambda ok, key, why: missed.append(key) if not ok else None)
    CHECKS.clear()
    CHECKS.update(saved)
    if "listIncidents query:probe_new_filter[]" in missed and "getLogEntry operation" in missed:
        print("ok param probe control: a new parameter and a lost operation are both reported")
    else:
        lib.failures += 1
        print(f"FAIL param probe control: not reported: {missed}")


main()
sys.exit(1 if lib.failures else 0)

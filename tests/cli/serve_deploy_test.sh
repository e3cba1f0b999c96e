# deploy/ works as written: the Kubernetes ConfigMap's config and pipelines load in
# vsrun serve and answer a signed webhook, its pipelines match scripts/examples/, and the
# systemd unit names the right command.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

# the ConfigMap's files (block scalars under data:) into $TMP/cm/
python3 - deploy/kubernetes/vsrun.yaml "$TMP/cm" <<'PY'
import os, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
lines = open(src).read().split("---")[0].splitlines()
name, body, in_data = None, [], False
def flush():
    if name: open(os.path.join(out, name), "w").write("\n".join(body) + "\n")
for line in lines:
    if line.startswith("data:"): in_data = True; continue
    if not in_data: continue
    if line.startswith("  ") and not line.startswith("    ") and line.rstrip().endswith(": |"):
        flush(); name, body = line.strip()[:-3], []
    elif line.startswith("    ") or line == "":
        body.append(line[4:])
flush()
PY
check "the ConfigMap holds the config and both pipelines" test -s "$TMP/cm/serve.lua" -a -s "$TMP/cm/webhook_note.lua" -a -s "$TMP/cm/alertmanager_incident.lua"
for f in webhook_note alertmanager_incident; do
    # the example without its header comment is the ConfigMap's copy
    if diff <(grep -v '^--' "scripts/examples/$f.lua" | grep -v '^$') <(grep -v '^$' "$TMP/cm/$f.lua") >"$TMP/diff"; then
        echo "ok deploy: $f.lua is the same as scripts/examples/"
    else
        echo "FAIL deploy: $f.lua differs from scripts/examples/: $(head -5 "$TMP/diff")"
    fi
done
sed -i 's/port = 8080/port = 0/; s/"0.0.0.0"/"127.0.0.1"/' "$TMP/cm/serve.lua"
PD_WEBHOOK_SECRET=k8s-secret AM_TOKEN=k8s-token start_serve k8s --config "$TMP/cm/serve.lua" --store "$TMP/k8s.db" \
    || { echo "FAIL the ConfigMap's config starts vsrun serve: $(cat "$TMP/k8s.err")"; exit 1; }
echo "ok the ConfigMap's config starts vsrun serve"
post_pd pagerduty k8s-secret '{"event":{"id":"K1","event_type":"incident.resolved"}}'
expect_code "the ConfigMap's PagerDuty route verifies and accepts" 202
check "its pipeline ran" wait_until 20 bash -c "'$VSRUN' runs list --store '$TMP/k8s.db' --status done | grep -q K1"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
check "the probes' /healthz answers 200" test "$CODE" = 200
stop_serve k8s TERM
check "SIGTERM (pod termination): exit 0" test "$RC" = 0
check "the Deployment passes --config and --store" grep -q 'args: \["serve", "--config", "/etc/vsrun/serve.lua", "--store", "$(VSRUN_STORE)"\]' deploy/kubernetes/vsrun.yaml
check "the grace period outlasts drain_seconds" grep -q 'terminationGracePeriodSeconds: 45' deploy/kubernetes/vsrun.yaml
# the image's binary opens its network library from ../lib/vsrun (host/netlib.c)
check "the image installs the network library in /usr/local/lib/vsrun" grep -q '^COPY --from=build /src/vsrun-net.so /usr/local/lib/vsrun/vsrun-net.so$' deploy/Dockerfile
check "the systemd unit runs vsrun serve" grep -q '^ExecStart=/usr/local/bin/vsrun serve --config /etc/vsrun/serve.lua --store /var/lib/vsrun/serve.db$' deploy/systemd/vsrun-serve.service
check "no sanitizer report" no_sanitizer_report "$TMP/k8s.err"

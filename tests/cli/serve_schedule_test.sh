# Schedules of vsrun serve: cron expressions in a time zone, fixed inputs, one firing per
# minute however often the server restarts within it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

printf 'local input = ... return input\n' >"$TMP/echo.lua"
bad_config() {   # bad_config NAME REGEX LUA-SCHEDULES
    printf 'return { routes = { r = { script = "echo.lua", bearer = "t" } }, schedules = { %s } }' "$3" >"$TMP/bad.lua"
    run serve --config "$TMP/bad.lua"
    expect "$1" 2 '' "$2"
}
bad_config "schedule: bad cron field" "bad hour field '25'" 's = { script = "echo.lua", cron = "0 25 * * *" }'
bad_config "schedule: four fields" 'needs 5 fields' 's = { script = "echo.lua", cron = "0 1 * *" }'
bad_config "schedule: six fields" 'more than 5 fields' 's = { script = "echo.lua", cron = "0 1 * * * *" }'
bad_config "schedule: bad step" "bad minute field" 's = { script = "echo.lua", cron = "*/0 * * * *" }'
bad_config "schedule: unknown time zone" "timezone 'Mars/Olympus' is not in the zone database" 's = { script = "echo.lua", cron = "* * * * *", timezone = "Mars/Olympus" }'
bad_config "schedule: a zone path is refused" "not in the zone database" 's = { script = "echo.lua", cron = "* * * * *", timezone = "../../etc/passwd" }'
bad_config "schedule: a name used by a route too" "names both a route and a schedule" 'r = { script = "echo.lua", cron = "* * * * *" }'
bad_config "schedule: reserved input names" 'names are strings other than run_id' 's = { script = "echo.lua", cron = "* * * * *", inputs = { run_id = 1 } }'
bad_config "schedule: input values are plain" 'inputs.x must be a string, number or boolean' 's = { script = "echo.lua", cron = "* * * * *", inputs = { x = {} } }'
bad_config "schedule: verifiers are route keys" "unknown key 'bearer'" 's = { script = "echo.lua", cron = "* * * * *", bearer = "t" }'

# start the timing-sensitive part early in a minute so the minute cannot roll over in it
while [ "$(date +%S | sed 's/^0//')" -gt 40 ]; do sleep 1; done
read -r KM KH < <(TZ=Asia/Kolkata date +'%M %H')
cat >"$TMP/serve.lua" <<LUA
return { port = 0, schedules = {
  every = { script = "echo.lua", cron = "* * * * *", timezone = "America/New_York",
            inputs = { days = 7, name = "weekly \"report\"", dry = true, ratio = 0.5 } },
  kolkata = { script = "echo.lua", cron = "$((10#$KM)) $((10#$KH)) * * *", timezone = "Asia/Kolkata" },
  utc_same = { script = "echo.lua", cron = "$((10#$KM)) $((10#$KH)) * * *" },
} }
LUA
STORE=$TMP/sched.db
start_serve s1 --config "$TMP/serve.lua" --store "$STORE" || { echo "FAIL serve starts: $(cat "$TMP/s1.err")"; exit 1; }
done_for() { "$VSRUN" runs list --store "$STORE" --status done | grep -c " $1 "; }
check "an every-minute schedule fires in the current minute" wait_until 20 bash -c "[ \$('$VSRUN' runs list --store '$STORE' --status done | grep -c ' every ') = 1 ]"
"$VSRUN" runs list --store "$STORE" --json | grep '"route":"every"' >"$TMP/every.json"
ID=$(sed -n 's/^{"id":\([0-9]*\),.*/\1/p' "$TMP/every.json")
"$VSRUN" runs show "$ID" --store "$STORE" >"$TMP/show"
check "the fixed inputs reach the script, types kept" \
    grep -q '"result":{"attempt":1,"days":7,"delivery_id":"cron:[0-9T:-]*","dry":true,"name":"weekly \\"report\\"","ratio":0.5,"route":"every","run_id":[0-9]*,"scheduled_at":"[0-9T:-]*Z"}' "$TMP/show"
check "the delivery id names the minute" grep -q "\"delivery_id\":\"cron:$(date -u +%Y-%m-%dT%H:%M)\"" "$TMP/show"
check "the cron is read in its time zone (Asia/Kolkata fires)" wait_until 20 bash -c "[ \$('$VSRUN' runs list --store '$STORE' | grep -c ' kolkata ') = 1 ]"
check "control: the same cron in UTC does not fire now" test "$("$VSRUN" runs list --store "$STORE" | grep -c ' utc_same ')" = 0
check "a firing is logged as JSON" grep -q '^{"time":"[^"]*","schedule":"every","fired":"' "$TMP/s1.err"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$URL/hooks/every")
check "a schedule has no webhook URL" test "$CODE" = 404
stop_serve s1 TERM
check "SIGTERM: exit 0" test "$RC" = 0
start_serve s2 --config "$TMP/serve.lua" --store "$STORE" || { echo "FAIL serve restarts: $(cat "$TMP/s2.err")"; exit 1; }
sleep 1.5   # the schedule thread checks the current minute at once; give it the time to (wrongly) fire
same_minute=$(( $(date +%s) / 60 == $(sed -n 's/.*"scheduled_at":"\([^"]*\)".*/\1/p' "$TMP/show" | xargs -I{} date -d {} +%s) / 60 ))
if [ "$same_minute" = 1 ]; then
    check "a restart within the minute does not fire it again" test "$("$VSRUN" runs list --store "$STORE" | grep -c ' every ')" = 1
else
    echo "skipped restart-within-the-minute check: the minute ended during the test"
fi
stop_serve s2 TERM
check "no sanitizer report" no_sanitizer_report "$TMP/s1.err"
check "no sanitizer report after restart" no_sanitizer_report "$TMP/s2.err"

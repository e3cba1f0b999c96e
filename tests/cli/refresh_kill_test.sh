#!/usr/bin/env bash
# kill -9 during a token refresh, at 40 points spread over the run (issue 17 §2). The sandbox
# answers the token request 0.1 s after rotating the refresh token (a latency fault), like a
# slow network. Checks: the record always opens afterwards (never half written), and a
# connection is only ever lost when the kill fell after PagerDuty rotated the token (its
# answer was in flight, or not yet written and fsynced): the window vsrun cannot close.
# Prints how many connections survived.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/refresh_lib.sh"

run auth login --connection work --client-id "$CID" --api-url "$SB" --identity-url "$SB" --timeout 20
expect "refresh-kill: login" 0 "Connected 'work'"

KILLS=40 survived=0 lost=0 damaged=0 unexplained=0 refreshing=0
for i in $(seq 0 $((KILLS - 1))); do
    curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null
    fault '{"match":{"method":"GET","path":"^/users/me$"},"count":1,"kind":"expire_token"}'
    fault '{"match":{"method":"POST","path":"^/oauth/token$"},"count":1,"kind":"latency","delay":0.1}'
    before=$(token_posts)
    "$VSRUN" -e 'return require("pagerduty").get_user("me").email' >/dev/null 2>&1 &
    victim=$!
    # kill points from 0 to 0.39 s after the start, in 10 ms steps
    sleep "$(printf '0.%02d' $((i % 40)))"
    kill -9 "$victim" 2>/dev/null
    wait "$victim" 2>/dev/null
    curl -s -X DELETE "$SB/__sandbox/faults" >/dev/null
    posted=$(( $(token_posts) - before ))
    [ "$posted" -gt 0 ] && refreshing=$((refreshing + 1))
    run auth status work --check
    case $RC in
    0) survived=$((survived + 1)) ;;
    3) lost=$((lost + 1))
       [ "$posted" -gt 0 ] || unexplained=$((unexplained + 1))
       run auth reconnect work --timeout 20
       [ "$RC" = 0 ] || { echo "FAIL refresh-kill: reconnect after kill $i: $ERR"; break; } ;;
    *) damaged=$((damaged + 1)); echo "    kill $i: auth status exit $RC: ${ERR:0:200}"
       run auth logout work
       run auth login --connection work --client-id "$CID" --api-url "$SB" --identity-url "$SB" --timeout 20 ;;
    esac
done
echo "    refresh-kill: $KILLS kills, $refreshing during or after the token request; $survived connections survived, $lost lost"
say "refresh-kill: the record opened after every kill (never half written)" '[ "$damaged" = 0 ]' "$damaged damaged"
say "refresh-kill: a connection was lost only after PagerDuty had rotated its token" '[ "$unexplained" = 0 ]' "$unexplained lost without a token request"
say "refresh-kill: some kills fell before the refresh token was spent, and those connections survived" \
    '[ $((KILLS - refreshing)) -gt 0 ] && [ "$survived" -ge $((KILLS - refreshing)) ]' "$survived survived, $((KILLS - refreshing)) kills before the token request"
# the survival figure for the report
echo "ok refresh-kill: $survived of $KILLS connections survived a kill -9"
exit 0

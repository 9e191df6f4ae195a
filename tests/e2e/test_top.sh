#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# swarmwatch top under tmux (send-keys, capture-pane) against a real daemon: the agents appear
# and the view follows the ticks, sparklines fill, sorting by a column (and reversed),
# filtering, opening an agent with its upstreams and going back, quitting; and a daemon that
# cannot be reached is said so on screen.
set -u
. "$(dirname "$0")/lib.sh"

checks=("top lists the probe agent and follows the ticks"
	"the probe agent's request sparkline fills"
	"names of other scripts and invalid bytes keep the columns aligned"
	"key 3 sorts by requests per second, largest first; r reverses"
	"/ filters the list by name"
	"Enter opens the agent with its upstreams; Esc goes back"
	"q quits"
	"an unreachable daemon is reported on screen with a retry")
echo "1..${#checks[@]}"
needs_root_bpf tmux curl python3

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-e2e-$$
port=$(free_port)
up_port=$(free_port)
dead_port=$(free_port)
session=swarmwatch-top-$$
pids=()
cleanup() {
	tmux kill-session -t "$session" 2>/dev/null
	tmux kill-session -t "$session-dead" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$SWARMWATCH" run --unpin --pin-path "$pin" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

"$SWARMWATCH" run --listen 127.0.0.1:$port --interval 500ms --pin-path "$pin" --state-dir "" \
	>"$work/swarmwatch.log" 2>&1 &
pids+=($!)
if ! wait_for 30 curl -sf http://127.0.0.1:$port/healthz; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log"
	fail_rest 0
fi
timeout 120 python3 -m http.server --bind 127.0.0.1 $up_port >/dev/null 2>&1 &
pids+=($!)
env SWARMWATCH_AGENT=topprobe timeout 120 sh -c \
	"while :; do curl -s -o /dev/null http://127.0.0.1:$up_port/; sleep 0.05; done" &
pids+=($!)
env SWARMWATCH_AGENT=topidle timeout 120 sleep 120 &
pids+=($!)
# "topéエ" then an invalid byte (shown as U+FFFD): 3 to 4 bytes a character, 1 or 2 columns.
env SWARMWATCH_AGENT=$'top\xc3\xa9\xe3\x82\xa8\xff' timeout 120 sleep 120 &
pids+=($!)

screen() { tmux capture-pane -p -t "$session" 2>/dev/null; }
# shows TEXT SECONDS: waits until the screen shows TEXT (a grep -E pattern).
shows() { wait_for "$2" sh -c "tmux capture-pane -p -t '$session' | grep -Eq -- '$1'"; }

tmux new-session -d -s "$session" -x 150 -y 45 \
	"env LANG=C.UTF-8 TERM=xterm-256color $SWARMWATCH top --url http://127.0.0.1:$port/; echo top exited \$?; sleep 30"
shows '^topprobe ' 10
a=$?
t1=$(screen | sed -n 's/.* tick \([0-9]*\) .*/\1/p' | head -1)
sleep 1.5
t2=$(screen | sed -n 's/.* tick \([0-9]*\) .*/\1/p' | head -1)
echo "# ticks $t1 then $t2"
[ $a -eq 0 ] && [ -n "$t1" ] && [ -n "$t2" ] && [ "$t2" -gt "$t1" ]
ok $? "${checks[0]}"

shows 'topprobe .*[▁▂▃▄▅▆▇█]{5,}' 10
ok $? "${checks[1]}"

# Every row of the list has its INST figure end on the same screen column.
tmux send-keys -t "$session" / t o p Enter
sleep 0.6
screen | sed -n '5,$p' | python3 -c '
import sys, unicodedata
def cols(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
ends = {}
for l in sys.stdin.read().splitlines():
    if not l.strip():
        continue
    f = l.split()
    # The INST figure: the first field after the name, right-aligned in its column.
    at = l.index(" " + f[1] + " ", len(f[0])) + 1 + len(f[1])
    ends[f[0]] = cols(l[:at])
print("# INST ends at", ends)
sys.exit(0 if len(ends) >= 3 and len(set(ends.values())) == 1
         and any(n.startswith("top\u00e9\u30a8\ufffd") for n in ends) else 1)'
ok $? "${checks[2]}"
tmux send-keys -t "$session" / Escape
sleep 0.3

# Figures of the REQ/S column (the third) of the live rows, in screen order.
column() {
	screen | python3 -c '
import sys
# Rows of ASCII names only: the figures are read by character position, and a wide
# character takes two columns.
rows = [l for l in sys.stdin.read().splitlines()[4:]
        if l.strip() and " gone" not in l and l[:25].isascii()]
vals = []
for l in rows:
    f = l[25:].split()
    if len(f) > 1:
        vals.append(-1.0 if f[1] == "-" else float(f[1]))
print(" ".join(str(v) for v in vals))'
}
sorted_as() { # sorted_as desc|asc VALUES...
	python3 -c 'import sys; v = [float(x) for x in sys.argv[2:]]
sys.exit(0 if len(v) >= 2 and v == sorted(v, reverse=sys.argv[1] == "desc") else 1)' "$@"
}
tmux send-keys -t "$session" 3
sleep 0.5
desc=$(column)
head_desc=$(screen | sed -n 4p)
tmux send-keys -t "$session" r
sleep 0.5
asc=$(column)
head_asc=$(screen | sed -n 4p)
echo "# REQ/S by 3: $desc; reversed: $asc"
echo "$head_desc" | grep -q 'REQ/Sv' && echo "$head_asc" | grep -q 'REQ/S^' && sorted_as desc $desc && sorted_as asc $asc
ok $? "${checks[3]}"

tmux send-keys -t "$session" / t o p p r o b e Enter
sleep 0.6
rows=$(screen | sed -n '5,$p' | grep -c '[^ ]')
screen | sed -n 5p | grep -q '^topprobe ' && [ "$rows" -eq 1 ]
ok $? "${checks[4]}"

tmux send-keys -t "$session" Enter
shows 'agent topprobe' 3 && shows "127\.0\.0\.1:$up_port +client" 5
opened=$?
tmux send-keys -t "$session" Escape
shows 'REQ/S LAST' 3
[ $opened -eq 0 ] && [ $? -eq 0 ]
ok $? "${checks[5]}"

tmux send-keys -t "$session" q
shows '^top exited 0' 5
ok $? "${checks[6]}"

tmux new-session -d -s "$session-dead" -x 150 -y 20 \
	"env LANG=C.UTF-8 $SWARMWATCH top --url http://127.0.0.1:$dead_port; sleep 30"
wait_for 10 sh -c "tmux capture-pane -p -t '$session-dead' | grep -q 'retrying in 2 s'"
rc=$?
tmux capture-pane -p -t "$session-dead" | sed -n 3p | sed 's/^/# /'
tmux send-keys -t "$session-dead" q
[ $rc -eq 0 ]
ok $? "${checks[7]}"
exit $((tap_failed > 0))

#!/usr/bin/env bash
# Benchmark of the fleet plugin (issue 4, "Performance"):
#
#   plugins/fleet/bench.sh [--agents N] [--seconds S] [--prefix DIR]
#
# 1. `mosaic fleet ps` (table and --json) over N generated agents (default 1000:
#    metadata, a fresh heartbeat, and an activity record for every other one),
#    timed with hyperfine. Target: median <= 20 ms.
# 2. The heartbeat sidecar of one real agent (`-- sleep`, interval 1 s, private tmux
#    server): its resident memory (target <= 4 MB; a bash sleep loop is ~3.5 MB)
#    and the CPU time it and its children (`sleep`, `mv`) use over S seconds
#    (default 60).
# 3. `mosaic fleet watch` over the same N agents in a 160x50 tmux pane: the time of
#    each refresh (MOSAIC_FLEET_WATCH_STATS, one JSON line per refresh; target
#    <= 20 ms at the 95th percentile) and its CPU use (its own and its children's,
#    from /proc) over 10 s without a key pressed (target < 2 %).
# 4. `mosaic fleet status-line` over 100 generated agents (target: median <= 5 ms).
#
# Without --prefix, builds a release install of mosaic with the fleet plugin into a
# temporary prefix (scripts/install.sh). Everything runs with a temporary HOME and
# its own tmux socket, removed at exit; nothing touches ~/.config or the default
# tmux server. Needs hyperfine, tmux and bash.
set -euo pipefail
umask 022

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
agents=1000
seconds=60
prefix=""

die() {
    echo "bench.sh: error: $*" >&2
    exit 1
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --agents) [[ $# -ge 2 ]] || die "--agents needs a number"; agents="$2"; shift 2 ;;
        --seconds) [[ $# -ge 2 ]] || die "--seconds needs a number"; seconds="$2"; shift 2 ;;
        --prefix) [[ $# -ge 2 ]] || die "--prefix needs a directory"; prefix="$2"; shift 2 ;;
        -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
exec </dev/null

for tool in hyperfine tmux bash; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (Debian/Ubuntu: sudo apt-get install $tool)"
done

scratch="$(mktemp -d)"
socket="$scratch/tmux.sock"
cleanup() {
    tmux -S "$socket" kill-server >/dev/null 2>&1 || true
    rm -rf "$scratch"
}
trap cleanup EXIT

if [[ -z "$prefix" ]]; then
    prefix="$scratch/prefix"
    bash "$repo_root/scripts/install.sh" --prefix "$prefix" --plugins fleet >&2
fi
mosaic="$prefix/bin/mosaic"
[[ -x "$mosaic" ]] || die "$mosaic is not an installed mosaic"

export HOME="$scratch/home"
export HB_RUN_DIR="$scratch/run"
export MOSAIC_TMUX_SOCKET="$socket"
unset XDG_CONFIG_HOME XDG_DATA_HOME XDG_CACHE_HOME MOSAIC_CONFIG_DIR TMUX
mkdir -p "$HOME" "$HB_RUN_DIR"

echo "==> fleet ps over $agents generated agents" >&2
now="$(date +%s)"
for ((index = 0; index < agents; index++)); do
    agent="agent-$index"
    printf '{"agent":"%s","runtime":"claude","command":["claude"],"cwd":"/","session":"mosaic-%s","pane_pid":%d,"sidecar_pid":%d,"started_at":%d,"interval":15}\n' \
        "$agent" "$agent" $((4000000 + index)) $((5000000 + index)) $((now - 600)) >"$HB_RUN_DIR/$agent.meta.json"
    printf '{"agent":"%s","pane_pid":%d,"sidecar_pid":%d,"interval":15,"beat_at":%d}\n' \
        "$agent" $((4000000 + index)) $((5000000 + index)) $((now - index % 90)) >"$HB_RUN_DIR/$agent.hb"
    if ((index % 2 == 0)); then
        printf '{"agent":"%s","last_event":"PostToolUse","last_event_at":%d,"last_tool":"Bash","last_tool_at":%d}\n' \
            "$agent" $((now - 5)) $((now - 5)) >"$HB_RUN_DIR/$agent.activity.json"
    fi
done
"$mosaic" fleet ps >/dev/null # warms the manifest cache
hyperfine --warmup 5 --min-runs 30 --export-json "$scratch/ps.json" \
    "$mosaic fleet ps" "$mosaic fleet ps --json"
python3 - "$scratch/ps.json" <<'PYTHON'
import json, sys
for result in json.load(open(sys.argv[1]))["results"]:
    median = result["median"] * 1000
    verdict = "PASS" if median <= 20 else "FAIL"
    print(f"{result['command'].split('/')[-1]:<28} median {median:6.1f} ms  (target <= 20 ms)  {verdict}")
PYTHON

echo "==> fleet watch over $agents generated agents (refresh 1 s, 10 s idle)" >&2
view_socket="$scratch/view.sock"
stats="$scratch/watch-stats.jsonl"
tmux -S "$view_socket" new-session -d -x 160 -y 50 -s view \
    "exec env MOSAIC_FLEET_WATCH_STATS='$stats' '$mosaic' fleet watch"
sleep 3 # start-up and the first refreshes
watch_pid="$(tmux -S "$view_socket" display-message -p -t view '#{pane_pid}')"
ticks="$(getconf CLK_TCK)"
# utime + stime + cutime + cstime: the view and the tmux captures it waited for.
watch_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$watch_pid/stat"; }
: >"$stats"
before="$(watch_ticks)"
sleep 10
after="$(watch_ticks)"
tmux -S "$view_socket" send-keys -t view q
python3 - "$stats" "$(( (after - before) * 1000 / ticks ))" <<'PYTHON'
import json, statistics, sys
times = sorted(json.loads(line)["refresh_ms"] for line in open(sys.argv[1]))
cpu_ms = int(sys.argv[2])
p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
verdict = "PASS" if p95 <= 20 else "FAIL"
print(f"fleet watch refresh      median {statistics.median(times):5.1f} ms  p95 {p95:5.1f} ms  "
      f"({len(times)} refreshes; target <= 20 ms)  {verdict}")
share = cpu_ms / 10_000 * 100
verdict = "PASS" if share < 2 else "FAIL"
print(f"fleet watch idle CPU     {cpu_ms} ms over 10 s = {share:.2f} %  (target < 2 %)  {verdict}")
PYTHON
tmux -S "$view_socket" kill-server >/dev/null 2>&1 || true
rm -f "$HB_RUN_DIR"/*

echo "==> fleet status-line over 100 generated agents" >&2
for ((index = 0; index < 100; index++)); do
    agent="agent-$index"
    printf '{"agent":"%s","runtime":"claude","command":["claude"],"cwd":"/","session":"mosaic-%s","pane_pid":%d,"sidecar_pid":%d,"started_at":%d,"interval":15}\n' \
        "$agent" "$agent" $((4000000 + index)) $((5000000 + index)) $((now - 600)) >"$HB_RUN_DIR/$agent.meta.json"
    printf '{"agent":"%s","pane_pid":%d,"sidecar_pid":%d,"interval":15,"beat_at":%d}\n' \
        "$agent" $((4000000 + index)) $((5000000 + index)) "$(date +%s)" >"$HB_RUN_DIR/$agent.hb"
    case $((index % 3)) in
        0) event='"last_event":"PreToolUse","last_tool":"Bash","last_tool_at":'"$now"',"state":"working","state_since":'"$now" ;;
        1) event='"last_event":"Notification","state":"waiting","state_since":'"$now"',"waiting_message":"Claude needs your permission"' ;;
        *) event='"last_event":"Stop","idle_since":'"$now"',"state":"idle","state_since":'"$now" ;;
    esac
    printf '{"agent":"%s",%s,"last_event_at":%d}\n' "$agent" "$event" "$now" >"$HB_RUN_DIR/$agent.activity.json"
done
"$mosaic" fleet status-line >/dev/null # warms the manifest cache
echo "status-line says: $("$mosaic" fleet status-line --ascii)" >&2
hyperfine -N --warmup 5 --min-runs 50 --export-json "$scratch/status-line.json" \
    "$mosaic fleet status-line"
python3 - "$scratch/status-line.json" <<'PYTHON'
import json, sys
for result in json.load(open(sys.argv[1]))["results"]:
    median = result["median"] * 1000
    verdict = "PASS" if median <= 5 else "FAIL"
    print(f"fleet status-line, 100 agents  median {median:5.2f} ms  (target <= 5 ms)  {verdict}")
PYTHON
rm -f "$HB_RUN_DIR"/*

echo "==> heartbeat sidecar over ${seconds}s at interval 1 s" >&2
MOSAIC_HEARTBEAT_INTERVAL=1 "$mosaic" fleet launch bench --detach -- sleep 100000 >/dev/null
sidecar="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sidecar_pid"])' "$HB_RUN_DIR/bench.meta.json")"
ticks="$(getconf CLK_TCK)"
# utime + stime + cutime + cstime: the sidecar and the children it waited for.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$sidecar/stat"; }
before="$(cpu_ticks)"
sleep "$seconds"
after="$(cpu_ticks)"
rss_kb="$(awk '/^VmRSS:/ { print $2 }' "/proc/$sidecar/status")"
cpu_ms=$(( (after - before) * 1000 / ticks ))
rss_verdict=$([[ $rss_kb -le 4096 ]] && echo PASS || echo FAIL)
echo "sidecar RSS        ${rss_kb} kB  (target <= 4096 kB)  $rss_verdict"
echo "sidecar CPU time   ${cpu_ms} ms over ${seconds}s (its own and its sleep/mv children)"

#!/usr/bin/env bash
# Start-up benchmark of the mosaic host (issue 2, "Performance"; results go in
# BENCHMARKS.md).
#
#   scripts/bench.sh [--plugins a,b|all] [--only SECTIONS] [--warmup N] [--min-runs N]
#                    [--results DIR] [--litellm-timeout SECONDS] [--strict]
#
# --only runs some sections (comma-separated): startup (with hooks and fleet),
# gateway, team, proxy, dashboard, plugins. Default: all of them. --litellm-timeout SECONDS bounds the
# PyPI install of LiteLLM in the proxy section (default 900).
#
# Builds a release install into a temporary prefix (scripts/install.sh; --plugins
# is passed on, default all first-party plugins, '' for the host alone), installs
# the example plugin (examples/hello-plugin, release) with `mosaic plugins install`,
# and times with hyperfine, in one run:
#
#   mosaic --help, mosaic --version, mosaic hello (warm manifest cache),
#   mosaic hello (cold cache: the cache file is deleted before each run),
#   git --version (the reference: a fast native CLI)
#
# then the same again with 100 more plugins installed. The 100 are copies of one
# fixture plugin (scripts/bench-plugin) whose name and command are patched byte for
# byte in each copy (benchplugin_000001 ... benchplugin_000100).
#
# Targets (judged on the median): warm `mosaic --help` and warm `mosaic hello`
# within 2x of `git --version`; with 100 plugins, warm `mosaic --help` and warm
# `mosaic hello` at most 1.5x their time with one plugin. A summary table prints
# the ratios with PASS/FAIL; --strict makes a missed target exit 1.
#
# Everything runs with a temporary HOME and XDG dirs (never the real ~/.config,
# ~/.cache or ~/.local), removed at exit. --results DIR keeps hyperfine's markdown
# and JSON exports. When run as root, missing hyperfine/python3/git are installed
# with apt-get.
set -euo pipefail
umask 022

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo_root/target}"
warmup=10
min_runs=30
results_dir=""
strict=0
plugins_arg="all"
plugin_count=100
placeholder="benchplugin_000000"
only="startup,gateway,team,proxy,dashboard,plugins"
litellm_timeout=900
report_status=0

usage() {
    sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() {
    echo "bench.sh: error: $*" >&2
    exit 1
}

heading() {
    printf '\n==> %s\n' "$*" >&2
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --plugins) [[ $# -ge 2 ]] || die "--plugins needs a list (or all, or '')"; plugins_arg="$2"; shift 2 ;;
        --warmup) [[ $# -ge 2 ]] || die "--warmup needs a number"; warmup="$2"; shift 2 ;;
        --min-runs) [[ $# -ge 2 ]] || die "--min-runs needs a number"; min_runs="$2"; shift 2 ;;
        --results) [[ $# -ge 2 ]] || die "--results needs a directory"; results_dir="$2"; shift 2 ;;
        --only) [[ $# -ge 2 ]] || die "--only needs sections (startup,gateway,team,proxy,dashboard,plugins)"; only="$2"; shift 2 ;;
        --litellm-timeout) [[ $# -ge 2 ]] || die "--litellm-timeout needs seconds"; litellm_timeout="$2"; shift 2 ;;
        --strict) strict=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
exec </dev/null
for section in ${only//,/ }; do
    case "$section" in
        startup|gateway|team|proxy|dashboard|plugins) ;;
        *) die "--only: unknown section '$section' (known: startup, gateway, team, proxy, dashboard, plugins)" ;;
    esac
done
# Whether the section $1 runs (--only).
wants() {
    [[ ",$only," == *",$1,"* ]]
}

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------

heading "Tools"
needed=()
command -v hyperfine >/dev/null 2>&1 || needed+=(hyperfine)
command -v python3 >/dev/null 2>&1 || needed+=(python3)
command -v git >/dev/null 2>&1 || needed+=(git)
if [[ ${#needed[@]} -gt 0 ]]; then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "installing: ${needed[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${needed[@]}" >&2
    else
        die "missing: ${needed[*]} (Debian: sudo apt-get install ${needed[*]})"
    fi
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (https://rustup.rs)"
git_bin="$(command -v git)"
echo "hyperfine: $(hyperfine --version); git: $git_bin ($("$git_bin" --version))" >&2

work="$(mktemp -d "${TMPDIR:-/tmp}/mosaic-bench.XXXXXX")"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    rm -rf "$work"
}
trap cleanup EXIT
if [[ -n "$results_dir" ]]; then
    mkdir -p "$results_dir"
    results_dir="$(cd "$results_dir" && pwd)"
else
    results_dir="$work/results"
    mkdir -p "$results_dir"
fi

# ---------------------------------------------------------------------------
# Builds (with the real HOME: cargo and rustup live there)
# ---------------------------------------------------------------------------

prefix="$work/prefix"
heading "Release install of mosaic (plugins: ${plugins_arg:-none}) into a temp prefix"
# (PATH names the prefix only so install.sh does not warn that it is not on PATH.)
PATH="$prefix/bin:$PATH" bash "$repo_root/scripts/install.sh" --prefix "$prefix" --plugins "$plugins_arg" >&2
mosaic="$prefix/bin/mosaic"

if wants startup || wants plugins; then
    heading "Release build of examples/hello-plugin (out of tree)"
    CARGO_TARGET_DIR="$target/out-of-tree" cargo build --release \
        --manifest-path "$repo_root/examples/hello-plugin/Cargo.toml"
    hello_library="$target/out-of-tree/release/libmosaic_hello.so"
    [[ -f "$hello_library" ]] || die "build produced no $hello_library"
fi

if wants startup; then

    heading "Release build of the fixture plugin (scripts/bench-plugin)"
    CARGO_TARGET_DIR="$target/bench-plugin" cargo build --release \
        --manifest-path "$repo_root/scripts/bench-plugin/Cargo.toml"
    fixture_library="$target/bench-plugin/release/libmosaic_benchplugin.so"
    [[ -f "$fixture_library" ]] || die "build produced no $fixture_library"
fi

if wants proxy; then
    heading "Release build of the Messages API stand-in and load generator (scripts/bench-standin)"
    CARGO_TARGET_DIR="$target/bench-standin" cargo build --release \
        --manifest-path "$repo_root/scripts/bench-standin/Cargo.toml"
    standin="$target/bench-standin/release/bench-standin"
    [[ -x "$standin" ]] || die "build produced no $standin"
fi

# ---------------------------------------------------------------------------
# A private world: from here on nothing reads or writes the real home
# ---------------------------------------------------------------------------

export HOME="$work/home"
export XDG_CONFIG_HOME="$HOME/.config"
export XDG_DATA_HOME="$HOME/.local/share"
export XDG_CACHE_HOME="$HOME/.cache"
export XDG_STATE_HOME="$HOME/.local/state"
export CLAUDE_HOME="$HOME/.claude"
unset XDG_RUNTIME_DIR MOSAIC_CONFIG_DIR MOSAIC_PLUGIN_PATH MOSAIC_LOG MOSAIC_ASSUME_YES \
    MOSAIC_RUN_DIR HB_RUN_DIR TMUX GIT_CONFIG_GLOBAL GIT_CONFIG_SYSTEM
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
user_plugin_dir="$XDG_DATA_HOME/mosaic/plugins"
cache_file="$XDG_CACHE_HOME/mosaic/plugin-manifests.bin"

if wants startup; then
heading "Install the example plugin with mosaic plugins install"
"$mosaic" plugins install "$hello_library" >&2
greeting="$("$mosaic" hello)"
[[ "$greeting" == "Hello, world!" ]] || die "mosaic hello printed '$greeting'"
[[ -f "$cache_file" ]] || die "no manifest cache at $cache_file after a run: the cold-cache case would measure nothing"

# One hyperfine run over the five commands; $1 names the case, $2 the file stem.
run_hyperfine() {
    local label="$1" stem="$2"
    local quoted_mosaic quoted_git quoted_cache
    quoted_mosaic="$(printf '%q' "$mosaic")"
    quoted_git="$(printf '%q' "$git_bin")"
    quoted_cache="$(printf '%q' "$cache_file")"
    heading "hyperfine: $label"
    # -N: no intermediate shell, so a 1 ms command is timed without a shell's cost.
    # One --prepare per command, in order; only the cold case deletes the cache.
    hyperfine -N --style basic --warmup "$warmup" --min-runs "$min_runs" \
        --export-markdown "$results_dir/$stem.md" \
        --export-json "$results_dir/$stem.json" \
        --command-name "mosaic --help" --prepare "true" "$quoted_mosaic --help" \
        --command-name "mosaic --version" --prepare "true" "$quoted_mosaic --version" \
        --command-name "mosaic hello (warm cache)" --prepare "true" "$quoted_mosaic hello" \
        --command-name "mosaic hello (cold cache)" --prepare "rm -f $quoted_cache" "$quoted_mosaic hello" \
        --command-name "git --version" --prepare "true" "$quoted_git --version" >&2
}

run_hyperfine "one plugin (hello)" one-plugin

heading "Generate $plugin_count fixture plugins in $user_plugin_dir"
python3 - "$fixture_library" "$user_plugin_dir" "$placeholder" "$plugin_count" <<'PYTHON'
import os
import sys

library, plugin_dir, placeholder, count = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
data = open(library, "rb").read()
occurrences = data.count(placeholder)
if occurrences == 0:
    sys.exit(f"{library}: placeholder {placeholder.decode()} not found")
stem = placeholder.decode().rsplit("_", 1)[0]
width = len(placeholder) - len(stem) - 1
for number in range(1, count + 1):
    name = f"{stem}_{number:0{width}d}".encode()
    assert len(name) == len(placeholder)
    path = os.path.join(plugin_dir, f"libmosaic_{name.decode()}.so")
    with open(path, "wb") as out:
        out.write(data.replace(placeholder, name))
    os.chmod(path, 0o755)
print(f"{count} plugins written ({occurrences} placeholder occurrence(s) patched in each)", file=sys.stderr)
PYTHON

"$mosaic" --json plugins list >"$work/plugins.json"
python3 - "$work/plugins.json" "$placeholder" "$plugin_count" <<'PYTHON'
import json
import sys

plugins = json.load(open(sys.argv[1]))
stem = sys.argv[2].rsplit("_", 1)[0]
count = int(sys.argv[3])
fixtures = [p for p in plugins if p["name"].startswith(stem + "_")]
bad = [f'{p["name"]}: {p["status"]} {p.get("problem") or ""}' for p in plugins if p["status"] != "ok"]
commands = [c for p in fixtures for c in p["commands"]]
problems = []
if bad:
    problems.append("not ok: " + "; ".join(bad))
if len(fixtures) != count:
    problems.append(f"{len(fixtures)} fixture plugins listed, expected {count}")
if sorted(commands) != sorted(p["name"] for p in fixtures) or len(set(commands)) != count:
    problems.append(f"commands are not one distinct command per plugin: {commands[:5]}...")
if problems:
    sys.exit("mosaic plugins list: " + " | ".join(problems))
print(f"mosaic plugins list: {len(plugins)} plugins, all ok, {len(set(commands))} distinct fixture commands", file=sys.stderr)
PYTHON
last_name="$(printf '%s_%06d' "${placeholder%_*}" "$plugin_count")"
[[ "$("$mosaic" "$last_name")" == "ok" ]] || die "mosaic $last_name did not print ok"
"$mosaic" hello >/dev/null

run_hyperfine "one plugin (hello) + $plugin_count fixture plugins" hundred-plugins

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

heading "Results"
for stem in one-plugin hundred-plugins; do
    echo
    echo "### $stem"
    echo
    cat "$results_dir/$stem.md"
done

echo
set +e
python3 - "$results_dir/one-plugin.json" "$results_dir/hundred-plugins.json" "$plugin_count" <<'PYTHON'
import json
import sys

def load(path):
    return {r["command"]: r for r in json.load(open(path))["results"]}

one, hundred, count = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
ms = lambda r: r["median"] * 1000

print("### Times (median, ms)")
print()
print(f"| command | one plugin | {count} more plugins | ratio |")
print("|:---|---:|---:|---:|")
for name in one:
    a, b = ms(one[name]), ms(hundred[name])
    print(f"| `{name}` | {a:.2f} | {b:.2f} | {b / a:.2f}x |")

git = one["git --version"]
targets = [
    ("warm `mosaic --help` vs `git --version`", one["mosaic --help"], git, 2.0),
    ("warm `mosaic hello` vs `git --version`", one["mosaic hello (warm cache)"], git, 2.0),
    (f"warm `mosaic --help`, {count} plugins vs one", hundred["mosaic --help"], one["mosaic --help"], 1.5),
    (f"warm `mosaic hello`, {count} plugins vs one", hundred["mosaic hello (warm cache)"], one["mosaic hello (warm cache)"], 1.5),
]
print()
print("### Targets (ratio of medians)")
print()
print("| target | measured | limit | result |")
print("|:---|---:|---:|:---|")
failed = 0
for name, measured, reference, limit in targets:
    ratio = measured["median"] / reference["median"]
    ok = ratio <= limit
    failed += not ok
    print(f"| {name} | {ratio:.2f}x ({ms(measured):.2f} / {ms(reference):.2f} ms) | {limit:.1f}x | {'PASS' if ok else 'FAIL'} |")
print()
print(f"targets: {len(targets) - failed} PASS, {failed} FAIL")
sys.exit(1 if failed else 0)
PYTHON
report_status=$?
set -e
fi

# ---------------------------------------------------------------------------
# Hooks (issue 3): the hook commands Claude Code runs on every tool call
# ---------------------------------------------------------------------------
# `mosaic config hooks run bash-guard` reads Claude Code's PreToolUse JSON on stdin
# and decides; `activity` records a PostToolUse. Both start the whole host (warm
# manifest cache) and load one plugin, so this is also the real-world start-up cost.
# Reported next to `git --version`; no fixed target in the issue beyond "fast".
hooks_bench() {
    if [[ ! -f "$prefix/lib/mosaic/plugins/libmosaic_hooks.so" ]]; then
        echo "hooks plugin not installed (--plugins $plugins_arg): no hooks benchmark" >&2
        return 0
    fi
    heading "Hooks: one hook invocation as Claude Code makes it"
    local input_dir="$work/hook-input"
    mkdir -p "$input_dir"
    printf '%s' '{"session_id":"bench","transcript_path":"/dev/null","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls -la"}}' >"$input_dir/pre.json"
    printf '%s' '{"session_id":"bench","transcript_path":"/dev/null","cwd":"/tmp","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_response":{"stdout":""}}' >"$input_dir/post.json"
    local quoted_mosaic
    quoted_mosaic="$(printf '%q' "$mosaic")"
    # stdin comes from a file through the shell (hyperfine 1.15 has no --input);
    # hyperfine measures and subtracts the shell's own start-up.
    hyperfine --style basic --warmup "$warmup" --min-runs "$min_runs" \
        --export-markdown "$results_dir/hooks.md" \
        --command-name "bash-guard (PreToolUse, allowed)" \
        "$quoted_mosaic config hooks run bash-guard < $(printf '%q' "$input_dir/pre.json")" \
        --command-name "activity (PostToolUse)" \
        "$quoted_mosaic config hooks run activity < $(printf '%q' "$input_dir/post.json")" \
        --command-name "git --version" "$(printf '%q' "$git_bin") --version" >&2
    cat "$results_dir/hooks.md"
}

# ---------------------------------------------------------------------------
# Fleet (issues 4 and 12): `fleet ps` over 1,000 agents, `fleet watch` refresh time and
# idle CPU over 1,000 agents, `fleet status-line` over 100, the sidecar's memory and CPU
# ---------------------------------------------------------------------------
fleet_bench() {
    if [[ ! -f "$prefix/lib/mosaic/plugins/libmosaic_fleet.so" ]]; then
        echo "fleet plugin not installed (--plugins $plugins_arg): no fleet benchmark" >&2
        return 0
    fi
    heading "Fleet: plugins/fleet/bench.sh"
    bash "$repo_root/plugins/fleet/bench.sh" --prefix "$prefix" --seconds 30
}

if wants startup; then
    set +e
    hooks_bench
    hooks_status=$?
    fleet_bench
    fleet_status=$?
    set -e
    [[ $hooks_status -eq 0 && $fleet_status -eq 0 ]] || report_status=1
fi

# Shared by the gateway sections: a session token for the bench admin, and the
# Python that reads wrk's output and prints a targets table.
gateway_login() {
    python3 - "$@" <<'PYTHON'
import json, sys, urllib.request
port, email, password = sys.argv[1:]
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/api/auth/login",
    data=json.dumps({"email": email, "password": password}).encode(),
    headers={"Content-Type": "application/json"},
)
print(json.load(urllib.request.urlopen(request, timeout=10))["token"])
PYTHON
}

cat >"$work/bench_report.py" <<'PYTHON'
"""Reading wrk's --latency output and printing a targets table (scripts/bench.sh)."""
import re


def wrk_result(path):
    """(requests per second, p99 in ms, non-2xx responses) of one wrk run."""
    text = open(path).read()
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", text).groups()
    p99_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return rate, p99_ms, int(errors.group(1)) if errors else 0


def print_targets(title, label, rows):
    """Prints rows of (measure, value, target, ok); returns 1 if any missed."""
    print()
    print(f"### {title}")
    print()
    print("| measure | value | target | result |")
    print("|:---|---:|---:|:---|")
    failed = 0
    for name, value, target, ok in rows:
        failed += not ok
        print(f"| {name} | {value} | {target} | {'PASS' if ok else 'FAIL'} |")
    print()
    print(f"{label} targets: {len(rows) - failed} PASS, {failed} FAIL")
    return 1 if failed else 0
PYTHON

# ---------------------------------------------------------------------------
# Gateway (issue 5): load on loopback, idle memory, install-to-healthy time
# ---------------------------------------------------------------------------
# Needs the gateway plugin in the prefix (the default --plugins all) and wrk
# (Debian package; installed when running as root). Targets: GET /api/auth/me
# >= 20,000 req/s with p99 < 5 ms; idle daemon RSS <= 20 MB (after a login, whose
# argon2id hash briefly takes ~19 MiB); headless `gateway install` to healthy < 2 s.
# The daemon runs under the built-in supervisor in the temp HOME and is
# uninstalled (--purge) at the end.
gateway_bench() {
    if [[ ! -f "$prefix/lib/mosaic/plugins/libmosaic_gateway.so" ]]; then
        echo "gateway plugin not installed (--plugins $plugins_arg): no gateway benchmark" >&2
        return 0
    fi
    if ! command -v wrk >/dev/null 2>&1; then
        if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >&2
        else
            echo "wrk not found (Debian: sudo apt-get install wrk): no gateway benchmark" >&2
            return 1
        fi
    fi
    heading "Gateway: headless install to healthy, idle RSS, wrk on loopback"
    local port email="bench@example.com" password="bench-password-1"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    local started finished
    started="$(date +%s.%N)"
    MOSAIC_ASSUME_YES=1 MOSAIC_SERVICE_MANAGER=supervisor MOSAIC_ADMIN_NAME=Bench \
        MOSAIC_ADMIN_EMAIL="$email" MOSAIC_ADMIN_PASSWORD="$password" \
        "$mosaic" gateway install --port "$port" >&2
    finished="$(date +%s.%N)"
    local status=0
    local pid token
    pid="$(cat "$XDG_CONFIG_HOME/mosaic/run/gateway/gateway.pid")"
    token="$(gateway_login "$port" "$email" "$password")" || status=1
    sleep 2
    local idle_rss_kb
    idle_rss_kb="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"
    # One wrk thread with 50 connections: the daemon keeps both cores' worth of
    # runtime threads, and wrk's one thread is enough to saturate it here.
    wrk -t1 -c50 -d10s --latency "http://127.0.0.1:$port/health" >"$results_dir/gateway-health.txt" || status=1
    wrk -t1 -c50 -d10s --latency -H "Authorization: Bearer $token" \
        "http://127.0.0.1:$port/api/auth/me" >"$results_dir/gateway-me.txt" || status=1
    "$mosaic" gateway uninstall --purge >&2 || status=1
    cat "$results_dir/gateway-health.txt" "$results_dir/gateway-me.txt" >&2
    PYTHONPATH="$work" python3 - "$results_dir" "$started" "$finished" "$idle_rss_kb" <<'PYTHON' || status=1
import sys
from bench_report import print_targets, wrk_result
results, started, finished, rss_kb = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])

def wrk(name):
    return wrk_result(f"{results}/gateway-{name}.txt")

health, me = wrk("health"), wrk("me")
install_s = finished - started
rows = [
    ("GET /api/auth/me req/s", f"{me[0]:,.0f}", ">= 20,000", me[0] >= 20000 and me[2] == 0),
    ("GET /api/auth/me p99", f"{me[1]:.2f} ms", "< 5 ms", me[1] < 5),
    ("GET /health req/s (p99)", f"{health[0]:,.0f} ({health[1]:.2f} ms)", "-", health[2] == 0),
    ("idle RSS after a login", f"{rss_kb / 1024:.1f} MB", "<= 20 MB", rss_kb <= 20 * 1024),
    ("headless install to healthy", f"{install_s:.2f} s", "< 2 s", install_s < 2),
]
sys.exit(print_targets("Gateway", "gateway", rows))
PYTHON
    return "$status"
}

# ---------------------------------------------------------------------------
# Gateway team tier (issue 6): two replicas against PostgreSQL + Valkey
# ---------------------------------------------------------------------------
# Starts a throwaway PostgreSQL 15 cluster (initdb/pg_ctl; as `nobody` when run as
# root, since PostgreSQL refuses root) and a redis-server (Valkey's protocol), both
# with passwords on free loopback ports in the temp dir. Installs two replicas
# (separate HOMEs, headless, tier team, built-in supervisor) on two ports, logs in
# once, then runs two wrk processes at the same time, one per replica:
# GET /api/auth/me with the session token. Targets: >= 15,000 req/s in total,
# p99 < 10 ms (the higher of the two replicas' p99). Everything is stopped and
# removed at the end.
team_bench() {
    if [[ ! -f "$prefix/lib/mosaic/plugins/libmosaic_gateway.so" ]]; then
        echo "gateway plugin not installed (--plugins $plugins_arg): no team-tier benchmark" >&2
        return 0
    fi
    local pg_bin=/usr/lib/postgresql/15/bin missing=()
    [[ -x "$pg_bin/initdb" ]] || missing+=(postgresql-15)
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    if [[ ${#missing[@]} -gt 0 ]]; then
        if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
        else
            echo "missing ${missing[*]} (Debian: sudo apt-get install ${missing[*]}): no team-tier benchmark" >&2
            return 1
        fi
    fi
    heading "Gateway team tier: two replicas, PostgreSQL + Valkey, wrk on loopback"
    local team="$work/team" status=0
    mkdir -p "$team"
    local as_server=()
    if [[ $EUID -eq 0 ]]; then
        # The servers run as nobody, who must be able to pass through the 0700 work
        # dir (search only: it still cannot list or read it).
        chmod o+x "$work"
        chown nobody "$team"
        as_server=(runuser -u nobody --)
    fi
    free_port() {
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    }
    local pg_port valkey_port port_a port_b
    pg_port="$(free_port)"; valkey_port="$(free_port)"; port_a="$(free_port)"; port_b="$(free_port)"
    local pg_password valkey_password
    pg_password="pg-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
    valkey_password="vk-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
    "${as_server[@]}" "$pg_bin/initdb" -D "$team/pg" --username=postgres --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --no-locale --no-sync >/dev/null
    mkdir -p "$team/pg-socket"
    [[ $EUID -ne 0 ]] || chown nobody "$team/pg-socket"
    "${as_server[@]}" "$pg_bin/pg_ctl" -D "$team/pg" -l "$team/pg.log" -w -t 60 \
        -o "-k $team/pg-socket -p $pg_port -c listen_addresses=127.0.0.1 -c max_connections=100" start >/dev/null
    "$pg_bin/psql" -h "$team/pg-socket" -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE mosaic LOGIN PASSWORD '$pg_password'" -c "CREATE DATABASE mosaic OWNER mosaic"
    redis-server --port "$valkey_port" --bind 127.0.0.1 --requirepass "$valkey_password" \
        --save '' --appendonly no --dir "$team" --daemonize no --logfile "$team/redis.log" &
    local redis_pid=$!
    # Stops both servers and both replicas, whatever happened.
    team_cleanup() {
        local replica
        for replica in a b; do
            replica_run "$replica" gateway uninstall --purge >/dev/null 2>&1 || true
        done
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
        "${as_server[@]}" "$pg_bin/pg_ctl" -D "$team/pg" -m immediate -w stop >/dev/null 2>&1 || true
    }
    # Runs mosaic as one replica: its own HOME and XDG dirs.
    replica_run() {
        local home="$team/replica-$1"
        shift
        mkdir -p "$home"
        HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
            XDG_CACHE_HOME="$home/.cache" "$mosaic" "$@"
    }
    local email="bench@example.com" password="bench-password-1" replica port
    for replica in a b; do
        port="$port_a"
        [[ $replica == b ]] && port="$port_b"
        MOSAIC_ASSUME_YES=1 MOSAIC_SERVICE_MANAGER=supervisor MOSAIC_STORAGE_TIER=team \
            MOSAIC_DATABASE_URL="postgres://mosaic:$pg_password@127.0.0.1:$pg_port/mosaic" \
            MOSAIC_VALKEY_URL="redis://:$valkey_password@127.0.0.1:$valkey_port" \
            MOSAIC_ADMIN_NAME=Bench MOSAIC_ADMIN_EMAIL="$email" MOSAIC_ADMIN_PASSWORD="$password" \
            replica_run "$replica" gateway install --port "$port" >&2 || status=1
    done
    local token=""
    if [[ $status -eq 0 ]]; then
        token="$(gateway_login "$port_a" "$email" "$password")" || status=1
    fi
    if [[ $status -eq 0 ]]; then
        # The session was issued by A; B has never seen it before the run.
        wrk -t1 -c25 -d10s --latency -H "Authorization: Bearer $token" \
            "http://127.0.0.1:$port_a/api/auth/me" >"$results_dir/team-me-a.txt" &
        local wrk_a=$!
        wrk -t1 -c25 -d10s --latency -H "Authorization: Bearer $token" \
            "http://127.0.0.1:$port_b/api/auth/me" >"$results_dir/team-me-b.txt" &
        local wrk_b=$!
        wait "$wrk_a" || status=1
        wait "$wrk_b" || status=1
    fi
    team_cleanup
    [[ $status -eq 0 ]] || return 1
    cat "$results_dir/team-me-a.txt" "$results_dir/team-me-b.txt" >&2
    PYTHONPATH="$work" python3 - "$results_dir" <<'PYTHON'
import sys
from bench_report import print_targets, wrk_result
results = sys.argv[1]

def wrk(name):
    return wrk_result(f"{results}/team-me-{name}.txt")

a, b = wrk("a"), wrk("b")
total = a[0] + b[0]
p99 = max(a[1], b[1])
rows = [
    ("GET /api/auth/me req/s, both replicas", f"{total:,.0f} ({a[0]:,.0f} + {b[0]:,.0f})", ">= 15,000", total >= 15000 and a[2] == 0 and b[2] == 0),
    ("GET /api/auth/me p99 (worse replica)", f"{p99:.2f} ms ({a[1]:.2f} / {b[1]:.2f})", "< 10 ms", p99 < 10),
]
sys.exit(print_targets("Gateway team tier (two replicas)", "team-tier", rows))
PYTHON
}

# ---------------------------------------------------------------------------
# Gateway proxy (issue 11): the Anthropic Messages API proxy against a stand-in
# ---------------------------------------------------------------------------
# A fast stand-in of the Messages API (scripts/bench-standin, one thread) and the
# gateway in front of it (headless install, built-in supervisor, a Mosaic key from
# `gateway keys create`). Each measure runs against the stand-in directly and
# through the gateway, one after the other, with the same client:
#   - open loop, 1,000 non-streamed requests a second for 10 s (after 2 s of
#     warm-up): added latency p50 <= 0.3 ms, p99 <= 1 ms;
#   - wrk (one thread, 50 connections, 10 s, a Lua script for the POST body and
#     headers): >= 20,000 proxied req/s;
#   - 500 streamed requests one after the other: time to the first body byte,
#     added p50 <= 1 ms;
#   - 2,000 streams open at once through the gateway (each ~10 s long, one
#     connection each): all complete, and the daemon's RSS grows <= 100 MB.
# Then the peer: LiteLLM's proxy (PyPI litellm[proxy] in a throwaway virtualenv in
# the temp dir, its /v1/messages routed to the same stand-in), measured the same
# way at 20 req/s (it cannot take 1,000) and with wrk at 10 connections; its added
# p50 and req/s are shown as ratios to the gateway's. If the install fails or takes
# over --litellm-timeout seconds (default 900), the table says so. Set
# MOSAIC_BENCH_SKIP_LITELLM=1 to leave it out.
ensure_wrk() {
    command -v wrk >/dev/null 2>&1 && return 0
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >&2
    else
        echo "wrk not found (Debian: sudo apt-get install wrk)" >&2
        return 1
    fi
}

# Writes a wrk Lua script that POSTs the body $2 with the header file $3's headers to $1.
wrk_post_script() {
    python3 - "$@" <<'PYTHON'
import json, sys
path, body, header_file = sys.argv[1:]
def lua(text):
    # A JSON string of ASCII text is a valid Lua string.
    assert text.isascii(), "the wrk script takes ASCII only"
    return json.dumps(text)
lines = ['wrk.method = "POST"', f"wrk.body = {lua(body)}",
         'wrk.headers["content-type"] = "application/json"']
for line in open(header_file):
    if line.strip():
        name, value = line.split(":", 1)
        lines.append(f"wrk.headers[{lua(name.strip())}] = {lua(value.strip())}")
with open(path, "w") as out:
    out.write("\n".join(lines) + "\n")
PYTHON
    chmod 600 "$1"
}

# Starts a program in its own process group with its stdout in $1; waits (up to
# $2 seconds) until that file has a `listening PORT` line and prints the port.
wait_for_listening() {
    local file="$1" seconds="$2" waited=0
    while ! grep -q '^listening ' "$file" 2>/dev/null; do
        sleep 0.1
        waited=$((waited + 1))
        [[ $waited -lt $((seconds * 10)) ]] || return 1
    done
    awk '/^listening / {print $2; exit}' "$file"
}

# Waits until GET $1 answers 200, up to $2 seconds.
wait_for_http() {
    python3 - "$1" "$2" <<'PYTHON'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        if urllib.request.urlopen(url, timeout=2).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.5)
sys.exit(1)
PYTHON
}

proxy_bench() {
    if [[ ! -f "$prefix/lib/mosaic/plugins/libmosaic_gateway.so" ]]; then
        echo "gateway plugin not installed (--plugins $plugins_arg): no proxy benchmark" >&2
        return 0
    fi
    ensure_wrk || return 1
    heading "Gateway proxy: the gateway in front of a Messages API stand-in, side by side"
    local dir="$work/proxy" status=0
    mkdir -p "$dir"
    chmod 700 "$dir"
    local real_key="sk-ant-bench-standin-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
    setsid "$standin" serve >"$dir/standin.out" 2>"$dir/standin.log" &
    local standin_pid=$!
    local standin_port
    standin_port="$(wait_for_listening "$dir/standin.out" 10)" || {
        echo "the stand-in did not start: $(cat "$dir/standin.log")" >&2
        kill "$standin_pid" 2>/dev/null
        return 1
    }
    local port email="bench@example.com" password="bench-password-1"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    MOSAIC_ASSUME_YES=1 MOSAIC_SERVICE_MANAGER=supervisor MOSAIC_ADMIN_NAME=Bench \
        MOSAIC_ADMIN_EMAIL="$email" MOSAIC_ADMIN_PASSWORD="$password" \
        MOSAIC_ANTHROPIC_API_KEY="$real_key" \
        MOSAIC_ANTHROPIC_BASE_URL="http://127.0.0.1:$standin_port" \
        "$mosaic" gateway install --port "$port" >&2 || status=1
    local pid=0
    [[ $status -ne 0 ]] || pid="$(cat "$XDG_CONFIG_HOME/mosaic/run/gateway/gateway.pid")"
    # The headers live in files (0600), never on a command line.
    printf 'x-api-key: %s\nanthropic-version: 2023-06-01\n' "$real_key" >"$dir/direct.headers"
    if [[ $status -eq 0 ]]; then
        "$mosaic" gateway keys create bench-proxy --json >"$dir/key.json" || status=1
        python3 -c 'import json, sys; print("x-api-key: " + json.load(open(sys.argv[1]))["key"]); print("anthropic-version: 2023-06-01")' \
            "$dir/key.json" >"$dir/gateway.headers" || status=1
        rm -f "$dir/key.json"
    fi
    chmod 600 "$dir"/*.headers
    local direct="http://127.0.0.1:$standin_port/v1/messages" gateway="http://127.0.0.1:$port/v1/messages"
    local prompt='"max_tokens":256,"messages":[{"role":"user","content":"Hello, world"}]'
    local body="{\"model\":\"claude-sonnet-4-5\",$prompt}"
    local stream_body="{\"model\":\"claude-sonnet-4-5\",\"stream\":true,$prompt}"
    # 40 deltas 250 ms apart: each held stream lasts ~11 s.
    local held_body="{\"model\":\"claude-sonnet-4-5\",\"stream\":true,\"standin_events\":40,\"standin_gap_ms\":250,$prompt}"
    if [[ $status -eq 0 ]]; then
        local side
        for side in direct gateway; do
            local url="$direct"
            [[ $side == gateway ]] && url="$gateway"
            heading "Proxy: open loop, 1,000 req/s for 10 s ($side)"
            "$standin" rate --url "$url" --header-file "$dir/$side.headers" --body "$body" \
                --rate 1000 --seconds 10 --warmup 2 >"$results_dir/proxy-rate-$side.json" || status=1
            cat "$results_dir/proxy-rate-$side.json" >&2
        done
        for side in direct gateway; do
            local url="$direct"
            [[ $side == gateway ]] && url="$gateway"
            heading "Proxy: wrk, 50 connections, 10 s ($side)"
            wrk_post_script "$dir/$side.lua" "$body" "$dir/$side.headers"
            wrk -t1 -c50 -d10s --latency -s "$dir/$side.lua" "$url" >"$results_dir/proxy-wrk-$side.txt" || status=1
            cat "$results_dir/proxy-wrk-$side.txt" >&2
        done
        for side in direct gateway; do
            local url="$direct"
            [[ $side == gateway ]] && url="$gateway"
            heading "Proxy: time to first streamed byte, 500 streams ($side)"
            "$standin" ttfb --url "$url" --header-file "$dir/$side.headers" --body "$stream_body" \
                --count 500 --warmup 50 >"$results_dir/proxy-ttfb-$side.json" || status=1
            cat "$results_dir/proxy-ttfb-$side.json" >&2
        done
        heading "Proxy: 2,000 concurrent open streams through the gateway (daemon pid $pid)"
        "$standin" streams --url "$gateway" --header-file "$dir/gateway.headers" --body "$held_body" \
            --count 2000 --pid "$pid" --timeout 180 >"$results_dir/proxy-streams.json" || status=1
        cat "$results_dir/proxy-streams.json" >&2
        # Usage is stored off the hot path (a writer flushing every ~200 ms): a
        # kill -9 may lose what was not stored yet, which must stay under a second of
        # traffic. The daemon is killed 2 s into a 4 s run at 1,000 req/s; the
        # supervisor starts it again, and the requests answered are compared with the
        # usage stored.
        heading "Proxy: usage kept across a kill -9 of the daemon (1,000 req/s)"
        # A key of its own, so the usage of this run alone is counted.
        "$mosaic" gateway keys create bench-kill --json >"$dir/kill-key.json" || status=1
        python3 -c 'import json, sys; print("x-api-key: " + json.load(open(sys.argv[1]))["key"]); print("anthropic-version: 2023-06-01")' \
            "$dir/kill-key.json" >"$dir/kill.headers" || status=1
        rm -f "$dir/kill-key.json"
        chmod 600 "$dir/kill.headers"
        "$standin" rate --url "$gateway" --header-file "$dir/kill.headers" --body "$body" \
            --rate 1000 --seconds 4 --warmup 0 >"$results_dir/proxy-kill-rate.json" &
        local load_pid=$!
        sleep 2
        kill -9 "$(cat "$XDG_CONFIG_HOME/mosaic/run/gateway/gateway.pid")" || status=1
        # Requests in flight when the daemon dies, and those sent while it restarts,
        # fail: they were never answered, so they are not counted as lost.
        wait "$load_pid" || true
        sleep 1
        "$mosaic" gateway usage --by key --json | python3 -c '
import json, sys
rate_file, out_file = sys.argv[1], sys.argv[2]
rate = json.load(open(rate_file))
rows = [row for row in json.load(sys.stdin)["rows"] if row["group"] == "bench-kill"]
recorded = rows[0]["requests"] if rows else 0
answered = rate["requests"] - rate["errors"]
json.dump({"answered": answered, "recorded": recorded, "failed": rate["errors"]}, open(out_file, "w"))
' "$results_dir/proxy-kill-rate.json" "$results_dir/proxy-kill.json" || status=1
        cat "$results_dir/proxy-kill.json" >&2
    fi
    "$mosaic" gateway uninstall --purge >&2 || status=1
    litellm_bench "$dir" "$standin_port" "$real_key" "$body" || status=1
    kill -- "-$standin_pid" 2>/dev/null
    wait "$standin_pid" 2>/dev/null
    [[ $status -eq 0 ]] || return 1
    PYTHONPATH="$work" python3 - "$results_dir" <<'PYTHON'
import json, os, sys
from bench_report import print_targets, wrk_result
results = sys.argv[1]

def load(name):
    path = f"{results}/{name}"
    return json.load(open(path)) if os.path.exists(path) else None

rate_direct, rate_gateway = load("proxy-rate-direct.json"), load("proxy-rate-gateway.json")
ttfb_direct, ttfb_gateway = load("proxy-ttfb-direct.json"), load("proxy-ttfb-gateway.json")
streams = load("proxy-streams.json")
killed = load("proxy-kill.json")
wrk_direct = wrk_result(f"{results}/proxy-wrk-direct.txt")
wrk_gateway = wrk_result(f"{results}/proxy-wrk-gateway.txt")

added_p50 = rate_gateway["p50_ms"] - rate_direct["p50_ms"]
added_p99 = rate_gateway["p99_ms"] - rate_direct["p99_ms"]
added_ttfb = ttfb_gateway["p50_ms"] - ttfb_direct["p50_ms"]
extra_rss_mb = (streams["rss_peak_kib"] - streams["rss_before_kib"]) / 1024
print()
print("### Gateway proxy, side by side (ms)")
print()
print("| measure | stand-in directly | through the gateway | added |")
print("|:---|---:|---:|---:|")
for name, a, b in [
    ("1,000 req/s open loop, p50", rate_direct["p50_ms"], rate_gateway["p50_ms"]),
    ("1,000 req/s open loop, p90", rate_direct["p90_ms"], rate_gateway["p90_ms"]),
    ("1,000 req/s open loop, p99", rate_direct["p99_ms"], rate_gateway["p99_ms"]),
    ("time to first streamed byte, p50", ttfb_direct["p50_ms"], ttfb_gateway["p50_ms"]),
    ("time to first streamed byte, p99", ttfb_direct["p99_ms"], ttfb_gateway["p99_ms"]),
    ("wrk 50 connections, p99", wrk_direct[1], wrk_gateway[1]),
]:
    print(f"| {name} | {a:.3f} | {b:.3f} | {b - a:+.3f} |")
print(f"| wrk 50 connections, req/s | {wrk_direct[0]:,.0f} | {wrk_gateway[0]:,.0f} | |")

rows = [
    ("added latency p50 (1,000 req/s)", f"{added_p50:.3f} ms", "<= 0.3 ms",
     added_p50 <= 0.3 and rate_gateway["errors"] == 0 and rate_direct["errors"] == 0),
    ("added latency p99 (1,000 req/s)", f"{added_p99:.3f} ms", "<= 1 ms", added_p99 <= 1.0),
    ("proxied req/s (wrk, 50 connections)", f"{wrk_gateway[0]:,.0f}", ">= 20,000",
     wrk_gateway[0] >= 20000 and wrk_gateway[2] == 0),
    ("added time to first streamed byte, p50", f"{added_ttfb:.3f} ms", "<= 1 ms", added_ttfb <= 1.0),
    ("concurrent open streams (all completed)",
     f"{streams['peak_open']:,} open at once, {streams['completed']:,} of {streams['streams']:,} completed",
     "2,000", streams["peak_open"] >= 2000 and streams["completed"] == streams["streams"]),
    ("extra daemon RSS with 2,000 streams",
     f"{extra_rss_mb:.1f} MB ({streams['rss_before_kib'] / 1024:.1f} -> {streams['rss_peak_kib'] / 1024:.1f})",
     "<= 100 MB", extra_rss_mb <= 100),
]
if killed:
    lost = killed["answered"] - killed["recorded"]
    rows.append(("usage lost to a kill -9 at 1,000 req/s",
                 f"{lost:,} of {killed['answered']:,} answered requests ({lost} ms of traffic)",
                 "<= 1 s of traffic (1,000)", 0 <= lost <= 1000))
status = print_targets("Gateway proxy targets", "proxy", rows)

print()
print("### LiteLLM proxy, same stand-in, same run")
print()
litellm_note = f"{results}/proxy-litellm-note.txt"
litellm_rate, litellm_direct = load("proxy-rate-litellm.json"), load("proxy-rate-direct-20.json")
if os.path.exists(litellm_note):
    print("LiteLLM not measured: " + open(litellm_note).read().strip())
elif litellm_rate and litellm_direct and os.path.exists(f"{results}/proxy-wrk-litellm.txt"):
    wrk_litellm = wrk_result(f"{results}/proxy-wrk-litellm.txt")
    litellm_added = litellm_rate["p50_ms"] - litellm_direct["p50_ms"]
    version = open(f"{results}/proxy-litellm-version.txt").read().strip()
    print(f"LiteLLM {version}, one worker; open loop at 20 req/s (p50 {litellm_rate['p50_ms']:.2f} ms, "
          f"p99 {litellm_rate['p99_ms']:.2f} ms, {litellm_rate['errors']} errors; stand-in directly at "
          f"20 req/s: p50 {litellm_direct['p50_ms']:.3f} ms).")
    print()
    print("| measure | Mosaic gateway | LiteLLM | ratio |")
    print("|:---|---:|---:|---:|")
    print(f"| added latency p50 | {added_p50:.3f} ms (at 1,000 req/s) | {litellm_added:.2f} ms (at 20 req/s) | "
          f"LiteLLM adds {litellm_added / max(added_p50, 0.001):,.0f}x more |")
    print(f"| req/s (wrk) | {wrk_gateway[0]:,.0f} (50 connections) | {wrk_litellm[0]:,.1f} (10 connections, "
          f"{wrk_litellm[2]} non-2xx) | gateway serves {wrk_gateway[0] / max(wrk_litellm[0], 0.001):,.0f}x more |")
else:
    print("LiteLLM not measured: its runs left no results (see the log above).")
sys.exit(status)
PYTHON
}

# LiteLLM's proxy in a throwaway virtualenv, its /v1/messages routed to the stand-in
# on port $2 (with the key $3); measured at 20 req/s (body $4) and with wrk. A
# failed or slow install leaves a note for the report instead of numbers.
litellm_bench() {
    local dir="$1" standin_port="$2" real_key="$3" body="$4"
    local note="$results_dir/proxy-litellm-note.txt"
    rm -f "$note"
    if [[ "${MOSAIC_BENCH_SKIP_LITELLM:-}" == 1 ]]; then
        echo "skipped (MOSAIC_BENCH_SKIP_LITELLM=1)" >"$note"
        return 0
    fi
    heading "LiteLLM: pip install 'litellm[proxy]' into a throwaway virtualenv"
    local venv="$dir/litellm-venv" started=$SECONDS
    if ! timeout "$litellm_timeout" python3 -m venv "$venv" >"$dir/litellm-install.log" 2>&1 ||
        ! timeout "$litellm_timeout" "$venv/bin/pip" install --disable-pip-version-check -q \
            'litellm[proxy]' >>"$dir/litellm-install.log" 2>&1; then
        tail -5 "$dir/litellm-install.log" >&2
        echo "the PyPI install of litellm[proxy] failed or took over ${litellm_timeout} s ($((SECONDS - started)) s): $(tail -1 "$dir/litellm-install.log")" >"$note"
        return 0
    fi
    "$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' \
        >"$results_dir/proxy-litellm-version.txt"
    echo "installed LiteLLM $(cat "$results_dir/proxy-litellm-version.txt") in $((SECONDS - started)) s" >&2
    local master_key="sk-litellm-bench-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
    cat >"$dir/litellm.yaml" <<YAML
model_list:
  - model_name: claude-sonnet-4-5
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_base: http://127.0.0.1:$standin_port
      api_key: os.environ/BENCH_STANDIN_KEY
general_settings:
  master_key: os.environ/BENCH_LITELLM_MASTER_KEY
YAML
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    # Local price map (no download at start-up); no telemetry.
    BENCH_STANDIN_KEY="$real_key" BENCH_LITELLM_MASTER_KEY="$master_key" \
        LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_TELEMETRY=False \
        setsid "$venv/bin/litellm" --config "$dir/litellm.yaml" --host 127.0.0.1 --port "$port" \
        --num_workers 1 >"$dir/litellm.log" 2>&1 &
    local litellm_pid=$!
    local status=0
    if ! wait_for_http "http://127.0.0.1:$port/health/liveliness" 180; then
        tail -20 "$dir/litellm.log" >&2
        echo "LiteLLM $(cat "$results_dir/proxy-litellm-version.txt") did not start within 180 s" >"$note"
    else
        printf 'authorization: Bearer %s\nanthropic-version: 2023-06-01\n' "$master_key" >"$dir/litellm.headers"
        chmod 600 "$dir/litellm.headers"
        local url="http://127.0.0.1:$port/v1/messages"
        heading "LiteLLM: open loop, 20 req/s for 10 s (LiteLLM, then the stand-in directly)"
        "$standin" rate --url "$url" --header-file "$dir/litellm.headers" --body "$body" \
            --rate 20 --seconds 10 --warmup 2 >"$results_dir/proxy-rate-litellm.json" || status=1
        cat "$results_dir/proxy-rate-litellm.json" >&2
        "$standin" rate --url "http://127.0.0.1:$standin_port/v1/messages" --header-file "$dir/direct.headers" \
            --body "$body" --rate 20 --seconds 10 --warmup 2 >"$results_dir/proxy-rate-direct-20.json" || status=1
        heading "LiteLLM: wrk, 10 connections, 10 s"
        wrk_post_script "$dir/litellm.lua" "$body" "$dir/litellm.headers"
        wrk -t1 -c10 -d10s --latency -s "$dir/litellm.lua" "$url" >"$results_dir/proxy-wrk-litellm.txt" || status=1
        cat "$results_dir/proxy-wrk-litellm.txt" >&2
    fi
    kill -- "-$litellm_pid" 2>/dev/null
    wait "$litellm_pid" 2>/dev/null
    return "$status"
}

# ---------------------------------------------------------------------------
# Dashboard (issue 13): the agents page with 1,000 agents, in headless Chromium
# ---------------------------------------------------------------------------
# Writes 1,000 fleet agents' record, heartbeat and state files into the fleet run
# directory of the temp HOME (as plugins/fleet/bench.sh does for `fleet ps`; a third
# each working, waiting and idle), installs a gateway (headless, built-in
# supervisor) with an admin, and runs scripts/bench-dashboard.py: chromedriver and
# headless Chromium sign in through the login page and load /agents again and again
# with the browser cache disabled (each load as a first visit). Targets: page weight
# (document + CSS + JS + /api/auth/me + /api/agents, bytes on the wire, from the
# Performance API) <= 100 KB; render (navigation start -> the table's first screen
# built and laid out, window.mosaicRender) <= 100 ms at the median and p95; the
# time until every row is in the table is reported too. Needs chromium and
# chromium-driver (Debian; installed when running as root).
dashboard_bench() {
    local plugin
    for plugin in gateway fleet; do
        if [[ ! -f "$prefix/lib/mosaic/plugins/libmosaic_$plugin.so" ]]; then
            echo "$plugin plugin not installed (--plugins $plugins_arg): no dashboard benchmark" >&2
            return 0
        fi
    done
    local missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
    if [[ ${#missing[@]} -gt 0 ]]; then
        if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
        else
            echo "missing ${missing[*]} (Debian: sudo apt-get install ${missing[*]}): no dashboard benchmark" >&2
            return 1
        fi
    fi
    heading "Dashboard: /agents with 1,000 agents in headless Chromium"
    local agents=1000 status=0
    local run_dir="$XDG_CONFIG_HOME/mosaic/fleet/run"
    mkdir -p "$run_dir"
    python3 - "$run_dir" "$agents" <<'PYTHON'
import json, os, sys, time
run_dir, count, now = sys.argv[1], int(sys.argv[2]), int(time.time())
def write(path, record):
    with open(os.path.join(run_dir, path), "w") as out:
        json.dump(record, out)
for index in range(count):
    agent = f"agent-{index:04d}"
    pids = {"pane_pid": 4000000 + index, "sidecar_pid": 5000000 + index}
    # A long interval keeps them alive for the whole run; every 50th is dead.
    interval, beat_at = (15, now - 3600) if index % 50 == 49 else (3600, now)
    write(f"{agent}.meta.json", {"agent": agent, "runtime": "claude", "command": ["claude"], "cwd": "/",
                                 "session": f"mosaic-{agent}", **pids, "started_at": now - 600 - index,
                                 "interval": interval})
    write(f"{agent}.hb", {"agent": agent, **pids, "interval": interval, "beat_at": beat_at})
    state = ["working", "waiting", "idle"][index % 3]
    activity = {"agent": agent, "last_event_at": now - index % 300, "state": state,
                "state_since": now - index % 300}
    if state == "working":
        activity.update(last_event="PreToolUse", last_tool="Bash", last_tool_at=now - index % 300)
    elif state == "waiting":
        activity.update(last_event="Notification",
                        waiting_message=f"Claude needs your permission to use Bash (agent {index})")
    else:
        activity.update(last_event="Stop", idle_since=now - index % 300)
    write(f"{agent}.activity.json", activity)
print(f"{count} agents written to {run_dir}", file=sys.stderr)
PYTHON
    local port email="bench@example.com" password="bench-password-1"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    MOSAIC_ASSUME_YES=1 MOSAIC_SERVICE_MANAGER=supervisor MOSAIC_ADMIN_NAME=Bench \
        MOSAIC_ADMIN_EMAIL="$email" MOSAIC_ADMIN_PASSWORD="$password" \
        "$mosaic" gateway install --port "$port" >&2 || status=1
    if [[ $status -eq 0 ]]; then
        echo "mosaic fleet ps lists $("$mosaic" --json fleet ps --all --no-usage | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["agents"]))') agents" >&2 || true
        local load_before
        load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
        BENCH_DASHBOARD_PASSWORD="$password" python3 "$repo_root/scripts/bench-dashboard.py" \
            --port "$port" --email "$email" --agents "$agents" --runs 20 --warmup 2 \
            --screenshot "$results_dir/dashboard-agents.png" >"$results_dir/dashboard.json" || status=1
        # Other work on the machine (e.g. a build) skews browser timings: say so.
        echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg);" \
            "compilers running at the end: $(ps -eo comm= | grep -cE '^(rustc|cc1|cc1plus|ld|cargo)$' || true)" \
            >"$results_dir/dashboard-load.txt"
    fi
    "$mosaic" gateway uninstall --purge >&2 || status=1
    rm -rf "$run_dir"
    [[ $status -eq 0 ]] || return 1
    PYTHONPATH="$work" python3 - "$results_dir/dashboard.json" "$results_dir/dashboard-load.txt" <<'PYTHON'
import json, sys
from bench_report import print_targets
result = json.load(open(sys.argv[1]))
render, weight = result["render_ms"], result["weight_bytes"]
print()
print(f"### Dashboard: /agents with {result['rows'][0]:,} agents, {result['runs']} loads, cache disabled")
print()
print(f"{result['browser']}")
print(open(sys.argv[2]).read().strip())
print()
complete = result["complete_ms"]
print(f"Median of the loads, after navigation start: script started {result['script_started_ms']['median']:.1f} ms, "
      f"agents' JSON parsed {result['fetched_ms']['median']:.1f} ms, first screen of the table laid out "
      f"{render['median']:.1f} ms, every row in the table {complete['median']:.1f} ms (p95 {complete['p95']:.1f}).")
print()
print("| resource (last load) | on the wire | body (compressed) | body (decoded) |")
print("|:---|---:|---:|---:|")
last = result["last_run"]
document = last["document"]
print(f"| document (/agents) | {document['transfer']:,} | {document['body']:,} | {document['decoded']:,} |")
for resource in last["resources"]:
    print(f"| {resource['name']} | {resource['transfer']:,} | {resource['body']:,} | {resource['decoded']:,} |")
rows = [
    ("page weight (largest load)", f"{weight['max'] / 1024:.1f} KB", "<= 100 KB", weight["max"] <= 100 * 1024),
    ("render (first screen of the table), median", f"{render['median']:.1f} ms", "<= 100 ms", render["median"] <= 100),
    ("render (first screen of the table), p95", f"{render['p95']:.1f} ms (max {render['max']:.1f})", "<= 100 ms",
     render["p95"] <= 100),
]
sys.exit(print_targets("Dashboard targets", "dashboard", rows))
PYTHON
}

# ---------------------------------------------------------------------------
# Plugin distribution (issue 14): search a 1,000-plugin index, install 10 MB
# ---------------------------------------------------------------------------
# Publishes the example plugin (release build) padded to 10 MB — bytes appended
# to an ELF library leave it loadable — with `mosaic plugins keygen` and `mosaic
# plugins index add` (which vets and signs it), adds 999 generated plugins to the
# same index (never installed, so their signatures are placeholders), serves the
# directory with `python3 -m http.server` on loopback, and times with hyperfine
# `mosaic plugins search` (fetch + parse + match over 1,000 plugins) and `mosaic
# plugins install hello` (download, size, sha256, signature, vetting, atomic
# install; the installed file is removed before each run). Targets (median):
# search <= 50 ms, install <= 500 ms.
plugins_bench() {
    heading "Plugin distribution: a 1,000-plugin index on loopback, a 10 MB plugin"
    local dist="$work/dist" status=0
    mkdir -p "$dist"
    cp "$hello_library" "$dist/libmosaic_hello.so"
    python3 -c 'import os, sys; path = sys.argv[1]; size = os.path.getsize(path); open(path, "ab").write(b"\0" * (10 * 1024 * 1024 - size))' \
        "$dist/libmosaic_hello.so"
    "$mosaic" plugins remove hello >/dev/null 2>&1 || true
    "$mosaic" plugins keygen --output "$work" --name bench-publisher >&2
    "$mosaic" plugins index add "$dist/index.json" "$dist/libmosaic_hello.so" \
        --url libmosaic_hello.so --key "$work/bench-publisher.key" >&2
    python3 - "$dist/index.json" <<'PYTHON'
import json, sys
path = sys.argv[1]
index = json.load(open(path))
template = index["plugins"][0]["releases"][0]
for number in range(1, 1000):
    release = dict(template, url=f"libmosaic_generated_{number:04d}.so", commands=[f"generated-{number:04d}"])
    index["plugins"].append({"name": f"generated-{number:04d}",
                             "description": f"Generated plugin number {number} for the search benchmark",
                             "releases": [release]})
json.dump(index, open(path, "w"), indent=1)
print(f"{len(index['plugins'])} plugins in {path}", file=sys.stderr)
PYTHON
    local port server_pid
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    python3 -m http.server --bind 127.0.0.1 --directory "$dist" "$port" >/dev/null 2>&1 &
    server_pid=$!
    wait_for_http "http://127.0.0.1:$port/index.json" 30 || status=1
    if [[ $status -eq 0 ]]; then
        "$mosaic" plugins index-source add "http://127.0.0.1:$port/index.json" >&2 || status=1
        "$mosaic" plugins trust add "$work/bench-publisher.pub" --name bench >&2 || status=1
        "$mosaic" plugins install hello >&2 || status=1
        [[ "$("$mosaic" hello)" == "Hello, world!" ]] || status=1
    fi
    if [[ $status -eq 0 ]]; then
        local quoted_mosaic quoted_installed
        quoted_mosaic="$(printf '%q' "$mosaic")"
        quoted_installed="$(printf '%q' "$user_plugin_dir/libmosaic_hello.so")"
        hyperfine -N --style basic --warmup "$warmup" --min-runs "$min_runs" \
            --export-markdown "$results_dir/plugins.md" --export-json "$results_dir/plugins.json" \
            --command-name "mosaic plugins search (1,000 plugins)" --prepare "true" \
            "$quoted_mosaic plugins search generated" \
            --command-name "mosaic plugins install hello (10 MB)" --prepare "rm -f $quoted_installed" \
            "$quoted_mosaic plugins install hello" >&2 || status=1
    fi
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    [[ $status -eq 0 ]] || return 1
    PYTHONPATH="$work" python3 - "$results_dir/plugins.json" <<'PYTHON'
import json, sys
from bench_report import print_targets
results = {result["command"]: result for result in json.load(open(sys.argv[1]))["results"]}
search = results["mosaic plugins search (1,000 plugins)"]
install = results["mosaic plugins install hello (10 MB)"]
rows = [
    ("plugins search, 1,000 plugins (median)", f"{search['median'] * 1000:.1f} ms", "<= 50 ms", search["median"] <= 0.050),
    ("plugins install, 10 MB from loopback (median)", f"{install['median'] * 1000:.1f} ms", "<= 500 ms", install["median"] <= 0.500),
]
sys.exit(print_targets("Plugin distribution targets", "plugins", rows))
PYTHON
}

set +e
gateway_status=0
team_status=0
proxy_status=0
dashboard_status=0
plugins_status=0
if wants gateway; then
    gateway_bench
    gateway_status=$?
fi
if wants team; then
    team_bench
    team_status=$?
fi
if wants proxy; then
    proxy_bench
    proxy_status=$?
fi
if wants dashboard; then
    dashboard_bench
    dashboard_status=$?
fi
if wants plugins; then
    plugins_bench
    plugins_status=$?
fi
set -e
[[ $gateway_status -eq 0 && $team_status -eq 0 && $proxy_status -eq 0 && $dashboard_status -eq 0 &&
    $plugins_status -eq 0 ]] || report_status=1
if [[ $report_status -ne 0 && $strict -eq 1 ]]; then
    exit 1
fi
exit 0

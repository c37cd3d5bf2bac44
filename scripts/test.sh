#!/usr/bin/env bash
# The one test command of Mosaic (README, .ci/run):
#
#   scripts/test.sh
#
# 1. When run as root, installs the system packages the tests use and that are
#    missing (tmux, redis-server, PostgreSQL, a C toolchain, ...) with apt-get, and the
#    Claude Code CLI (`claude`, npm package @anthropic-ai/claude-code) with npm.
#    Not root: missing packages are only reported.
# 2. Checks formatting (cargo fmt) and lints (cargo clippy -D warnings), and that the
#    plugin API packages and builds on its own (cargo package).
# 3. Installs mosaic and every plugin (debug build) into TARGET/test-prefix with
#    scripts/install.sh and exports MOSAIC_TEST_PREFIX, so the end-to-end tests run
#    the installed binary with its real plugin libraries.
# 4. Runs the plugin-api unit tests with its `testing` feature, the out-of-tree
#    example plugin's own tests, and finally the workspace suite with cargo-nextest
#    (or cargo test when nextest is not installed), so the runner's summary line is
#    the last thing printed.
#
# Exits non-zero on the first failing step. Works without stdin and with CI=true.
# MOSAIC_TEST_SUITE_TIMEOUT (seconds, default 2400) bounds the workspace suite
# (build and run), so a hung test cannot hold CI until CI's own limit.
# Step headings go to stderr. Besides the packages of step 1, the script writes
# only under the target directory (the tests themselves use temp dirs).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
target="${CARGO_TARGET_DIR:-$repo_root/target}"

# No test may wait for input: CI has no stdin, and a developer's terminal must not
# be read by a test by accident.
exec </dev/null

started_at=$SECONDS
step_started_at=$SECONDS
step_name=""
final_step=0
created_policy=""
suite_timeout="${MOSAIC_TEST_SUITE_TIMEOUT:-2400}"

# Prints a step heading (and how long the previous step took) on stderr.
step() {
    finish_step
    step_name="$*"
    step_started_at=$SECONDS
    printf '\n==> %s\n' "$step_name" >&2
}

finish_step() {
    if [[ -n "$step_name" ]]; then
        printf '    (%s: %ss)\n' "$step_name" "$((SECONDS - step_started_at))" >&2
    fi
}

warn() {
    echo "test.sh: warning: $*" >&2
}

die() {
    echo "test.sh: error: $*" >&2
    exit 1
}

on_exit() {
    local status=$?
    if [[ -n "$created_policy" ]]; then
        rm -f "$created_policy"
    fi
    # After the last step the runner's own summary must stay the last line, unless
    # the runner never printed one because it was stopped.
    if [[ $status -ne 0 && $final_step -eq 0 ]]; then
        echo "test.sh: FAILED in step '${step_name:-setup}' (exit $status) after $((SECONDS - started_at))s" >&2
    elif [[ $status -eq 124 || $status -eq 137 ]]; then
        echo "test.sh: FAILED: the workspace suite did not finish within ${suite_timeout}s" >&2
    fi
}
trap on_exit EXIT

# ---------------------------------------------------------------------------
# 1. System packages
# ---------------------------------------------------------------------------

# Debian packages the build and the tests need. The comment says who needs it.
system_packages=(
    build-essential   # cc and linker for crates that build C (and rustc's linking)
    pkg-config        # -sys crates that look for system libraries
    ca-certificates   # HTTPS to the package registries
    tmux              # fleet plugin: agents run in detached tmux sessions
    redis-server      # gateway team tier: throwaway Redis/Valkey servers in tests
    procps            # ps, kill, pgrep: not in minimal Debian images
    chromium          # gateway: a real browser checks CORS and drives the dashboard
    chromium-driver   # gateway: chromedriver, the WebDriver server the dashboard tests use
)
# PostgreSQL 15 (gateway team tier): tests run initdb/pg_ctl from this directory.
if [[ ! -x /usr/lib/postgresql/15/bin/initdb ]]; then
    system_packages+=(postgresql-15)
fi

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

install_system_packages() {
    command -v dpkg-query >/dev/null 2>&1 || {
        warn "not a Debian system: install ${system_packages[*]} yourself"
        return 0
    }
    local missing=() package
    for package in "${system_packages[@]}"; do
        package_installed "$package" || missing+=("$package")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "all system packages present" >&2
        return 0
    fi
    if [[ $EUID -ne 0 ]]; then
        warn "missing system packages (run as root, or: sudo apt-get install ${missing[*]}): ${missing[*]}"
        warn "tests that need them will fail"
        return 0
    fi
    echo "installing: ${missing[*]}" >&2
    # Packages must not start their services (redis, postgresql) while installing:
    # tests start throwaway servers of their own on free ports. policy-rc.d exit
    # 101 tells invoke-rc.d "not allowed"; keep an existing one untouched.
    local policy=/usr/sbin/policy-rc.d
    if [[ ! -e "$policy" ]]; then
        created_policy="$policy"
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
    fi
    local status=0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || status=$?
    if [[ $status -eq 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${missing[@]}" >&2 || status=$?
    fi
    if [[ -n "$created_policy" ]]; then
        rm -f "$created_policy"
        created_policy=""
    fi
    [[ $status -eq 0 ]] || die "apt-get failed (exit $status) installing: ${missing[*]}"
}

# The real Claude Code CLI, used by end-to-end tests of the hooks and fleet
# plugins. A registry refusal is not fatal: those tests then say what is missing.
install_claude_code() {
    if command -v claude >/dev/null 2>&1; then
        echo "claude present: $(command -v claude)" >&2
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        warn "npm not found: cannot install @anthropic-ai/claude-code (binary claude)"
        return 0
    fi
    local npm_prefix
    npm_prefix="$(npm prefix -g 2>/dev/null || true)"
    if [[ $EUID -ne 0 && ! -w "${npm_prefix:-/usr}" ]]; then
        warn "claude not found and $npm_prefix is not writable; install it with: sudo npm install -g @anthropic-ai/claude-code"
        return 0
    fi
    echo "installing @anthropic-ai/claude-code with npm (binary claude)" >&2
    if ! timeout 900 npm install -g --no-fund --no-audit --loglevel=error \
        @anthropic-ai/claude-code >&2; then
        warn "npm could not install @anthropic-ai/claude-code; tests that need claude will fail or skip"
        return 0
    fi
    if command -v claude >/dev/null 2>&1; then
        echo "installed $(command -v claude) ($(claude --version 2>/dev/null || echo 'version unknown'))" >&2
    else
        warn "npm installed @anthropic-ai/claude-code but claude is not on PATH (look in $npm_prefix/bin)"
    fi
}

step "System packages"
install_system_packages
install_claude_code

command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (https://rustup.rs)"
# rustfmt and clippy come with rustup's default profile; a minimal one lacks them.
for component in rustfmt clippy; do
    subcommand="${component/rustfmt/fmt}"
    if ! cargo "$subcommand" --version >/dev/null 2>&1; then
        command -v rustup >/dev/null 2>&1 || die "cargo $subcommand is missing and rustup is not installed"
        echo "installing the $component component with rustup" >&2
        rustup component add "$component" || die "cannot install the $component component (rustup component add $component)"
    fi
done

# The example plugin is built out of the workspace, like a third party's; it gets
# its own target dir (shared with the end-to-end tests' out-of-tree builds).
example_manifest="$repo_root/examples/hello-plugin/Cargo.toml"
out_of_tree_target="$target/out-of-tree"

# ---------------------------------------------------------------------------
# 2. Formatting and lints
# ---------------------------------------------------------------------------

step "Formatting (cargo fmt --check)"
cargo fmt --all -- --check
cargo fmt --manifest-path "$repo_root/scripts/bench-plugin/Cargo.toml" -- --check

step "Lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings
# The example plugin is a separate workspace (built out of tree, like a third
# party's): it is held to the same standard.
cargo fmt --manifest-path "$example_manifest" -- --check
CARGO_TARGET_DIR="$out_of_tree_target" cargo clippy --manifest-path "$example_manifest" --all-targets -- -D warnings

# Third parties depend on the plugin API outside this workspace: `cargo package`
# builds it from its own files alone, so a path, feature or file that only works
# inside the workspace fails here. CI runs in a clean clone; --allow-dirty only
# spares a developer's own uncommitted edits.
step "Package the plugin API (cargo package -p mosaic-plugin-api)"
cargo package -p mosaic-plugin-api --allow-dirty --quiet

# ---------------------------------------------------------------------------
# 3. Install what the end-to-end tests run
# ---------------------------------------------------------------------------

step "Install mosaic and all plugins (debug) into $target/test-prefix"
bash "$repo_root/scripts/install.sh" --debug --prefix "$target/test-prefix"
export MOSAIC_TEST_PREFIX="$target/test-prefix"

# ---------------------------------------------------------------------------
# 4. Tests: the small suites first, the workspace suite last
# ---------------------------------------------------------------------------

step "plugin-api unit tests with the testing feature"
cargo test -p mosaic-plugin-api --features testing

step "Out-of-tree example plugin tests (examples/hello-plugin)"
CARGO_TARGET_DIR="$out_of_tree_target" cargo test --manifest-path "$example_manifest"

# The workspace suite runs last and prints nothing after it, so the runner's
# summary line ends the output.
last_step() {
    step "$@"
    final_step=1
    echo "test.sh: every earlier step passed ($((SECONDS - started_at))s so far)" >&2
}

if cargo nextest --version >/dev/null 2>&1; then
    # nextest does not run doctests.
    step "Doctests (cargo test --workspace --doc)"
    cargo test --workspace --doc

    last_step "Workspace tests (cargo nextest run --workspace)"
    timeout --kill-after=60 "$suite_timeout" cargo nextest run --workspace --no-fail-fast
else
    last_step "Workspace tests (cargo test --workspace; cargo-nextest is not installed)"
    timeout --kill-after=60 "$suite_timeout" cargo test --workspace --no-fail-fast
fi

#!/usr/bin/env python3
"""Browser benchmark of the gateway dashboard's agents page (issue 13).

    scripts/bench-dashboard.py --port PORT --email EMAIL [--runs N] [--warmup N]
                               [--agents N] [--window W,H] [--screenshot FILE]

The password is read from the environment variable BENCH_DASHBOARD_PASSWORD (never
from the command line). Starts chromedriver (Debian's chromium-driver) on a free
loopback port and drives headless Chromium over the WebDriver HTTP API with the
standard library only: signs in through the login form, then loads /agents --runs
times (after --warmup loads that are not counted) with the browser cache disabled,
so every load fetches the page, its CSS and JS, and the agents as a first visit
does. Loads are 1.2 s apart, past the daemon's ~1 s cache of `fleet ps`. For each
load it reads from the page (performance.now() counts from navigation start):

  render    window.mosaicRender.renderedMs: the agents table's first screen
            (app.js builds the first 60 rows, then the rest after a paint) built
            and laid out;
  complete  window.mosaicRender.completeMs: every row built and laid out;
  weight    transferSize (compressed bytes on the wire, headers included) of the
            document and of every resource fetched until then (CSS, JS,
            /api/auth/me, /api/agents), from the Performance API.

Prints a JSON summary on stdout (medians and p95s, every run) and exits 1
when the table did not show --agents rows. Targets are judged by scripts/bench.sh.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# What the page reports once the agents table is on screen.
MEASURE_SCRIPT = """
const render = window.mosaicRender;
if (!render || render.completeMs === null) return null;
const navigation = performance.getEntriesByType("navigation")[0];
const resources = performance.getEntriesByType("resource")
  .filter((entry) => entry.responseEnd <= render.completeMs + 1)
  .map((entry) => ({name: new URL(entry.name).pathname, transfer: entry.transferSize,
                    body: entry.encodedBodySize, decoded: entry.decodedBodySize,
                    duration: entry.duration}));
return {
  render_ms: render.renderedMs - navigation.startTime,
  complete_ms: render.completeMs - navigation.startTime,
  script_started_ms: render.startedMs,
  fetched_ms: render.fetchedMs,
  rows: render.rows,
  dom_content_loaded_ms: navigation.domContentLoadedEventEnd,
  document: {transfer: navigation.transferSize, body: navigation.encodedBodySize,
             decoded: navigation.decodedBodySize},
  resources: resources,
};
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebDriver:
    """A minimal W3C WebDriver client over chromedriver's HTTP API."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def call(self, method, path, payload=None, timeout=60):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.load(response).get("value")
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:500]
            raise RuntimeError(f"WebDriver {method} {path}: {error.code} {detail}") from None

    def session_call(self, method, path, payload=None):
        return self.call(method, f"/session/{self.session}{path}", payload)

    def start(self, profile_dir, window):
        options = {
            "binary": shutil.which("chromium") or "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                f"--window-size={window}", f"--user-data-dir={profile_dir}",
            ],
        }
        value = self.call("POST", "/session", {
            "capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}},
        })
        self.session = value["sessionId"]

    def stop(self):
        if self.session:
            try:
                self.call("DELETE", f"/session/{self.session}", timeout=20)
            except (RuntimeError, OSError):
                pass
            self.session = None

    def cdp(self, command, params):
        return self.session_call("POST", "/goog/cdp/execute", {"cmd": command, "params": params})

    def navigate(self, url):
        self.session_call("POST", "/url", {"url": url})

    def script(self, source, *args):
        return self.session_call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def element(self, css):
        found = self.session_call("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(found.values()))

    def type_into(self, css, text):
        self.session_call("POST", f"/element/{self.element(css)}/value", {"text": text})

    def click(self, css):
        self.session_call("POST", f"/element/{self.element(css)}/click", {})

    def screenshot(self, path):
        import base64
        with open(path, "wb") as out:
            out.write(base64.b64decode(self.session_call("GET", "/screenshot")))

    def wait_for(self, source, what, deadline_s=30):
        """Polls `source` (a script returning a value) until it is truthy."""
        deadline = time.monotonic() + deadline_s
        while True:
            value = self.script(source)
            if value:
                return value
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {deadline_s} s waiting for {what}")
            time.sleep(0.02)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="the gateway's port on 127.0.0.1")
    parser.add_argument("--email", required=True, help="an account's email (password: BENCH_DASHBOARD_PASSWORD)")
    parser.add_argument("--runs", type=int, default=20, help="measured loads of /agents (at least 10)")
    parser.add_argument("--warmup", type=int, default=2, help="loads before measuring")
    parser.add_argument("--agents", type=int, default=1000, help="rows the table must show")
    parser.add_argument("--window", default="1400,900", help="window size, WIDTH,HEIGHT")
    parser.add_argument("--screenshot", help="save a PNG of the last load here")
    arguments = parser.parse_args()
    password = os.environ.get("BENCH_DASHBOARD_PASSWORD")
    if not password:
        sys.exit("bench-dashboard.py: set BENCH_DASHBOARD_PASSWORD to the account's password")
    if arguments.runs < 10:
        sys.exit("bench-dashboard.py: --runs must be at least 10")
    chromedriver = shutil.which("chromedriver")
    if not chromedriver:
        sys.exit("bench-dashboard.py: chromedriver not found (Debian: sudo apt-get install chromium-driver)")

    gateway = f"http://127.0.0.1:{arguments.port}"
    scratch = tempfile.mkdtemp(prefix="mosaic-bench-dashboard.")
    driver_port = free_port()
    driver_log = open(os.path.join(scratch, "chromedriver.log"), "w")
    process = subprocess.Popen(
        [chromedriver, f"--port={driver_port}", "--allowed-ips=127.0.0.1"],
        stdout=driver_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    driver = WebDriver(driver_port)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if driver.call("GET", "/status", timeout=2).get("ready"):
                    break
            except (OSError, RuntimeError):
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("chromedriver did not become ready within 20 s")
            time.sleep(0.1)
        driver.start(os.path.join(scratch, "profile"), arguments.window)
        driver.navigate(f"{gateway}/login")
        driver.type_into("#login-email", arguments.email)
        driver.type_into("#login-password", password)
        driver.click("#login-submit")
        driver.wait_for("return document.body.dataset.page === 'agents' && document.body.dataset.ready === '1'",
                        "the agents page after signing in")
        # Every load is a first visit's: nothing from the HTTP cache.
        driver.cdp("Network.enable", {})
        driver.cdp("Network.setCacheDisabled", {"cacheDisabled": True})
        runs = []
        for index in range(arguments.warmup + arguments.runs):
            # The daemon caches `fleet ps` for ~1 s: wait it out, so every load
            # pays for a fresh listing as a first viewer does.
            time.sleep(1.2)
            driver.navigate(f"{gateway}/agents")
            measured = driver.wait_for(f"return (function() {{ {MEASURE_SCRIPT} }})()",
                                       "window.mosaicRender (the whole table)")
            measured["weight_bytes"] = measured["document"]["transfer"] + sum(
                resource["transfer"] for resource in measured["resources"])
            print(f"load {index + 1}: render {measured['render_ms']:.1f} ms, every row {measured['complete_ms']:.1f} ms "
                  f"(script {measured['script_started_ms']:.1f}, agents parsed {measured['fetched_ms']:.1f}), "
                  f"{measured['weight_bytes']:,} bytes", file=sys.stderr)
            if index >= arguments.warmup:
                runs.append(measured)
        if arguments.screenshot:
            driver.screenshot(arguments.screenshot)
        user_agent = driver.script("return navigator.userAgent")
    finally:
        driver.stop()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        driver_log.close()
        shutil.rmtree(scratch, ignore_errors=True)

    renders = [run["render_ms"] for run in runs]
    completes = [run["complete_ms"] for run in runs]
    weights = [run["weight_bytes"] for run in runs]
    rows = sorted({run["rows"] for run in runs})
    by_resource = {}
    for resource in runs[-1]["resources"]:
        by_resource.setdefault(resource["name"], resource)
    summary = {
        "browser": user_agent,
        "runs": len(runs),
        "rows": rows,
        "render_ms": {"median": statistics.median(renders), "p95": percentile(renders, 0.95),
                      "min": min(renders), "max": max(renders)},
        "complete_ms": {"median": statistics.median(completes), "p95": percentile(completes, 0.95),
                        "max": max(completes)},
        "weight_bytes": {"median": statistics.median(weights), "max": max(weights)},
        "script_started_ms": {"median": statistics.median(run["script_started_ms"] for run in runs)},
        "fetched_ms": {"median": statistics.median(run["fetched_ms"] for run in runs)},
        "last_run": {"document": runs[-1]["document"], "resources": list(by_resource.values()),
                     "dom_content_loaded_ms": runs[-1]["dom_content_loaded_ms"],
                     "script_started_ms": runs[-1]["script_started_ms"]},
        "all_runs": [{"render_ms": run["render_ms"], "complete_ms": run["complete_ms"],
                      "weight_bytes": run["weight_bytes"]} for run in runs],
    }
    json.dump(summary, sys.stdout, indent=2)
    print()
    if rows != [arguments.agents]:
        print(f"bench-dashboard.py: the table showed {rows} rows, expected {arguments.agents}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

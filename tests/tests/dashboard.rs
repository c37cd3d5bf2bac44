//! The gateway's web dashboard in a real headless Chromium, driven through
//! WebDriver (`chromedriver`): sign-in, a real fleet agent (real tmux) appearing and
//! changing state without a reload, its activity and pane, keys and users pages,
//! a non-admin refused, logout, untrusted text shown literally (nothing runs),
//! requests from another origin refused, narrow and dark rendering, and the README's
//! screenshot.
//!
//! Every test saves screenshots as `target/dashboard-screenshots/<test>-<step>.png`.
//! `docs/dashboard.png` and `docs/dashboard-usage.png` are copies of
//! `readme-agents.png` and `readme-usage.png` from the last test.

// The README test uses only part of the stand-in.
#[allow(dead_code)]
#[path = "gateway_support/anthropic_standin.rs"]
mod anthropic_standin;
mod dashboard_support;
mod fleet_support;
mod gateway_support;
mod hooks_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use anthropic_standin::AnthropicStandIn;
use dashboard_support::webdriver::Browser;
use dashboard_support::Dashboard;
use gateway_support::{login, ADMIN_EMAIL};
use mosaic_tests::shell_quote;
use serde_json::{json, Value};

/// What Claude Code's Notification says when it asks for a permission.
const PERMISSION: &str = "Claude needs your permission to use Bash";

/// Markup that runs script if a page ever treats text as HTML.
const PAYLOAD: &str = r#"<script>window.pwned=1</script>"><img src=x onerror="window.pwned=1">"#;

/// A JavaScript string literal of `text`.
fn js(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// The JavaScript expression of the agents table's row of `agent`.
fn agent_row(agent: &str) -> String {
    format!(
        "document.querySelector({})",
        js(&format!("tr[data-agent={}]", js(agent)))
    )
}

/// The input, select and textarea fields of the page without a label.
fn unlabelled_fields(browser: &Browser) -> Value {
    browser.script(
        "return Array.from(document.querySelectorAll('input, select, textarea'))
           .filter(field => field.type !== 'hidden' && field.labels.length === 0
                            && !field.getAttribute('aria-label'))
           .map(field => field.id || field.name || field.outerHTML);",
        json!([]),
    )
}

/// Runs `body` (an async function body that returns a value) in the page; returns
/// that value, or the error's text.
fn run_async(browser: &Browser, body: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         (async () => {{ {body} }})().then(done, error => done('error: ' + error));"
    );
    browser.script_async(&script, json!([]))
}

fn pre_tool_use_bash(command: &str) -> Value {
    json!({"tool_name": "Bash", "tool_input": {"command": command, "description": "test"},
           "tool_use_id": "toolu_dashboard"})
}

fn post_tool_use(tool: &str, command: &str) -> Value {
    json!({"tool_name": tool, "tool_input": {"command": command}, "tool_response": {},
           "tool_use_id": "toolu_dashboard"})
}

fn notification(message: &str) -> Value {
    json!({"message": message, "notification_type": "permission_prompt"})
}

#[test]
fn a_real_agent_appears_and_changes_state_live_and_its_page_shows_activity_and_pane() {
    let Some(dashboard) = Dashboard::start("agents-live") else {
        return;
    };
    let browser = dashboard.browser("admin");
    dashboard.sign_in_as_admin(&browser);
    assert!(browser.text_of("#whoami").contains(ADMIN_EMAIL));
    assert!(browser.try_find("#nav-keys").is_some() && browser.try_find("#nav-users").is_some());
    // The session cookie is not readable by scripts (HttpOnly).
    let cookies = browser.script("return document.cookie;", json!([]));
    assert!(!cookies.to_string().contains("mosaic_session"), "{cookies}");
    // A reload would forget this.
    browser.script("window.loadedOnce = 'yes';", json!([]));
    dashboard.screenshot(&browser, "empty");

    dashboard.launch("api", "echo dashboard-pane-marker; exec sleep 300");
    let row = agent_row("api");
    browser.wait_until("the new agent's row", &format!("{row} !== null"));
    browser.wait_until(
        "the agent alive",
        &format!("{row}.dataset.status === 'alive'"),
    );

    dashboard.fire(
        "api",
        "UserPromptSubmit",
        json!({"prompt": "fix the tests"}),
    );
    browser.wait_until(
        "the agent working",
        &format!("{row}.dataset.state === 'working'"),
    );
    dashboard.fire("api", "PreToolUse", pre_tool_use_bash("git status"));
    dashboard.fire("api", "Notification", notification(PERMISSION));
    browser.wait_until(
        "the agent waiting with its message, standing out",
        &format!(
            "{row}.dataset.state === 'waiting' && {row}.classList.contains('waiting') \
             && {row}.querySelector('.agent-message').textContent.includes({})",
            js(PERMISSION)
        ),
    );
    dashboard.screenshot(&browser, "waiting");

    dashboard.fire("api", "PostToolUse", post_tool_use("Bash", "git status"));
    dashboard.fire("api", "Stop", json!({"stop_hook_active": false}));
    browser.wait_until(
        "the agent idle, no longer standing out",
        &format!("{row}.dataset.state === 'idle' && !{row}.classList.contains('waiting')"),
    );
    assert_eq!(
        browser.script("return window.loadedOnce;", json!([])),
        "yes",
        "the page was reloaded"
    );
    let refreshes = browser.script("return Number(document.body.dataset.refreshes);", json!([]));
    assert!(
        refreshes.as_u64().unwrap_or(0) >= 2,
        "refreshes: {refreshes}"
    );
    assert!(browser
        .text_of("tr[data-agent=\"api\"] .agent-tool")
        .contains("Bash"));

    browser.click(&browser.find("tr[data-agent=\"api\"] .agent-name a"));
    browser.wait_ready("/agents/api");
    assert_eq!(browser.text_of("#agent-name"), "api");
    browser.wait_until(
        "the agent's Bash command in its activity",
        "Array.from(document.querySelectorAll('#activity tr.activity-row')).some(row =>
           row.querySelector('.activity-summary').textContent.includes('git status')
           && row.querySelector('.activity-tool').textContent.includes('Bash')
           && row.dataset.decision === 'allow')",
    );
    browser.wait_until(
        "the agent's pane",
        "document.querySelector('pre#pane').textContent.includes('dashboard-pane-marker')",
    );
    dashboard.screenshot(&browser, "agent-page");
}

/// The proxy's answer to `GET /v1/models` with `key`.
fn proxy_answer(dashboard: &Dashboard, key: &str) -> gateway_support::Response {
    gateway_support::http(
        dashboard.gateway.port,
        "GET",
        "/v1/models",
        &[("x-api-key", key), ("anthropic-version", "2023-06-01")],
        None,
    )
}

#[test]
fn an_admin_creates_a_key_sees_it_once_and_revokes_it_in_two_steps() {
    // An Anthropic API that refuses connections: a key the gateway accepts gets
    // 502 from the proxy, one it refuses 401.
    let nowhere = format!("http://127.0.0.1:{}", gateway_support::free_port());
    let Some(dashboard) = Dashboard::start_with(
        "keys",
        &[
            (
                "MOSAIC_ANTHROPIC_API_KEY",
                "sk-ant-fake-key-of-the-dashboard-test",
            ),
            ("MOSAIC_ANTHROPIC_BASE_URL", &nowhere),
        ],
    ) else {
        return;
    };
    let browser = dashboard.browser("admin");
    dashboard.sign_in_as_admin(&browser);
    browser.click(&browser.find("#nav-keys"));
    browser.wait_ready("/keys");
    assert_eq!(unlabelled_fields(&browser), json!([]));

    browser.fill("#key-name", "ci-browser");
    browser.click(&browser.find("#key-create"));
    browser.wait_until(
        "the new key shown",
        "document.querySelector('code#key-secret') !== null \
         && document.querySelector('code#key-secret').textContent.startsWith('mosaic_sk_')",
    );
    assert!(browser.displayed(&browser.find("#key-created")));
    let secret = browser.text_of("code#key-secret");
    assert!(
        secret.starts_with("mosaic_sk_") && secret.len() > 20,
        "{secret}"
    );
    dashboard.screenshot(&browser, "created");

    let key = dashboard
        .keys()
        .into_iter()
        .find(|key| key["name"] == "ci-browser")
        .expect("the key the form created is listed");
    assert_eq!(key["state"], "active", "{key}");
    let hint = key["hint"].as_str().unwrap_or_default();
    assert!(
        !hint.is_empty() && secret.starts_with(hint),
        "{hint} vs the shown key"
    );
    // The key the page showed is the one the gateway accepts.
    let answer = proxy_answer(&dashboard, &secret);
    assert_eq!(
        answer.status, 502,
        "the shown key was refused: {} {}",
        answer.status, answer.body
    );

    let row = "tr[data-key=\"ci-browser\"]";
    browser.wait_until(
        "the key's row",
        &format!(
            "document.querySelector({0}) !== null \
             && document.querySelector({0}).dataset.revoked === 'false'",
            js(row)
        ),
    );
    browser.click(&browser.find(&format!("{row} button.key-revoke")));
    browser.wait_for_element(
        "the revoke confirmation",
        &format!("{row} button.key-revoke-confirm"),
    );
    assert_eq!(
        dashboard
            .keys()
            .iter()
            .find(|key| key["name"] == "ci-browser")
            .unwrap()["state"],
        "active",
        "the first click alone revoked the key"
    );
    browser.click(&browser.find(&format!("{row} button.key-revoke-confirm")));
    browser.wait_until(
        "the row to show the key revoked",
        &format!(
            "document.querySelector({}).dataset.revoked === 'true'",
            js(row)
        ),
    );
    dashboard.screenshot(&browser, "revoked");
    let key = dashboard
        .keys()
        .into_iter()
        .find(|key| key["name"] == "ci-browser")
        .unwrap();
    assert_eq!(key["state"], "revoked", "{key}");
    // The proxy trusts a key it looked up for a second.
    assert!(
        gateway_support::wait_for(Duration::from_secs(20), || {
            proxy_answer(&dashboard, &secret).status == 401
        }),
        "the revoked key still works"
    );

    browser.reload();
    browser.wait_ready("/keys");
    let shown = browser.script(
        "return document.documentElement.outerHTML.includes(arguments[0]);",
        json!([secret]),
    );
    assert_eq!(shown, false, "the key is shown again after a reload");
}

#[test]
fn users_are_created_reset_and_deleted_and_a_non_admin_is_refused_admin_pages() {
    let Some(dashboard) = Dashboard::start("users") else {
        return;
    };
    let port = dashboard.gateway.port;
    let admin = dashboard.browser("admin");
    dashboard.sign_in_as_admin(&admin);
    admin.click(&admin.find("#nav-users"));
    admin.wait_ready("/users");
    assert_eq!(unlabelled_fields(&admin), json!([]));

    let email = "bob@example.com";
    admin.fill("#user-name", "Bob Builder");
    admin.fill("#user-email", email);
    admin.fill("#user-password", "first password 1");
    admin.click(&admin.find("select#user-role option[value=\"user\"]"));
    admin.click(&admin.find("#user-create"));
    let row = format!("tr[data-user-email={}]", js(email));
    admin.wait_for_element("the new user's row", &row);
    assert_eq!(login(port, email, "first password 1").status, 200);

    admin.click(&admin.find(&format!("{row} button.user-reset")));
    admin.wait_for_element(
        "the new password field",
        &format!("{row} input.user-new-password"),
    );
    admin.fill(
        &format!("{row} input.user-new-password"),
        "second password 2",
    );
    // The status still tells of the creation; the reset replaces it.
    let status_before = admin.text_of("#form-status");
    admin.click(&admin.find(&format!("{row} button.user-reset-save")));
    admin.wait_until(
        "the status to say what happened",
        &format!(
            "document.querySelector('#form-status').innerText.trim() !== '' \
             && document.querySelector('#form-status').innerText !== {}",
            js(&status_before)
        ),
    );
    dashboard.screenshot(&admin, "reset");
    assert_eq!(
        login(port, email, "first password 1").status,
        401,
        "the old password still works"
    );

    // Bob signs in with the new password, by keyboard only.
    let bob = dashboard.browser("bob");
    bob.open(&dashboard.url("/login"));
    bob.wait_for_element("the login form", "#login-form");
    assert_eq!(unlabelled_fields(&bob), json!([]));
    bob.type_text(&bob.find("#login-email"), &format!("{email}\u{E004}"));
    let focused = bob.focused();
    assert_eq!(
        bob.attribute(&focused, "id").as_deref(),
        Some("login-password"),
        "Tab from the email field does not reach the password field"
    );
    bob.type_text(&focused, "second password 2\u{E007}");
    bob.wait_ready("/agents");
    assert!(bob.text_of("#whoami").contains(email));
    assert!(bob.try_find("#nav-agents").is_some() && bob.try_find("#nav-usage").is_some());
    assert!(
        bob.try_find("#nav-keys").is_none() && bob.try_find("#nav-users").is_none(),
        "a non-admin sees admin links"
    );
    dashboard.screenshot(&bob, "non-admin-agents");
    let statuses = run_async(
        &bob,
        "const keys = await fetch('/api/keys');
         const users = await fetch('/api/users');
         return [keys.status, users.status];",
    );
    assert_eq!(statuses, json!([403, 403]));
    for page in ["/keys", "/users"] {
        bob.open(&dashboard.url(page));
        bob.wait_until(
            &format!("the forbidden page at {page}"),
            "document.body.dataset.page === 'forbidden' \
             && document.querySelector('h1#forbidden') !== null",
        );
        assert!(bob.try_find("#key-form").is_none() && bob.try_find("#user-form").is_none());
    }
    dashboard.screenshot(&bob, "forbidden");

    bob.open(&dashboard.url("/agents"));
    bob.wait_ready("/agents");
    bob.click(&bob.find("button#logout"));
    bob.wait_until("the login page", "location.pathname === '/login'");
    bob.open(&dashboard.url("/agents"));
    bob.wait_until(
        "/agents to send a signed-out browser to the login page",
        "location.pathname === '/login' && document.querySelector('#login-form') !== null",
    );

    admin.reload();
    admin.wait_ready("/users");
    admin.click(&admin.find(&format!("{row} button.user-delete")));
    admin.wait_for_element(
        "the delete confirmation",
        &format!("{row} button.user-delete-confirm"),
    );
    assert_eq!(login(port, email, "second password 2").status, 200);
    admin.click(&admin.find(&format!("{row} button.user-delete-confirm")));
    admin.wait_until(
        "the user's row to go",
        &format!("document.querySelector({}) === null", js(&row)),
    );
    assert_eq!(login(port, email, "second password 2").status, 401);
}

#[test]
fn agent_text_commands_and_notifications_are_shown_literally_and_nothing_runs() {
    let Some(dashboard) = Dashboard::start("xss") else {
        return;
    };
    // Agent names cannot carry markup: the fleet refuses them (and `fleet ps`
    // skips files so named), so the name reaches the page only through its URL.
    let refused = dashboard.run(&["fleet", "launch", PAYLOAD, "--detach", "--", "sleep", "300"]);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stderr.contains("invalid agent name"),
        "{}",
        refused.stderr
    );

    dashboard.launch(
        "evil",
        &format!("printf '%s\\n' {}; exec sleep 300", shell_quote(PAYLOAD)),
    );
    dashboard.fire("evil", "UserPromptSubmit", json!({"prompt": PAYLOAD}));
    // The guard may allow or deny it; either way it is in the audit log.
    dashboard.fire(
        "evil",
        "PreToolUse",
        pre_tool_use_bash(&format!("echo {PAYLOAD}")),
    );
    dashboard.fire("evil", "PostToolUse", post_tool_use(PAYLOAD, "true"));
    let message = format!("Allow this? {PAYLOAD}");
    dashboard.fire("evil", "Notification", notification(&message));

    let browser = dashboard.browser("admin");
    dashboard.sign_in_as_admin(&browser);
    let row = agent_row("evil");
    browser.wait_until(
        "the waiting message shown as text",
        &format!(
            "{row} !== null && {row}.querySelector('.agent-message').textContent.includes({})",
            js(&message)
        ),
    );
    let tool = browser.text_of("tr[data-agent=\"evil\"] .agent-tool");
    assert!(
        tool.contains("<script>"),
        "the tool name is not shown literally: {tool:?}"
    );
    assert_nothing_ran(&browser);
    dashboard.screenshot(&browser, "agents");

    browser.open(&dashboard.url("/agents/evil"));
    browser.wait_ready("/agents/evil");
    browser.wait_until(
        "the command and the pane shown as text",
        &format!(
            "Array.from(document.querySelectorAll('.activity-summary'))
               .some(cell => cell.textContent.includes({0}))
             && document.querySelector('pre#pane').textContent.includes({0})",
            js(PAYLOAD)
        ),
    );
    assert_nothing_ran(&browser);
    dashboard.screenshot(&browser, "agent-page");

    // The name from the address: an unknown agent, rendered from the URL.
    let encoded = browser.script("return encodeURIComponent(arguments[0]);", json!([PAYLOAD]));
    browser.open(&dashboard.url(&format!("/agents/{}", encoded.as_str().unwrap())));
    browser.wait_until(
        "the page to ask the API about the agent",
        "performance.getEntriesByType('resource')
           .some(entry => entry.name.includes('/api/agents/') && entry.responseEnd > 0)",
    );
    // Give the answer's handler a moment to render before looking.
    run_async(
        &browser,
        "await new Promise(resolve => setTimeout(resolve, 300));",
    );
    assert_nothing_ran(&browser);
    dashboard.screenshot(&browser, "agent-name-in-url");
    assert_no_csp_violations(&browser);
}

/// The console of `browser` reported no Content-Security-Policy violation since
/// the session started (the dashboard's own code needs no inline script or style).
#[track_caller]
fn assert_no_csp_violations(browser: &Browser) {
    let violations: Vec<(String, String)> = browser
        .console_messages()
        .into_iter()
        .filter(|(_, text)| text.contains("Content Security Policy"))
        .collect();
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
}

/// No script of the payload ran and none of its elements exist in the page.
#[track_caller]
fn assert_nothing_ran(browser: &Browser) {
    let state = browser.script(
        "return {pwned: typeof window.pwned,
                 images: document.querySelectorAll('img[src=\"x\"]').length,
                 inlineScripts: Array.from(document.scripts).filter(s => !s.src).length};",
        json!([]),
    );
    assert_eq!(
        state,
        json!({"pwned": "undefined", "images": 0, "inlineScripts": 0}),
        "untrusted text became markup on {}",
        browser.url()
    );
}

/// Serves `page` to every request on `listener` (a page of another origin).
fn serve_page(listener: TcpListener, page: String) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
}

/// A page that, with the browser's cookies, reads `/api/auth/me` and tries to
/// create a key; it writes what happened into `#result`.
fn fetching_page(gateway: &str) -> String {
    format!(
        r#"<!doctype html><html><body><p id="result">pending</p><script>
const gateway = {gateway};
async function run() {{
  const steps = [];
  try {{
    const me = await fetch(gateway + "/api/auth/me", {{credentials: "include"}});
    steps.push("me:" + me.status);
    const created = await fetch(gateway + "/api/keys", {{
      method: "POST", credentials: "include",
      headers: {{"Content-Type": "application/json"}},
      body: JSON.stringify({{name: "csrf-fetch"}}),
    }});
    steps.push("create:" + created.status);
  }} catch (error) {{
    steps.push("blocked:" + error.name);
  }}
  document.getElementById("result").textContent = steps.join(" ");
}}
run();
</script></body></html>"#,
        gateway = js(gateway)
    )
}

/// A page with plain HTML forms posting to the gateway: one creating a key (a JSON
/// body smuggled in `text/plain`), one signing out.
fn form_page(gateway: &str) -> String {
    format!(
        r#"<!doctype html><html><body>
<form id="key-form" method="POST" action="{gateway}/api/keys" enctype="text/plain">
<input type="hidden" name='{{"name":"csrf-form","pad":"' value='"}}'>
<button id="key-submit">Create</button></form>
<form id="logout-form" method="POST" action="{gateway}/api/auth/logout">
<button id="logout-submit">Sign out</button></form>
</body></html>"#
    )
}

#[test]
fn requests_from_another_origin_with_the_admin_session_are_refused() {
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let allowed_origin = format!("http://127.0.0.1:{}", allowed.local_addr().unwrap().port());
    let other_origin = format!("http://127.0.0.1:{}", other.local_addr().unwrap().port());
    // Even the origin allowed to call the API (CORS) cannot act with the cookie
    // alone: it does not know the session's CSRF token.
    let Some(dashboard) = Dashboard::start_with("csrf", &[("MOSAIC_CORS_ORIGIN", &allowed_origin)])
    else {
        return;
    };
    let gateway = dashboard.origin();
    serve_page(allowed, fetching_page(&gateway));
    serve_page(other, form_page(&gateway));
    let browser = dashboard.browser("admin");
    dashboard.sign_in_as_admin(&browser);

    // From the dashboard itself: refused without the token, accepted with it. So
    // what refuses the requests below is the CSRF check, not a malformed request.
    let statuses = run_async(
        &browser,
        "const me = await (await fetch('/api/auth/me')).json();
         const post = (name, headers) => fetch('/api/keys', {method: 'POST',
           headers: Object.assign({'Content-Type': 'application/json'}, headers),
           body: JSON.stringify({name})});
         const without = await post('csrf-no-token', {});
         const withToken = await post('csrf-control', {'X-CSRF-Token': me.csrf_token});
         return [without.status, withToken.status];",
    );
    assert_eq!(statuses, json!([403, 201]));

    browser.open(&format!("{allowed_origin}/"));
    browser.wait_until(
        "the allowed origin's page to finish",
        "document.getElementById('result').textContent !== 'pending'",
    );
    // The cookie reaches the gateway from there (me:200), yet nothing is created.
    assert_eq!(browser.text_of("#result"), "me:200 create:403");
    dashboard.screenshot(&browser, "allowed-origin");

    for form in ["key", "logout"] {
        browser.open(&format!("{other_origin}/"));
        browser.click(&browser.find(&format!("#{form}-submit")));
        browser.wait_until(
            &format!("the gateway's answer to the {form} form"),
            &format!("location.origin === {}", js(&gateway)),
        );
        let answer = browser.body_text();
        assert!(
            answer.contains("csrf"),
            "the {form} form was not refused: {answer}"
        );
        dashboard.screenshot(&browser, &format!("{form}-form"));
    }

    // Still signed in: the sign-out form did nothing.
    browser.open(&dashboard.url("/agents"));
    browser.wait_ready("/agents");
    let names: Vec<String> = dashboard
        .keys()
        .iter()
        .map(|key| key["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        names,
        ["csrf-control"],
        "only the dashboard's own request created a key"
    );
}

/// The background colour of the page (body, else root element) as RGB.
fn page_background(browser: &Browser) -> [u32; 3] {
    let colour = browser.script(
        "for (const element of [document.body, document.documentElement]) {
           const colour = getComputedStyle(element).backgroundColor;
           if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') return colour;
         }
         return 'rgb(255, 255, 255)';",
        json!([]),
    );
    let text = colour.as_str().unwrap_or_default();
    let numbers: Vec<u32> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .filter_map(|part| part.parse().ok())
        .collect();
    assert!(numbers.len() >= 3, "not a colour: {text}");
    [numbers[0], numbers[1], numbers[2]]
}

/// The README's agents: name, branch of its worktree, and the requests it makes
/// through the gateway's proxy today.
const README_AGENTS: [(&str, &str, u64); 4] = [
    ("api", "feat/pagination", 180),
    ("docs", "docs/user-guide", 70),
    ("web", "fix/login-redirect", 40),
    ("tests", "mosaic/tests", 110),
];

#[test]
fn the_agents_page_for_the_readme_fits_narrow_screens_and_has_a_dark_mode() {
    let standin = AnthropicStandIn::start();
    let Some(dashboard) = Dashboard::start_with(
        "readme",
        &[
            (
                "MOSAIC_ANTHROPIC_API_KEY",
                "sk-ant-fake-key-of-the-dashboard-test",
            ),
            ("MOSAIC_ANTHROPIC_BASE_URL", &standin.url()),
        ],
    ) else {
        return;
    };
    // Agents started the way a user starts them in a project: from inside the
    // repository, each in a worktree on a branch of its own.
    let repo = dashboard.git_repository("shop");
    for (agent, branch, _) in README_AGENTS {
        dashboard.launch_in_worktree(agent, &repo, branch, "exec sleep 300");
    }
    // Each agent talks to the model through the gateway with a key bound to it, so
    // the gateway meters its tokens and cost.
    let port = dashboard.gateway.port;
    let keys: Vec<(String, u64)> = README_AGENTS
        .iter()
        .map(|(agent, _, requests)| {
            let key = dashboard
                .gateway
                .create_key_text(&format!("{agent}-key"), &["--agent", agent]);
            (key, *requests)
        })
        .collect();
    std::thread::scope(|scope| {
        for (key, requests) in &keys {
            scope.spawn(move || {
                for _ in 0..*requests {
                    let answer = gateway_support::post_message(port, key, false);
                    assert_eq!(answer.status, 200, "{}", answer.body);
                }
            });
        }
    });
    let requests: u64 = README_AGENTS.iter().map(|(_, _, requests)| requests).sum();
    dashboard
        .gateway
        .usage_once("agent", "every agent's requests", |usage| {
            usage["total"]["requests"].as_u64() == Some(requests)
        });

    dashboard.fire(
        "api",
        "UserPromptSubmit",
        json!({"prompt": "add pagination"}),
    );
    dashboard.fire("api", "PostToolUse", post_tool_use("Edit", ""));
    dashboard.fire(
        "tests",
        "UserPromptSubmit",
        json!({"prompt": "make the tests pass"}),
    );
    dashboard.fire("tests", "PostToolUse", post_tool_use("Bash", "cargo test"));
    dashboard.fire(
        "docs",
        "UserPromptSubmit",
        json!({"prompt": "update the guide"}),
    );
    dashboard.fire("docs", "PostToolUse", post_tool_use("Bash", "cargo doc"));
    dashboard.fire("docs", "Notification", notification(PERMISSION));
    dashboard.fire("web", "SessionStart", json!({"source": "startup"}));
    dashboard.fire("web", "PostToolUse", post_tool_use("Read", ""));
    dashboard.fire("web", "Stop", json!({"stop_hook_active": false}));

    let browser = dashboard.browser("admin");
    dashboard.sign_in_as_admin(&browser);
    browser.wait_until(
        "four agents, the waiting one first",
        "document.querySelectorAll('table#agents tbody tr[data-agent]').length === 4
         && document.querySelector('table#agents tbody tr[data-agent]').dataset.agent === 'docs'
         && document.querySelector('tr[data-agent=\"api\"]').dataset.state === 'working'
         && document.querySelector('tr[data-agent=\"web\"]').dataset.state === 'idle'",
    );
    for (agent, branch, _) in README_AGENTS {
        let row = format!("tr[data-agent={}]", js(agent));
        assert_eq!(browser.text_of(&format!("{row} .agent-branch")), branch);
        let tokens = browser.text_of(&format!("{row} .agent-tokens"));
        assert!(
            !tokens.is_empty() && tokens != "0",
            "{agent}'s tokens today: {tokens:?}"
        );
        let cost = browser.text_of(&format!("{row} .agent-cost"));
        assert!(
            cost.starts_with('$') && cost != "$0.00",
            "{agent}'s cost today: {cost:?}"
        );
    }
    let light = page_background(&browser);
    let readme = dashboard.screenshot(&browser, "agents");
    let size = std::fs::metadata(&readme).unwrap().len();
    assert!(size < 200_000, "{} is {size} bytes", readme.display());

    // The README's second picture: the usage page, per agent.
    browser.open(&dashboard.url("/usage?by=agent"));
    browser.wait_ready("/usage");
    browser.wait_until(
        "a row per agent and the chart drawn",
        "document.querySelectorAll('#usage tbody tr.usage-row').length === 4
         && document.querySelector('#usage-chart').complete
         && document.querySelector('#usage-chart').naturalWidth > 0",
    );
    // Tall enough for the table's total row.
    browser.devtools(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1280, "height": 860, "deviceScaleFactor": 1, "mobile": false}),
    );
    let usage = dashboard.screenshot(&browser, "usage");
    browser.devtools("Emulation.clearDeviceMetricsOverride", json!({}));
    let size = std::fs::metadata(&usage).unwrap().len();
    assert!(size < 200_000, "{} is {size} bytes", usage.display());
    browser.open(&dashboard.url("/agents"));
    browser.wait_ready("/agents");

    browser.devtools(
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": true}),
    );
    let widths = browser.script(
        "return [window.innerWidth, document.documentElement.scrollWidth];",
        json!([]),
    );
    assert_eq!(widths[0], 360, "{widths}");
    assert!(
        widths[1].as_u64().unwrap() <= 362,
        "the page scrolls sideways at 360 px: {widths}"
    );
    dashboard.screenshot(&browser, "narrow");
    browser.devtools("Emulation.clearDeviceMetricsOverride", json!({}));

    browser.devtools(
        "Emulation.setEmulatedMedia",
        json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
    );
    assert_eq!(
        browser.script(
            "return matchMedia('(prefers-color-scheme: dark)').matches;",
            json!([])
        ),
        true
    );
    let dark = page_background(&browser);
    assert_ne!(dark, light, "the page looks the same in dark mode");
    let brightness = |[red, green, blue]: [u32; 3]| red + green + blue;
    assert!(
        brightness(dark) < brightness(light) && brightness(dark) < 3 * 128,
        "dark mode is not dark: {dark:?} (light {light:?})"
    );
    dashboard.screenshot(&browser, "dark");
    assert_no_csp_violations(&browser);
}

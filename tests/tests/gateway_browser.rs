//! CORS checked by a real browser: headless Chromium loads a page from the allowed
//! origin (a small server on another loopback port) whose script logs in to the
//! gateway with `credentials: "include"` and then reads `/api/auth/me` with the
//! session cookie. The same page served from another origin must be blocked.

mod gateway_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use gateway_support::*;

/// Serves `page` at `/` and sends the body of every `POST /report` to the channel.
fn serve_page(listener: TcpListener, page: String, reports: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let (status, content) = if request_line.starts_with("GET / ") {
                ("200 OK", page.clone())
            } else if request_line.starts_with("POST /report ") {
                let _ = reports.send(String::from_utf8_lossy(&body).into_owned());
                ("200 OK", String::new())
            } else {
                ("404 Not Found", String::new())
            };
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{content}",
                content.len()
            );
        }
    });
}

fn page(gateway_port: u16) -> String {
    format!(
        r#"<!doctype html><html><body><p id="result">pending</p><script>
const gateway = "http://127.0.0.1:{gateway_port}";
async function run() {{
  const steps = [];
  try {{
    const login = await fetch(gateway + "/api/auth/login", {{
      method: "POST", credentials: "include",
      headers: {{"Content-Type": "application/json"}},
      body: JSON.stringify({{email: "{ADMIN_EMAIL}", password: "{ADMIN_PASSWORD}"}}),
    }});
    steps.push("login:" + login.status);
    const me = await fetch(gateway + "/api/auth/me", {{credentials: "include"}});
    const body = await me.json();
    steps.push("me:" + me.status + ":" + body.user.email);
  }} catch (error) {{
    steps.push("blocked:" + error.name);
  }}
  const result = steps.join(" ");
  document.getElementById("result").textContent = result;
  await fetch("/report", {{method: "POST", body: result}});
}}
run();
</script></body></html>"#
    )
}

/// Loads `url` in headless Chromium and returns what the page reported.
fn browse(url: &str, reports: &mpsc::Receiver<String>, profile: &std::path::Path) -> String {
    let mut browser = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=15000", "--dump-dom", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot run chromium: install it (apt-get install chromium)");
    let report = reports.recv_timeout(Duration::from_secs(90));
    let _ = browser.kill();
    let _ = browser.wait();
    report.unwrap_or_else(|_| panic!("the page at {url} reported nothing within 90 s"))
}

#[test]
fn a_browser_on_the_allowed_origin_can_log_in_and_another_origin_cannot() {
    let gateway = GatewaySandbox::new();
    let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let allowed_origin = format!("http://127.0.0.1:{}", allowed.local_addr().unwrap().port());
    let other_origin = format!("http://127.0.0.1:{}", other.local_addr().unwrap().port());
    let port = gateway.port.to_string();
    let install = mosaic_tests::Run::from_output(
        gateway
            .sandbox
            .command([
                "gateway",
                "install",
                "--port",
                &port,
                "--cors-origin",
                &allowed_origin,
            ])
            .env("MOSAIC_ADMIN_NAME", ADMIN_NAME)
            .env("MOSAIC_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("MOSAIC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .output()
            .unwrap(),
    );
    install.expect_code(0);

    let (sender, reports) = mpsc::channel();
    serve_page(allowed, page(gateway.port), sender.clone());
    serve_page(other, page(gateway.port), sender);

    let allowed_result = browse(
        &format!("{allowed_origin}/"),
        &reports,
        &gateway.sandbox.root().join("chromium-allowed"),
    );
    assert_eq!(allowed_result, format!("login:200 me:200:{ADMIN_EMAIL}"));

    let other_result = browse(
        &format!("{other_origin}/"),
        &reports,
        &gateway.sandbox.root().join("chromium-other"),
    );
    assert_eq!(other_result, "blocked:TypeError");
}

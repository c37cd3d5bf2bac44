//! An interactive `gateway install` through a real terminal: tmux runs it in a pty,
//! the test reads the screen (`capture-pane`) and types answers (`send-keys`),
//! including a rejected short password, hidden password and key input, and the
//! confirmation.

mod gateway_support;

use gateway_support::*;
use mosaic_tests::{shell_quote, Terminal};

#[test]
fn an_interactive_install_asks_for_what_is_missing() {
    let gateway = GatewaySandbox::new();
    let port = gateway.port;
    let script = format!(
        "env -i HOME={home} PATH={path} MOSAIC_SERVICE_MANAGER=supervisor NO_COLOR=1 TERM=xterm \
         {mosaic} gateway install; echo \"INSTALL EXIT=$?\"; sleep 600",
        home = shell_quote(&gateway.sandbox.home().display().to_string()),
        path = shell_quote(&std::env::var("PATH").unwrap_or_default()),
        mosaic = shell_quote(&gateway.sandbox.binary().display().to_string()),
    );
    let tmux = Terminal::start(gateway.sandbox.root(), &script);

    tmux.expect("Gateway port");
    tmux.type_line(&port.to_string());
    tmux.expect("Web UI origin allowed by CORS");
    tmux.type_line("");
    tmux.expect("Anthropic API key");
    tmux.type_line("sk-ant-test-secret");
    tmux.expect("Admin name");
    tmux.type_line("Ada Admin");
    tmux.expect("Admin email");
    tmux.type_line("ada@example.com");
    tmux.expect("Admin password");
    tmux.type_line("short");
    tmux.expect("too short");
    tmux.type_line(ADMIN_PASSWORD);
    tmux.expect("Repeat the password");
    tmux.type_line(ADMIN_PASSWORD);
    tmux.expect("INSTALL EXIT=");
    let screen = tmux.screen();
    assert!(screen.contains("INSTALL EXIT=0"), "{screen}");
    assert!(screen.contains("installed and running"), "{screen}");
    assert!(
        screen.contains(&format!("http://127.0.0.1:{port}")),
        "{screen}"
    );
    for secret in ["sk-ant-test-secret", ADMIN_PASSWORD] {
        assert!(!screen.contains(secret), "{secret} was echoed:\n{screen}");
    }

    token(port, ADMIN_EMAIL, ADMIN_PASSWORD);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gateway.config_file()).unwrap()).unwrap();
    assert_eq!(config["gateway"]["anthropic_api_key"], "sk-ant-test-secret");
    assert_eq!(config["gateway"]["cors_origin"], "http://localhost:3000");
    let status = gateway.run(&["gateway", "status"]);
    status.expect_code(0);
    assert!(
        status.stdout.contains("Anthropic key:    set (not shown)"),
        "{}",
        status.stdout
    );
    assert!(!status.stdout.contains("sk-ant-test-secret"));
    let shown = gateway.run(&["config", "show"]);
    assert!(
        !shown.stdout.contains("sk-ant-test-secret"),
        "{}",
        shown.stdout
    );
}

//! `mosaic wizard` in a real terminal (tmux runs it in a pty; the test reads the
//! screen and types): the whole wizard answered prompt by prompt, then the files and
//! the running gateway checked; and Ctrl-C in the middle, which must change nothing.

mod gateway_support;

use gateway_support::*;
use mosaic_tests::{shell_quote, Terminal};

/// Starts `mosaic wizard` in a terminal with a clean environment.
fn start_wizard(gateway: &GatewaySandbox) -> Terminal {
    let script = format!(
        "env -i HOME={home} PATH={path} MOSAIC_SERVICE_MANAGER=supervisor NO_COLOR=1 \
         TERM=xterm {mosaic} wizard; echo \"WIZARD EXIT=$?\"; sleep 600",
        home = shell_quote(&gateway.sandbox.home().display().to_string()),
        path = shell_quote(&std::env::var("PATH").unwrap_or_default()),
        mosaic = shell_quote(&gateway.sandbox.binary().display().to_string()),
    );
    Terminal::start(gateway.sandbox.root(), &script)
}

#[test]
fn the_interactive_wizard_applies_what_was_answered() {
    let gateway = GatewaySandbox::new();
    let terminal = start_wizard(&gateway);

    terminal.expect("What should be set up?");
    terminal.type_line(""); // all three preselected
    terminal.expect("Storage tier");
    terminal.type_line(""); // local
    terminal.expect("Gateway port");
    terminal.type_line(&gateway.port.to_string());
    terminal.expect("Web UI origin allowed by CORS");
    terminal.type_line("");
    terminal.expect("Anthropic API key");
    terminal.type_line("sk-ant-wizard-secret");
    terminal.expect("Admin name");
    terminal.type_line(ADMIN_NAME);
    terminal.expect("Admin email");
    terminal.type_line(ADMIN_EMAIL);
    terminal.expect("Admin password");
    terminal.type_line(ADMIN_PASSWORD);
    terminal.expect("Repeat the password");
    terminal.type_line(ADMIN_PASSWORD);
    terminal.expect("Default agent runtime");
    terminal.type_line(""); // claude
    terminal.expect("Heartbeat interval in seconds");
    terminal.type_line("10");
    terminal.expect("Apply:");
    terminal.type_line("");
    terminal.expect("WIZARD EXIT=");

    let screen = terminal.screen();
    assert!(screen.contains("WIZARD EXIT=0"), "{screen}");
    assert!(screen.contains("[3/3] Fleet defaults: done"), "{screen}");
    for secret in ["sk-ant-wizard-secret", ADMIN_PASSWORD] {
        assert!(!screen.contains(secret), "{secret} was shown:\n{screen}");
    }
    assert!(gateway
        .sandbox
        .claude_home()
        .join("hooks-config.json")
        .is_file());
    assert!(gateway.healthy());
    token(gateway.port, ADMIN_EMAIL, ADMIN_PASSWORD);
    let interval = gateway.run(&["config", "get", "fleet.heartbeat_interval"]);
    assert_eq!(interval.stdout.trim(), "10", "{interval:?}");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gateway.config_file()).unwrap()).unwrap();
    assert_eq!(
        config["gateway"]["anthropic_api_key"],
        "sk-ant-wizard-secret"
    );
    assert!(config["wizard"]["completed_at"].is_string(), "{config}");
}

#[test]
fn ctrl_c_in_the_middle_exits_130_and_changes_nothing() {
    // A menu prompt (raw mode: Ctrl-C arrives as a key) and a text prompt (cooked
    // mode: the terminal sends SIGINT).
    for (stop_at, answered_before) in [("Storage tier", 1), ("Gateway port", 2)] {
        let gateway = GatewaySandbox::new();
        let terminal = start_wizard(&gateway);
        for prompt in ["What should be set up?", "Storage tier"]
            .iter()
            .take(answered_before)
        {
            terminal.expect(prompt);
            terminal.type_line("");
        }
        terminal.expect(stop_at);
        terminal.send(&["C-c"]);
        terminal.expect("WIZARD EXIT=");
        let screen = terminal.screen();
        assert!(screen.contains("WIZARD EXIT=130"), "{stop_at}: {screen}");
        assert!(
            screen.contains("nothing was changed"),
            "{stop_at}: {screen}"
        );
        assert!(!gateway
            .sandbox
            .claude_home()
            .join("hooks-config.json")
            .exists());
        assert!(!gateway.config_file().exists(), "{stop_at}");
        assert!(gateway.daemon_processes().is_empty(), "{stop_at}");
    }
}

#[test]
fn on_a_configured_machine_it_says_so_and_changes_nothing_unless_asked() {
    let gateway = GatewaySandbox::new();
    let setup = gateway
        .sandbox
        .command(["wizard", "--yes", "--skip", "gateway"])
        .output()
        .expect("cannot run mosaic");
    assert!(setup.status.success(), "{setup:?}");
    let before = std::fs::read(gateway.config_file()).unwrap();

    let terminal = start_wizard(&gateway);
    terminal.expect("Mosaic is already set up (hooks, fleet)");
    terminal.type_line(""); // the default: change nothing
    terminal.expect("WIZARD EXIT=");
    let screen = terminal.screen();
    assert!(screen.contains("Nothing was changed."), "{screen}");
    assert!(screen.contains("WIZARD EXIT=0"), "{screen}");
    assert_eq!(std::fs::read(gateway.config_file()).unwrap(), before);
}

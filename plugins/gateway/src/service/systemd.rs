//! The systemd user unit: its text (a pure function, tested as text) and the
//! `systemctl --user` calls that install, start, stop and remove it.

use std::path::Path;

use anyhow::Result;
use mosaic_plugin_api::sdk::fs::{atomic_write, create_dir_all_with_mode};

use super::{run_tool, ServiceSpec};
use crate::layout::SYSTEMD_UNIT_NAME;

/// Whether a systemd user manager answers (`systemctl --user show-environment`).
pub fn user_manager_available() -> bool {
    std::process::Command::new("systemctl")
        .args(["--user", "show-environment"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Quotes a word for a unit file: double quotes, with `\`, `"` escaped and `%`
/// doubled (systemd expands `%` specifiers even inside quotes).
fn quote(word: &str) -> String {
    let escaped = word
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%");
    format!("\"{escaped}\"")
}

/// The text of `mosaic-gateway.service`.
pub fn unit_text(spec: &ServiceSpec) -> String {
    let command: Vec<String> = std::iter::once(spec.executable.display().to_string())
        .chain(spec.daemon_arguments())
        .map(|word| quote(&word))
        .collect();
    let environment: String = spec
        .daemon_environment()
        .iter()
        .filter(|(name, _)| name.starts_with("MOSAIC_"))
        .map(|(name, value)| format!("Environment={}\n", quote(&format!("{name}={value}"))))
        .collect();
    let log = quote(&format!("append:{}", spec.layout.log_file().display()));
    format!(
        "# Written by `mosaic gateway install`; re-run it instead of editing this file.\n\
         [Unit]\n\
         Description=Mosaic gateway\n\
         After=network.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={command}\n\
         {environment}\
         StandardOutput={log}\n\
         StandardError={log}\n\
         Restart=on-failure\n\
         RestartSec=2\n\
         KillSignal=SIGTERM\n\
         TimeoutStopSec=20\n\
         UMask=0077\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        command = command.join(" "),
    )
}

/// Writes the unit, reloads systemd and enables the unit (start at login).
pub fn install(spec: &ServiceSpec) -> Result<()> {
    let unit = spec.layout.systemd_unit_file();
    if let Some(directory) = unit.parent() {
        create_dir_all_with_mode(directory, 0o755)?;
    }
    create_dir_all_with_mode(&spec.layout.data_dir, 0o700)?;
    atomic_write(&unit, unit_text(spec).as_bytes(), Some(0o644))?;
    run_tool("systemctl", &["--user", "daemon-reload"])?;
    run_tool("systemctl", &["--user", "enable", SYSTEMD_UNIT_NAME])
}

/// Starts (or restarts) the unit.
pub fn start() -> Result<()> {
    run_tool("systemctl", &["--user", "restart", SYSTEMD_UNIT_NAME])
}

/// Stops the unit.
pub fn stop() -> Result<()> {
    run_tool("systemctl", &["--user", "stop", SYSTEMD_UNIT_NAME])
}

/// Disables and removes the unit.
pub fn remove(spec: &ServiceSpec) -> Result<()> {
    let unit = spec.layout.systemd_unit_file();
    if Path::new(&unit).exists() {
        run_tool("systemctl", &["--user", "disable", SYSTEMD_UNIT_NAME])?;
        std::fs::remove_file(&unit)
            .map_err(|error| anyhow::anyhow!("cannot remove {}: {error}", unit.display()))?;
    }
    run_tool("systemctl", &["--user", "daemon-reload"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::tests::spec;

    #[test]
    fn the_unit_runs_the_daemon_with_paths_but_no_secrets() {
        let text = unit_text(&spec());
        assert!(text.contains(
            "ExecStart=\"/opt/mosaic/bin/mosaic\" \"--plugin-dir\" \"/opt/mosaic/lib/mosaic/plugins\" \
             \"gateway\" \"run\" \"--data-dir\" \"/home/ada/.local/share/mosaic/gateway\"\n"
        ), "{text}");
        assert!(text.contains("Environment=\"MOSAIC_CONFIG_DIR=/home/ada/.config/mosaic\"\n"));
        assert!(text.contains("Environment=\"MOSAIC_RUN_DIR=/home/ada/.config/mosaic/run\"\n"));
        assert!(text.contains(
            "StandardError=\"append:/home/ada/.local/share/mosaic/gateway/gateway.log\"\n"
        ));
        assert!(text.contains("Restart=on-failure\n"));
        assert!(text.contains("[Install]\nWantedBy=default.target\n"));
        for secret_name in ["PASSWORD", "API_KEY", "DATABASE_URL", "VALKEY"] {
            assert!(!text.contains(secret_name), "{secret_name} in:\n{text}");
        }
    }

    #[test]
    fn unit_words_are_quoted_and_specifiers_escaped() {
        assert_eq!(quote("/a b/%h\"x\\"), "\"/a b/%%h\\\"x\\\\\"");
        let mut spec = spec();
        spec.executable = "/opt/my tools/mosaic".into();
        assert!(unit_text(&spec).contains("ExecStart=\"/opt/my tools/mosaic\" "));
    }
}

//! The launchd agent (macOS): its property list (a pure function, tested as text)
//! and the `launchctl` calls that load and unload it.

use anyhow::Result;
use mosaic_plugin_api::sdk::fs::{atomic_write, create_dir_all_with_mode};

use super::{run_tool, ServiceSpec};
use crate::layout::LAUNCHD_LABEL;

/// Escapes text for an XML property list.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The text of `dev.mosaic.gateway.plist`.
pub fn plist_text(spec: &ServiceSpec) -> String {
    let arguments: String = std::iter::once(spec.executable.display().to_string())
        .chain(spec.daemon_arguments())
        .map(|word| format!("    <string>{}</string>\n", xml(&word)))
        .collect();
    let environment: String = spec
        .daemon_environment()
        .iter()
        .map(|(name, value)| {
            format!(
                "    <key>{}</key>\n    <string>{}</string>\n",
                xml(name),
                xml(value)
            )
        })
        .collect();
    let log = xml(&spec.layout.log_file().display().to_string());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \
         \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- Written by `mosaic gateway install`; re-run it instead of editing this file. -->\n\
         <plist version=\"1.0\">\n\
         <dict>\n\
         \x20 <key>Label</key>\n\
         \x20 <string>{LAUNCHD_LABEL}</string>\n\
         \x20 <key>ProgramArguments</key>\n\
         \x20 <array>\n\
         {arguments}\
         \x20 </array>\n\
         \x20 <key>EnvironmentVariables</key>\n\
         \x20 <dict>\n\
         {environment}\
         \x20 </dict>\n\
         \x20 <key>RunAtLoad</key>\n\
         \x20 <true/>\n\
         \x20 <key>KeepAlive</key>\n\
         \x20 <dict>\n\
         \x20   <key>SuccessfulExit</key>\n\
         \x20   <false/>\n\
         \x20 </dict>\n\
         \x20 <key>StandardOutPath</key>\n\
         \x20 <string>{log}</string>\n\
         \x20 <key>StandardErrorPath</key>\n\
         \x20 <string>{log}</string>\n\
         </dict>\n\
         </plist>\n"
    )
}

/// Writes the agent's property list.
pub fn install(spec: &ServiceSpec) -> Result<()> {
    let plist = spec.layout.launchd_plist_file();
    if let Some(directory) = plist.parent() {
        create_dir_all_with_mode(directory, 0o755)?;
    }
    create_dir_all_with_mode(&spec.layout.data_dir, 0o700)?;
    atomic_write(&plist, plist_text(spec).as_bytes(), Some(0o644))
}

/// Loads the agent, which starts it.
pub fn start(spec: &ServiceSpec) -> Result<()> {
    let plist = spec.layout.launchd_plist_file().display().to_string();
    run_tool("launchctl", &["load", "-w", &plist])
}

/// Unloads the agent, which stops it.
pub fn stop(spec: &ServiceSpec) -> Result<()> {
    let plist = spec.layout.launchd_plist_file();
    if plist.exists() {
        // Unloading an agent that is not loaded fails; stopped is stopped.
        let _ = run_tool("launchctl", &["unload", &plist.display().to_string()]);
    }
    Ok(())
}

/// Removes the agent's property list.
pub fn remove(spec: &ServiceSpec) -> Result<()> {
    let plist = spec.layout.launchd_plist_file();
    match std::fs::remove_file(&plist) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(anyhow::anyhow!(
            "cannot remove {}: {error}",
            plist.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::tests::spec;

    #[test]
    fn the_plist_runs_the_daemon_and_logs_to_the_log_file() {
        let text = plist_text(&spec());
        assert!(text.contains("<string>dev.mosaic.gateway</string>"));
        assert!(
            text.contains(
                "    <string>/opt/mosaic/bin/mosaic</string>\n    <string>--plugin-dir</string>\n"
            ),
            "{text}"
        );
        assert!(text.contains(
            "    <key>MOSAIC_CONFIG_DIR</key>\n    <string>/home/ada/.config/mosaic</string>\n"
        ));
        assert!(text.contains(
            "<key>StandardErrorPath</key>\n  <string>/home/ada/.local/share/mosaic/gateway/gateway.log</string>"
        ), "{text}");
        assert_eq!(xml("a<&>\""), "a&lt;&amp;&gt;&quot;");
    }
}

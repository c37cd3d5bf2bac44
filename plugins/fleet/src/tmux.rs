//! Talking to tmux: which program and which server (`MOSAIC_TMUX_SOCKET`), and the
//! handful of tmux commands the fleet uses.
//!
//! `MOSAIC_TMUX_SOCKET` selects the tmux server: a value holding a `/` is a socket
//! path (`tmux -S PATH`), anything else a socket name (`tmux -L NAME`). Unset, tmux
//! picks its default server. Tests set it so they never touch a user's server.
//!
//! Every session target is written `=NAME` so tmux matches the name exactly: a bare
//! `mosaic-a` would also match a session called `mosaic-ab`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use mosaic_plugin_api::anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::Context;

use crate::process::find_program;

/// The environment variable that selects the tmux server.
pub const SOCKET_ENV: &str = "MOSAIC_TMUX_SOCKET";

/// The oldest tmux the fleet supports: 3.0 runs a command given as several words
/// directly, without a shell.
const MINIMUM_VERSION: TmuxVersion = TmuxVersion { major: 3, minor: 0 };

/// The first tmux whose `new-session` takes `-e NAME=VALUE`.
const SESSION_ENVIRONMENT_VERSION: TmuxVersion = TmuxVersion { major: 3, minor: 2 };

/// A tmux release, from `tmux -V`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TmuxVersion {
    /// 3 in 3.3a.
    pub major: u32,
    /// 3 in 3.3a.
    pub minor: u32,
}

impl TmuxVersion {
    /// Parses `tmux 3.3a`, `tmux next-3.4`, `tmux 3.2-rc2`. Builds from a git
    /// checkout say `tmux master`: `None`, which callers treat as recent.
    pub fn parse(text: &str) -> Option<TmuxVersion> {
        let version = text.split_whitespace().nth(1)?;
        let version = version.strip_prefix("next-").unwrap_or(version);
        let (major, rest) = version.split_once('.')?;
        let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
        Some(TmuxVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

/// A tmux program and the server it talks to.
#[derive(Debug, Clone)]
pub struct Tmux {
    program: PathBuf,
    socket: Option<String>,
}

/// What `new-session` needs.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// The session name.
    pub session: &'a str,
    /// The pane's working directory.
    pub cwd: &'a Path,
    /// Variables set in the pane's environment.
    pub environment: &'a [(String, String)],
    /// The command run in the pane.
    pub command: &'a [String],
}

/// What one look at a session's pane found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneLookup {
    /// The pane's process id.
    Found(u32),
    /// The session exists but tmux gave no pid yet.
    NotYet,
    /// The session does not exist (any more).
    SessionGone,
}

impl Tmux {
    /// The tmux server selected by `MOSAIC_TMUX_SOCKET` in this run's environment.
    pub fn socket_from_env(context: &Context<'_>) -> Option<String> {
        context.env(SOCKET_ENV).filter(|value| !value.is_empty())
    }

    /// Finds `tmux` on this run's `PATH`; a clear error naming the fix when it is not
    /// installed.
    pub fn locate(context: &Context<'_>, socket: Option<String>) -> Result<Tmux> {
        match find_program("tmux", context.env("PATH").as_deref()) {
            Some(program) => Ok(Tmux { program, socket }),
            None => bail!(
                "tmux is not installed (no `tmux` on PATH); mosaic fleet runs agents in tmux \
                 sessions: install it (Debian/Ubuntu: `sudo apt-get install tmux`, \
                 Fedora: `sudo dnf install tmux`, macOS: `brew install tmux`) and retry"
            ),
        }
    }

    /// The server, for messages: `the default tmux server` or `tmux server -L NAME`.
    pub fn describe_server(&self) -> String {
        match &self.socket {
            None => "the default tmux server".to_string(),
            Some(socket) => {
                let [flag, value] = socket_arguments(socket);
                format!("tmux server {} {}", flag, value)
            }
        }
    }

    /// The `MOSAIC_TMUX_SOCKET` value this talks to.
    pub fn socket(&self) -> Option<&str> {
        self.socket.as_deref()
    }

    /// A tmux command line for this server, with `TMUX` cleared so an explicit
    /// socket is never overridden by the tmux the caller may be running inside.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        if let Some(socket) = &self.socket {
            command.args(socket_arguments(socket));
            command.env_remove("TMUX");
        }
        command.stdin(Stdio::null());
        command
    }

    fn output(&self, args: &[OsString]) -> Result<Output> {
        let mut command = self.command();
        command.args(args);
        command
            .output()
            .with_context(|| format!("cannot run {}", self.program.display()))
    }

    /// `tmux -V`, checked against the oldest supported release.
    pub fn version(&self) -> Result<Option<TmuxVersion>> {
        let output = self.output(&["-V".into()])?;
        let text = String::from_utf8_lossy(&output.stdout);
        let version = TmuxVersion::parse(&text);
        if let Some(found) = version {
            if found < MINIMUM_VERSION {
                bail!(
                    "{} is {}; mosaic fleet needs tmux {}.{} or later: upgrade tmux",
                    self.program.display(),
                    text.trim(),
                    MINIMUM_VERSION.major,
                    MINIMUM_VERSION.minor
                );
            }
        }
        Ok(version)
    }

    /// Whether the session exists on this server.
    pub fn has_session(&self, session: &str) -> Result<bool> {
        let output = self.output(&["has-session".into(), "-t".into(), target(session)])?;
        Ok(output.status.success())
    }

    /// Creates a detached session running the command.
    pub fn new_session(
        &self,
        version: Option<TmuxVersion>,
        request: &NewSession<'_>,
    ) -> Result<()> {
        let output = self.output(&new_session_arguments(version, request))?;
        if !output.status.success() {
            let reason = String::from_utf8_lossy(&output.stderr).trim().to_string();
            bail!(
                "tmux could not create session `{}` on {}: {reason}",
                request.session,
                self.describe_server()
            );
        }
        Ok(())
    }

    /// One look at the pid of the session's (first) pane.
    pub fn pane_pid(&self, session: &str) -> Result<PaneLookup> {
        let output = self.output(&[
            "list-panes".into(),
            "-t".into(),
            target(session),
            "-F".into(),
            "#{pane_pid}".into(),
        ])?;
        if !output.status.success() {
            return Ok(PaneLookup::SessionGone);
        }
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(
            match text.lines().next().map(str::trim).map(str::parse::<u32>) {
                Some(Ok(pid)) if pid > 0 => PaneLookup::Found(pid),
                _ => PaneLookup::NotYet,
            },
        )
    }

    /// Types keys into the session's active pane (tmux key names such as `C-c`).
    pub fn send_keys(&self, session: &str, keys: &[&str]) -> Result<()> {
        let mut args: Vec<OsString> = vec!["send-keys".into(), "-t".into(), pane_target(session)];
        args.extend(keys.iter().map(OsString::from));
        let output = self.output(&args)?;
        if !output.status.success() {
            bail!(
                "tmux could not send keys to session `{session}`: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// Types `text` into the session's active pane exactly as written: it goes to
    /// tmux on stdin (`load-buffer -`, so never through argv and never read as key
    /// names such as `C-c`) and is pasted with `paste-buffer -p`, so a program that
    /// asked for bracketed paste gets it as one paste and newlines do not submit
    /// it line by line; other programs see each newline as Enter. The buffer has a
    /// name of its own and is deleted after the paste.
    pub fn paste_text(&self, session: &str, text: &str) -> Result<()> {
        use std::io::Write as _;

        let buffer = format!(
            "mosaic-send-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_nanos())
        );
        let mut load = self.command();
        load.args(["load-buffer", "-b", &buffer, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = load
            .spawn()
            .with_context(|| format!("cannot run {}", self.program.display()))?;
        let written = child
            .stdin
            .take()
            .context("no stdin for tmux load-buffer")?
            .write_all(text.as_bytes());
        let output = child
            .wait_with_output()
            .with_context(|| format!("cannot run {}", self.program.display()))?;
        written.context("cannot hand the text to tmux load-buffer")?;
        if !output.status.success() {
            bail!(
                "tmux could not take the text for session `{session}`: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let output = self.output(&[
            "paste-buffer".into(),
            "-p".into(),
            "-d".into(),
            "-b".into(),
            buffer.as_str().into(),
            "-t".into(),
            pane_target(session),
        ])?;
        if !output.status.success() {
            let _ = self.output(&["delete-buffer".into(), "-b".into(), buffer.into()]);
            bail!(
                "tmux could not paste into session `{session}`: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// Kills the session (tmux hangs up its panes' processes). A session that is
    /// already gone is not an error.
    pub fn kill_session(&self, session: &str) -> Result<()> {
        let output = self.output(&["kill-session".into(), "-t".into(), target(session)])?;
        if !output.status.success() && self.has_session(session)? {
            bail!(
                "tmux could not kill session `{session}`: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }

    /// The last `lines` lines of the pane (history included), without the blank
    /// lines below the cursor.
    pub fn capture_pane(&self, session: &str, lines: usize) -> Result<String> {
        let output = self.output(&[
            "capture-pane".into(),
            "-p".into(),
            "-J".into(),
            "-t".into(),
            pane_target(session),
            "-S".into(),
            format!("-{lines}").into(),
        ])?;
        if !output.status.success() {
            bail!(
                "tmux could not capture session `{session}`: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(last_lines(&String::from_utf8_lossy(&output.stdout), lines))
    }

    /// Puts the user's terminal on the session: `switch-client` when `inside` is
    /// the `TMUX` value of a client of this same server, else `attach-session`.
    /// Returns tmux's exit code once the user detaches.
    pub fn attach(&self, session: &str, inside: Option<&str>) -> Result<i32> {
        let switch = inside.is_some_and(|value| self.serves_client(value));
        let mut command = self.command();
        if switch {
            command.args(["switch-client", "-t"]);
        } else {
            // Attaching from inside another tmux needs TMUX unset (tmux refuses to
            // nest otherwise); the session is on a different server anyway.
            command.env_remove("TMUX").args(["attach-session", "-t"]);
        }
        command
            .arg(target(session))
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit());
        let status = command
            .status()
            .with_context(|| format!("cannot run {}", self.program.display()))?;
        Ok(status.code().unwrap_or(1))
    }

    /// Whether a client whose `TMUX` variable is `tmux_env` (`socket,pid,session`)
    /// is connected to this server.
    fn serves_client(&self, tmux_env: &str) -> bool {
        let client_socket = tmux_env.split(',').next().unwrap_or_default();
        match &self.socket {
            None => true,
            Some(socket) if socket.contains('/') => Path::new(socket) == Path::new(client_socket),
            Some(name) => Path::new(client_socket)
                .file_name()
                .is_some_and(|file_name| file_name == name.as_str()),
        }
    }
}

/// `-S PATH` for a socket path, `-L NAME` for a socket name.
fn socket_arguments(socket: &str) -> [&str; 2] {
    if socket.contains('/') {
        ["-S", socket]
    } else {
        ["-L", socket]
    }
}

/// A session target that matches the name exactly.
fn target(session: &str) -> OsString {
    format!("={session}").into()
}

/// The active pane of a session.
fn pane_target(session: &str) -> OsString {
    format!("={session}:").into()
}

/// The `new-session` arguments. With tmux 3.2 and later the environment goes in
/// `-e` flags; older releases get it through `env NAME=VALUE… COMMAND`, which execs
/// the command so the pane pid is still the command's.
pub fn new_session_arguments(
    version: Option<TmuxVersion>,
    request: &NewSession<'_>,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "new-session".into(),
        "-d".into(),
        "-s".into(),
        request.session.into(),
        "-c".into(),
        request.cwd.into(),
    ];
    let flags_supported = version.is_none_or(|found| found >= SESSION_ENVIRONMENT_VERSION);
    let assignments = request
        .environment
        .iter()
        .map(|(name, value)| format!("{name}={value}"));
    let mut command: Vec<OsString> = Vec::new();
    if flags_supported {
        for assignment in assignments {
            args.push("-e".into());
            args.push(assignment.into());
        }
        command.extend(request.command.iter().map(OsString::from));
    } else {
        command.push("env".into());
        command.extend(assignments.map(OsString::from));
        match request.command {
            // One word is a shell command line for tmux; keep that meaning.
            [line] => command.extend(["sh".into(), "-c".into(), OsString::from(line)]),
            words => command.extend(words.iter().map(OsString::from)),
        }
    }
    args.push("--".into());
    args.extend(command);
    args
}

/// The last `count` lines of `text`, ignoring blank lines at its end.
fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .iter()
        .rposition(|line| !line.trim().is_empty())
        .map_or(0, |index| index + 1);
    let start = end.saturating_sub(count);
    let mut kept = lines[start..end].join("\n");
    if !kept.is_empty() {
        kept.push('\n');
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_tmux_dash_v() {
        let version = |text| TmuxVersion::parse(text);
        assert_eq!(
            version("tmux 3.3a\n"),
            Some(TmuxVersion { major: 3, minor: 3 })
        );
        assert_eq!(
            version("tmux next-3.4"),
            Some(TmuxVersion { major: 3, minor: 4 })
        );
        assert_eq!(
            version("tmux 3.2-rc2"),
            Some(TmuxVersion { major: 3, minor: 2 })
        );
        assert_eq!(
            version("tmux 2.9a"),
            Some(TmuxVersion { major: 2, minor: 9 })
        );
        assert_eq!(version("tmux master"), None);
        assert!(version("tmux 2.9a").unwrap() < MINIMUM_VERSION);
    }

    fn request<'a>(command: &'a [String], environment: &'a [(String, String)]) -> NewSession<'a> {
        NewSession {
            session: "mosaic-a1",
            cwd: Path::new("/work"),
            environment,
            command,
        }
    }

    fn strings(args: Vec<OsString>) -> Vec<String> {
        args.into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    #[test]
    fn new_session_passes_the_environment_with_dash_e_on_recent_tmux() {
        let command = vec!["sleep".to_string(), "100".to_string()];
        let environment = vec![("MOSAIC_AGENT".to_string(), "a1".to_string())];
        let args = strings(new_session_arguments(
            Some(TmuxVersion { major: 3, minor: 3 }),
            &request(&command, &environment),
        ));
        assert_eq!(
            args,
            [
                "new-session",
                "-d",
                "-s",
                "mosaic-a1",
                "-c",
                "/work",
                "-e",
                "MOSAIC_AGENT=a1",
                "--",
                "sleep",
                "100"
            ]
        );
        let unknown = strings(new_session_arguments(
            None,
            &request(&command, &environment),
        ));
        assert_eq!(unknown, args);
    }

    #[test]
    fn new_session_uses_env_on_tmux_before_3_2() {
        let environment = vec![("MOSAIC_AGENT".to_string(), "a1".to_string())];
        let old = Some(TmuxVersion { major: 3, minor: 1 });
        let command = vec!["sleep".to_string(), "100".to_string()];
        let args = strings(new_session_arguments(old, &request(&command, &environment)));
        assert_eq!(&args[6..], ["--", "env", "MOSAIC_AGENT=a1", "sleep", "100"]);
        let line = vec!["sleep 1; echo done".to_string()];
        let args = strings(new_session_arguments(old, &request(&line, &environment)));
        assert_eq!(
            &args[6..],
            [
                "--",
                "env",
                "MOSAIC_AGENT=a1",
                "sh",
                "-c",
                "sleep 1; echo done"
            ]
        );
    }

    #[test]
    fn sockets_select_by_path_or_name() {
        assert_eq!(socket_arguments("/tmp/x.sock"), ["-S", "/tmp/x.sock"]);
        assert_eq!(socket_arguments("tests"), ["-L", "tests"]);
        let named = Tmux {
            program: PathBuf::from("tmux"),
            socket: Some("tests".into()),
        };
        assert!(named.serves_client("/tmp/tmux-0/tests,123,0"));
        assert!(!named.serves_client("/tmp/tmux-0/default,123,0"));
        let by_path = Tmux {
            program: PathBuf::from("tmux"),
            socket: Some("/run/x.sock".into()),
        };
        assert!(by_path.serves_client("/run/x.sock,1,2"));
        assert!(!by_path.serves_client("/tmp/tmux-0/default,1,2"));
        assert_eq!(by_path.describe_server(), "tmux server -S /run/x.sock");
    }

    #[test]
    fn captured_panes_lose_trailing_blank_lines() {
        assert_eq!(last_lines("a\nb\nc\n\n\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\n", 10), "a\n");
        assert_eq!(last_lines("\n\n", 5), "");
    }
}

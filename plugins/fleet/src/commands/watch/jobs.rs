//! The slow actions of `fleet watch` (`fleet stop` waits for the runtime to exit,
//! `fleet diff` runs git) as child `mosaic fleet …` processes of this same binary,
//! their output collected by threads, so the view keeps drawing meanwhile.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;

use mosaic_plugin_api::anyhow::{Context as _, Result};
use mosaic_plugin_api::Context;

/// Variables a child must see as this run sees them (a caller may override them
/// for this run only).
const PASSED_ENV: [&str; 10] = [
    "PATH",
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "MOSAIC_CONFIG_DIR",
    "HB_RUN_DIR",
    "MOSAIC_TMUX_SOCKET",
    "CLAUDE_HOME",
    "CLAUDE_CONFIG_DIR",
];

/// Which action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// `fleet stop AGENT`.
    Stop,
    /// `fleet diff AGENT`.
    Diff,
}

/// A running child.
pub struct Job {
    /// What it does, for the footer (`stopping a1`).
    pub label: String,
    kind: JobKind,
    agent: String,
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// How a job ended.
pub struct Outcome {
    /// Which action.
    pub kind: JobKind,
    /// For which agent.
    pub agent: String,
    /// Whether it exited 0.
    pub success: bool,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl Outcome {
    /// The error to show: the child's last `error:` line, else its last line.
    pub fn error_line(&self) -> String {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        lines
            .iter()
            .rev()
            .find(|line| line.starts_with("error"))
            .or(lines.last())
            .map_or_else(
                || format!("`mosaic fleet {}` failed", self.words()),
                |line| line.to_string(),
            )
    }

    fn words(&self) -> String {
        match self.kind {
            JobKind::Stop => format!("stop {}", self.agent),
            JobKind::Diff => format!("diff {}", self.agent),
        }
    }
}

fn collect(mut reader: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = reader.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

impl Job {
    /// Starts `mosaic fleet stop|diff AGENT`.
    pub fn start(context: &Context<'_>, kind: JobKind, agent: &str) -> Result<Job> {
        let program = std::env::current_exe().context("cannot find the mosaic binary")?;
        let mut command = Command::new(program);
        let (words, label): (&[&str], String) = match kind {
            JobKind::Stop => (&["fleet", "stop"], format!("stopping agent {agent}")),
            JobKind::Diff => (&["fleet", "diff"], format!("reading the diff of {agent}")),
        };
        command
            .args(words)
            .arg(agent)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in PASSED_ENV {
            if let Some(value) = context.env(name) {
                command.env(name, value);
            }
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot run `mosaic {} {agent}`", words.join(" ")))?;
        let stdout = child.stdout.take().map(collect);
        let stderr = child.stderr.take().map(collect);
        Ok(Job {
            label,
            kind,
            agent: agent.to_string(),
            child,
            stdout,
            stderr,
        })
    }

    /// The outcome once the child has exited (`None` while it runs).
    pub fn finished(&mut self) -> Option<Outcome> {
        let status = match self.child.try_wait() {
            Ok(None) => return None,
            Ok(Some(status)) => Some(status),
            Err(_) => None,
        };
        let join = |handle: Option<JoinHandle<String>>| {
            handle
                .map(|handle| handle.join().unwrap_or_default())
                .unwrap_or_default()
        };
        Some(Outcome {
            kind: self.kind,
            agent: self.agent.clone(),
            success: status.is_some_and(|status| status.success()),
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        })
    }
}

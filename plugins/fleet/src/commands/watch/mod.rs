//! `mosaic fleet watch`: a full-screen live view of the fleet — every agent with
//! its liveness, activity, last tool, branch, uptime (and today's tokens and cost
//! when the gateway reports them), and the selected agent's last pane lines —
//! with keys to attach, send a line, stop, show the diff, filter and quit.
//!
//! The rows come from the run directory's files, like `fleet ps`; only the
//! selected agent's pane is read from tmux. The loop sleeps in the terminal's
//! event poll between refreshes, so an idle view costs one refresh per interval.
//! `stop` and `diff` run as child `mosaic fleet …` processes so the view keeps
//! drawing while they work. `MOSAIC_FLEET_WATCH_STATS=FILE` appends one JSON line
//! per refresh with its duration (for `plugins/fleet/bench.sh`).

mod jobs;
mod model;
mod screen;
mod view;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use mosaic_plugin_api::anyhow::{bail, Context as _, Result};
use mosaic_plugin_api::{ArgSpec, Command, CommandSpec, Context, Example, ValueType};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use serde::Deserialize;

use super::send::type_into;
use super::tmux_for;
use crate::gateway::{usage_today, UsageToday, PS_USAGE_BUDGET};
use crate::process::now_unix;
use crate::settings::Settings;
use crate::tmux::Tmux;
use jobs::{Job, JobKind};
use model::{load_rows, Model};
use screen::{wait_for_input, QuitHandlers, ScreenGuard, TerminalInput, Tty};
use view::{FrameData, Message, Mode};

/// The environment variable naming a file that gets one JSON line per refresh.
pub const STATS_ENV: &str = "MOSAIC_FLEET_WATCH_STATS";

/// The longest `--interval`.
const MAX_INTERVAL: u64 = 3600;

/// How often the gateway is asked for today's usage.
const USAGE_EVERY: Duration = Duration::from_secs(30);

/// The longest the loop sleeps without looking at signals and jobs.
const TICK: Duration = Duration::from_millis(250);

/// `mosaic fleet watch`.
pub struct Watch;

impl Command for Watch {
    type Options = WatchOptions;

    fn spec() -> CommandSpec {
        CommandSpec::new("watch", "A live full-screen view of the agents")
            .long_about(&format!(
                "A full-screen view of every agent, refreshed every --interval seconds: \
                 STATUS (alive/stale/dead from the heartbeat), ACTIVITY and LAST TOOL (from \
                 the hooks plugin), BRANCH (agents launched with --worktree), UPTIME, and \
                 TOKENS/COST today when the Mosaic gateway reports them; below, the \
                 selected agent's last pane lines.\n\n\
                 Keys: Up/Down (or k/j), PgUp/PgDn, Home/End select; Enter or a attaches \
                 (detach with C-b d to come back); s types a line into the agent and \
                 presses Enter (like `fleet send`); x stops it (asks first, like `fleet \
                 stop`); d shows `fleet diff`; / filters (every word must match the name, \
                 status, activity, tool or branch; Esc clears); q, Esc or Ctrl-C quits.\n\n\
                 Needs a terminal; colours follow NO_COLOR and --no-color. The terminal is \
                 restored on every exit, Ctrl-C, SIGTERM and a crash. {STATS_ENV}=FILE \
                 appends one JSON line per refresh with how long it took (benchmarks)."
            ))
            .arg(
                ArgSpec::option("interval", "Seconds between refreshes (1 to 3600)")
                    .short('n')
                    .value_name("SECONDS")
                    .value_type(ValueType::Unsigned)
                    .default_value("1"),
            )
            .arg(
                ArgSpec::option("filter", "Start with this filter")
                    .short('f')
                    .value_name("TEXT"),
            )
            .with_example(Example::new("fleet watch", "Watch every agent live").expect_exit_code(1))
            .with_example(
                Example::new("fleet watch --filter waiting", "Watch the agents that wait")
                    .expect_exit_code(1),
            )
    }

    fn run(context: &Context<'_>, options: WatchOptions) -> Result<i32> {
        watch(context, &options)
    }
}

/// What the command needs (its arguments, by name).
#[derive(Debug, Clone, Deserialize)]
pub struct WatchOptions {
    /// `--interval`: seconds between refreshes.
    pub interval: u64,
    /// `--filter`: the starting filter.
    #[serde(default)]
    pub filter: Option<String>,
}

/// Runs the view until the user quits.
pub fn watch(context: &Context<'_>, options: &WatchOptions) -> Result<i32> {
    if !(1..=MAX_INTERVAL).contains(&options.interval) {
        bail!(
            "--interval {}: expected a whole number of seconds from 1 to {MAX_INTERVAL}",
            options.interval
        );
    }
    if !(context.stdin_is_tty() && context.stdout_is_tty()) {
        bail!(
            "`mosaic fleet watch` needs a terminal on stdin and stdout; without one, use \
             `mosaic fleet ps` (or `mosaic fleet ps --json`)"
        );
    }
    let stats = match context.env(STATS_ENV).filter(|path| !path.is_empty()) {
        Some(path) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot open {STATS_ENV}={path} for appending"))?,
        ),
        None => None,
    };
    let mut view = View {
        context,
        thresholds: Settings::new(context).thresholds()?,
        interval: Duration::from_secs(options.interval),
        model: Model::default(),
        mode: Mode::Browse,
        pane: String::new(),
        message: None,
        job: None,
        stats,
        usage_asked: None,
        usage_unavailable: false,
    };
    view.model.filter = options.filter.clone().unwrap_or_default();
    let handlers = QuitHandlers::install();
    let mut guard = ScreenGuard::enter(Tty)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .context("cannot draw on the terminal")?;
    terminal.clear()?;
    view.run(&mut terminal, &mut guard, &handlers)?;
    drop(guard);
    drop(handlers);
    Ok(0)
}

type Screen = Terminal<CrosstermBackend<std::io::Stdout>>;

/// The view's state between frames.
struct View<'run, 'host> {
    context: &'run Context<'host>,
    thresholds: crate::status::Thresholds,
    interval: Duration,
    model: Model,
    mode: Mode,
    pane: String,
    message: Option<Message>,
    job: Option<Job>,
    stats: Option<File>,
    usage_asked: Option<Instant>,
    usage_unavailable: bool,
}

/// What a key asked for.
enum Action {
    Nothing,
    Redraw,
    Refresh,
    Attach(String),
    Quit,
}

impl View<'_, '_> {
    fn run(
        &mut self,
        terminal: &mut Screen,
        guard: &mut ScreenGuard<Tty>,
        handlers: &QuitHandlers,
    ) -> Result<()> {
        let mut next_refresh = Instant::now();
        loop {
            if handlers.quit_requested() {
                return Ok(());
            }
            if let Some(job) = &mut self.job {
                if let Some(outcome) = job.finished() {
                    self.job = None;
                    self.job_done(outcome);
                    next_refresh = Instant::now();
                }
            }
            if Instant::now() >= next_refresh {
                let started = Instant::now();
                let pane_started = self.refresh(terminal.size()?.height)?;
                let draw_started = Instant::now();
                self.draw(terminal)?;
                self.record_refresh(started, pane_started, draw_started);
                next_refresh = Instant::now() + self.interval;
            }
            let wait = next_refresh
                .saturating_duration_since(Instant::now())
                .min(TICK);
            // Events crossterm has already read come first; otherwise wait on the
            // terminal ourselves, so a terminal that went away ends the view.
            if !event::poll(Duration::ZERO).context("cannot read the terminal")? {
                match wait_for_input(wait) {
                    TerminalInput::Closed => return Ok(()),
                    TerminalInput::Quiet => continue,
                    TerminalInput::Ready => {
                        if !event::poll(Duration::ZERO).context("cannot read the terminal")? {
                            continue;
                        }
                    }
                }
            }
            let action = match event::read().context("cannot read the terminal")? {
                Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
                Event::Resize(_, _) => Action::Refresh,
                _ => Action::Nothing,
            };
            match action {
                Action::Nothing => {}
                Action::Redraw => self.draw(terminal)?,
                Action::Refresh => next_refresh = Instant::now(),
                Action::Quit => return Ok(()),
                Action::Attach(agent) => {
                    guard.suspend();
                    let outcome = self.attach(&agent);
                    guard.resume()?;
                    terminal.clear()?;
                    if let Err(error) = outcome {
                        self.set_error(&error);
                    }
                    next_refresh = Instant::now();
                }
            }
        }
    }

    /// Reads the agents (and the selected pane) again; returns when it started on
    /// the pane.
    fn refresh(&mut self, height: u16) -> Result<Instant> {
        let now = now_unix();
        let rows = load_rows(&self.context.fleet_run_dir(), now, self.thresholds)?;
        self.model.set_rows(rows);
        self.refresh_usage();
        let pane_started = Instant::now();
        self.pane = self.capture_selected(view::pane_height(height));
        Ok(pane_started)
    }

    /// Asks the gateway for today's usage now and then (at most 100 ms each time).
    fn refresh_usage(&mut self) {
        let due = self
            .usage_asked
            .is_none_or(|at| at.elapsed() >= USAGE_EVERY);
        if self.usage_unavailable || !due || self.model.rows.is_empty() {
            return;
        }
        self.usage_asked = Some(Instant::now());
        match usage_today(self.context, PS_USAGE_BUDGET) {
            UsageToday::Known(usage) => self.model.usage = Some(usage),
            UsageToday::NotInstalled => self.usage_unavailable = true,
            UsageToday::Unavailable(_) => self.model.usage = None,
        }
    }

    fn capture_selected(&self, lines: u16) -> String {
        let Some(row) = self.model.selected_row() else {
            return String::new();
        };
        if !row.status.may_be_running() {
            return format!("agent {} is {}: no pane to show", row.agent, row.status);
        }
        if lines == 0 {
            return String::new();
        }
        let tmux = Tmux::locate(
            self.context,
            row.tmux_socket
                .clone()
                .or_else(|| Tmux::socket_from_env(self.context)),
        );
        match tmux.and_then(|tmux| tmux.capture_pane(&row.session, usize::from(lines))) {
            Ok(text) => text.replace('\t', "    "),
            Err(error) => format!("{error:#}"),
        }
    }

    fn draw(&self, terminal: &mut Screen) -> Result<()> {
        let busy = self.job.as_ref().map(|job| job.label.as_str());
        let data = FrameData {
            model: &self.model,
            mode: &self.mode,
            pane: &self.pane,
            message: self.message.as_ref(),
            color: self.context.color(),
            busy,
        };
        terminal
            .draw(|frame| view::draw(frame, &data))
            .context("cannot draw on the terminal")?;
        Ok(())
    }

    /// Appends the refresh's timings to the stats file: the whole refresh, and its
    /// parts (reading the files and the gateway, the pane capture, the drawing).
    fn record_refresh(&mut self, started: Instant, pane_started: Instant, draw_started: Instant) {
        let Some(stats) = &mut self.stats else {
            return;
        };
        let now = Instant::now();
        let milliseconds = |duration: Duration| duration.as_secs_f64() * 1000.0;
        let _ = writeln!(
            stats,
            "{{\"refresh_ms\":{:.3},\"load_ms\":{:.3},\"pane_ms\":{:.3},\"draw_ms\":{:.3},\
             \"agents\":{},\"at\":{}}}",
            milliseconds(now - started),
            milliseconds(pane_started - started),
            milliseconds(draw_started - pane_started),
            milliseconds(now - draw_started),
            self.model.rows.len(),
            now_unix()
        );
    }

    fn set_error(&mut self, error: &mosaic_plugin_api::anyhow::Error) {
        self.message = Some(Message {
            text: format!("{error:#}"),
            error: true,
        });
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        match std::mem::replace(&mut self.mode, Mode::Browse) {
            Mode::Browse => self.on_browse_key(key),
            Mode::Filter(text) => self.on_typing_key(key, text, true),
            Mode::Send(text) => self.on_typing_key(key, text, false),
            Mode::ConfirmStop(agent) => {
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    self.start_job(JobKind::Stop, &agent);
                } else {
                    self.message = Some(Message {
                        text: format!("agent {agent} left running"),
                        error: false,
                    });
                }
                Action::Redraw
            }
            Mode::Diff {
                agent,
                text,
                scroll,
            } => {
                let lines = u16::try_from(text.lines().count()).unwrap_or(u16::MAX);
                let scroll = match key.code {
                    KeyCode::Char('q') | KeyCode::Esc => return Action::Redraw,
                    KeyCode::Down | KeyCode::Char('j') => scroll.saturating_add(1),
                    KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
                    KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(20),
                    KeyCode::PageUp => scroll.saturating_sub(20),
                    KeyCode::Home => 0,
                    KeyCode::End => lines.saturating_sub(1),
                    _ => scroll,
                };
                self.mode = Mode::Diff {
                    agent,
                    text,
                    scroll: scroll.min(lines.saturating_sub(1)),
                };
                Action::Redraw
            }
        }
    }

    fn on_browse_key(&mut self, key: KeyEvent) -> Action {
        let selected = self.model.selected.clone();
        let need_agent = |view: &mut Self| {
            view.message = Some(Message {
                text: "no agent selected".to_string(),
                error: true,
            });
            Action::Redraw
        };
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Action::Quit,
            KeyCode::Down | KeyCode::Char('j') => self.model.move_selection(1),
            KeyCode::Up | KeyCode::Char('k') => self.model.move_selection(-1),
            KeyCode::PageDown => self.model.move_selection(10),
            KeyCode::PageUp => self.model.move_selection(-10),
            KeyCode::Home | KeyCode::Char('g') => self.model.move_selection(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.model.move_selection(isize::MAX / 2),
            KeyCode::Char('/') => {
                self.mode = Mode::Filter(self.model.filter.clone());
                return Action::Redraw;
            }
            KeyCode::Enter | KeyCode::Char('a') => {
                return match selected {
                    Some(agent) => Action::Attach(agent),
                    None => need_agent(self),
                }
            }
            KeyCode::Char('s') => {
                if selected.is_none() {
                    return need_agent(self);
                }
                self.mode = Mode::Send(String::new());
                return Action::Redraw;
            }
            KeyCode::Char('x') => {
                match selected {
                    Some(agent) => self.mode = Mode::ConfirmStop(agent),
                    None => return need_agent(self),
                }
                return Action::Redraw;
            }
            KeyCode::Char('d') => {
                match selected {
                    Some(agent) => self.start_job(JobKind::Diff, &agent),
                    None => return need_agent(self),
                }
                return Action::Redraw;
            }
            _ => return Action::Nothing,
        }
        self.message = None;
        // A new selection shows its own pane at once.
        Action::Refresh
    }

    fn on_typing_key(&mut self, key: KeyEvent, mut text: String, filter: bool) -> Action {
        match key.code {
            KeyCode::Esc => {
                if filter {
                    self.model.set_filter(String::new());
                    return Action::Refresh;
                }
                return Action::Redraw;
            }
            KeyCode::Enter => {
                if filter {
                    self.model.set_filter(text);
                    return Action::Refresh;
                }
                self.send_line(&text);
                return Action::Redraw;
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(character) => text.push(character),
            _ => {}
        }
        if filter {
            // The table follows the filter as it is typed.
            self.model.set_filter(text.clone());
            self.mode = Mode::Filter(text);
            return Action::Refresh;
        }
        self.mode = Mode::Send(text);
        Action::Redraw
    }

    fn send_line(&mut self, text: &str) {
        let Some(row) = self.model.selected_row() else {
            return;
        };
        let agent = row.agent.clone();
        let outcome = super::running_agent(self.context, &agent)
            .and_then(|(tmux, session)| type_into(&tmux, &session, text, true));
        self.message = Some(match outcome {
            Ok(()) => Message {
                text: format!("sent to {agent}: {text}"),
                error: false,
            },
            Err(error) => Message {
                text: format!("{error:#}"),
                error: true,
            },
        });
    }

    fn attach(&self, agent: &str) -> Result<()> {
        let record = super::load_agent(self.context, agent)?;
        let tmux = tmux_for(self.context, &record)?;
        let session = record.session();
        if !tmux.has_session(&session)? {
            bail!("agent `{agent}` is not running (status {})", record.status);
        }
        tmux.attach(&session, self.context.env("TMUX").as_deref())?;
        Ok(())
    }

    fn start_job(&mut self, kind: JobKind, agent: &str) {
        if let Some(job) = &self.job {
            self.message = Some(Message {
                text: format!("wait: {} is still running", job.label),
                error: true,
            });
            return;
        }
        match Job::start(self.context, kind, agent) {
            Ok(job) => self.job = Some(job),
            Err(error) => self.set_error(&error),
        }
    }

    fn job_done(&mut self, outcome: jobs::Outcome) {
        match (outcome.kind, outcome.success) {
            (JobKind::Diff, true) => {
                self.mode = Mode::Diff {
                    agent: outcome.agent,
                    text: outcome.stdout,
                    scroll: 0,
                };
            }
            (JobKind::Stop, true) => {
                self.message = Some(Message {
                    text: format!("stopped agent {}", outcome.agent),
                    error: false,
                });
            }
            (_, false) => {
                self.message = Some(Message {
                    text: outcome.error_line(),
                    error: true,
                });
            }
        }
    }
}

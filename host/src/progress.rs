//! The progress service: spinners and bars on stderr while something is waited for,
//! drawn with `indicatif` for plugins (the `progress` host service, API 0.2.1) and
//! for the host's own waits (`plugins install`).
//!
//! Indicators are drawn only when they help: never with `-q` or `--json`, never
//! when stderr is not a terminal, without colour under `--no-color`/`NO_COLOR`, and
//! never for a wait shorter than [`REVEAL_DELAY`] — each starts hidden and appears
//! only if it is still running then, so quick waits do not flicker. Indicators
//! belong to a run: ids count from 1 within each run, `Finish` removes one, and the
//! end of a run removes whatever it left behind.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mosaic_plugin_api::ProgressEvent;

/// How long a wait runs before its indicator is drawn.
pub const REVEAL_DELAY: Duration = Duration::from_millis(300);

/// How often a visible spinner moves.
const TICK: Duration = Duration::from_millis(100);

/// The run id of the host's own indicators (plugin runs count from 1).
const HOST_RUN: u64 = 0;

/// One indicator.
struct Indicator {
    bar: ProgressBar,
    /// Added to the screen (after the delay).
    shown: bool,
}

#[derive(Default)]
struct Board {
    /// Created on the first indicator that is shown.
    screen: Option<MultiProgress>,
    /// By (run, id).
    indicators: HashMap<(u64, u64), Indicator>,
    /// The last id handed out in each run.
    last_id: HashMap<u64, u64>,
    /// Runs whose indicators are not drawn (a command run with `--json` through
    /// `invoke`, in a process that was not).
    hidden_runs: HashSet<u64>,
}

/// The progress indicators of this process.
pub struct Indicators {
    visible: bool,
    color: bool,
    board: Arc<Mutex<Board>>,
}

impl Indicators {
    /// Indicators that are drawn only when `visible` (not `-q`, not `--json`, and
    /// stderr is a terminal), in colour when `color`.
    pub fn new(visible: bool, color: bool) -> Indicators {
        Indicators {
            visible,
            color,
            board: Arc::new(Mutex::new(Board::default())),
        }
    }

    fn board(&self) -> MutexGuard<'_, Board> {
        lock(&self.board)
    }

    /// Handles one event of a plugin run; returns the new id for `Start`, else 0.
    pub fn handle(&self, run: u64, event: ProgressEvent) -> u64 {
        match event {
            ProgressEvent::Start { message, total } => self.start(run, &message, total),
            ProgressEvent::Update {
                id,
                message,
                position,
            } => {
                self.update(run, id, message, position);
                0
            }
            ProgressEvent::Finish { id } => {
                self.finish(run, id);
                0
            }
        }
    }

    /// Starts an indicator of `run`: a spinner, or a bar when `total` is given.
    /// Returns its id within the run.
    pub fn start(&self, run: u64, message: &str, total: Option<u64>) -> u64 {
        let mut board = self.board();
        let id = {
            let last = board.last_id.entry(run).or_default();
            *last += 1;
            *last
        };
        if !self.visible || board.hidden_runs.contains(&run) {
            return id;
        }
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
                .with_style(self.bar_style()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
                .with_style(self.spinner_style()),
        }
        .with_message(message.to_string());
        board
            .indicators
            .insert((run, id), Indicator { bar, shown: false });
        drop(board);
        let shared = Arc::clone(&self.board);
        std::thread::spawn(move || {
            std::thread::sleep(REVEAL_DELAY);
            reveal(&shared, (run, id));
        });
        id
    }

    /// Changes the text and/or position of an indicator.
    pub fn update(&self, run: u64, id: u64, message: Option<String>, position: Option<u64>) {
        let board = self.board();
        if let Some(indicator) = board.indicators.get(&(run, id)) {
            if let Some(message) = message {
                indicator.bar.set_message(message);
            }
            if let Some(position) = position {
                indicator.bar.set_position(position);
            }
        }
    }

    /// Removes an indicator from the screen.
    pub fn finish(&self, run: u64, id: u64) {
        let mut board = self.board();
        if let Some(indicator) = board.indicators.remove(&(run, id)) {
            clear(&board, indicator);
        }
    }

    /// Draws none of `run`'s indicators (until the run ends).
    pub fn hide_run(&self, run: u64) {
        self.board().hidden_runs.insert(run);
    }

    /// Removes every indicator a run left behind, when the run ends.
    pub fn end_run(&self, run: u64) {
        let mut board = self.board();
        board.last_id.remove(&run);
        board.hidden_runs.remove(&run);
        let keys: Vec<(u64, u64)> = board
            .indicators
            .keys()
            .filter(|(owner, _)| *owner == run)
            .copied()
            .collect();
        for key in keys {
            if let Some(indicator) = board.indicators.remove(&key) {
                clear(&board, indicator);
            }
        }
    }

    /// A spinner for a wait of the host itself; it disappears when the returned
    /// value is dropped.
    pub fn spinner(&self, message: &str) -> HostIndicator<'_> {
        HostIndicator {
            indicators: self,
            id: self.start(HOST_RUN, message, None),
        }
    }

    /// A bar for a wait of the host itself whose size is known (the bytes of a
    /// download); it disappears when the returned value is dropped.
    pub fn bar(&self, message: &str, total: u64) -> HostIndicator<'_> {
        HostIndicator {
            indicators: self,
            id: self.start(HOST_RUN, message, Some(total)),
        }
    }

    fn spinner_style(&self) -> ProgressStyle {
        let template = if self.color {
            "{spinner:.cyan} {msg}"
        } else {
            "{spinner} {msg}"
        };
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
    }

    fn bar_style(&self) -> ProgressStyle {
        let template = if self.color {
            "{spinner:.cyan} {msg} [{bar:30.cyan/blue}] {pos}/{len}"
        } else {
            "{spinner} {msg} [{bar:30}] {pos}/{len}"
        };
        ProgressStyle::with_template(template)
            .map(|style| style.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
    }
}

fn lock(board: &Mutex<Board>) -> MutexGuard<'_, Board> {
    board.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Draws an indicator that is still running after the delay. Under the board's
/// lock, so it cannot race with its own `finish`.
fn reveal(board: &Mutex<Board>, key: (u64, u64)) {
    let mut board = lock(board);
    let board = &mut *board;
    let Some(indicator) = board.indicators.get_mut(&key) else {
        return;
    };
    let screen = board
        .screen
        .get_or_insert_with(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    let bar = screen.add(indicator.bar.clone());
    bar.enable_steady_tick(TICK);
    indicator.shown = true;
}

fn clear(board: &Board, indicator: Indicator) {
    indicator.bar.finish_and_clear();
    if let (true, Some(screen)) = (indicator.shown, &board.screen) {
        screen.remove(&indicator.bar);
    }
}

/// A spinner of the host's own; see [`Indicators::spinner`].
pub struct HostIndicator<'a> {
    indicators: &'a Indicators,
    id: u64,
}

impl HostIndicator<'_> {
    /// Replaces the text.
    pub fn set_message(&self, message: &str) {
        self.indicators
            .update(HOST_RUN, self.id, Some(message.to_string()), None);
    }
}

impl HostIndicator<'_> {
    /// Moves a bar to `position` (of its total).
    pub fn set_position(&self, position: u64) {
        self.indicators
            .update(HOST_RUN, self.id, None, Some(position));
    }
}

impl Drop for HostIndicator<'_> {
    fn drop(&mut self) {
        self.indicators.finish(HOST_RUN, self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(indicators: &Indicators, run: u64) -> u64 {
        indicators.handle(
            run,
            ProgressEvent::Start {
                message: "waiting".into(),
                total: None,
            },
        )
    }

    #[test]
    fn ids_count_per_run_and_finish_removes() {
        let indicators = Indicators::new(true, false);
        assert_eq!(start(&indicators, 1), 1);
        assert_eq!(start(&indicators, 1), 2);
        assert_eq!(start(&indicators, 2), 1);
        assert_eq!(indicators.handle(1, ProgressEvent::Finish { id: 1 }), 0);
        assert_eq!(indicators.board().indicators.len(), 2);
        indicators.end_run(1);
        let board = indicators.board();
        assert_eq!(board.indicators.keys().collect::<Vec<_>>(), vec![&(2, 1)]);
    }

    #[test]
    fn a_quick_wait_is_never_shown() {
        let indicators = Indicators::new(true, true);
        let id = start(&indicators, 7);
        indicators.finish(7, id);
        std::thread::sleep(REVEAL_DELAY + Duration::from_millis(100));
        assert!(indicators.board().screen.is_none());
    }

    #[test]
    fn a_long_wait_is_shown_after_the_delay() {
        let indicators = Indicators::new(true, false);
        let id = start(&indicators, 3);
        assert!(!indicators.board().indicators[&(3, id)].shown);
        std::thread::sleep(REVEAL_DELAY + Duration::from_millis(200));
        assert!(indicators.board().indicators[&(3, id)].shown);
        indicators.end_run(3);
        assert!(indicators.board().indicators.is_empty());
    }

    #[test]
    fn hidden_indicators_draw_nothing_but_still_answer_ids() {
        let indicators = Indicators::new(false, false);
        let spinner = indicators.spinner("copying");
        spinner.set_message("still copying");
        assert_eq!(start(&indicators, 1), 1);
        assert!(indicators.board().indicators.is_empty());

        let shown = Indicators::new(true, false);
        shown.hide_run(4);
        assert_eq!(start(&shown, 4), 1);
        assert!(shown.board().indicators.is_empty());
        shown.end_run(4);
        assert_eq!(start(&shown, 4), 1);
        assert_eq!(shown.board().indicators.len(), 1);
    }
}

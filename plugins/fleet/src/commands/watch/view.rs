//! Drawing one frame of `fleet watch`: a header with the counts, the agents'
//! table, the selected agent's last pane lines, and a footer with the keys (or the
//! line being typed, or the last message). Colour only when allowed (`NO_COLOR`,
//! `--no-color`); the selection is shown reversed either way.

use std::time::Duration;

use mosaic_plugin_api::sdk::output::format_duration;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::model::{Model, WatchRow};
use crate::gateway::format_cost;
use crate::status::Status;

/// What the footer line is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Moving around; the footer lists the keys.
    Browse,
    /// Typing a filter.
    Filter(String),
    /// Typing a line to send to the selected agent.
    Send(String),
    /// Asking whether to stop the agent.
    ConfirmStop(String),
    /// Reading an agent's diff, scrolled down by the number of lines.
    Diff {
        /// The agent.
        agent: String,
        /// What `fleet diff` printed.
        text: String,
        /// The first line shown.
        scroll: u16,
    },
}

/// A line for the footer: what happened, and whether it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The text.
    pub text: String,
    /// Shown as an error.
    pub error: bool,
}

/// Everything one frame needs.
pub struct FrameData<'a> {
    /// The agents.
    pub model: &'a Model,
    /// The footer's mode.
    pub mode: &'a Mode,
    /// The selected agent's last pane lines (or why there are none).
    pub pane: &'a str,
    /// The last message, if any.
    pub message: Option<&'a Message>,
    /// Whether colour is allowed.
    pub color: bool,
    /// A job running in the background (`stopping a1`), if any.
    pub busy: Option<&'a str>,
}

/// The keys, as the footer lists them.
pub const KEYS_HELP: &str =
    "q quit  Up/Down select  Enter/a attach  s send  x stop  d diff  / filter";

/// How many pane lines fit under the table in a terminal `height` rows high.
pub fn pane_height(height: u16) -> u16 {
    let (_, pane, _) = split_heights(height);
    pane.saturating_sub(2)
}

/// Heights of the table, the pane box and the footer (a header line on top).
fn split_heights(height: u16) -> (u16, u16, u16) {
    let body = height.saturating_sub(2);
    let table = (body / 2).max(3);
    (table, body.saturating_sub(table), 1)
}

/// Draws the frame.
pub fn draw(frame: &mut Frame<'_>, data: &FrameData<'_>) {
    let area = frame.area();
    if let Mode::Diff {
        agent,
        text,
        scroll,
    } = data.mode
    {
        draw_diff(frame, area, agent, text, *scroll);
        return;
    }
    let (table_height, pane_box, footer) = split_heights(area.height);
    let chunks = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(table_height),
            Constraint::Length(pane_box),
            Constraint::Length(footer),
        ])
        .split(area);
    frame.render_widget(Paragraph::new(header(data)), chunks[0]);
    draw_table(frame, chunks[1], data);
    let title = match data.model.selected_row() {
        Some(row) => format!(" {} - last lines ", row.agent),
        None => " no agent selected ".to_string(),
    };
    frame.render_widget(
        Paragraph::new(data.pane).block(Block::default().borders(Borders::ALL).title(title)),
        chunks[2],
    );
    frame.render_widget(Paragraph::new(footer_line(data)), chunks[3]);
}

fn header(data: &FrameData<'_>) -> Line<'static> {
    let model = data.model;
    let counts: Vec<String> = model
        .status_counts()
        .into_iter()
        .map(|(status, count)| format!("{count} {status}"))
        .collect();
    let mut text = format!(
        "mosaic fleet watch - {} agent{}",
        model.rows.len(),
        if model.rows.len() == 1 { "" } else { "s" }
    );
    if !counts.is_empty() {
        text.push_str(&format!(" ({})", counts.join(", ")));
    }
    if !model.filter.is_empty() {
        text.push_str(&format!(
            " - filter \"{}\": {} shown",
            model.filter,
            model.visible().len()
        ));
    }
    Line::from(Span::styled(
        text,
        Style::default().add_modifier(Modifier::BOLD),
    ))
}

fn status_style(status: Status, color: bool) -> Style {
    if !color {
        return Style::default();
    }
    match status {
        Status::Alive => Style::default().fg(Color::Green),
        Status::Stale => Style::default().fg(Color::Yellow),
        Status::Dead | Status::Unknown => Style::default().fg(Color::Red),
        Status::Stopped | Status::Pruned => Style::default().fg(Color::DarkGray),
    }
}

/// Waiting agents need the user: they stand out.
fn state_style(row: &WatchRow, color: bool) -> Style {
    match row.state.as_deref() {
        Some(state) if state.starts_with("waiting") => {
            if color {
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default().add_modifier(Modifier::BOLD)
            }
        }
        _ => Style::default(),
    }
}

fn draw_table(frame: &mut Frame<'_>, area: Rect, data: &FrameData<'_>) {
    let model = data.model;
    let with_usage = model.usage.is_some();
    let mut headers = vec![
        "AGENT",
        "STATUS",
        "ACTIVITY",
        "LAST TOOL",
        "BRANCH",
        "UPTIME",
    ];
    if with_usage {
        headers.extend(["TOKENS", "COST"]);
    }
    let visible = model.visible();
    // Only the rows that fit are built (with 1,000 agents, building them all
    // would be most of a refresh).
    let fits = usize::from(area.height.saturating_sub(1)).max(1);
    let selected = model.selected_index();
    let offset = first_shown_row(selected.unwrap_or(0), fits, visible.len());
    let rows: Vec<Row<'_>> = visible
        .iter()
        .skip(offset)
        .take(fits)
        .map(|row| table_row(row, model, data.color))
        .collect();
    let mut widths = vec![
        Constraint::Min(12),
        Constraint::Length(8),
        Constraint::Min(14),
        Constraint::Min(16),
        Constraint::Length(12),
        Constraint::Min(12),
        Constraint::Length(10),
    ];
    if with_usage {
        widths.extend([Constraint::Length(10), Constraint::Length(10)]);
    }
    let table = Table::new(rows, widths)
        .header(Row::new(headers).style(Style::default().add_modifier(Modifier::BOLD)))
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let mut state = TableState::default().with_selected(selected.map(|index| index - offset));
    frame.render_stateful_widget(table, area, &mut state);
}

/// The first row shown so that row `selected` is on screen when `fits` rows fit:
/// the top until the selection passes the bottom, then the selection at the bottom.
fn first_shown_row(selected: usize, fits: usize, total: usize) -> usize {
    let offset = (selected + 1).saturating_sub(fits);
    offset.min(total.saturating_sub(fits))
}

fn table_row<'a>(row: &'a WatchRow, model: &Model, color: bool) -> Row<'a> {
    let dash = || "-".to_string();
    let mut cells = vec![
        Cell::from(row.agent.as_str()),
        Cell::from(row.status.as_str()).style(status_style(row.status, color)),
        Cell::from(row.state.clone().unwrap_or_else(dash)).style(state_style(row, color)),
        Cell::from(row.activity.as_str()),
        Cell::from(row.last_tool.clone().unwrap_or_else(dash)),
        Cell::from(row.branch.clone().unwrap_or_else(dash)),
        Cell::from(row.uptime_seconds.map_or_else(dash, |seconds| {
            format_duration(Duration::from_secs(seconds))
        })),
    ];
    if let Some(usage) = &model.usage {
        match usage.get(&row.agent) {
            Some(usage) => {
                cells.push(Cell::from(usage.tokens().to_string()));
                cells.push(Cell::from(format_cost(usage.cost_micros)));
            }
            None => cells.extend([Cell::from("-"), Cell::from("-")]),
        }
    }
    Row::new(cells)
}

fn footer_line(data: &FrameData<'_>) -> Line<'static> {
    let typing = |prompt: &str, text: &str| {
        Line::from(format!(
            "{prompt}{text}_   (Enter to confirm, Esc to cancel)"
        ))
    };
    match data.mode {
        Mode::Filter(text) => typing("filter: ", text),
        Mode::Send(text) => {
            let agent = data
                .model
                .selected_row()
                .map_or("?", |row| row.agent.as_str());
            typing(&format!("send to {agent}: "), text)
        }
        Mode::ConfirmStop(agent) => Line::from(format!("stop agent {agent}? (y/n)")),
        Mode::Browse | Mode::Diff { .. } => {
            if let Some(busy) = data.busy {
                return Line::from(format!("{busy}..."));
            }
            match data.message {
                Some(message) => {
                    let style = if message.error && data.color {
                        Style::default().fg(Color::Red)
                    } else if message.error {
                        Style::default().add_modifier(Modifier::BOLD)
                    } else {
                        Style::default()
                    };
                    Line::from(Span::styled(message.text.clone(), style))
                }
                None => Line::from(KEYS_HELP),
            }
        }
    }
}

fn draw_diff(frame: &mut Frame<'_>, area: Rect, agent: &str, text: &str, scroll: u16) {
    let chunks = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(1), Constraint::Length(1)])
        .split(area);
    let body = if text.trim().is_empty() {
        "no changes".to_string()
    } else {
        text.replace('\t', "    ")
    };
    frame.render_widget(
        Paragraph::new(body).scroll((scroll, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" fleet diff {agent} ")),
        ),
        chunks[0],
    );
    frame.render_widget(
        Paragraph::new("Up/Down/PgUp/PgDn scroll  q/Esc back"),
        chunks[1],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_stays_on_screen() {
        assert_eq!(first_shown_row(0, 10, 1000), 0);
        assert_eq!(first_shown_row(9, 10, 1000), 0);
        assert_eq!(first_shown_row(10, 10, 1000), 1);
        assert_eq!(first_shown_row(999, 10, 1000), 990);
        assert_eq!(first_shown_row(3, 10, 5), 0);
    }

    #[test]
    fn the_pane_gets_what_the_table_leaves() {
        assert_eq!(split_heights(40), (19, 19, 1));
        assert_eq!(pane_height(40), 17);
        assert_eq!(pane_height(4), 0, "tiny terminals do not underflow");
    }
}

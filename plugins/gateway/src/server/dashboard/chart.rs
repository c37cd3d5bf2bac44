//! `GET /api/usage/chart.svg?since=&until=`: tokens per UTC day as a bar chart
//! drawn on the server (an SVG the usage page shows as an image), each bar labelled
//! with its day's cost. An admin's chart counts every request; another user's only
//! those made with their own keys (as `GET /api/usage`).
//!
//! `since` and `until` take what `GET /api/usage` takes (`YYYY-MM-DD`, `today`,
//! `7d`); empty or absent `since` means the last 30 days. Every text in the SVG is
//! XML-escaped ([`escape_xml`]); the answer also carries a CSP that forbids scripts,
//! should the image ever be opened on its own.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::super::auth::SignedIn;
use super::super::error::ApiError;
use super::super::AppState;
use crate::clock::{civil_from_days, days_from_civil, unix_now};
use crate::keys::FieldNames;
use crate::server::usage_api::{query_parameters, summarize_for};
use crate::usage_report::{format_usd, usage_query};

/// The range shown when the request names no start.
pub const DEFAULT_SINCE: &str = "30d";
/// The most days one chart draws (the newest ones).
pub const MAX_DAYS: usize = 400;
/// How far apart two cost labels above the bars must be (they are about 40 units wide).
const COST_LABEL_SPACING: f64 = 48.0;
/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// The SVG's own CSP: nothing may load or run, only its inline style applies.
const SVG_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 40.0;

/// One bar: a day, its tokens and its cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayBar {
    /// The label under the bar (a `YYYY-MM-DD` date from the store).
    pub day: String,
    /// Every token used that day.
    pub tokens: u64,
    /// Its cost, millionths of a US dollar.
    pub cost_micros: i64,
}

/// `text` safe inside XML text and attribute values.
pub fn escape_xml(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            // Characters XML 1.0 does not allow at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Tokens for people: `950`, `12.3k`, `4.5M`.
fn compact(tokens: u64) -> String {
    match tokens {
        0..=999 => tokens.to_string(),
        1_000..=999_999 => format!("{:.1}k", tokens as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}M", tokens as f64 / 1e6),
        _ => format!("{:.1}G", tokens as f64 / 1e9),
    }
}

fn day_number(day: &str) -> Option<i64> {
    let mut parts = day.splitn(3, '-').map(|part| part.parse::<i64>().ok());
    Some(days_from_civil(
        parts.next()??,
        parts.next()??,
        parts.next()??,
    ))
}

fn day_label(day_number: i64) -> String {
    let (year, month, day) = civil_from_days(day_number);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The bars of every day from `range`'s first to its last day (day numbers since
/// 1970-01-01; either end defaults to the first or last bar), days without usage
/// as zeros (when every label is a date), the newest [`MAX_DAYS`] at most. No
/// bars stay no bars: the chart then says there was no usage.
pub fn fill_gaps(bars: Vec<DayBar>, range: (Option<i64>, Option<i64>)) -> Vec<DayBar> {
    let numbers: Option<Vec<i64>> = bars.iter().map(|bar| day_number(&bar.day)).collect();
    let (Some(numbers), Some(first_bar), Some(last_bar)) = (
        numbers,
        bars.first().and_then(|bar| day_number(&bar.day)),
        bars.last().and_then(|bar| day_number(&bar.day)),
    ) else {
        return bars;
    };
    let first = range.0.map_or(first_bar, |day| day.min(first_bar));
    let last = range.1.map_or(last_bar, |day| day.max(last_bar));
    if last < first || (last - first) as usize >= MAX_DAYS * 4 {
        return bars;
    }
    let mut filled = Vec::new();
    let mut known = numbers.into_iter().zip(bars).peekable();
    for day in first..=last {
        match known.next_if(|(number, _)| *number == day) {
            Some((_, bar)) => filled.push(bar),
            None => filled.push(DayBar {
                day: day_label(day),
                tokens: 0,
                cost_micros: 0,
            }),
        }
    }
    let skip = filled.len().saturating_sub(MAX_DAYS);
    filled.split_off(skip)
}

/// The chart of `bars` (oldest first) as an SVG document.
pub fn render_chart(bars: &[DayBar]) -> String {
    let mut svg = String::with_capacity(4096 + bars.len() * 400);
    let total_tokens: u64 = bars.iter().map(|bar| bar.tokens).sum();
    let total_cost: i64 = bars.iter().map(|bar| bar.cost_micros).sum();
    let description = format!(
        "Tokens per day: {} days, {} tokens, ${} in total",
        bars.len(),
        total_tokens,
        format_usd(total_cost)
    );
    svg.push_str(&format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{}\">\n",
        escape_xml(&description)
    ));
    svg.push_str(&format!("<title>{}</title>\n", escape_xml(&description)));
    svg.push_str(
        "<style>\n\
         text { font: 11px system-ui, sans-serif; fill: #333; }\n\
         .bar { fill: #3b6fd4; } .axis { stroke: #999; stroke-width: 1; }\n\
         .cost { fill: #555; font-size: 9px; } .empty { font-size: 14px; }\n\
         @media (prefers-color-scheme: dark) {\n\
           text { fill: #ddd; } .cost { fill: #bbb; } .bar { fill: #7aa2f7; } .axis { stroke: #666; }\n\
         }\n\
         </style>\n",
    );
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let baseline = TOP + plot_height;
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{baseline}\" x2=\"{}\" y2=\"{baseline}\"/>\n",
        WIDTH - RIGHT
    ));
    let highest = bars.iter().map(|bar| bar.tokens).max().unwrap_or(0);
    if bars.is_empty() || highest == 0 {
        svg.push_str(&format!(
            "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">No usage in this range</text>\n",
            WIDTH / 2.0,
            HEIGHT / 2.0
        ));
        svg.push_str("</svg>\n");
        return svg;
    }
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n\
         <text x=\"{}\" y=\"{baseline}\" text-anchor=\"end\">0</text>\n\
         <text x=\"{LEFT}\" y=\"16\">Tokens per day (UTC), ${} in total</text>\n",
        LEFT - 6.0,
        TOP + 4.0,
        escape_xml(&compact(highest)),
        LEFT - 6.0,
        escape_xml(&format_usd(total_cost))
    ));
    let slot = plot_width / bars.len() as f64;
    let bar_width = (slot * 0.8).max(1.0);
    // Labels every `step` bars so they never overlap.
    let label_step = (bars.len() as f64 / 12.0).ceil().max(1.0) as usize;
    // A day's cost is written above its bar where it has room: at least
    // COST_LABEL_SPACING from the last one written (every bar's tooltip has it too).
    let mut last_cost_label = f64::NEG_INFINITY;
    for (index, bar) in bars.iter().enumerate() {
        let height = plot_height * bar.tokens as f64 / highest as f64;
        let x = LEFT + slot * index as f64 + (slot - bar_width) / 2.0;
        let y = baseline - height;
        let tooltip = format!(
            "{}: {} tokens, ${}",
            bar.day,
            bar.tokens,
            format_usd(bar.cost_micros)
        );
        svg.push_str(&format!(
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_width:.1}\" height=\"{height:.1}\">\
             <title>{}</title></rect>\n",
            escape_xml(&tooltip)
        ));
        let center = x + bar_width / 2.0;
        if bar.tokens > 0 && center - last_cost_label >= COST_LABEL_SPACING {
            last_cost_label = center;
            svg.push_str(&format!(
                "<text class=\"cost\" x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\">${}</text>\n",
                y - 4.0,
                escape_xml(&format_usd(bar.cost_micros))
            ));
        }
        if index % label_step == 0 {
            // `YYYY-MM-DD` shows as `MM-DD`; any other label as it is.
            let label = match bar.day.as_bytes() {
                [_, _, _, _, b'-', ..] if bar.day.len() == 10 => &bar.day[5..],
                _ => bar.day.as_str(),
            };
            svg.push_str(&format!(
                "<text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
                baseline + 16.0,
                escape_xml(label)
            ));
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// `GET /api/usage/chart.svg`.
pub async fn usage_chart(
    State(state): State<AppState>,
    signed_in: SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let [since, until] = query_parameters(query.as_deref(), ["since", "until"])?;
    let mut query = usage_query(
        "day",
        Some(since.unwrap_or(DEFAULT_SINCE)),
        until,
        unix_now(),
        FieldNames::Json,
    )
    .map_err(ApiError::invalid)?;
    let rows = summarize_for(&state, &signed_in, &mut query).await?;
    // The days asked for: since the first, until the last included (today when
    // `until` is not given).
    let first_day = query.since_ms.map(|ms| ms.div_euclid(DAY_MS));
    let last_day = Some(query.until_ms.map_or(unix_now().div_euclid(86_400), |ms| {
        (ms - 1).div_euclid(DAY_MS)
    }));
    let bars = fill_gaps(
        rows.into_iter()
            .map(|row| DayBar {
                tokens: row.total_tokens(),
                cost_micros: row.cost_micros,
                day: row.group,
            })
            .collect(),
        (first_day, last_day),
    );
    let mut response = render_chart(&bars).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SVG_POLICY),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(day: &str, tokens: u64, cost_micros: i64) -> DayBar {
        DayBar {
            day: day.to_string(),
            tokens,
            cost_micros,
        }
    }

    #[test]
    fn hostile_labels_are_escaped() {
        let payloads = [
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "'><svg onload=alert(1)>",
            "&lt;already&gt; & more",
        ];
        let bars: Vec<DayBar> = payloads
            .iter()
            .enumerate()
            .map(|(index, label)| bar(label, 100 + index as u64, 1234))
            .collect();
        let svg = render_chart(&bars);
        for forbidden in ["<script", "<img", "<svg onload", "onerror=alert(1)>"] {
            assert!(!svg.contains(forbidden), "{forbidden} in {svg}");
        }
        assert!(
            svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{svg}"
        );
        assert!(svg.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
        assert!(svg.contains("&amp;lt;already&amp;gt; &amp; more"));
        // Only the document's own elements: every `<` opens a known tag.
        for tag in svg.split('<').skip(1) {
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(
                ["svg", "title", "style", "line", "text", "rect"].contains(&name.as_str()),
                "unexpected element {name:?} in {svg}"
            );
        }
    }

    #[test]
    fn control_characters_and_quotes_are_escaped() {
        assert_eq!(escape_xml("a\u{1}b'\"c"), "ab&apos;&quot;c");
    }

    #[test]
    fn bars_have_costs_and_gaps_are_zero_days() {
        let bars = fill_gaps(
            vec![
                bar("2025-02-27", 1500, 12_345),
                bar("2025-03-02", 300, 1_000),
            ],
            (None, None),
        );
        let days: Vec<&str> = bars.iter().map(|bar| bar.day.as_str()).collect();
        assert_eq!(
            days,
            ["2025-02-27", "2025-02-28", "2025-03-01", "2025-03-02"]
        );
        let svg = render_chart(&bars);
        assert!(svg.contains(">$0.0123<"), "{svg}");
        assert!(svg.contains(">02-28<"), "{svg}");
        assert!(svg.contains(">1.5k<"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 4);
    }

    #[test]
    fn the_asked_range_is_drawn_whole() {
        let first = day_number("2025-03-01").unwrap();
        let last = day_number("2025-03-07").unwrap();
        let bars = fill_gaps(vec![bar("2025-03-03", 10, 1)], (Some(first), Some(last)));
        let days: Vec<&str> = bars.iter().map(|bar| bar.day.as_str()).collect();
        assert_eq!(
            days,
            [
                "2025-03-01",
                "2025-03-02",
                "2025-03-03",
                "2025-03-04",
                "2025-03-05",
                "2025-03-06",
                "2025-03-07"
            ]
        );
        assert_eq!(bars[2].tokens, 10);
        assert!(fill_gaps(Vec::new(), (Some(first), Some(last))).is_empty());
    }

    #[test]
    fn cost_labels_never_crowd_each_other() {
        let first = day_number("2025-01-01").unwrap();
        let bars: Vec<DayBar> = (0..60)
            .map(|offset| bar(&day_label(first + offset), 100, 10_000))
            .collect();
        let svg = render_chart(&bars);
        let labels: Vec<f64> = svg
            .lines()
            .filter(|line| line.starts_with("<text class=\"cost\""))
            .map(|line| {
                let x = line.split("x=\"").nth(1).unwrap();
                x[..x.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert!(labels.len() > 1 && labels.len() < bars.len(), "{svg}");
        assert!(labels
            .windows(2)
            .all(|pair| pair[1] - pair[0] >= COST_LABEL_SPACING));
        // A lone day in a long range still says what it cost.
        let mut sparse = fill_gaps(vec![bar("2025-01-20", 5, 12_345)], (Some(first), None));
        sparse.extend((0..10).map(|offset| bar(&day_label(first + 20 + offset), 0, 0)));
        assert!(render_chart(&sparse).contains(">$0.0123<"));
    }

    #[test]
    fn an_empty_range_says_so() {
        assert!(render_chart(&[]).contains("No usage in this range"));
    }

    #[test]
    fn long_ranges_keep_the_newest_days() {
        let bars = fill_gaps(
            vec![bar("2020-01-01", 1, 1), bar("2021-12-31", 2, 2)],
            (None, None),
        );
        assert_eq!(bars.len(), MAX_DAYS);
        assert_eq!(bars.last().unwrap().day, "2021-12-31");
    }
}

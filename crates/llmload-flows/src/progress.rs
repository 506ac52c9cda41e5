//! Progress on stderr, drawn from the engine's snapshots; never on the
//! request path.
//!
//! On a terminal one status line, fitted to the terminal's width, is redrawn
//! in place four times a second. Otherwise (a log, a pipe) the same line is
//! printed plainly every few seconds, so that a long run shows it is alive.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use llmload_engine::{Constraints, Phase, Progress};
use tokio::sync::watch;

use crate::plan::Plan;

/// How often the status line is redrawn on a terminal.
const REDRAW_EVERY: Duration = Duration::from_millis(250);
/// How often a plain status line is printed when stderr is not a terminal.
pub const PLAIN_EVERY: Duration = Duration::from_secs(5);
/// The width assumed when neither the terminal nor `$COLUMNS` gives one.
const DEFAULT_WIDTH: usize = 80;

/// Whether both stdout and stderr are terminals.
pub fn is_interactive() -> bool {
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// Columns of the terminal on stderr, else `$COLUMNS`, else 80.
pub fn width() -> usize {
    terminal_columns()
        .or_else(|| {
            std::env::var("COLUMNS")
                .ok()?
                .trim()
                .parse()
                .ok()
                .filter(|&c| c > 0)
        })
        .unwrap_or(DEFAULT_WIDTH)
}

#[allow(unsafe_code)]
fn terminal_columns() -> Option<usize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; it
    // fails harmlessly (ENOTTY) when stderr is not a terminal.
    let r = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some(usize::from(ws.ws_col))
}

/// One part of the status line: its text (with its leading separator) and
/// when it goes as the line narrows (0: never; the highest goes first).
struct Field {
    text: String,
    drop_rank: u8,
}

fn field(drop_rank: u8, text: String) -> Field {
    Field { text, drop_rank }
}

/// The requests-per-second figure, as the summary's "Per s" defines it:
/// requests that ended (completed or errored; cancelled ones did not finish)
/// per second of the benchmark so far, which ends at `--max-seconds` (requests
/// still running then are cancelled). The final line gives two decimals, as
/// the summary does.
fn rate(p: &Progress) -> String {
    let until = match p.deadline {
        Some(d) if p.at > d => d,
        _ => p.at,
    };
    let secs = until.secs_since(p.start);
    let done = (p.counts.successful + p.counts.errored) as f64;
    let per_s = if secs > 0.0 { done / secs } else { 0.0 };
    match p.phase {
        Phase::Done => format!("  done {per_s:.2}/s"),
        _ => format!("  done {per_s:.1}/s"),
    }
}

fn fields(p: &Progress) -> Vec<Field> {
    let elapsed = p.at.secs_since(p.start).max(0.0);
    // What is left, while sending; nothing is in flight once finished.
    let running = p.phase == Phase::Running;
    let mut left = String::new();
    if let Some(d) = p.deadline.filter(|_| running) {
        left += &format!(" ({:.0}s left)", d.secs_since(p.at).max(0.0).ceil());
    }
    if let Some(max) = p.max_requests.filter(|_| running) {
        left += &format!(
            " ({} of {max} req left)",
            max.saturating_sub(p.counts.total + p.in_flight)
        );
    }
    let phase = match p.phase {
        Phase::Running => "",
        Phase::Draining => " draining",
        Phase::Done => " finished",
    };
    let lat = |name: &str, v: Option<(f64, f64)>| match v {
        Some((p50, p99)) => format!("  {name} p50 {p50:.1} p99 {p99:.1} ms"),
        None => String::new(),
    };
    vec![
        field(0, format!("[{}] {}", p.benchmark + 1, p.strategy)),
        field(0, format!(" {elapsed:5.1}s")),
        field(3, left),
        field(2, phase.into()),
        field(
            0,
            format!("  ok {} err {}", p.counts.successful, p.counts.errored),
        ),
        field(4, format!(" inc {}", p.counts.incomplete)),
        field(
            6,
            match p.phase {
                Phase::Done => String::new(),
                _ => format!(" inflight {}", p.in_flight),
            },
        ),
        field(1, rate(p)),
        // The strategy's name says it too.
        field(
            5,
            p.rate.map_or(String::new(), |r| format!(" (asked {r:.1})")),
        ),
        field(
            7,
            // While running: the finished line is the summary's.
            p.server
                .filter(|_| p.phase != Phase::Done)
                .map_or(String::new(), |s| {
                    let kv = s
                        .kv_cache
                        .map_or(String::new(), |k| format!(" kv {:.0}%", 100.0 * k));
                    format!("  server run {:.0} wait {:.0}{kv}", s.running, s.waiting)
                }),
        ),
        field(8, lat("TTFT", p.ttft_ms)),
        field(9, lat("ITL", p.itl_ms)),
    ]
}

/// One status line for a snapshot, at most `width - 1` characters: the
/// least useful fields go first (ITL, TTFT, in flight, the asked rate,
/// incomplete, what is left, phase, rate); what still does not fit is cut.
pub fn line(p: &Progress, width: usize) -> String {
    let max = width.saturating_sub(1);
    let mut fields = fields(p);
    let len = |fs: &[Field]| fs.iter().map(|f| f.text.chars().count()).sum::<usize>();
    let mut rank = fields.iter().map(|f| f.drop_rank).max().unwrap_or(0);
    while rank > 0 && len(&fields) > max {
        fields.retain(|f| f.drop_rank != rank);
        rank -= 1;
    }
    fields
        .iter()
        .flat_map(|f| f.text.chars())
        .take(max)
        .collect()
}

/// What stops each benchmark, in one line for stderr.
pub fn stop_conditions(c: &Constraints) -> String {
    let mut early = Vec::new();
    if let Some(n) = c.max_errors {
        early.push(format!("--max-errors {n}"));
    }
    if let Some(r) = c.max_error_rate {
        early.push(format!("--max-error-rate {r}"));
    }
    if let Some(r) = c.max_global_error_rate {
        early.push(format!("--max-global-error-rate {r}"));
    }
    if c.over_saturation.is_some() {
        early.push("over-saturation".into());
    }
    let early = early.join(", ");
    let bounds: Vec<String> = [
        c.max_seconds.map(|s| format!("{s} s")),
        c.max_requests.map(|n| format!("{n} requests")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let line = if bounds.is_empty() {
        "llmload: no --max-seconds or --max-requests: each benchmark runs until \
         interrupted (Ctrl-C)"
            .to_string()
    } else {
        format!(
            "llmload: each benchmark stops after {}",
            bounds.join(" or ")
        )
    };
    match (early.is_empty(), bounds.is_empty()) {
        (true, _) => line,
        (false, true) => format!("{line}, or stopped by {early}"),
        (false, false) => format!("{line} (or earlier on {early})"),
    }
}

/// Say what will stop each benchmark and start showing progress, as the plan
/// asks: redrawn in place on a terminal, a plain line every
/// [`PLAIN_EVERY`] otherwise. A run without a time or request limit is
/// announced even with progress disabled.
pub fn start(plan: &Plan, rx: watch::Receiver<Option<Progress>>) -> Option<Display> {
    if plan.progress || !plan.run.constraints.is_bounded() {
        eprintln!("{}", stop_conditions(&plan.run.constraints));
    }
    if !plan.progress {
        return None;
    }
    let mode = if is_interactive() {
        Mode::Live
    } else {
        Mode::Plain
    };
    Some(spawn(rx, mode))
}

/// How the display draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One line redrawn in place, fitted to the terminal.
    Live,
    /// A plain line (no escape codes) every [`PLAIN_EVERY`].
    Plain,
}

/// The running display.
#[derive(Debug)]
pub struct Display {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Display {
    /// Stop drawing and leave the last line in place.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Draw the latest snapshot on stderr until finished.
pub fn spawn(mut rx: watch::Receiver<Option<Progress>>, mode: Mode) -> Display {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut tick = match mode {
            Mode::Live => tokio::time::interval(REDRAW_EVERY),
            Mode::Plain => {
                tokio::time::interval_at(tokio::time::Instant::now() + PLAIN_EVERY, PLAIN_EVERY)
            }
        };
        let mut current: Option<usize> = None;
        let mut last = String::new();
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tick.tick() => {}
            }
            let snap = rx.borrow_and_update().clone();
            let Some(p) = snap else { continue };
            let mut err = std::io::stderr().lock();
            match mode {
                Mode::Live => {
                    if current.is_some_and(|c| c != p.benchmark) {
                        let _ = writeln!(err);
                    }
                    let l = line(&p, width());
                    if l != last {
                        let _ = write!(err, "\r{l}\x1b[K");
                        last = l;
                    }
                }
                Mode::Plain => {
                    last = line(&p, usize::MAX);
                    let _ = writeln!(err, "{last}");
                }
            }
            current = Some(p.benchmark);
            let _ = err.flush();
        }
        let Some(p) = rx.borrow().clone() else { return };
        let mut err = std::io::stderr().lock();
        match mode {
            Mode::Live => {
                let _ = writeln!(err, "\r{}\x1b[K", line(&p, width()));
            }
            Mode::Plain => {
                let l = line(&p, usize::MAX);
                if l != last {
                    let _ = writeln!(err, "{l}");
                }
            }
        }
    });
    Display { stop, task }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmload_clock::Timestamp;
    use llmload_metrics::StatusCounts;

    fn snap() -> Progress {
        let start = Timestamp::from_nanos(1_000_000_000_000);
        Progress {
            benchmark: 0,
            strategy: "constant@5.00".into(),
            rate: Some(5.0),
            phase: Phase::Running,
            start,
            deadline: Some(start + Duration::from_secs(30)),
            max_requests: None,
            at: start + Duration::from_millis(12_300),
            counts: StatusCounts {
                successful: 55,
                errored: 3,
                incomplete: 0,
                total: 58,
            },
            in_flight: 4,
            achieved_rate: 4.7,
            output_tokens_per_second: 100.0,
            ttft_ms: Some((20.1, 35.7)),
            itl_ms: Some((8.2, 12.9)),
            server: Some(llmload_engine::ServerNow {
                running: 4.0,
                waiting: 2.0,
                kv_cache: Some(0.31),
            }),
        }
    }

    /// The widest snapshot: every field present, large numbers.
    fn wide() -> Progress {
        let mut p = snap();
        p.benchmark = 11;
        p.strategy = "concurrent@1024".into();
        p.rate = None;
        p.max_requests = Some(1_000_000);
        p.phase = Phase::Draining;
        p.counts = StatusCounts {
            successful: 123_456,
            errored: 7_890,
            incomplete: 1_234,
            total: 132_580,
        };
        p.in_flight = 1024;
        p.achieved_rate = 12_345.6;
        p
    }

    #[test]
    fn shows_everything_when_there_is_room() {
        let l = line(&snap(), 200);
        assert_eq!(
            l,
            "[1] constant@5.00  12.3s (18s left)  ok 55 err 3 inc 0 inflight 4  done 4.7/s \
             (asked 5.0)  server run 4 wait 2 kv 31%  TTFT p50 20.1 p99 35.7 ms  \
             ITL p50 8.2 p99 12.9 ms"
        );
    }

    #[test]
    fn fits_every_width_and_keeps_the_essentials() {
        // The widest snapshot keeps its essentials from 80 columns on; at 40
        // it is cut, but never wraps.
        for (p, essentials_from) in [(snap(), 40), (wide(), 80)] {
            let head = format!("[{}] {}", p.benchmark + 1, p.strategy);
            let ok = format!("ok {} err {}", p.counts.successful, p.counts.errored);
            for width in [40, 80, 120, 200] {
                let l = line(&p, width);
                assert!(l.chars().count() < width, "{width}: {l:?}");
                assert!(l.starts_with(&head), "{width}: {l:?}");
                assert!(l.contains("12.3s"), "{width}: {l:?}");
                if width >= essentials_from {
                    assert!(l.contains(&ok), "{width}: {l:?}");
                }
                assert!(!l.contains('\n') && !l.contains('\x1b'), "{l:?}");
                if width >= 80 {
                    assert!(l.contains("done "), "{width}: the rate: {l:?}");
                }
            }
        }
    }

    #[test]
    fn drops_itl_then_ttft_then_server_then_inflight_then_asked_then_inc() {
        let p = snap();
        let full = line(&p, 1000);
        let no_itl = line(&p, full.len());
        assert!(
            !no_itl.contains("ITL") && no_itl.contains("TTFT"),
            "{no_itl}"
        );
        let no_ttft = line(&p, no_itl.len());
        assert!(
            !no_ttft.contains("TTFT") && no_ttft.contains("server run 4 wait 2"),
            "{no_ttft}"
        );
        let no_server = line(&p, no_ttft.len());
        assert!(
            !no_server.contains("server") && no_server.contains("inflight"),
            "{no_server}"
        );
        let no_inflight = line(&p, no_server.len());
        assert!(!no_inflight.contains("inflight") && no_inflight.contains("asked"));
        let no_asked = line(&p, no_inflight.len());
        assert!(
            !no_asked.contains("asked") && no_asked.contains(" inc "),
            "{no_asked}"
        );
        let no_inc = line(&p, no_asked.len());
        assert!(!no_inc.contains(" inc "), "{no_inc}");
        assert!(
            no_inc.contains("left") && no_inc.contains("done"),
            "{no_inc}"
        );
    }

    #[test]
    fn cuts_what_still_does_not_fit() {
        let l = line(&wide(), 12);
        assert_eq!(l, "[12] concur");
        assert_eq!(line(&wide(), 0), "");
    }

    #[test]
    fn counts_requests_left_under_max_requests_while_sending() {
        let mut p = snap();
        p.deadline = None;
        p.max_requests = Some(100);
        let l = line(&p, 200);
        assert!(l.contains("12.3s (38 of 100 req left)  ok"), "{l}");
        p.phase = Phase::Draining;
        let l = line(&p, 200);
        assert!(
            l.contains("12.3s draining  ok 55 err 3 inc 0 inflight 4"),
            "{l}"
        );
    }

    #[test]
    fn the_rate_is_the_summarys_requests_ended_over_the_window() {
        let mut p = snap();
        // 55 completed + 3 errored in 12.3 s; cancelled ones do not count.
        p.counts.incomplete = 7;
        p.counts.total = 65;
        assert!(line(&p, 200).contains("done 4.7/s (asked 5.0)"));
        // Finished 0.4 s after --max-seconds 30 (in flight then: cancelled):
        // the window is the 30 s, as in the summary, with its two decimals.
        p.phase = Phase::Done;
        p.at = p.start + Duration::from_millis(30_400);
        let l = line(&p, 200);
        assert_eq!(
            l,
            "[1] constant@5.00  30.4s finished  ok 55 err 3 inc 7  done 1.93/s (asked 5.0)  \
             TTFT p50 20.1 p99 35.7 ms  ITL p50 8.2 p99 12.9 ms"
        );
        // Stopped by --max-requests, the window ends with the last request.
        p.deadline = None;
        p.max_requests = Some(100);
        assert!(line(&p, 200).contains("done 1.91/s (asked 5.0)"));
    }

    #[test]
    fn names_what_stops_each_benchmark() {
        let mut c = Constraints::default();
        assert_eq!(
            stop_conditions(&c),
            "llmload: no --max-seconds or --max-requests: each benchmark runs until \
             interrupted (Ctrl-C)"
        );
        c.max_errors = Some(5);
        assert!(stop_conditions(&c).ends_with("(Ctrl-C), or stopped by --max-errors 5"));
        c.max_errors = None;
        c.max_seconds = Some(30.0);
        assert_eq!(
            stop_conditions(&c),
            "llmload: each benchmark stops after 30 s"
        );
        c.max_requests = Some(100);
        assert_eq!(
            stop_conditions(&c),
            "llmload: each benchmark stops after 30 s or 100 requests"
        );
        c.max_seconds = Some(0.5);
        c.max_error_rate = Some(0.5);
        assert_eq!(
            stop_conditions(&c),
            "llmload: each benchmark stops after 0.5 s or 100 requests \
             (or earlier on --max-error-rate 0.5)"
        );
    }
}

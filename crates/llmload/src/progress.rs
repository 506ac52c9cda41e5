//! Live progress on the terminal, redrawn from the engine's snapshots four
//! times a second; never on the request path.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use llmload_engine::{Phase, Progress};
use tokio::sync::watch;

/// Whether both stdout and stderr are terminals.
pub fn is_interactive() -> bool {
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// One status line for a snapshot.
pub fn line(p: &Progress) -> String {
    let elapsed = p.at.secs_since(p.start).max(0.0);
    let mut time = format!("{elapsed:5.1}s");
    if let Some(d) = p.deadline {
        time += &format!(" ({:.0}s left)", d.secs_since(p.at).max(0.0).ceil());
    }
    if let Some(max) = p.max_requests {
        time += &format!(
            " ({} of {max} req left)",
            max.saturating_sub(p.counts.total + p.in_flight)
        );
    }
    let rate = match p.rate {
        Some(r) => format!("{:.1}/{r:.1} req/s", p.achieved_rate),
        None => format!("{:.1} req/s", p.achieved_rate),
    };
    let lat = |name: &str, v: Option<(f64, f64)>| match v {
        Some((p50, p99)) => format!(" {name} p50 {p50:.1} p99 {p99:.1} ms"),
        None => String::new(),
    };
    let phase = match p.phase {
        Phase::Running => "",
        Phase::Draining => " (draining)",
        Phase::Done => " done",
    };
    format!(
        "[{}] {} {time}  ok {} err {} inc {} inflight {}  {rate}{}{}",
        p.benchmark + 1,
        p.strategy,
        p.counts.successful,
        p.counts.errored,
        p.counts.incomplete,
        p.in_flight,
        lat("TTFT", p.ttft_ms),
        lat("ITL", p.itl_ms),
    ) + phase
}

/// The running display.
#[derive(Debug)]
pub struct Display {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Display {
    /// Stop redrawing and leave the last line in place.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Redraw the latest snapshot on stderr until finished.
pub fn spawn(mut rx: watch::Receiver<Option<Progress>>) -> Display {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut current: Option<usize> = None;
        let mut last = String::new();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tick.tick() => {}
            }
            let snap = rx.borrow_and_update().clone();
            let Some(p) = snap else { continue };
            let mut err = std::io::stderr().lock();
            if current.is_some_and(|c| c != p.benchmark) {
                let _ = writeln!(err);
            }
            current = Some(p.benchmark);
            let l = line(&p);
            if l != last {
                let _ = write!(err, "\r\x1b[2K{l}");
                let _ = err.flush();
                last = l;
            }
        }
        if let Some(p) = rx.borrow().clone() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K{}\n", line(&p));
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
            itl_ms: None,
        }
    }

    #[test]
    fn shows_elapsed_remaining_counts_rate_and_latencies() {
        let l = line(&snap());
        assert_eq!(
            l,
            "[1] constant@5.00  12.3s (18s left)  ok 55 err 3 inc 0 inflight 4  4.7/5.0 req/s TTFT p50 20.1 p99 35.7 ms"
        );
    }

    #[test]
    fn counts_requests_left_under_max_requests() {
        let mut p = snap();
        p.deadline = None;
        p.max_requests = Some(100);
        p.phase = Phase::Draining;
        let l = line(&p);
        assert!(l.contains("12.3s (38 of 100 req left)"), "{l}");
        assert!(l.ends_with("(draining)"), "{l}");
    }
}

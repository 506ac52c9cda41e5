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
    let time = match p.deadline {
        Some(d) => format!("{elapsed:5.1}s/{:.0}s", d.secs_since(p.start)),
        None => format!("{elapsed:5.1}s"),
    };
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

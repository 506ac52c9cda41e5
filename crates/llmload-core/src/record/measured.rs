//! What statistics read of a request, and every per-request formula, once.
//!
//! [`Measured`] is implemented by the full [`RequestRecord`](super::RequestRecord)
//! (what the client fills, the journal's line) and by the
//! [`CompactRecord`](super::CompactRecord) a long run keeps in memory: both
//! answer the same accessors, so a statistic computed from either is the same
//! to the bit.

use llmload_clock::Timestamp;

use super::{RequestError, RequestStatus, UsageMetrics};

/// The instants of a request that statistics read (GuideLLM 0.4's names;
/// see [`RequestTimings`](super::RequestTimings)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Intended send time from the arrival schedule.
    TargetedStart,
    /// Created and queued for dispatch.
    Queued,
    /// Taken from the queue.
    Dequeued,
    /// Handed to a worker.
    ScheduledAt,
    /// The worker began resolving it.
    ResolveStart,
    /// Headers written.
    RequestStart,
    /// First chunk carrying output.
    FirstTokenIteration,
    /// Last chunk carrying output.
    LastTokenIteration,
    /// After the last byte of the response.
    RequestEnd,
    /// The worker finished with it.
    ResolveEnd,
    /// The engine recorded it.
    Finalized,
    /// A full concurrency cap let it go.
    CapReleased,
    /// The conversation's previous turn was answered.
    PredecessorCompleted,
}

impl Timing {
    /// Every instant, in the order of a [`CompactRecord`](super::CompactRecord)'s columns.
    pub const ALL: [Timing; 13] = [
        Timing::TargetedStart,
        Timing::Queued,
        Timing::Dequeued,
        Timing::ScheduledAt,
        Timing::ResolveStart,
        Timing::RequestStart,
        Timing::FirstTokenIteration,
        Timing::LastTokenIteration,
        Timing::RequestEnd,
        Timing::ResolveEnd,
        Timing::Finalized,
        Timing::CapReleased,
        Timing::PredecessorCompleted,
    ];
}

fn ms(later: Timestamp, earlier: Timestamp) -> f64 {
    later.secs_since(earlier) * 1000.0
}

/// A request as statistics see it: its status, instants, counts and error.
/// The provided methods are the single definition of every per-request
/// metric (TTFT, ITL, TPOT, latency, ...) with GuideLLM 0.4's formulas;
/// docs/metrics.md lists them.
pub trait Measured {
    /// How it ended.
    fn status(&self) -> RequestStatus;
    /// One of its instants.
    fn timing(&self, at: Timing) -> Option<Timestamp>;
    /// Response lines received.
    fn request_iterations(&self) -> u64;
    /// Chunks that carried output.
    fn token_iterations(&self) -> u64;
    /// Prompt counts.
    fn input(&self) -> UsageMetrics;
    /// Output counts.
    fn output(&self) -> UsageMetrics;
    /// Prompt tokens the server served from its prefix cache, when it says.
    fn cached_tokens(&self) -> Option<u64>;
    /// The turn's index in its conversation (0 for single-turn requests).
    fn turn_index(&self) -> u32;
    /// Why it failed.
    fn error(&self) -> Option<&RequestError>;

    /// Intended send time.
    fn targeted_start(&self) -> Option<Timestamp> {
        self.timing(Timing::TargetedStart)
    }

    /// Headers written.
    fn request_start(&self) -> Option<Timestamp> {
        self.timing(Timing::RequestStart)
    }

    /// The worker began resolving it.
    fn resolve_start(&self) -> Option<Timestamp> {
        self.timing(Timing::ResolveStart)
    }

    /// First chunk carrying output.
    fn first_token_iteration(&self) -> Option<Timestamp> {
        self.timing(Timing::FirstTokenIteration)
    }

    /// Last chunk carrying output.
    fn last_token_iteration(&self) -> Option<Timestamp> {
        self.timing(Timing::LastTokenIteration)
    }

    /// After the last byte of the response.
    fn request_end(&self) -> Option<Timestamp> {
        self.timing(Timing::RequestEnd)
    }

    /// When the engine recorded it.
    fn finalized(&self) -> Option<Timestamp> {
        self.timing(Timing::Finalized)
    }

    /// Start of the request: headers written, else when resolving began.
    fn request_start_time(&self) -> Option<Timestamp> {
        self.request_start().or(self.resolve_start())
    }

    /// End of the request: after the response, else when resolving ended.
    fn request_end_time(&self) -> Option<Timestamp> {
        self.request_end().or(self.timing(Timing::ResolveEnd))
    }

    /// End-to-end latency in seconds (`request_end - request_start`).
    fn request_latency(&self) -> Option<f64> {
        Some(self.request_end()?.secs_since(self.request_start()?))
    }

    /// Prompt tokens (`input.text_tokens`).
    fn prompt_tokens(&self) -> Option<u64> {
        self.input().text_tokens
    }

    /// Input tokens over all modalities (`None` when zero, as GuideLLM).
    fn input_tokens(&self) -> Option<u64> {
        self.input().total_tokens()
    }

    /// Output tokens over all modalities (`None` when zero, as GuideLLM).
    fn output_tokens(&self) -> Option<u64> {
        self.output().total_tokens()
    }

    /// Input plus output tokens; `None` when both are `None`.
    fn total_tokens(&self) -> Option<u64> {
        match (self.input_tokens(), self.output_tokens()) {
            (None, None) => None,
            (i, o) => Some(i.unwrap_or(0) + o.unwrap_or(0)),
        }
    }

    /// Time to first token in ms: `first_token_iteration - request_start`.
    fn time_to_first_token_ms(&self) -> Option<f64> {
        Some(ms(self.first_token_iteration()?, self.request_start()?))
    }

    /// GuideLLM's time per output token in ms, TTFT included:
    /// `(last_token_iteration or request_end - request_start) / output_tokens`.
    fn time_per_output_token_ms(&self) -> Option<f64> {
        let start = self.request_start()?;
        let last = self.last_token_iteration().or(self.request_end_time())?;
        let out = self.output_tokens().filter(|&o| o > 0)?;
        Some(ms(last, start) / out as f64)
    }

    /// Inter-token latency in ms, first token excluded:
    /// `(last_token_iteration - first_token_iteration) / (output_tokens - 1)`.
    fn inter_token_latency_ms(&self) -> Option<f64> {
        let first = self.first_token_iteration()?;
        let last = self.last_token_iteration()?;
        let out = self.output_tokens().filter(|&o| o > 1)?;
        Some(ms(last, first) / (out - 1) as f64)
    }

    /// Total tokens per second of this request's latency.
    fn tokens_per_second(&self) -> Option<f64> {
        let latency = self.request_latency().filter(|&l| l != 0.0)?;
        Some(self.total_tokens()? as f64 / latency)
    }

    /// Output tokens per second of this request's latency.
    fn output_tokens_per_second(&self) -> Option<f64> {
        let latency = self.request_latency().filter(|&l| l != 0.0)?;
        Some(self.output_tokens()? as f64 / latency)
    }

    /// Output tokens after the first, per output chunk after the first.
    fn iter_tokens_per_iteration(&self) -> Option<f64> {
        let out = self.output_tokens().filter(|&o| o > 1)?;
        let iters = self.token_iterations();
        if iters <= 1 {
            return None;
        }
        Some((out as f64 - 1.0) / (iters as f64 - 1.0))
    }

    /// Output tokens per output chunk.
    fn output_tokens_per_iteration(&self) -> Option<f64> {
        let out = self.output_tokens()?;
        let iters = self.token_iterations();
        if iters < 1 {
            return None;
        }
        Some(out as f64 / iters as f64)
    }

    /// The client's own lag in seconds: `request_start - max(targeted_start,
    /// cap_released)`. A wait for a full concurrency cap is the server's doing
    /// (it held that many requests), so it is left out.
    fn send_lag(&self) -> Option<f64> {
        let cap = self.timing(Timing::CapReleased).unwrap_or_default();
        let due = self.targeted_start()?.max(cap);
        Some(self.request_start()?.secs_since(due))
    }

    /// Scheduling lag in seconds: `request_start - targeted_start`.
    fn dispatch_delay(&self) -> Option<f64> {
        Some(self.request_start()?.secs_since(self.targeted_start()?))
    }

    /// Latency measured from the intended send time (coordinated-omission
    /// corrected): `request_end - targeted_start`.
    fn scheduled_latency(&self) -> Option<f64> {
        Some(self.request_end()?.secs_since(self.targeted_start()?))
    }

    /// `(time, prompt tokens)`: prompt tokens are credited at the first token,
    /// else at the end of the request.
    fn prompt_tokens_timing(&self) -> Option<(Timestamp, f64)> {
        let t = self.first_token_iteration().or(self.request_end_time())?;
        Some((t, self.prompt_tokens().unwrap_or(0) as f64))
    }

    /// `(epoch seconds, tokens)` events for output, appended to `out`: one
    /// token at the first chunk, the rest spread evenly over the later chunks
    /// (GuideLLM's linspace on epoch seconds, so the times equal its to the bit).
    fn output_token_events(&self, out: &mut Vec<(f64, f64)>) {
        match output_plan(self) {
            OutputPlan::None => {}
            OutputPlan::Single(at, tokens) => out.push((at.as_secs_f64(), tokens)),
            OutputPlan::Spread {
                first,
                first_tokens,
                later,
            } => {
                out.push((first.as_secs_f64(), first_tokens));
                if let Some(later) = later {
                    later.push_events(out);
                }
            }
        }
    }

    /// `(tokens, chunks)` for each distinct token count of
    /// [`Measured::output_token_events`], in order of first appearance:
    /// the same sums as one `(tokens, 1)` pair per event (whole numbers add
    /// exactly), without computing the times.
    fn output_tokens_per_chunk(&self) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(2);
        let mut add = |tokens: f64, chunks: f64| match out.iter_mut().find(|e| e.0 == tokens) {
            Some(e) => e.1 += chunks,
            None => out.push((tokens, chunks)),
        };
        match output_plan(self) {
            OutputPlan::None => {}
            OutputPlan::Single(_, tokens) => add(tokens, 1.0),
            OutputPlan::Spread {
                first_tokens,
                later,
                ..
            } => {
                add(first_tokens, 1.0);
                if let Some(l) = later {
                    add(l.tokens, (l.n - 1) as f64);
                }
            }
        }
        out
    }

    /// `(tokens, chunks)` for the output events after the first chunk's.
    fn iter_tokens_per_chunk(&self) -> Vec<(f64, f64)> {
        later_chunks(self)
            .map(|l| vec![(l.tokens, (l.n - 1) as f64)])
            .unwrap_or_default()
    }
}

fn output_plan<R: Measured + ?Sized>(r: &R) -> OutputPlan {
    match (r.first_token_iteration(), r.last_token_iteration()) {
        (Some(first), Some(_)) if r.token_iterations() > 1 => OutputPlan::Spread {
            first,
            first_tokens: if r.output_tokens().unwrap_or(0) > 0 {
                1.0
            } else {
                0.0
            },
            later: later_chunks(r),
        },
        _ => match r.last_token_iteration().or(r.request_end_time()) {
            Some(at) => OutputPlan::Single(at, r.output_tokens().unwrap_or(0) as f64),
            None => OutputPlan::None,
        },
    }
}

fn later_chunks<R: Measured + ?Sized>(r: &R) -> Option<LaterChunks> {
    let (first, last) = (r.first_token_iteration()?, r.last_token_iteration()?);
    let tokens = r.iter_tokens_per_iteration()?;
    let n = r.token_iterations();
    (n > 1).then_some(LaterChunks {
        first,
        last,
        n,
        tokens,
    })
}

/// How a request's output tokens are spread over time.
enum OutputPlan {
    None,
    /// All of them at one instant (one chunk, or no chunk times).
    Single(Timestamp, f64),
    /// The first chunk's token, then the rest over the later chunks.
    Spread {
        first: Timestamp,
        first_tokens: f64,
        later: Option<LaterChunks>,
    },
}

/// The chunks after the first: `n - 1` events of `tokens` each.
struct LaterChunks {
    first: Timestamp,
    last: Timestamp,
    n: u64,
    tokens: f64,
}

impl LaterChunks {
    /// `numpy.linspace(first, last, n)[1:]` on epoch seconds, computed as
    /// numpy does (`i * step + start`, last point pinned).
    fn push_events(&self, out: &mut Vec<(f64, f64)>) {
        let a = self.first.as_secs_f64();
        let b = self.last.as_secs_f64();
        let n = self.n;
        let step = (b - a) / (n - 1) as f64;
        out.reserve(n as usize - 1);
        for i in 1..n - 1 {
            let y = if step == 0.0 { a } else { i as f64 * step + a };
            out.push((y, self.tokens));
        }
        out.push((b, self.tokens));
    }
}

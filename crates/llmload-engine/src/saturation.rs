//! Over-saturation: stop a benchmark the server can no longer serve.
//!
//! A server past saturation shows requests in flight and time to first
//! token both rising steadily while completions per second stop rising.
//! Over a sliding window of recent completions, the detector fits a line to
//! (time, requests in flight) and to (time, TTFT); when both slopes are
//! positive beyond twice their standard error, TTFT is above a floor for at
//! least half the window, and the completion rate of the window's second
//! half is no higher than its first, the benchmark is stopped. Off unless
//! asked for (`--detect-saturation` / `--over-saturation`), as in GuideLLM;
//! the settings are llmload-core's [`SaturationConfig`].

use std::collections::VecDeque;

use llmload_core::SaturationConfig;

/// Slope of the least-squares line through `pts`, and its standard error.
fn slope(pts: impl Iterator<Item = (f64, f64)> + Clone) -> Option<(f64, f64)> {
    let n = pts.clone().count() as f64;
    if n < 3.0 {
        return None;
    }
    let (mx, my) = pts
        .clone()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let sxx: f64 = pts.clone().map(|(x, _)| (x - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let b = pts.clone().map(|(x, y)| (x - mx) * (y - my)).sum::<f64>() / sxx;
    let a = my - b * mx;
    let sse: f64 = pts.map(|(x, y)| (y - a - b * x).powi(2)).sum();
    let se = (sse / (n - 2.0) / sxx).sqrt();
    Some((b, se))
}

/// The detector's state over one benchmark.
#[derive(Debug)]
pub(crate) struct Saturation {
    cfg: SaturationConfig,
    /// (seconds since start, requests in flight, TTFT seconds)
    points: VecDeque<(f64, f64, Option<f64>)>,
}

impl Saturation {
    pub(crate) fn new(cfg: SaturationConfig) -> Self {
        Saturation {
            cfg,
            points: VecDeque::new(),
        }
    }

    /// Record a finished request at `t` seconds; `Some(reason)` when saturated.
    pub(crate) fn observe(&mut self, t: f64, in_flight: f64, ttft: Option<f64>) -> Option<String> {
        self.points.push_back((t, in_flight, ttft));
        while self
            .points
            .front()
            .is_some_and(|p| t - p.0 > self.cfg.max_window_seconds)
        {
            self.points.pop_front();
        }
        if t < self.cfg.min_seconds || self.points.len() < self.cfg.minimum_window_size {
            return None;
        }
        let conc = slope(self.points.iter().map(|p| (p.0, p.1)))?;
        let ttft = slope(self.points.iter().filter_map(|p| p.2.map(|y| (p.0, y))))?;
        let k = self.cfg.moe_threshold;
        let rising = |(b, se): (f64, f64)| b > 0.0 && b > k * se;
        let ttfts: Vec<f64> = self.points.iter().filter_map(|p| p.2).collect();
        let slow = ttfts.iter().filter(|&&x| x > self.cfg.minimum_ttft).count() * 2 >= ttfts.len();
        let (t0, t1) = (self.points.front()?.0, t);
        let mid = (t0 + t1) / 2.0;
        let first = self.points.iter().filter(|p| p.0 < mid).count() as f64;
        let second = self.points.len() as f64 - first;
        let stalled = second <= first;
        (rising(conc) && rising(ttft) && slow && stalled).then(|| {
            format!(
                "over-saturated: in flight rising {:.2}/s, TTFT rising {:.0} ms/s, completions not rising",
                conc.0,
                ttft.0 * 1000.0
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares() {
        let (b, se) = slope((0..10).map(|i| (i as f64, 3.0 * i as f64 + 1.0))).unwrap();
        assert!((b - 3.0).abs() < 1e-12 && se < 1e-9);
    }

    #[test]
    fn a_saturating_server_is_caught_a_steady_one_is_not() {
        let cfg = SaturationConfig {
            min_seconds: 10.0,
            ..Default::default()
        };
        // Steady: flat concurrency, flat TTFT around 3 s, constant completions.
        let mut s = Saturation::new(cfg);
        for i in 0..400 {
            let t = i as f64 * 0.1;
            let wobble = (i % 7) as f64 * 0.01;
            assert_eq!(s.observe(t, 20.0 + wobble, Some(3.0 + wobble)), None, "{t}");
        }
        // Saturating: completions slow down while queue and TTFT grow.
        let mut s = Saturation::new(cfg);
        let mut t = 0.0;
        let mut caught = None;
        for i in 0..400 {
            t += 0.1 + i as f64 * 0.001;
            if let Some(r) = s.observe(t, 10.0 + t * 2.0, Some(1.0 + t * 0.2)) {
                caught = Some((t, r));
                break;
            }
        }
        let (t, r) = caught.expect("saturation detected");
        assert!(t >= 10.0 && r.contains("over-saturated"), "{t} {r}");
    }
}

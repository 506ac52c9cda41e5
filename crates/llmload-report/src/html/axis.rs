//! Linear axes: round ticks that cover the data, and their labels, for any
//! range a report can hold (equal values, overflowing spans, non-finite numbers).

use super::chart::W;

/// Round `x` up to 1, 2 or 5 times a power of ten.
fn nice(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    let f = x / p;
    let n = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * p
}

/// At most this many ticks per axis.
const MAX_TICKS: usize = 12;

/// An axis: the range drawn, its tick step and its ticks.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Axis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) step: f64,
    pub(super) ticks: Vec<f64>,
}

/// Axis range and ticks covering `[lo, hi]`, starting at 0 when close to it.
///
/// Whatever comes in (no data, equal values, values equal but for rounding
/// noise, huge or non-finite values), the range comes out finite with
/// `lo < hi`, and the ticks finite and distinct.
pub(super) fn axis(lo: f64, hi: f64) -> Axis {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if lo >= 0.0 && lo < 0.5 * hi {
        lo = 0.0;
    }
    // Equal values, or equal but for rounding noise (the means of a few
    // equal values): a range of 10 % around them. Ticks closer than this
    // would not be distinct numbers.
    let scale = lo.abs().max(hi.abs());
    if hi - lo <= scale * 1e-9 {
        let pad = if scale == 0.0 { 1.0 } else { scale * 0.1 };
        if (lo + pad).is_finite() {
            hi = lo + pad;
        } else {
            lo = hi - pad;
        }
    }
    // Divided before subtracting: `hi - lo` may overflow.
    let step = nice(hi / 5.0 - lo / 5.0);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let n = (end / step - start / step).round();
    let round = start.is_finite()
        && end.is_finite()
        && end > start
        && (1.0..=MAX_TICKS as f64).contains(&n)
        && start + step > start
        && end - step < end;
    if round {
        let n = n as usize;
        let ticks = (0..=n)
            .map(|i| if i == n { end } else { start + i as f64 * step })
            .collect();
        Axis {
            lo: start,
            hi: end,
            step,
            ticks,
        }
    } else {
        // Past what round ticks can mark (near the limits of f64): the range itself.
        let step = hi - lo;
        Axis {
            lo,
            hi,
            step: if step.is_finite() { step } else { f64::MAX },
            ticks: vec![lo, hi],
        }
    }
}

/// Most decimals a tick label shows.
const MAX_DECIMALS: f64 = 12.0;

/// A tick label: as many decimals as the step needs (a step that is zero,
/// negative or not a number needs none); very large or very small values in
/// scientific notation.
pub(super) fn tick_label(v: f64, step: f64) -> String {
    if !v.is_finite() || (v != 0.0 && !(1e-4..1e15).contains(&v.abs())) {
        return short(v);
    }
    let decimals = if step.is_finite() && step > 0.0 && step < 1.0 {
        (-step.log10().floor()).clamp(0.0, MAX_DECIMALS) as usize
    } else {
        0
    };
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .trim_matches(['0', '.'])
        .is_empty()
    {
        "0".into()
    } else {
        s
    }
}

/// A value in four significant digits, without trailing zeros; very large
/// and very small values in scientific notation (`1.235e300`), and `NaN`,
/// `inf`, `-inf` as themselves.
pub fn short(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(1e-4..1e15).contains(&v.abs()) {
        let s = format!("{v:.3e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) => format!("{}e{exp}", trim(mantissa)),
            None => s,
        };
    }
    // At most 3 + 4 decimals in this range.
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 7) as usize;
    trim(&format!("{v:.digits$}"))
}

/// A pixel coordinate as written: never NaN, never far off the canvas.
pub(super) fn pix(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-10.0 * W, 10.0 * W)
    }
}

/// Where `v` falls in `[lo, hi]`, as a fraction (halved first: `hi - lo`
/// may overflow).
pub(super) fn frac(v: f64, lo: f64, hi: f64) -> f64 {
    (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_have_round_ticks_covering_the_data() {
        let a = axis(0.3, 9.2);
        assert_eq!((a.lo, a.hi, a.step), (0.0, 10.0, 2.0));
        assert_eq!(a.ticks, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let a = axis(101.0, 117.0);
        assert!(a.lo <= 101.0 && a.hi >= 117.0 && a.lo > 90.0, "{a:?}");
        let a = axis(5.0, 5.0);
        assert!(a.lo <= 5.0 && a.hi > 5.0 && a.ticks.len() >= 2, "{a:?}");
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(20.0, 5.0), "20");
    }

    /// Every axis, whatever its data: a finite range, finite distinct
    /// ascending ticks inside it, a positive step, labels that format.
    fn assert_sane(lo: f64, hi: f64) {
        let a = axis(lo, hi);
        assert!(
            a.lo.is_finite() && a.hi.is_finite() && a.lo < a.hi,
            "{lo} {hi}: {a:?}"
        );
        assert!(a.step.is_finite() && a.step > 0.0, "{lo} {hi}: {a:?}");
        assert!(
            a.ticks.len() >= 2 && a.ticks.len() <= MAX_TICKS + 1,
            "{a:?}"
        );
        assert!(a.ticks.windows(2).all(|w| w[0] < w[1]), "{a:?}");
        assert!(a.ticks.iter().all(|t| *t >= a.lo && *t <= a.hi), "{a:?}");
        if lo.is_finite() && hi.is_finite() && lo <= hi {
            assert!(a.lo <= lo && a.hi >= hi, "{lo} {hi}: {a:?}");
        }
        for t in &a.ticks {
            assert!(!tick_label(*t, a.step).is_empty());
        }
    }

    #[test]
    fn degenerate_axes_stay_finite_with_distinct_ticks() {
        let tiny = f64::MIN_POSITIVE;
        for (lo, hi) in [
            (1.0, 1.0),
            // Equal but for rounding noise: the case that made the step 0.
            (1.0, 1.0000000000000002),
            (0.1 + 0.2, 0.3 + 0.0000000000000001),
            (1e15, 1e15 + 0.125),
            (1e17, 1e17 + 16.0),
            (0.0, 0.0),
            (-3.0, -3.0),
            (-1.0, 1.0),
            (tiny, tiny),
            (5e-324, 5e-324),
            (0.0, 5e-324),
            (1e300, 1e300),
            (0.0, 1e300),
            (-1e300, 1e300),
            (f64::MAX, f64::MAX),
            (-f64::MAX, f64::MAX),
            (f64::MIN, f64::MIN),
            (f64::NAN, 1.0),
            (0.0, f64::INFINITY),
            (f64::NEG_INFINITY, f64::INFINITY),
            (f64::INFINITY, f64::NEG_INFINITY),
            (2.0, 1.0),
        ] {
            assert_sane(lo, hi);
        }
    }

    /// The panic a max-throughput search hit: a zero tick step made
    /// `-step.log10()` infinite and the precision `usize::MAX`.
    #[test]
    fn tick_labels_take_any_step() {
        for step in [
            0.0,
            -0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-324,
            1e-300,
        ] {
            for v in [0.0, 1.5, -2.25, 1e300, 5e-324, f64::NAN, f64::INFINITY] {
                let label = tick_label(v, step);
                assert!(!label.is_empty() && label.len() < 40, "{v} {step}: {label}");
            }
        }
        assert_eq!(tick_label(1.5, 0.0), "2", "no decimals for a zero step");
        assert_eq!(tick_label(-0.0001, 0.5), "0");
        assert_eq!(tick_label(f64::NAN, 1.0), "NaN");
        assert_eq!(tick_label(f64::NEG_INFINITY, 1.0), "-inf");
        assert_eq!(tick_label(2e300, 1e299), "2e300");
    }

    #[test]
    fn short_numbers_stay_short() {
        assert_eq!(short(53.83790532747904), "53.84");
        assert_eq!(short(0.00012890338897705077), "0.0001289");
        assert_eq!(short(1234.56), "1235");
        assert_eq!(short(-0.0), "0");
        assert_eq!(short(1e300), "1e300");
        assert_eq!(short(-1.23456e-7), "-1.235e-7");
        assert_eq!(short(5e-324), "4.941e-324");
        assert_eq!(short(f64::NAN), "NaN");
        assert_eq!(short(f64::INFINITY), "inf");
        assert_eq!(short(f64::NEG_INFINITY), "-inf");
    }
}

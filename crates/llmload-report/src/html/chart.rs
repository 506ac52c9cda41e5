//! Inline SVG charts: points and lines over linear axes, and histograms.
//!
//! Rendered as text, with no script: every point carries a `<title>`
//! (the browser's tooltip) and a class the page's stylesheet colours.

use std::fmt::Write;

use super::esc;

const W: f64 = 560.0;
const H: f64 = 300.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 46.0;

/// One point, with the text of its tooltip.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub tip: String,
}

/// A named set of points, joined by a line when `line` is set.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Point>,
    pub line: bool,
    /// Draw a marker per point (`circle.pt`).
    pub markers: bool,
}

/// A histogram bin: `[lo, hi)` holding `count` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bin {
    pub lo: f64,
    pub hi: f64,
    pub count: u64,
}

/// What a chart draws.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// Points and lines.
    Series(Vec<Series>),
    /// Histogram bars.
    Bins(Vec<Bin>),
}

/// One chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub body: Body,
    /// Draw the line y = x (achieved against asked).
    pub diagonal: bool,
}

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
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
    ticks: Vec<f64>,
}

/// Axis range and ticks covering `[lo, hi]`, starting at 0 when close to it.
///
/// Whatever comes in (no data, equal values, values equal but for rounding
/// noise, huge or non-finite values), the range comes out finite with
/// `lo < hi`, and the ticks finite and distinct.
fn axis(lo: f64, hi: f64) -> Axis {
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
fn tick_label(v: f64, step: f64) -> String {
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
fn pix(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-10.0 * W, 10.0 * W)
    }
}

/// Where `v` falls in `[lo, hi]`, as a fraction (halved first: `hi - lo`
/// may overflow).
fn frac(v: f64, lo: f64, hi: f64) -> f64 {
    (v / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0)
}

impl Chart {
    /// The chart as an inline `<svg>` element inside a `<figure>`.
    pub fn render(&self) -> String {
        let (xs, ys): (Vec<f64>, Vec<f64>) = match &self.body {
            Body::Series(series) => series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| (p.x, p.y)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .unzip(),
            Body::Bins(bins) => bins
                .iter()
                .flat_map(|b| [(b.lo, 0.0), (b.hi, b.count as f64)])
                .filter(|(x, _)| x.is_finite())
                .unzip(),
        };
        let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (mut x_lo, mut x_hi) = (min(&xs), max(&xs));
        let (mut y_lo, mut y_hi) = (min(&ys), max(&ys));
        if self.diagonal {
            let lo = x_lo.min(y_lo);
            let hi = x_hi.max(y_hi);
            (x_lo, x_hi, y_lo, y_hi) = (lo, hi, lo, hi);
        }
        if matches!(self.body, Body::Bins(_)) {
            y_lo = 0.0;
        }
        let xa = axis(x_lo, x_hi);
        let ya = axis(y_lo, y_hi);
        let (x0, x1, y0, y1) = (xa.lo, xa.hi, ya.lo, ya.hi);
        let px = |x: f64| pix(LEFT + frac(x, x0, x1) * (W - LEFT - RIGHT));
        let py = |y: f64| pix(H - BOTTOM - frac(y, y0, y1) * (H - TOP - BOTTOM));

        let mut s = String::new();
        let _ = write!(
            s,
            r#"<figure class="chart"><figcaption>{}</figcaption><svg viewBox="0 0 {W} {H}" role="img" aria-label="{}">"#,
            esc(&self.title),
            esc(&self.title)
        );
        // Grid and ticks.
        for &t in &ya.ticks {
            let y = py(t);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                W - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                tick_label(t, ya.step)
            );
        }
        for &t in &xa.ticks {
            let x = px(t);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                H - BOTTOM,
                H - BOTTOM + 16.0,
                tick_label(t, xa.step)
            );
        }
        let _ = write!(
            s,
            r#"<line class="axis" x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/><line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{:.1}"/>"#,
            W - RIGHT,
            H - BOTTOM,
            H - BOTTOM,
            H - BOTTOM
        );
        let _ = write!(
            s,
            r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text class="label" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            (LEFT + W - RIGHT) / 2.0,
            H - 8.0,
            esc(&self.x_label),
            (TOP + H - BOTTOM) / 2.0,
            esc(&self.y_label)
        );
        if self.diagonal {
            let (a, b) = (x0.max(y0), x1.min(y1));
            let _ = write!(
                s,
                r#"<line class="diagonal" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"><title>achieved = asked</title></line>"#,
                px(a),
                py(a),
                px(b),
                py(b)
            );
        }
        match &self.body {
            Body::Series(series) => {
                for (i, se) in series.iter().enumerate() {
                    let _ = write!(
                        s,
                        r#"<g class="series s{i}" data-series="{}">"#,
                        esc(&se.name)
                    );
                    let mut pts: Vec<&Point> = se
                        .points
                        .iter()
                        .filter(|p| p.x.is_finite() && p.y.is_finite())
                        .collect();
                    // Lines run left to right, whatever order the benchmarks ran in.
                    pts.sort_by(|a, b| a.x.total_cmp(&b.x));
                    if se.line && pts.len() > 1 {
                        let d: Vec<String> = pts
                            .iter()
                            .map(|p| format!("{:.1},{:.1}", px(p.x), py(p.y)))
                            .collect();
                        let _ = write!(s, r#"<polyline points="{}"/>"#, d.join(" "));
                    }
                    if se.markers {
                        for p in &pts {
                            let _ = write!(
                                s,
                                r#"<circle class="pt" cx="{:.1}" cy="{:.1}" r="4"><title>{}</title></circle>"#,
                                px(p.x),
                                py(p.y),
                                esc(&p.tip)
                            );
                        }
                    }
                    s.push_str("</g>");
                }
            }
            Body::Bins(bins) => {
                s.push_str(r#"<g class="series s0">"#);
                for b in bins.iter().filter(|b| b.lo.is_finite() && b.hi.is_finite()) {
                    let (x_a, x_b) = (px(b.lo), px(b.hi));
                    let (top, base) = (py(b.count as f64), py(0.0));
                    let _ = write!(
                        s,
                        r#"<rect class="bar" x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}"><title>{} to {}: {}</title></rect>"#,
                        x_a + 0.5,
                        (x_b - x_a - 1.0).max(0.5),
                        (base - top).max(0.0),
                        short(b.lo),
                        short(b.hi),
                        b.count
                    );
                }
                s.push_str("</g>");
            }
        }
        s.push_str("</svg>");
        if let Body::Series(series) = &self.body {
            if series.len() > 1 {
                s.push_str(r#"<div class="legend">"#);
                for (i, se) in series.iter().enumerate() {
                    let _ = write!(
                        s,
                        r#"<button type="button" class="key s{i}" data-series="{}"><i></i>{}</button>"#,
                        esc(&se.name),
                        esc(&se.name)
                    );
                }
                s.push_str("</div>");
            }
        }
        s.push_str("</figure>");
        s
    }
}

/// `n` equal bins over `[lo, hi]` of `values` (values past `hi` go in the last bin).
pub fn histogram(values: &[f64], lo: f64, hi: f64, n: usize) -> Vec<Bin> {
    let n = n.max(1);
    // Divided before subtracting (`hi - lo` may overflow); a width that
    // would not move past `lo` (equal values, huge values) is replaced.
    let width = if hi > lo {
        hi / n as f64 - lo / n as f64
    } else {
        0.0
    };
    let width = if width.is_finite() && lo + width > lo {
        width
    } else if lo + 1.0 > lo {
        1.0
    } else {
        lo.abs() * 0.01
    };
    let mut counts = vec![0u64; n];
    for &v in values.iter().filter(|v| v.is_finite()) {
        let i = (((v - lo) / width).floor().max(0.0) as usize).min(n - 1);
        counts[i] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| Bin {
            lo: lo + i as f64 * width,
            hi: lo + (i + 1) as f64 * width,
            count,
        })
        .collect()
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

    fn coordinates(svg: &str) -> Vec<String> {
        let mut out = Vec::new();
        for attr in [
            " x=\"",
            " y=\"",
            " x1=\"",
            " x2=\"",
            " y1=\"",
            " y2=\"",
            " cx=\"",
            " cy=\"",
            " width=\"",
            " height=\"",
            " points=\"",
        ] {
            for part in svg.split(attr).skip(1) {
                out.push(part.split('"').next().unwrap_or_default().to_string());
            }
        }
        out
    }

    #[test]
    fn equal_huge_and_non_finite_points_draw_finite_coordinates() {
        let series = |ys: &[f64]| Chart {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            body: Body::Series(vec![Series {
                name: "s".into(),
                points: ys
                    .iter()
                    .enumerate()
                    .map(|(i, &y)| Point {
                        x: if i % 2 == 0 { y } else { 1.0 },
                        y,
                        tip: String::new(),
                    })
                    .collect(),
                line: true,
                markers: true,
            }]),
            diagonal: true,
        };
        for ys in [
            vec![],
            vec![3.0],
            vec![3.0, 3.0, 3.0],
            vec![1.0, 1.0000000000000002, 1.0],
            vec![f64::NAN, f64::INFINITY, -f64::INFINITY],
            vec![-f64::MAX, f64::MAX, 0.0],
            vec![1e300, -1e-300, 5e-324],
        ] {
            let svg = series(&ys).render();
            for c in coordinates(&svg) {
                for n in c.split([' ', ',']).filter(|n| !n.is_empty()) {
                    let v: f64 = n.parse().unwrap_or(f64::NAN);
                    assert!(v.is_finite(), "{ys:?}: {n:?} in {svg}");
                }
            }
        }
        for values in [vec![7.0; 3], vec![1e300, 1e300], vec![-f64::MAX, f64::MAX]] {
            let v = &values;
            let c = Chart {
                title: "h".into(),
                x_label: "x".into(),
                y_label: "y".into(),
                body: Body::Bins(histogram(v, v[0], v[v.len() - 1], 30)),
                diagonal: false,
            };
            let svg = c.render();
            for n in coordinates(&svg) {
                assert!(
                    n.parse::<f64>().is_ok_and(f64::is_finite),
                    "{values:?}: {n:?}"
                );
            }
        }
    }

    #[test]
    fn histograms_count_every_value_once() {
        let v = [0.0, 0.5, 1.0, 1.5, 9.99, 10.0, 50.0];
        let bins = histogram(&v, 0.0, 10.0, 10);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins.iter().map(|b| b.count).sum::<u64>(), 7);
        assert_eq!(bins[0].count, 2);
        assert_eq!(bins[9].count, 3, "the last bin takes values at and past hi");
    }

    #[test]
    fn one_marker_per_point_with_its_tooltip() {
        let c = Chart {
            title: "TTFT <ms>".into(),
            x_label: "req/s".into(),
            y_label: "ms".into(),
            body: Body::Series(vec![Series {
                name: "p99".into(),
                points: (0..4)
                    .map(|i| Point {
                        x: i as f64,
                        y: 10.0 * i as f64,
                        tip: format!("b{i}"),
                    })
                    .collect(),
                line: true,
                markers: true,
            }]),
            diagonal: false,
        };
        let svg = c.render();
        assert_eq!(svg.matches(r#"class="pt""#).count(), 4);
        assert!(svg.contains("<title>b3</title>"));
        assert!(svg.contains("TTFT &lt;ms&gt;"), "text is escaped");
    }
}

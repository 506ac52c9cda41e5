//! Inline SVG charts: points and lines over linear axes, and histograms.
//!
//! Rendered as text, with no script: every point carries a `<title>`
//! (the browser's tooltip) and a class the page's stylesheet colours.

use std::fmt::Write;

pub use super::axis::short;
use super::axis::{axis, frac, pix, tick_label};
use super::esc;

pub(super) const W: f64 = 560.0;
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

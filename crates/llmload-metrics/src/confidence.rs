//! Confidence intervals as GuideLLM 0.8.1 reports them (`mean_ci`,
//! `percentile_cis`): a Student t interval for the mean and distribution-free
//! order-statistic intervals for the percentiles, computed only for samples
//! of at least two unweighted observations. A port of
//! `guidellm/utils/statistics.py` (0.8.1), constant for constant, so the
//! bounds agree with GuideLLM's to the last few bits.

/// Confidence levels are clamped to this range.
const MIN_CONFIDENCE: f64 = 0.5;
const MAX_CONFIDENCE: f64 = 0.999;
/// Above this many degrees of freedom the t quantile is the normal one.
const NORMAL_LIMIT_DF: f64 = 1.0e7;
const BETA_CF_ITERATIONS: u32 = 300;
const BISECTION_ITERATIONS: u32 = 200;
const TINY: f64 = 1e-300;
const CF_TOLERANCE: f64 = 1e-15;

/// The probabilities of GuideLLM's percentiles, p001 to p999.
pub const PERCENTILE_PROBABILITIES: [f64; 11] = [
    0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999,
];

fn clamp(confidence: f64) -> f64 {
    confidence.clamp(MIN_CONFIDENCE, MAX_CONFIDENCE)
}

/// The standard normal quantile (Wichura's AS 241, as Python's
/// `statistics.NormalDist.inv_cdf`). The coefficients are AS 241's, digit
/// for digit as CPython has them.
#[allow(clippy::excessive_precision)]
pub fn normal_ppf(p: f64) -> f64 {
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        let num = (((((((2509.0809287301226727 * r + 33430.575583588128105) * r
            + 67265.770927008700853)
            * r
            + 45921.953931549871457)
            * r
            + 13731.693765509461125)
            * r
            + 1971.5909503065514427)
            * r
            + 133.14166789178437745)
            * r
            + 3.387132872796366608)
            * q;
        let den = ((((((5226.495278852545925 * r + 28729.085735721942674) * r
            + 39307.89580009271061)
            * r
            + 21213.794301586595867)
            * r
            + 5394.1960214247511077)
            * r
            + 687.1870074920579083)
            * r
            + 42.313330701600911252)
            * r
            + 1.0;
        return num / den;
    }
    let r = if q <= 0.0 { p } else { 1.0 - p };
    let r = (-r.ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        let num = ((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r
            + 0.24178072517745061177)
            * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734;
        let den = ((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r
            + 0.0151986665636164571966)
            * r
            + 0.14810397642748007459)
            * r
            + 0.68976733498510000455)
            * r
            + 1.6763848301838038494)
            * r
            + 2.05319162663775882187)
            * r
            + 1.0;
        num / den
    } else {
        let r = r - 5.0;
        let num = ((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r
            + 0.0012426609473880784386)
            * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772;
        let den = ((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r
            + 1.8463183175100546818e-5)
            * r
            + 7.868691311456132591e-4)
            * r
            + 0.0148753612908506148525)
            * r
            + 0.13692988092273580531)
            * r
            + 0.59983220655588793769)
            * r
            + 1.0;
        num / den
    };
    if q < 0.0 {
        -x
    } else {
        x
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut result = d;
    for i in 1..=BETA_CF_ITERATIONS {
        let i = f64::from(i);
        let even = 2.0 * i;
        let num = i * (b - i) * x / ((qam + even) * (a + even));
        d = 1.0 / guard(1.0 + num * d);
        c = guard(1.0 + num / c);
        result *= d * c;
        let num = -(a + i) * (qab + i) * x / ((a + even) * (qap + even));
        d = 1.0 / guard(1.0 + num * d);
        c = guard(1.0 + num / c);
        let step = d * c;
        result *= step;
        if (step - 1.0).abs() < CF_TOLERANCE {
            break;
        }
    }
    result
}

/// The regularized incomplete beta function `I_x(a, b)`.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let log_prefactor =
        libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b) + a * x.ln() + b * (-x).ln_1p();
    let prefactor = log_prefactor.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        prefactor * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - prefactor * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

fn t_cdf(value: f64, df: f64) -> f64 {
    let x = df / (df + value * value);
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, x);
    if value > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// The quantile of Student's t distribution (`df > 0`, `0 < p < 1`), by
/// bisection of the CDF as GuideLLM does.
pub fn t_ppf(p: f64, df: f64) -> f64 {
    if df >= NORMAL_LIMIT_DF {
        return normal_ppf(p);
    }
    if p == 0.5 {
        return 0.0;
    }
    let mut bound = normal_ppf(p).abs().max(1.0);
    while t_cdf(bound, df) < p {
        bound *= 2.0;
    }
    while t_cdf(-bound, df) > p {
        bound *= 2.0;
    }
    let (mut low, mut high) = (-bound, bound);
    for _ in 0..BISECTION_ITERATIONS {
        let middle = 0.5 * (low + high);
        if t_cdf(middle, df) < p {
            low = middle;
        } else {
            high = middle;
        }
        if high - low < 1e-12 * middle.abs().max(1.0) {
            break;
        }
    }
    0.5 * (low + high)
}

/// The t interval for the mean of `count` observations with the population
/// standard deviation `std_dev`; `None` under two observations.
pub fn mean_interval(count: u64, mean: f64, std_dev: f64, confidence: f64) -> Option<(f64, f64)> {
    if count < 2 {
        return None;
    }
    let n = count as f64;
    let unbiased = std_dev * (n / (n - 1.0)).sqrt();
    let half = t_ppf((1.0 + clamp(confidence)) / 2.0, n - 1.0) * unbiased / n.sqrt();
    Some((mean - half, mean + half))
}

fn binomial_cdf(successes: i64, trials: i64, p: f64) -> f64 {
    if successes < 0 {
        return 0.0;
    }
    if successes >= trials {
        return 1.0;
    }
    incomplete_beta((trials - successes) as f64, successes as f64 + 1.0, 1.0 - p)
}

fn largest_rank_below(trials: i64, p: f64, target: f64) -> Option<usize> {
    if binomial_cdf(0, trials, p) > target {
        return None;
    }
    let (mut low, mut high) = (0, trials - 1);
    while low < high {
        let middle = (low + high + 1) / 2;
        if binomial_cdf(middle, trials, p) <= target {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    Some(low as usize)
}

fn smallest_rank_above(trials: i64, p: f64, target: f64) -> Option<usize> {
    if binomial_cdf(trials - 1, trials, p) < target {
        return None;
    }
    let (mut low, mut high) = (0, trials - 1);
    while low < high {
        let middle = (low + high) / 2;
        if binomial_cdf(middle, trials, p) >= target {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    Some(low as usize)
}

/// The distribution-free interval for the `quantile` of a sorted sample:
/// two of its observations, or `None` when the sample is too small to
/// bracket it (72 observations for p95 at 95 %, 368 for p99).
pub fn quantile_interval(sorted: &[f64], quantile: f64, confidence: f64) -> Option<(f64, f64)> {
    let trials = sorted.len() as i64;
    if trials < 2 || !(0.0 < quantile && quantile < 1.0) {
        return None;
    }
    let tail = (1.0 - clamp(confidence)) / 2.0;
    let lower = largest_rank_below(trials, quantile, tail)?;
    let upper = smallest_rank_above(trials, quantile, 1.0 - tail)?;
    Some((sorted[lower], sorted[upper]))
}

/// A sample's intervals: the mean's and each percentile's (p001..p999).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Intervals {
    pub mean: Option<(f64, f64)>,
    pub percentiles: [Option<(f64, f64)>; 11],
}

impl Intervals {
    /// GuideLLM's `SampleUncertainty.estimate`: intervals for a sample of
    /// unweighted values (every weight 1), none for fewer than two.
    pub fn of_values(values: &[f64], confidence: f64) -> Option<Intervals> {
        if values.len() < 2 {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Intervals {
            mean: mean_interval(values.len() as u64, mean, var.sqrt(), confidence),
            percentiles: PERCENTILE_PROBABILITIES
                .map(|q| quantile_interval(&sorted, q, confidence)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_tables() {
        // GuideLLM 0.8.1's t_ppf(0.975, df) (and the published tables to 1e-4).
        for (df, t) in [
            (1.0, 12.706204736171602),
            (2.0, 4.302652729750247),
            (10.0, 2.2281388519853897),
            (30.0, 2.042272456300664),
        ] {
            assert!(
                (t_ppf(0.975, df) - t).abs() < 1e-9,
                "df {df}: {}",
                t_ppf(0.975, df)
            );
        }
        assert!((normal_ppf(0.975) - 1.959963984540054).abs() < 1e-12);
        assert!((normal_ppf(1e-10) + 6.361340902404056).abs() < 1e-9);
    }

    #[test]
    fn quantile_intervals_need_enough_observations() {
        let v: Vec<f64> = (0..71).map(f64::from).collect();
        assert!(quantile_interval(&v, 0.95, 0.95).is_none());
        let v: Vec<f64> = (0..72).map(f64::from).collect();
        assert!(quantile_interval(&v, 0.95, 0.95).is_some());
        // As GuideLLM 0.8.1's own quantile_confidence_interval gives them.
        assert_eq!(quantile_interval(&v, 0.95, 0.95), Some((63.0, 71.0)));
        let v: Vec<f64> = (0..29).map(f64::from).collect();
        assert_eq!(quantile_interval(&v, 0.5, 0.95), Some((8.0, 20.0)));
    }
}

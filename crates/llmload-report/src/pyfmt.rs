//! Python's `repr(float)`, which GuideLLM's CSV and console output use
//! (`36.0`, `0.0001`, `1e-05`, `1.5e+16`).

/// Format `x` as Python's `repr(float)` does: the shortest digits that read
/// back to `x`, fixed notation for exponents -4 … 15, else `d.ddde±XX`.
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-3.6e1", "1e-5".
    // When that takes all 17 digits, two strings may round-trip equally
    // close (16.9315338134765625 is 16.931533813476562 or ...563): Python
    // writes the correctly rounded one, ties to even, as `{:.16e}` does.
    let mut sci = format!("{x:e}");
    if sci
        .split_once('e')
        .is_some_and(|(m, _)| m.chars().filter(char::is_ascii_digit).count() >= 17)
    {
        sci = format!("{x:.16e}");
    }
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!(
                "{}.{}",
                &digits[..point as usize],
                &digits[point as usize..]
            )
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() == 1 {
            digits
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        format!(
            "{sign}{m}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::py_float;

    #[test]
    fn matches_python_repr() {
        for (x, s) in [
            (36.0, "36.0"),
            (16.931533813476562, "16.931533813476562"),
            (69.37499999999999, "69.37499999999999"),
            (0.36124940713246656, "0.36124940713246656"),
            (0.0001, "0.0001"),
            (0.00012890338897705077, "0.00012890338897705077"),
            (1e-5, "1e-05"),
            (6.47735595703125e-05, "6.47735595703125e-05"),
            (1.5e16, "1.5e+16"),
            (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1795379243.5761812, "1795379243.5761812"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (100.0, "100.0"),
            (1e22, "1e+22"),
        ] {
            assert_eq!(py_float(x), s, "{x}");
        }
    }
}

//! Small statistics: medians across rounds, and the per-request cost a throughput implies.

/// The median (mean of the middle two for an even count); `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Microseconds of Envoy's single worker per request at `rps` (with `--concurrency 1` and the
/// worker saturated, throughput is the inverse of per-request CPU time).
pub fn us_per_request(rps: f64) -> f64 {
    if rps > 0.0 {
        1e6 / rps
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        let cases: [(&[f64], Option<f64>); 5] = [
            (&[], None),
            (&[3.0], Some(3.0)),
            (&[5.0, 1.0, 3.0], Some(3.0)),
            (&[4.0, 1.0, 3.0, 2.0], Some(2.5)),
            (&[f64::NAN, 2.0, 4.0], Some(3.0)),
        ];
        for (values, want) in cases {
            assert_eq!(median(values), want, "{values:?}");
        }
    }

    #[test]
    fn cost_is_the_inverse_of_throughput() {
        assert!((us_per_request(10_000.0) - 100.0).abs() < 1e-9);
        assert!(us_per_request(0.0).is_nan());
    }
}

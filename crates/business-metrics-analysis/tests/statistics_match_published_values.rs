//! The statistics against values published elsewhere or worked out by hand.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use business_metrics_analysis::stats::{
    average_ranks, best_lag, erf, erfc, fisher_confidence_interval, linear_fit, normal_cdf,
    pearson, spearman, two_proportion_test, StatsError, Strength, Which,
};

fn close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not within {tolerance} of {expected}"
    );
}

// Anscombe, "Graphs in Statistical Analysis", The American Statistician 27 (1973):
// all four sets have r = 0.816, y = 3.00 + 0.500 x.
const X123: [f64; 11] = [10.0, 8.0, 13.0, 9.0, 11.0, 14.0, 6.0, 4.0, 12.0, 7.0, 5.0];
const Y1: [f64; 11] = [
    8.04, 6.95, 7.58, 8.81, 8.33, 9.96, 7.24, 4.26, 10.84, 4.82, 5.68,
];
const Y2: [f64; 11] = [
    9.14, 8.14, 8.74, 8.77, 9.26, 8.10, 6.13, 3.10, 9.13, 7.26, 4.74,
];
const Y3: [f64; 11] = [
    7.46, 6.77, 12.74, 7.11, 7.81, 8.84, 6.08, 5.39, 8.15, 6.42, 5.73,
];
const X4: [f64; 11] = [8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 19.0, 8.0, 8.0, 8.0];
const Y4: [f64; 11] = [
    6.58, 5.76, 7.71, 8.84, 8.47, 7.04, 5.25, 12.50, 5.56, 7.91, 6.89,
];

#[test]
fn anscombes_quartet_has_r_0_816_and_slope_one_half() {
    for (x, y) in [(&X123, &Y1), (&X123, &Y2), (&X123, &Y3), (&X4, &Y4)] {
        close(pearson(x, y).unwrap(), 0.816, 0.001);
        let fit = linear_fit(x, y).unwrap();
        close(fit.slope, 0.500, 0.001);
        close(fit.intercept, 3.00, 0.01);
    }
    assert_eq!(Strength::of(0.816), Strength::Strong);
}

#[test]
fn spearman_matches_the_textbook_iq_and_television_example() {
    // IQ against hours of television per week: rho = -29/165 (no ties).
    let iq = [
        106.0, 100.0, 86.0, 101.0, 99.0, 103.0, 97.0, 113.0, 112.0, 110.0,
    ];
    let tv = [7.0, 27.0, 2.0, 50.0, 28.0, 29.0, 20.0, 12.0, 6.0, 17.0];
    close(spearman(&iq, &tv).unwrap(), -29.0 / 165.0, 1e-12);
}

#[test]
fn spearman_averages_tied_ranks() {
    // x = [1, 2, 2, 3] ranks [1, 2.5, 2.5, 4]; y = [1, 3, 2, 4] ranks [1, 3, 2, 4].
    // Deviations from 2.5: dx = [-1.5, 0, 0, 1.5], dy = [-1.5, 0.5, -0.5, 1.5];
    // Σdx·dy = 4.5, Σdx² = 4.5, Σdy² = 5, so rho = 4.5 / √22.5 = 0.948683...
    assert_eq!(
        average_ranks(&[1.0, 2.0, 2.0, 3.0]),
        vec![1.0, 2.5, 2.5, 4.0]
    );
    assert_eq!(
        average_ranks(&[5.0, 5.0, 5.0, 1.0]),
        vec![3.0, 3.0, 3.0, 1.0]
    );
    close(
        spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]).unwrap(),
        4.5 / 22.5_f64.sqrt(),
        1e-12,
    );
}

#[test]
fn fisher_interval_matches_the_published_example() {
    // r = 0.5 from n = 50: 95 % interval 0.2575 to 0.6833 (Fisher z, ±1.96/√47).
    let ci = fisher_confidence_interval(0.5, 50).unwrap();
    close(ci.lower, 0.2575, 5e-5);
    close(ci.upper, 0.6833, 5e-5);
    assert_eq!(ci.level, 0.95);
    // Perfect correlation gives a degenerate, still finite, interval.
    let ci = fisher_confidence_interval(-1.0, 10).unwrap();
    assert_eq!((ci.lower, ci.upper), (-1.0, -1.0));
    assert_eq!(
        fisher_confidence_interval(0.3, 3),
        Err(StatsError::TooFewPoints { got: 3, needed: 4 })
    );
}

#[test]
fn erf_matches_abramowitz_and_stegun_table_7_1() {
    for (x, expected) in [
        (0.1, 0.112_462_916_0),
        (0.5, 0.520_499_877_8),
        (1.0, 0.842_700_792_9),
        (1.5, 0.966_105_146_5),
        (2.0, 0.995_322_265_0),
        (2.5, 0.999_593_048_0),
        (3.0, 0.999_977_909_5),
    ] {
        close(erf(x), expected, 1e-9);
        close(erf(-x), -expected, 1e-9);
    }
    assert_eq!(erf(0.0), 0.0);
    // The tail keeps its relative precision: erfc 3 = 2.209049699858544e-5, erfc 5 = 1.5374597944280349e-12.
    close(erfc(3.0) / 2.209_049_699_858_544e-5, 1.0, 1e-12);
    close(erfc(5.0) / 1.537_459_794_428_035e-12, 1.0, 1e-12);
    close(erfc(-1.0), 1.842_700_792_949_715, 1e-14);
}

#[test]
fn normal_cdf_matches_known_quantiles() {
    close(normal_cdf(0.0), 0.5, 1e-15);
    close(normal_cdf(1.959_963_984_540_054), 0.975, 1e-12);
    close(normal_cdf(-1.0), 0.158_655_253_931_457_05, 1e-14);
    close(normal_cdf(2.575_829_303_548_901), 0.995, 1e-12);
}

#[test]
fn two_proportion_test_matches_a_hand_computed_example() {
    // 200/500 against 175/500: pooled p = 0.375, se = √(0.375·0.625·(2/500)) = 0.0306186,
    // z = -0.05/0.0306186 = -1.63299, two-sided p = 0.10247.
    let t = two_proportion_test(200, 500, 175, 500).unwrap();
    close(t.z, -1.632_993_161_855_452, 1e-9);
    close(t.p_value, 0.102_470_434_859_749, 1e-9);
    assert!(!t.is_significant(0.05));

    // 30/1000 against 60/1000: pooled 0.045, se = 0.0092709, z = 3.23592, p = 0.0012125.
    let t = two_proportion_test(30, 1000, 60, 1000).unwrap();
    close(t.z, 3.235_924, 1e-5);
    close(t.p_value, 0.001_212_5, 1e-6);
    assert!(t.is_significant(0.05));

    let same = two_proportion_test(0, 10, 0, 20).unwrap();
    assert_eq!((same.z, same.p_value), (0.0, 1.0));
    assert_eq!(
        two_proportion_test(1, 0, 1, 2),
        Err(StatsError::NoTrials { group: 1 })
    );
    assert_eq!(
        two_proportion_test(1, 2, 3, 2),
        Err(StatsError::SuccessesExceedTrials { group: 2 })
    );
}

#[test]
fn correlation_of_a_constant_series_is_an_error_not_nan() {
    assert_eq!(
        pearson(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]),
        Err(StatsError::ConstantSeries { which: Which::Y })
    );
    assert_eq!(
        spearman(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]),
        Err(StatsError::ConstantSeries { which: Which::X })
    );
    assert!(matches!(
        linear_fit(&[1.0, 1.0], &[1.0, 2.0]),
        Err(StatsError::ConstantSeries { .. })
    ));
    assert!(matches!(
        pearson(&[1.0], &[1.0]),
        Err(StatsError::TooFewPoints { .. })
    ));
}

#[test]
fn lag_search_finds_a_trailing_copy() {
    // y[t] = x[t - 3]: at lag 3, x[i] pairs with y[i + 3] = x[i], so r = 1.
    let x: Vec<f64> = (0..30).map(|i| f64::from((i * 13) % 17)).collect();
    let y: Vec<f64> = (0..30)
        .map(|i| if i >= 3 { x[i - 3] } else { 0.0 })
        .collect();
    let best = best_lag(&x, &y, 6, 10).unwrap();
    assert_eq!(best.lag, 3);
    close(best.r, 1.0, 1e-12);
    assert_eq!(best.points, 27);
}

#[test]
fn strength_uses_the_guides_thresholds() {
    assert_eq!(Strength::of(0.71), Strength::Strong);
    assert_eq!(Strength::of(-0.9), Strength::Strong);
    assert_eq!(Strength::of(0.7), Strength::Moderate);
    assert_eq!(Strength::of(-0.41), Strength::Moderate);
    assert_eq!(Strength::of(0.4), Strength::Weak);
    assert_eq!(Strength::of(0.0), Strength::Weak);
}

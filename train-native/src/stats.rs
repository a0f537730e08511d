//! Significance tests for "model A beats model B" statements in a leave-one-subject-out study.
//!
//! Scores of A and B are paired across folds x seeds; [`paired`] summarises the differences
//! with a Wilcoxon signed-rank test and the Nadeau-Bengio corrected resampled t-test.
//! Only `std` is used: the t and normal tails come from the regularized incomplete beta and
//! gamma functions (Numerical Recipes continued fractions, Lanczos `ln_gamma`).

use std::fmt;

/// Mean and sample standard deviation (n - 1 denominator) of `x`.
///
/// The standard deviation is 0 for fewer than two values; empty input gives `(0.0, 0.0)`.
pub fn mean_std(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = if x.is_empty() {
        0.0
    } else {
        x.iter().sum::<f64>() / n
    };
    if x.len() < 2 {
        return (mean, 0.0);
    }
    let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    (mean, (ss / (n - 1.0)).sqrt())
}

/// Two-sided p-value of the Wilcoxon signed-rank test on paired differences `d` (a - b).
///
/// NaN entries are ignored and zero differences are dropped (Wilcoxon's convention); ties
/// (exactly equal `|d|`) share mean ranks. With at most 30 non-zero differences the null
/// distribution is exact: a dynamic programme over rank sums, with ranks doubled so that half
/// ranks stay integer, and p is the fraction of the 2^n sign assignments whose
/// `|W+ - n(n+1)/4|` is at least the observed one (this equals SciPy's `method='exact'` when
/// there are no ties, and is the exact permutation p-value when there are). Above 30 the normal
/// approximation is used, with SciPy's tie correction of the variance,
/// `(n(n+1)(2n+1) - sum(t^3 - t) / 2) / 24`, and a continuity correction of 0.5 towards the
/// mean, clamped at 0 (SciPy does not clamp; the two differ only when `|W+ - n(n+1)/4| < 0.5`,
/// where this gives p = 1). Returns 1.0 when no non-zero difference remains.
pub fn wilcoxon_signed_rank(d: &[f64]) -> f64 {
    let mut v: Vec<f64> = d
        .iter()
        .copied()
        .filter(|x| !x.is_nan() && *x != 0.0)
        .collect();
    let n = v.len();
    if n == 0 {
        return 1.0;
    }
    v.sort_by(|x, y| x.abs().total_cmp(&y.abs()));
    // Doubled mean ranks: a tie group over sorted positions i..=j has rank (i + j + 2) / 2.
    let mut ranks2 = vec![0i64; n];
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && v[j + 1].abs() == v[i].abs() {
            j += 1;
        }
        ranks2[i..=j].fill((i + j + 2) as i64);
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let w2: i64 = (0..n).filter(|&k| v[k] > 0.0).map(|k| ranks2[k]).sum();
    let total2 = (n * (n + 1)) as i64;
    if n <= 30 {
        // counts[s] = number of sign assignments whose doubled positive rank sum is s.
        let mut counts = vec![0u64; total2 as usize + 1];
        counts[0] = 1;
        let mut reach = 0usize;
        for &r in &ranks2 {
            let r = r as usize;
            for s in (0..=reach).rev() {
                let c = counts[s];
                counts[s + r] += c;
            }
            reach += r;
        }
        let obs = (2 * w2 - total2).abs();
        let hits: u64 = (0..=total2)
            .filter(|&s| (2 * s - total2).abs() >= obs)
            .map(|s| counts[s as usize])
            .sum();
        return (hits as f64 / 2f64.powi(n as i32)).min(1.0);
    }
    let nf = n as f64;
    let var = (nf * (nf + 1.0) * (2.0 * nf + 1.0) - tie_term / 2.0) / 24.0;
    let dev = w2 as f64 / 2.0 - nf * (nf + 1.0) / 4.0;
    let z = (dev.abs() - 0.5).max(0.0) / var.sqrt();
    normal_two_sided_p(z)
}

/// Nadeau-Bengio corrected resampled t-test on paired differences `d` from n resamples whose
/// test/train size ratio is `test_train_ratio` (n_test / n_train).
///
/// `t = mean(d) / sqrt((1/n + test_train_ratio) * var(d))`, var with n - 1, df = n - 1.
/// NaN entries are ignored. Returns `(t, two-sided p)`: `(0.0, 1.0)` when the variance and the
/// mean are both 0 or fewer than two differences remain, and `(+-inf, 0.0)` when the variance
/// is 0 but the mean is not.
pub fn corrected_resampled_t(d: &[f64], test_train_ratio: f64) -> (f64, f64) {
    let v: Vec<f64> = d.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.len() < 2 {
        return (0.0, 1.0);
    }
    let n = v.len() as f64;
    let (mean, sd) = mean_std(&v);
    let var = sd * sd;
    if var == 0.0 {
        return if mean == 0.0 {
            (0.0, 1.0)
        } else {
            (f64::INFINITY.copysign(mean), 0.0)
        };
    }
    let t = mean / ((1.0 / n + test_train_ratio) * var).sqrt();
    (t, student_t_two_sided_p(t, n - 1.0))
}

/// Two-sided p-value `P(|T| >= |t|)` of Student's t distribution with `df` degrees of freedom.
///
/// Computed as the regularized incomplete beta `I_{df/(df+t^2)}(df/2, 1/2)` (continued fraction
/// as in Numerical Recipes `betacf`, `ln_gamma` by Lanczos). `df = inf` gives the normal tail;
/// NaN `t` or `df <= 0` gives NaN.
pub fn student_t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    if df.is_infinite() {
        return normal_two_sided_p(t);
    }
    let t2 = t * t;
    beta_reg(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))
}

/// A paired comparison of A and B (same folds x seeds, same order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedComparison {
    /// Pairs compared (after skipping pairs with a NaN).
    pub n: usize,
    /// Mean of a - b.
    pub mean_diff: f64,
    /// Sample standard deviation (n - 1) of a - b.
    pub std_diff: f64,
    /// Pairs where a > b.
    pub wins: usize,
    /// Pairs where a < b.
    pub losses: usize,
    /// Wilcoxon signed-rank two-sided p.
    pub wilcoxon_p: f64,
    /// Nadeau-Bengio corrected t statistic.
    pub corrected_t: f64,
    /// Two-sided p of the Nadeau-Bengio corrected t.
    pub corrected_p: f64,
}

/// Compares paired scores `a` and `b` (a - b, so positive means A is better on a
/// higher-is-better metric), with `test_train_ratio` as in [`corrected_resampled_t`].
///
/// Pairs where either score is NaN are skipped. Returns `None` when the lengths differ or
/// fewer than two pairs remain.
pub fn paired(a: &[f64], b: &[f64], test_train_ratio: f64) -> Option<PairedComparison> {
    if a.len() != b.len() {
        return None;
    }
    let d: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| !x.is_nan() && !y.is_nan())
        .map(|(x, y)| x - y)
        .collect();
    if d.len() < 2 {
        return None;
    }
    let (mean_diff, std_diff) = mean_std(&d);
    let (corrected_t, corrected_p) = corrected_resampled_t(&d, test_train_ratio);
    Some(PairedComparison {
        n: d.len(),
        mean_diff,
        std_diff,
        wins: d.iter().filter(|&&x| x > 0.0).count(),
        losses: d.iter().filter(|&&x| x < 0.0).count(),
        wilcoxon_p: wilcoxon_signed_rank(&d),
        corrected_t,
        corrected_p,
    })
}

impl fmt::Display for PairedComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:+.3} +- {:.3} ({} pairs, {} wins / {} losses), Wilcoxon p = {}, corrected t p = {}",
            self.mean_diff,
            self.std_diff,
            self.n,
            self.wins,
            self.losses,
            format_p(self.wilcoxon_p),
            format_p(self.corrected_p)
        )
    }
}

/// Formats a p-value with 3 significant figures (`0.0123`, `0.500`, `1.00`), `< 0.001` below
/// 0.001 and `NaN` for NaN.
pub fn format_p(p: f64) -> String {
    if p.is_nan() {
        return "NaN".to_string();
    }
    if p < 0.001 {
        return "< 0.001".to_string();
    }
    let e = p.log10().floor() as i32;
    let mut dec = (2 - e).max(0);
    // Rounding up to the next power of ten (0.09996 -> 0.100) needs one decimal fewer.
    if (p * 10f64.powi(dec)).round() >= 10f64.powi(3) {
        dec = (dec - 1).max(0);
    }
    format!("{:.*}", dec as usize, p)
}

/// Two-sided standard normal tail `P(|Z| >= |z|) = Q(1/2, z^2/2)`.
fn normal_two_sided_p(z: f64) -> f64 {
    gamma_q(0.5, z * z / 2.0)
}

const EPS: f64 = 4.0 * f64::EPSILON;
const FPMIN: f64 = 1e-300;
const MAXIT: usize = 100_000;

/// `ln Gamma(x)` for `x > 0`: Lanczos approximation, g = 7, 9 coefficients.
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    let x = x - 1.0;
    let t = x + 7.5;
    let a = C[0] + (1..9).map(|i| C[i] / (x + i as f64)).sum::<f64>();
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized incomplete beta `I_x(a, b)`, with `y = 1 - x` passed in to avoid cancellation.
fn beta_reg(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let bt = (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * y.ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        bt * betacf(a, b, x) / a
    } else {
        1.0 - bt * betacf(b, a, y) / b
    }
}

/// Continued fraction for the incomplete beta (modified Lentz, Numerical Recipes `betacf`).
fn betacf(a: f64, b: f64, x: f64) -> f64 {
    let tiny = |v: f64| if v.abs() < FPMIN { FPMIN } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / tiny(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=MAXIT {
        let (m, m2) = (m as f64, 2.0 * m as f64);
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / tiny(1.0 + aa * d);
        c = tiny(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / tiny(1.0 + aa * d);
        c = tiny(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() <= EPS {
            break;
        }
    }
    h
}

/// Regularized upper incomplete gamma `Q(a, x)` (series or continued fraction, as in
/// Numerical Recipes `gser` / `gcf`).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut ap, mut del) = (a, 1.0 / a);
        let mut sum = del;
        for _ in 0..MAXIT {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * EPS {
                break;
            }
        }
        1.0 - sum * front
    } else {
        let tiny = |v: f64| if v.abs() < FPMIN { FPMIN } else { v };
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / FPMIN;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..=MAXIT {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = 1.0 / tiny(an * d + b);
            c = tiny(b + an / c);
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() <= EPS {
                break;
            }
        }
        front * h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn hand_examples() {
        let (m, s) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert!(m == 5.0 && close(s, (32.0f64 / 7.0).sqrt(), 1e-12)); // SS = 32, n - 1 = 7
        assert_eq!((mean_std(&[]), mean_std(&[3.0])), ((0.0, 0.0), (3.0, 0.0)));
        // d = 1..5 (NaN ignored), ratio 0.25: t = 3 / sqrt((1/5 + 0.25) * 2.5) = 2 sqrt(2).
        let (t, p) = corrected_resampled_t(&[1.0, 2.0, f64::NAN, 3.0, 4.0, 5.0], 0.25);
        assert!(close(t, 2.0 * 2f64.sqrt(), 1e-12));
        assert!(close(p, 0.04742065558431959, 1e-9)); // 2 * scipy.stats.t.sf(2 * sqrt(2), 4)
        assert_eq!(corrected_resampled_t(&[0.0, 0.0, 0.0], 0.1), (0.0, 1.0));
        assert_eq!(
            corrected_resampled_t(&[-0.2, -0.2], 0.1),
            (f64::NEG_INFINITY, 0.0)
        );
    }

    #[test]
    fn wilcoxon_exact_no_ties_matches_scipy() {
        // scipy.stats.wilcoxon(d, zero_method='wilcox', alternative='two-sided',
        //                      method='exact').pvalue  (SciPy 1.17.1)
        let d10 = [
            0.12, -0.05, 0.33, 0.21, -0.08, 0.17, 0.41, 0.02, -0.29, 0.26,
        ];
        assert!(close(wilcoxon_signed_rank(&d10), 0.16015625, 1e-12));
        let d25 = [
            0.3012, 0.5987, 0.0259, -0.5906, -0.1547, -0.6916, 0.3601, 1.6402, -0.1922, -0.3205,
            0.7898, 0.6569, 0.4054, -0.6305, 0.2707, 0.9953, -1.0442, -0.1576, -1.6012, -0.9895,
            -1.5417, 0.0649, -0.9674, 0.5713, 0.4568,
        ];
        assert!(close(wilcoxon_signed_rank(&d25), 0.7914759516716003, 1e-12));
        let mut with_zeros = d10.to_vec(); // zeros are dropped, NaNs ignored
        with_zeros.extend([0.0, f64::NAN, 0.0]);
        assert_eq!(
            wilcoxon_signed_rank(&with_zeros),
            wilcoxon_signed_rank(&d10)
        );
        assert_eq!(wilcoxon_signed_rank(&[0.0, 0.0, f64::NAN]), 1.0);
    }

    #[test]
    fn wilcoxon_exact_ties_matches_brute_force() {
        let d = [
            0.5, -0.5, 1.0, 1.0, -1.5, 2.0, 2.0, -2.0, 3.0, 0.25, -0.75, 3.0, 0.0,
        ];
        let nz: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
        let n = nz.len();
        let count = |f: &dyn Fn(f64) -> bool| nz.iter().filter(|y| f(y.abs())).count() as f64;
        // Mean rank of |x|: #smaller + (#equal + 1) / 2.
        let ranks: Vec<f64> = nz
            .iter()
            .map(|x| count(&|y| y < x.abs()) + (count(&|y| y == x.abs()) + 1.0) / 2.0)
            .collect();
        let mean = (n * (n + 1)) as f64 / 4.0;
        let w_plus = |mask: u32| {
            (0..n)
                .filter(|&i| mask >> i & 1 == 1)
                .map(|i| ranks[i])
                .sum::<f64>()
        };
        let observed_mask = (0..n)
            .filter(|&i| nz[i] > 0.0)
            .map(|i| 1u32 << i)
            .sum::<u32>();
        let obs = (w_plus(observed_mask) - mean).abs();
        let hits = (0u32..1 << n)
            .filter(|&m| (w_plus(m) - mean).abs() >= obs - 1e-9)
            .count();
        let brute = hits as f64 / (1u32 << n) as f64;
        assert!(close(wilcoxon_signed_rank(&d), brute, 1e-12), "{brute}");
    }

    #[test]
    fn wilcoxon_normal_approx_with_ties_matches_scipy() {
        // scipy.stats.wilcoxon(d, zero_method='wilcox', alternative='two-sided',
        //                      method='asymptotic', correction=True).pvalue  (SciPy 1.17.1,
        // where 'asymptotic' is the current name of 'approx'); W+ = 231.5, 40 pairs, ties.
        let d = [
            -2.0, 0.5, 4.0, 1.5, 3.0, 3.5, 3.0, 1.5, 1.5, 0.5, -1.5, 0.5, -0.5, -1.5, 4.0, -3.0,
            -2.5, -2.0, 4.0, 2.0, 3.5, -1.5, 2.0, -0.5, 0.5, -3.0, 1.5, 3.0, 1.5, -2.0, 1.0, -1.0,
            4.0, 3.5, -2.0, 0.5, 4.0, 3.0, 2.0, 1.5,
        ];
        assert!(close(wilcoxon_signed_rank(&d), 0.016373636000745304, 1e-9));
    }

    #[test]
    fn student_t_matches_scipy() {
        // 2 * scipy.stats.t.sf(abs(t), df)  (SciPy 1.17.1)
        let cases = [
            (2.0, 5.0, 0.10193947882985835),
            (0.5, 21.0, 0.6222740756542186),
            (3.7, 9.0, 0.0049205621893296395),
            (10.0, 3.0, 0.0021283990584141503),
            (1.0, 1.0, 0.5000000000000001),
            (-2.3, 14.0, 0.037350274497512805),
            (0.0, 7.0, 1.0),
            (6.0, 100.0, 3.172491502802852e-08),
            (2.5, 1000.5, 0.012578488029448201),
            (0.05, 2.5, 0.9638402157094325),
            (40.0, 30.0, 1.3726045194406417e-27),
        ];
        for (t, df, want) in cases {
            let got = student_t_two_sided_p(t, df);
            assert!(close(got, want, 1e-9), "t={t} df={df}: {got} vs {want}");
        }
        assert!(close(
            student_t_two_sided_p(1.959963984540054, f64::INFINITY),
            0.05,
            1e-9
        ));
    }

    #[test]
    fn paired_display_and_format_p() {
        assert_eq!(paired(&[1.0, 2.0, 3.0], &[1.0, 2.0], 0.1), None);
        assert_eq!(paired(&[1.0, f64::NAN], &[0.0, 1.0], 0.1), None);
        let a = [0.9, 0.8, f64::NAN, 0.7, 0.95, 0.85];
        let c = paired(&a, &[0.8, 0.82, 0.5, 0.6, 0.9, 0.85], 0.05).unwrap();
        assert!((c.n, c.wins, c.losses) == (5, 3, 1) && close(c.mean_diff, 0.046, 1e-9));
        let s = c.to_string();
        assert!(s.starts_with("+0.046 +- 0.") && s.contains("(5 pairs, 3 wins / 1 losses), "));
        let p = ["0.0123", "0.500", "1.00", "0.100", "0.00123", "< 0.001"];
        assert_eq!(
            [0.0123456, 0.5, 1.0, 0.09996, 0.00123, 4e-4].map(format_p),
            p
        );
    }
}

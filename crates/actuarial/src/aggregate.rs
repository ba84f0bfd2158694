//! The town's total payout: the sum over classes of `members` independent copies of each
//! class's per-member yearly benefit, optionally mixed over a common gamma factor (parameter
//! risk and the town-wide shock of the year).
//!
//! Method. For each class the logarithm of the per-member probability generating function is
//! taken on a DFT grid and brought back: this gives the coefficients `h_c` of log G_c(z), a
//! short real sequence (the "Lévy measure" of the class). The town's log-pgf is
//! `H = Σ n_c h_c`; one forward FFT of `H` folded onto the output grid, a pointwise exponential
//! (or the gamma mixture `(1 - H/α)^-α`) and one inverse FFT give the exact distribution modulo
//! the grid size. The grid covers the mean ± many standard deviations and is rotated to start
//! near the lower end, so its size depends on the spread of the total, not on its mean: 10^6 expected claims
//! cost no more than 10^4 of the same spread. Nothing is raised to the power n_c directly, so
//! nothing underflows.
//!
//! The principal logarithm is the right branch when P(benefit > 0) < 1/2 for every class
//! (then |G_c/p0 - 1| < 1 on the unit circle); classes beyond that are rejected.

use realfft::num_complex::Complex64;
use realfft::RealFftPlanner;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AggregateError {
    #[error("class {0}: a member receives a subsidy with probability {1:.3} ≥ 0.5; the model is meant for rare events")]
    TooFrequent(usize, f64),
    #[error("class {0}: per-member distribution does not sum to one ({1})")]
    NotADistribution(usize, f64),
    #[error("the total spreads over {0} lattice points; use a coarser rounding unit")]
    TooWide(usize),
}

/// One risk class: `members` people with the same per-member benefit distribution
/// (`pmf[k]` = probability of k lattice units in the year).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassRisk {
    pub members: u64,
    pub pmf: Vec<f64>,
}

/// The exact distribution of the total payout on the lattice.
#[derive(Debug, Clone, PartialEq)]
pub struct PayoutDistribution {
    /// Lattice unit in fen.
    pub unit_fen: i64,
    /// `pmf[j]` is P(total = (offset + j) units).
    pub offset: u64,
    pub pmf: Vec<f64>,
    /// Exact cumulants (mean, variance, third cumulant) in lattice units.
    pub cumulants: [f64; 3],
}

impl PayoutDistribution {
    pub fn mean_fen(&self) -> f64 {
        self.cumulants[0] * self.unit_fen as f64
    }
    pub fn sd_fen(&self) -> f64 {
        self.cumulants[1].max(0.0).sqrt() * self.unit_fen as f64
    }
    pub fn skewness(&self) -> f64 {
        if self.cumulants[1] <= 0.0 {
            0.0
        } else {
            self.cumulants[2] / self.cumulants[1].powf(1.5)
        }
    }
    /// Smallest amount x (fen) with P(total <= x) >= p.
    pub fn quantile_fen(&self, p: f64) -> i64 {
        let mut acc = 0.0;
        for (j, v) in self.pmf.iter().enumerate() {
            acc += v.max(0.0);
            if acc >= p {
                return (self.offset + j as u64) as i64 * self.unit_fen;
            }
        }
        (self.offset + self.pmf.len() as u64 - 1) as i64 * self.unit_fen
    }
    /// P(total > budget).
    pub fn prob_exceeds(&self, budget_fen: i64) -> f64 {
        let b = budget_fen.div_euclid(self.unit_fen);
        let mut p = 0.0;
        for (j, v) in self.pmf.iter().enumerate().rev() {
            let x = (self.offset + j as u64) as i64;
            if x <= b {
                break;
            }
            p += v.max(0.0);
        }
        p.min(1.0)
    }
    /// E[(total - budget)+] in fen: the expected shortfall amount.
    pub fn expected_excess_fen(&self, budget_fen: i64) -> f64 {
        self.pmf
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let x = (self.offset + j as u64) as i64 * self.unit_fen;
                (x - budget_fen).max(0) as f64 * v.max(0.0)
            })
            .sum()
    }
    /// Mean of the computed vector (equals the exact mean up to rounding; used in tests).
    pub fn pmf_mean_units(&self) -> f64 {
        self.pmf
            .iter()
            .enumerate()
            .map(|(j, v)| (self.offset + j as u64) as f64 * v)
            .sum()
    }
    pub fn pmf_variance_units(&self) -> f64 {
        let m = self.pmf_mean_units();
        self.pmf
            .iter()
            .enumerate()
            .map(|(j, v)| ((self.offset + j as u64) as f64 - m).powi(2) * v)
            .sum()
    }
}

fn next_pow2(n: usize) -> usize {
    n.max(2).next_power_of_two()
}

/// Log-pgf coefficients of one class's per-member distribution.
fn log_pgf(pmf: &[f64], planner: &mut RealFftPlanner<f64>) -> Vec<f64> {
    let k = pmf.len();
    let q = 1.0 - pmf[0];
    if q <= 0.0 {
        return vec![0.0];
    }
    // log G = log p0 + log(1 + u) with u = (G - p0)/p0 of l1-norm q/p0 < 1: the coefficients in
    // the j-th period of k points are bounded by (q/p0)^j. Take enough periods for 1e-16.
    let ratio = q / pmf[0];
    let reps = ((-36.8) / ratio.ln()).ceil().clamp(2.0, 128.0) as usize + 1;
    let n = next_pow2(k * reps);
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut buf = vec![0.0; n];
    buf[..k].copy_from_slice(pmf);
    let mut spec = fwd.make_output_vec();
    fwd.process(&mut buf, &mut spec).expect("fft sizes match");
    for z in spec.iter_mut() {
        *z = z.ln();
    }
    // A real sequence's spectrum has real end points; the logs keep that up to rounding.
    spec[0].im = 0.0;
    let last = spec.len() - 1;
    spec[last].im = 0.0;
    let mut out = inv.make_output_vec();
    inv.process(&mut spec, &mut out).expect("fft sizes match");
    let scale = 1.0 / n as f64;
    out.iter_mut().for_each(|v| *v *= scale);
    out
}

/// The distribution of the total payout. `mixing_cv`: coefficient of variation of a common
/// gamma factor acting on the whole year's risk (0 for none).
pub fn payout_distribution(
    classes: &[ClassRisk],
    unit_fen: i64,
    mixing_cv: f64,
) -> Result<PayoutDistribution, AggregateError> {
    payout_distribution_over(classes, unit_fen, mixing_cv, 1.0)
}

/// As [`payout_distribution`] for `time` years of risk (the log-pgf scaled by `time`): used by
/// the mid-year re-forecast for the part of the year still to come.
pub fn payout_distribution_over(
    classes: &[ClassRisk],
    unit_fen: i64,
    mixing_cv: f64,
    time: f64,
) -> Result<PayoutDistribution, AggregateError> {
    let mut planner = RealFftPlanner::<f64>::new();
    let mut h: Vec<f64> = Vec::new();
    for (i, c) in classes.iter().enumerate() {
        if c.members == 0 || c.pmf.is_empty() {
            continue;
        }
        let s: f64 = c.pmf.iter().sum();
        if (s - 1.0).abs() > 1e-9 {
            return Err(AggregateError::NotADistribution(i, s));
        }
        let q = 1.0 - c.pmf[0];
        if q >= 0.5 {
            return Err(AggregateError::TooFrequent(i, q));
        }
        let hc = log_pgf(&c.pmf, &mut planner);
        if h.len() < hc.len() {
            h.resize(hc.len(), 0.0);
        }
        let n = c.members as f64 * time;
        for (a, b) in h.iter_mut().zip(&hc) {
            *a += n * b;
        }
    }
    if h.is_empty() {
        return Ok(PayoutDistribution {
            unit_fen,
            offset: 0,
            pmf: vec![1.0],
            cumulants: [0.0; 3],
        });
    }
    // Cumulants of the total given the common factor = moments of the log-pgf coefficients.
    let mut k = [0.0f64; 3];
    for (x, v) in h.iter().enumerate().skip(1) {
        let xf = x as f64;
        k[0] += xf * v;
        k[1] += xf * xf * v;
        k[2] += xf * xf * xf * v;
    }
    let alpha = if mixing_cv > 0.0 {
        1.0 / (mixing_cv * mixing_cv)
    } else {
        f64::INFINITY
    };
    let cumulants = if alpha.is_finite() {
        [
            k[0],
            k[1] + k[0] * k[0] / alpha,
            k[2] + 3.0 * k[0] * k[1] / alpha + 2.0 * k[0].powi(3) / (alpha * alpha),
        ]
    } else {
        k
    };
    let mean = cumulants[0];
    let sd = cumulants[1].max(0.0).sqrt();
    let skew = if sd > 0.0 {
        cumulants[2] / sd.powi(3)
    } else {
        0.0
    };
    // Window: generous on the right, where the gamma mixture has its long tail.
    // Beyond 8 sd below and 10 + 6·skew sd above the mean the mass is below 1e-12 for the
    // near-normal and gamma-like totals met here; it would wrap around, not vanish.
    let left = (8.0 * sd).max(40.0);
    let right = ((10.0 + 6.0 * skew.max(0.0)) * sd).max(60.0);
    let lo = (mean - left).floor().max(0.0) as u64;
    let width = (mean + right).ceil() as u64 - lo + 1;
    let m = next_pow2(width as usize);
    if m > (1 << 25) {
        return Err(AggregateError::TooWide(m));
    }
    // Fold h onto the output grid: exact, since e^{-2πi k x / m} has period m in x.
    let mut buf = vec![0.0; m];
    for (x, v) in h.iter().enumerate() {
        buf[x % m] += v;
    }
    let fwd = planner.plan_fft_forward(m);
    let inv = planner.plan_fft_inverse(m);
    let mut spec = fwd.make_output_vec();
    fwd.process(&mut buf, &mut spec).expect("fft sizes match");
    // Σ h = log G(1) = 0 exactly; the computed sum carries the rounding of terms of size
    // n·|log p0|, which would otherwise show as a total mass off one.
    spec[0] = Complex64::new(0.0, 0.0);
    for z in spec.iter_mut() {
        *z = if alpha.is_finite() {
            (-alpha * (Complex64::new(1.0, 0.0) - *z / alpha).ln()).exp()
        } else {
            z.exp()
        };
    }
    spec[0].im = 0.0;
    let last = spec.len() - 1;
    spec[last].im = 0.0;
    let mut out = inv.make_output_vec();
    inv.process(&mut spec, &mut out).expect("fft sizes match");
    let scale = 1.0 / m as f64;
    for v in out.iter_mut() {
        *v *= scale;
        // Round-off leaves values of order 1e-17 where the probability is zero.
        if v.abs() < 1e-300 {
            *v = 0.0;
        }
    }
    // The inverse transform holds the total modulo m; rotate so that index j is lo + j.
    out.rotate_left((lo % m as u64) as usize);
    out.truncate(width as usize);
    Ok(PayoutDistribution {
        unit_fen,
        offset: lo,
        pmf: out,
        cumulants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panjer::{compound, Frequency, Severity};

    fn convolve(a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; a.len() + b.len() - 1];
        for (i, x) in a.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                out[i + j] += x * y;
            }
        }
        out
    }

    fn brute(classes: &[ClassRisk]) -> Vec<f64> {
        let mut acc = vec![1.0];
        for c in classes {
            for _ in 0..c.members {
                acc = convolve(&acc, &c.pmf);
            }
        }
        acc
    }

    fn small_classes() -> Vec<ClassRisk> {
        let sev = Severity {
            points: vec![(2, 0.5), (3, 0.3), (7, 0.2)],
        };
        let a = compound(
            Frequency::NegativeBinomial {
                mean: 0.15,
                shape: 0.5,
            },
            &sev,
            Some(9),
            0.0,
            usize::MAX,
        );
        let b = compound(
            Frequency::Poisson { mean: 0.3 },
            &Severity {
                points: vec![(1, 0.4), (4, 0.6)],
            },
            Some(6),
            0.0,
            usize::MAX,
        );
        vec![
            ClassRisk { members: 7, pmf: a },
            ClassRisk { members: 5, pmf: b },
        ]
    }

    #[test]
    fn agrees_with_brute_force_convolution() {
        let classes = small_classes();
        let exact = brute(&classes);
        let d = payout_distribution(&classes, 1000, 0.0).unwrap();
        for (x, want) in exact.iter().enumerate() {
            let got = if (x as u64) < d.offset {
                0.0
            } else {
                d.pmf.get(x - d.offset as usize).copied().unwrap_or(0.0)
            };
            assert!((got - want).abs() < 1e-12, "x={x}: {got} vs {want}");
        }
        let m: f64 = exact.iter().enumerate().map(|(i, v)| i as f64 * v).sum();
        let v: f64 = exact
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64 - m).powi(2) * p)
            .sum();
        assert!((d.cumulants[0] - m).abs() < 1e-10 && (d.cumulants[1] - v).abs() < 1e-9);
    }

    #[test]
    fn gamma_mixture_of_compound_poisson_is_compound_negative_binomial() {
        // Per member compound Poisson without cap: the town total given θ is compound Poisson
        // with mean θ·Σnλ, and the gamma mixture is compound NB, which Panjer gives exactly.
        let sev = Severity {
            points: vec![(3, 0.5), (5, 0.3), (8, 0.2)],
        };
        let lambda = 0.02;
        let pmf = compound(
            Frequency::Poisson { mean: lambda },
            &sev,
            None,
            1e-18,
            10_000,
        );
        let classes = [ClassRisk {
            members: 2_000,
            pmf,
        }];
        let cv = 0.2;
        let d = payout_distribution(&classes, 100, cv).unwrap();
        let shape = 1.0 / (cv * cv);
        let nb = compound(
            Frequency::NegativeBinomial {
                mean: 2_000.0 * lambda,
                shape,
            },
            &sev,
            None,
            1e-18,
            100_000,
        );
        for (x, want) in nb.iter().enumerate() {
            let got = if (x as u64) < d.offset {
                0.0
            } else {
                d.pmf.get(x - d.offset as usize).copied().unwrap_or(0.0)
            };
            assert!((got - want).abs() < 1e-12, "x={x}: {got} vs {want}");
        }
    }

    #[test]
    fn moments_of_the_vector_match_the_exact_cumulants() {
        let sev = Severity {
            points: vec![(30, 0.4), (45, 0.3), (120, 0.2), (300, 0.1)],
        };
        let mut classes = Vec::new();
        for (i, m) in [0.03, 0.06, 0.12].iter().enumerate() {
            let pmf = compound(
                Frequency::NegativeBinomial {
                    mean: *m,
                    shape: 0.5,
                },
                &sev,
                Some(400),
                0.0,
                usize::MAX,
            );
            classes.push(ClassRisk {
                members: 10_000 * (i as u64 + 1),
                pmf,
            });
        }
        for cv in [0.0, 0.1] {
            let d = payout_distribution(&classes, 1000, cv).unwrap();
            let total: f64 = d.pmf.iter().sum();
            assert!((total - 1.0).abs() < 1e-10, "{total}");
            assert!((d.pmf_mean_units() / d.cumulants[0] - 1.0).abs() < 1e-10);
            assert!((d.pmf_variance_units() / d.cumulants[1] - 1.0).abs() < 1e-8);
            // Mean from first principles: Σ n_c E[X_c].
            let mean: f64 = classes
                .iter()
                .map(|c| {
                    c.members as f64
                        * c.pmf
                            .iter()
                            .enumerate()
                            .map(|(i, p)| i as f64 * p)
                            .sum::<f64>()
                })
                .sum();
            assert!((d.cumulants[0] / mean - 1.0).abs() < 1e-10);
            let var: f64 = classes
                .iter()
                .map(|c| {
                    let m1: f64 = c.pmf.iter().enumerate().map(|(i, p)| i as f64 * p).sum();
                    let m2: f64 = c
                        .pmf
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (i as f64).powi(2) * p)
                        .sum();
                    c.members as f64 * (m2 - m1 * m1)
                })
                .sum::<f64>()
                + mean * mean * cv * cv;
            assert!(
                (d.cumulants[1] / var - 1.0).abs() < 1e-9,
                "{} {var}",
                d.cumulants[1]
            );
        }
    }

    #[test]
    fn a_million_expected_claims() {
        let sev = Severity {
            points: vec![(1, 0.5), (2, 0.3), (5, 0.2)],
        };
        let pmf = compound(
            Frequency::Poisson { mean: 0.1 },
            &sev,
            Some(20),
            0.0,
            usize::MAX,
        );
        let classes = [ClassRisk {
            members: 10_000_000,
            pmf,
        }];
        let d = payout_distribution(&classes, 5000, 0.05).unwrap();
        assert!(d.pmf.iter().all(|v| v.is_finite()));
        // Terms of log G are of size 10^6 here, so double precision leaves ~1e-9 relative.
        assert!((d.pmf.iter().sum::<f64>() - 1.0).abs() < 1e-8);
        assert!((d.pmf_mean_units() / d.cumulants[0] - 1.0).abs() < 1e-8);
        assert!(d.cumulants[0] > 1.9e6);
    }

    fn monte_carlo(classes: &[ClassRisk], paths: usize, seed: u64) -> Vec<f64> {
        use rand::prelude::*;
        // Sample each class total as a sum of n_c draws via the class's own distribution of the
        // number of members with a positive benefit (binomial) and the positive part.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(paths);
        let dists: Vec<_> = classes
            .iter()
            .map(|c| {
                let q = 1.0 - c.pmf[0];
                let pos = rand::distributions::WeightedIndex::new(&c.pmf[1..]).unwrap();
                (rand_distr::Binomial::new(c.members, q).unwrap(), pos)
            })
            .collect();
        for _ in 0..paths {
            let mut s = 0u64;
            for (bin, pos) in &dists {
                let k = bin.sample(&mut rng);
                for _ in 0..k {
                    s += pos.sample(&mut rng) as u64 + 1;
                }
            }
            out.push(s as f64);
        }
        out
    }

    fn mc_check(paths: usize) {
        let sev = Severity {
            points: vec![(3, 0.5), (6, 0.3), (15, 0.2)],
        };
        let classes: Vec<ClassRisk> = [(800u64, 0.05), (400, 0.12)]
            .iter()
            .map(|(n, m)| ClassRisk {
                members: *n,
                pmf: compound(
                    Frequency::NegativeBinomial {
                        mean: *m,
                        shape: 0.5,
                    },
                    &sev,
                    Some(24),
                    0.0,
                    usize::MAX,
                ),
            })
            .collect();
        let d = payout_distribution(&classes, 1000, 0.0).unwrap();
        let sims = monte_carlo(&classes, paths, 42);
        for p in [0.5, 0.9, 0.99] {
            let x = d.quantile_fen(p) / 1000;
            let exact = d.prob_exceeds(x * 1000);
            let mc = sims.iter().filter(|s| **s > x as f64).count() as f64 / paths as f64;
            let se = (exact * (1.0 - exact) / paths as f64).sqrt();
            eprintln!("P(S > {x}): exact {exact:.6}, Monte Carlo {mc:.6}, se {se:.6}");
            assert!(
                (mc - exact).abs() < 4.0 * se,
                "p={p}: MC {mc} vs exact {exact} (se {se})"
            );
        }
        let mc_mean = sims.iter().sum::<f64>() / paths as f64;
        let se = (d.cumulants[1] / paths as f64).sqrt();
        assert!((mc_mean - d.cumulants[0]).abs() < 4.0 * se);
    }

    #[test]
    fn agrees_with_monte_carlo_within_its_standard_error() {
        mc_check(100_000);
    }

    /// The 10^7-path version; run with `cargo test --release -- --ignored`.
    #[test]
    #[ignore]
    fn agrees_with_ten_million_path_monte_carlo() {
        mc_check(10_000_000);
    }
}

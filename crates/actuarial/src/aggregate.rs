//! The town's total payout: the sum over classes of `members` independent copies of each
//! class's per-member yearly benefit, optionally mixed over a common gamma factor (parameter
//! risk and the town-wide shock of the year).
//!
//! Method. For each class the logarithm of the per-member probability generating function is
//! taken on a DFT grid and brought back: this gives the coefficients `h_c` of log G_c(z), a
//! short real sequence (the "Lévy measure" of the class). The town's log-pgf is
//! `H = Σ n_c h_c`; one forward FFT of `H` folded onto the output grid, a pointwise exponential
//! (or the gamma mixture `(1 - H/α)^-α`) and one inverse FFT give the exact distribution modulo
//! the grid size. The grid covers a window outside which a Chernoff bound leaves less than
//! 1e-16 of probability on each side, and is rotated to start at the window's lower end, so its
//! size depends on the spread of the total, not on its mean: 10^6 expected claims cost no more
//! than 10^4 of the same spread. Nothing is raised to the power n_c directly, so nothing
//! underflows.
//!
//! Lattice. [`payout_distribution`] works on the exact lattice (the gcd of the amounts). When
//! the total spreads over millions of lattice points, [`payout_distribution_at`] may use a
//! span `k` times coarser: each member's benefit distribution is first moved onto the coarse
//! lattice by mass dispersal (the mass at `x = jk + r` goes to `j` and `j + 1` in proportions
//! `(k - r)/k` and `r/k`, which keeps every member's mean exactly), the cumulants reported are
//! still the exact ones, and the rounding's effect is reported: the variance it adds (exactly)
//! and an estimate of the largest error it causes in any probability `P(total ≤ x)`.
//!
//! The principal logarithm is the right branch when P(benefit > 0) < 1/2 for every class
//! (then |G_c/p0 - 1| < 1 on the unit circle); classes beyond that are rejected.

use std::cell::RefCell;
use std::sync::Arc;

use realfft::num_complex::Complex64;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

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

/// The distribution of the total payout on a lattice: the exact one, or a coarser one with the
/// effect of the coarsening reported.
#[derive(Debug, Clone, PartialEq)]
pub struct PayoutDistribution {
    /// Span of the lattice of `pmf`, in fen: `exact_unit_fen` or a multiple of it.
    pub unit_fen: i64,
    /// `pmf[j]` is P(total = (offset + j) units).
    pub offset: u64,
    pub pmf: Vec<f64>,
    /// Exact cumulants of the total (mean, variance, third cumulant) in units of `unit_fen`
    /// (computed from the exact per-member distributions, whatever the span of `pmf`).
    pub cumulants: [f64; 3],
    /// The exact lattice of the total (the gcd of the amounts), in fen.
    pub exact_unit_fen: i64,
    /// Variance (fen²) that the mass dispersal onto the coarser lattice added to `pmf`: 0 on the
    /// exact lattice.
    pub rounding_variance_fen2: f64,
    /// Estimate of the largest error of any probability P(total ≤ x) or P(total > x) read from
    /// this distribution that is due to the coarser lattice: 0 on the exact lattice.
    pub rounding_error: f64,
    /// Bound on the probability outside the computed window (Chernoff), which the periodic
    /// transform folds back into it.
    pub tail_bound: f64,
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
    fn coarse(&self) -> bool {
        self.unit_fen != self.exact_unit_fen && self.exact_unit_fen > 0
    }
    /// On a coarse lattice, point `j` stands for the exact lattice points within half a span of
    /// it; probabilities in between are read by linear interpolation (the CDF of the total is
    /// smooth on the scale of the span whenever the coarse lattice is used). `y` is a position
    /// in fen; returns the probability above it.
    fn mass_above_position(&self, y: f64) -> f64 {
        let h = self.unit_fen as f64;
        // Cell of point j: [(j - ½)h, (j + ½)h).
        let c = y / h + 0.5;
        let j = c.floor();
        let frac = c - j;
        let idx = j - self.offset as f64;
        let mut p = 0.0;
        for (i, v) in self.pmf.iter().enumerate().rev() {
            let fi = i as f64;
            if fi > idx {
                p += v.max(0.0);
            } else {
                if fi == idx {
                    p += v.max(0.0) * (1.0 - frac);
                }
                break;
            }
        }
        p.min(1.0)
    }
    /// Smallest amount x (fen) with P(total <= x) >= p.
    pub fn quantile_fen(&self, p: f64) -> i64 {
        if self.coarse() {
            let h = self.unit_fen as f64;
            let u = self.exact_unit_fen as f64;
            let mut acc = 0.0;
            for (j, v) in self.pmf.iter().enumerate() {
                let v = v.max(0.0);
                if acc + v >= p && v > 0.0 {
                    let centre = (self.offset + j as u64) as f64 * h;
                    let y = centre - 0.5 * h + (p - acc) / v * h;
                    // P(total ≤ x) on the exact lattice is the smooth CDF at x + u/2.
                    return ((y - 0.5 * u) / u).ceil().max(0.0) as i64 * self.exact_unit_fen;
                }
                acc += v;
            }
            return (self.offset + self.pmf.len() as u64 - 1) as i64 * self.unit_fen;
        }
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
        if self.coarse() {
            let u = self.exact_unit_fen;
            let x = budget_fen.div_euclid(u) * u;
            return self.mass_above_position(x as f64 + 0.5 * u as f64);
        }
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

/// How finely [`payout_distribution_at`] computes the total.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolution {
    /// Totals whose window fits in a grid of this many points stay on the exact lattice.
    pub max_exact_grid: usize,
    /// Otherwise the span is coarsened so that the window takes about this many points...
    pub target_grid: usize,
    /// ...but no more than keeps the estimated error of probabilities below this.
    pub max_rounding_error: f64,
}

impl Resolution {
    /// Always the exact lattice.
    pub const EXACT: Resolution = Resolution {
        max_exact_grid: usize::MAX,
        target_grid: usize::MAX,
        max_rounding_error: 0.0,
    };
}

impl Default for Resolution {
    /// Exact up to 2^16 grid points; beyond, about 2^16 points as long as probabilities keep an
    /// estimated error below 1e-5.
    fn default() -> Self {
        Resolution {
            max_exact_grid: 1 << 16,
            target_grid: 1 << 16,
            max_rounding_error: 1e-5,
        }
    }
}

/// Probability left outside the window on each side (Chernoff bound).
const TAIL_EPS: f64 = 1e-16;

/// Spectrum entries below this in modulus are set to zero (skipping their logarithms and
/// exponentials): together they move each probability by less than this, and any sum of
/// probabilities over a grid of m points by less than m times this.
const SPECTRUM_CUT: f64 = 1e-24;

/// Grids up to this size keep their FFT plans and buffers between calls (on the same thread);
/// larger ones are built for the call and dropped.
const KEEP_GRID: usize = 1 << 20;

/// Reusable FFT plans (their twiddle factors) and buffers: a design evaluates many tables on
/// grids of the same sizes, and fresh large buffers cost page faults.
#[derive(Default)]
struct Work {
    planner: Option<RealFftPlanner<f64>>,
    grid: Vec<f64>,
    small: Vec<f64>,
    spec: Vec<Complex64>,
    scratch: Vec<Complex64>,
}

thread_local! {
    static WORK: RefCell<Work> = RefCell::new(Work::default());
}

type Plans = (Arc<dyn RealToComplex<f64>>, Arc<dyn ComplexToReal<f64>>);

impl Work {
    fn plans(&mut self, n: usize) -> Plans {
        if n > KEEP_GRID {
            let mut p = RealFftPlanner::new();
            return (p.plan_fft_forward(n), p.plan_fft_inverse(n));
        }
        let p = self.planner.get_or_insert_with(RealFftPlanner::new);
        (p.plan_fft_forward(n), p.plan_fft_inverse(n))
    }
    /// Forward transform of `input` (length n) into `self.spec`.
    fn forward(&mut self, input: &mut [f64]) {
        let n = input.len();
        let (fwd, _) = self.plans(n);
        self.spec.clear();
        self.spec.resize(n / 2 + 1, Complex64::new(0.0, 0.0));
        let sl = fwd.get_scratch_len();
        if self.scratch.len() < sl {
            self.scratch.resize(sl, Complex64::new(0.0, 0.0));
        }
        fwd.process_with_scratch(input, &mut self.spec, &mut self.scratch[..sl])
            .expect("fft sizes match");
    }
    /// Inverse transform of `self.spec` into `out` (length n), unnormalised.
    fn inverse(&mut self, out: &mut [f64]) {
        let n = out.len();
        let (_, inv) = self.plans(n);
        let sl = inv.get_scratch_len();
        if self.scratch.len() < sl {
            self.scratch.resize(sl, Complex64::new(0.0, 0.0));
        }
        inv.process_with_scratch(&mut self.spec, out, &mut self.scratch[..sl])
            .expect("fft sizes match");
    }
    /// Drops buffers too large to keep.
    fn trim(&mut self) {
        for v in [&mut self.grid, &mut self.small] {
            if v.capacity() > KEEP_GRID {
                *v = Vec::new();
            }
        }
        for v in [&mut self.spec, &mut self.scratch] {
            if v.capacity() > KEEP_GRID {
                *v = Vec::new();
            }
        }
    }
}

fn next_pow2(n: usize) -> usize {
    n.max(2).next_power_of_two()
}

/// Principal logarithm of z with |z| well inside the floating-point range (no hypot needed).
#[inline]
fn ln_c(z: Complex64) -> Complex64 {
    Complex64::new(0.5 * z.norm_sqr().ln(), z.im.atan2(z.re))
}

/// Adds `n` × the log-pgf coefficients of one class's per-member distribution to `target`
/// (folded modulo its length).
fn add_log_pgf(pmf: &[f64], n: f64, target: &mut [f64], work: &mut Work) {
    let k = pmf.len();
    let q = 1.0 - pmf[0];
    if q <= 0.0 || k < 2 {
        return;
    }
    // log G = log p0 + log(1 + u) with u = (G - p0)/p0 of l1-norm q/p0 < 1: the coefficients in
    // the j-th period of k points are bounded by (q/p0)^j. Take enough periods for 1e-16.
    let ratio = q / pmf[0];
    let reps = ((-36.8) / ratio.ln()).ceil().clamp(2.0, 128.0) as usize + 1;
    let len = next_pow2(k * reps);
    let mut buf = std::mem::take(&mut work.small);
    buf.clear();
    buf.resize(len, 0.0);
    buf[..k].copy_from_slice(pmf);
    work.forward(&mut buf);
    for z in work.spec.iter_mut() {
        *z = ln_c(*z);
    }
    // A real sequence's spectrum has real end points; the logs keep that up to rounding.
    work.spec[0].im = 0.0;
    let last = work.spec.len() - 1;
    work.spec[last].im = 0.0;
    work.inverse(&mut buf);
    let scale = n / len as f64;
    let m = target.len();
    for (x, v) in buf.iter().enumerate() {
        target[x % m] += scale * v;
    }
    work.small = buf;
}

/// The distribution of the total payout on the exact lattice. `mixing_cv`: coefficient of
/// variation of a common gamma factor acting on the whole year's risk (0 for none).
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
    payout_distribution_at(classes, unit_fen, mixing_cv, time, &Resolution::EXACT)
}

/// Mean and second and third central moments of a distribution on 0, 1, 2, ...
fn moments(pmf: &[f64]) -> [f64; 3] {
    let m1: f64 = pmf.iter().enumerate().map(|(i, p)| i as f64 * p).sum();
    let (mut c2, mut c3) = (0.0, 0.0);
    for (i, p) in pmf.iter().enumerate() {
        let d = i as f64 - m1;
        c2 += d * d * p;
        c3 += d * d * d * p;
    }
    [m1, c2, c3]
}

/// Cumulants of the total from those given the common factor, for a gamma factor of shape α.
fn mix_cumulants(k: [f64; 3], alpha: f64) -> [f64; 3] {
    if alpha.is_finite() {
        [
            k[0],
            k[1] + k[0] * k[0] / alpha,
            k[2] + 3.0 * k[0] * k[1] / alpha + 2.0 * k[0].powi(3) / (alpha * alpha),
        ]
    } else {
        k
    }
}

/// Moves a distribution on the lattice 0, 1, 2, ... onto 0, k, 2k, ... by mass dispersal
/// (mean-preserving); returns the coarse pmf (in units of k) and the variance added.
fn disperse(pmf: &[f64], k: usize) -> (Vec<f64>, f64) {
    let len = (pmf.len() - 1) / k + 2;
    let mut out = vec![0.0; len];
    let mut added = 0.0;
    let kf = k as f64;
    for (x, p) in pmf.iter().enumerate() {
        let (j, r) = (x / k, x % k);
        if r == 0 {
            out[j] += p;
        } else {
            let w = r as f64 / kf;
            out[j] += p * (1.0 - w);
            out[j + 1] += p * w;
            added += p * (r * (k - r)) as f64;
        }
    }
    while out.len() > 1 && out[out.len() - 1] == 0.0 {
        out.pop();
    }
    (out, added)
}

/// The variance that dispersal onto a lattice of `k` units adds to the total (exact units²).
fn dispersal_variance(live: &[(f64, &[f64])], k: usize) -> f64 {
    let mut total = 0.0;
    for (n, pmf) in live {
        let mut v = 0.0;
        let mut r = 0usize;
        for p in pmf.iter() {
            v += p * (r * (k - r)) as f64;
            r += 1;
            if r == k {
                r = 0;
            }
        }
        total += n * v;
    }
    total
}

/// The cumulant generating function of the total, K(t) = log E[exp(t·total)], from the
/// per-member distributions: used for Chernoff bounds of the tails.
struct Cgf {
    /// (members × time, survival function P(X > j) for j = 0..len-1) per class.
    classes: Vec<(f64, Vec<f64>)>,
    alpha: f64,
    /// Largest t at which the power series of every class's log-pgf still converges
    /// (G(e^t) < 2 p0) and e^{t·len} stays finite.
    t_max: f64,
}

impl Cgf {
    fn new(classes: &[(f64, &[f64])], alpha: f64) -> Cgf {
        let mut t_max = f64::INFINITY;
        let mut out = Vec::with_capacity(classes.len());
        for (n, pmf) in classes {
            let mut surv = vec![0.0; pmf.len().saturating_sub(1)];
            let mut acc = 0.0;
            for j in (0..surv.len()).rev() {
                acc += pmf[j + 1];
                surv[j] = acc;
            }
            let len = pmf.len() as f64;
            t_max = t_max.min(600.0 / len);
            out.push((*n, surv));
        }
        let mut c = Cgf {
            classes: out,
            alpha,
            t_max,
        };
        // Shrink t_max until every class has Σ_{x≥1} p_x e^{tx} < p0 (then log G(z) is
        // analytic on |z| ≤ e^t, and so is the mixture's pgf, whose series then converges).
        for _ in 0..200 {
            if c.within_radius(c.t_max) {
                break;
            }
            c.t_max *= 0.8;
        }
        c
    }
    /// log G_c(e^t) - log 1 for each class as (G - 1), via G(e^t) - 1 = (e^t - 1) Σ_j P(X>j) e^{tj},
    /// which has no cancellation.
    fn g_minus_one(surv: &[f64], t: f64) -> f64 {
        let e = t.exp();
        let e4 = e * e * e * e;
        // Four interleaved chains of powers, so the multiplications do not wait for each other.
        let mut w = [1.0, e, e * e, e * e * e];
        let mut s = [0.0f64; 4];
        let mut chunks = surv.chunks_exact(4);
        for c in &mut chunks {
            for i in 0..4 {
                s[i] += c[i] * w[i];
                w[i] *= e4;
            }
        }
        for (i, v) in chunks.remainder().iter().enumerate() {
            s[i] += v * w[i];
        }
        t.exp_m1() * ((s[0] + s[1]) + (s[2] + s[3]))
    }
    fn within_radius(&self, t: f64) -> bool {
        self.classes.iter().all(|(_, surv)| {
            let q = surv.first().copied().unwrap_or(0.0);
            let gm1 = Self::g_minus_one(surv, t);
            // G - p0 = (G - 1) + q < p0 = 1 - q.
            gm1 + q < 1.0 - q
        })
    }
    fn k(&self, t: f64) -> f64 {
        if t > self.t_max {
            return f64::INFINITY;
        }
        let h: f64 = self
            .classes
            .iter()
            .map(|(n, surv)| n * Self::g_minus_one(surv, t).ln_1p())
            .sum();
        if self.alpha.is_finite() {
            if h >= self.alpha {
                return f64::INFINITY;
            }
            -self.alpha * (-h / self.alpha).ln_1p()
        } else {
            h
        }
    }
}

/// Golden-section steps: the bracket of log t shrinks by 0.618^24 ≈ 1e-5, ample for a bound
/// whose optimum is flat.
const GOLDEN_STEPS: usize = 24;

/// min over t in [a, b] (log scale) of a unimodal f by golden section; returns the smallest
/// value seen (every value is a valid bound, so the search needs no exactness).
fn golden_min(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (a.ln(), b.ln());
    let g = 0.618_033_988_749_894_9;
    let mut x1 = hi - g * (hi - lo);
    let mut x2 = lo + g * (hi - lo);
    let (mut f1, mut f2) = (f(x1.exp()), f(x2.exp()));
    let mut best = f1.min(f2);
    for _ in 0..GOLDEN_STEPS {
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = f(x1.exp());
            best = best.min(f1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = f(x2.exp());
            best = best.min(f2);
        }
    }
    best
}

/// As [`payout_distribution_over`], on the exact lattice when the total's window is small
/// enough for `res`, else on a coarser one (see the module documentation).
pub fn payout_distribution_at(
    classes: &[ClassRisk],
    unit_fen: i64,
    mixing_cv: f64,
    time: f64,
    res: &Resolution,
) -> Result<PayoutDistribution, AggregateError> {
    let mut live: Vec<(f64, &[f64])> = Vec::new();
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
        if c.pmf.len() > 1 {
            live.push((c.members as f64 * time, &c.pmf));
        }
    }
    let alpha = if mixing_cv > 0.0 {
        1.0 / (mixing_cv * mixing_cv)
    } else {
        f64::INFINITY
    };
    let mut k = [0.0f64; 3];
    let mut claimants = 0.0;
    for (n, pmf) in &live {
        let m = moments(pmf);
        for i in 0..3 {
            k[i] += n * m[i];
        }
        claimants += n * (1.0 - pmf[0]);
    }
    // Exact cumulants of the total (lattice units).
    let cumulants = mix_cumulants(k, alpha);
    if live.is_empty() || claimants <= 0.0 {
        return Ok(PayoutDistribution {
            unit_fen,
            offset: 0,
            pmf: vec![1.0],
            cumulants: [0.0; 3],
            exact_unit_fen: unit_fen,
            rounding_variance_fen2: 0.0,
            rounding_error: 0.0,
            tail_bound: 0.0,
        });
    }
    // Span. The window of a near-normal total is about 17 sd (8.6 each side for 1e-16, more on
    // the right when skewed).
    let sd = cumulants[1].max(0.0).sqrt();
    let skew = if sd > 0.0 {
        (cumulants[2] / sd.powi(3)).max(0.0)
    } else {
        0.0
    };
    let width = (17.5 + 6.0 * skew) * sd + 1.0;
    let mut span = 1usize;
    if next_pow2(width as usize) > res.max_exact_grid && res.max_rounding_error > 0.0 {
        // The span for the target grid, unless the error would be too large: the estimate
        // computed afterwards is about V·max|f'| ≤ 0.3·V/variance for the near-normal, mildly
        // skewed totals met here, and V, the variance the dispersal adds, is known beforehand.
        let allowed = res.max_rounding_error * cumulants[1] / 0.3;
        span = (width / res.target_grid as f64).ceil().max(1.0) as usize;
        for _ in 0..8 {
            if span <= 1 {
                break;
            }
            let v = dispersal_variance(&live, span);
            if v <= allowed {
                break;
            }
            span = ((span as f64 * (allowed / v).sqrt()).floor() as usize).clamp(1, span - 1);
        }
    }
    loop {
        let d = on_lattice(&live, unit_fen, alpha, cumulants, span)?;
        if span == 1 || d.rounding_error <= res.max_rounding_error {
            return Ok(d);
        }
        // The a-priori estimate was too optimistic for this shape: refine and redo.
        let shrink = (res.max_rounding_error / d.rounding_error).sqrt() * 0.9;
        span = ((span as f64 * shrink).floor() as usize).clamp(1, span - 1);
    }
}

/// The total on the lattice of `span` exact units.
fn on_lattice(
    live: &[(f64, &[f64])],
    unit_fen: i64,
    alpha: f64,
    exact_cumulants: [f64; 3],
    span: usize,
) -> Result<PayoutDistribution, AggregateError> {
    let mut added = 0.0;
    let coarse: Vec<(f64, Vec<f64>)> = if span > 1 {
        live.iter()
            .map(|(n, pmf)| {
                let (c, v) = disperse(pmf, span);
                added += n * v;
                (*n, c)
            })
            .collect()
    } else {
        Vec::new()
    };
    let classes: Vec<(f64, &[f64])> = if span > 1 {
        coarse.iter().map(|(n, p)| (*n, p.as_slice())).collect()
    } else {
        live.to_vec()
    };
    let kf = span as f64;
    let cumulants = [
        exact_cumulants[0] / kf,
        exact_cumulants[1] / (kf * kf),
        exact_cumulants[2] / (kf * kf * kf),
    ];
    // Variance of what is computed, in coarse units (the mixture scales the added part by E Θ = 1).
    let added_c = added / (kf * kf);
    let var = cumulants[1] + added_c;
    let sd = var.max(0.0).sqrt().max(1e-3);
    // Window from Chernoff bounds: P(total > x) ≤ exp(K(t) - t·x) for t > 0, and
    // P(total < x) ≤ exp(K(-s) + s·x) for s > 0.
    let cgf = Cgf::new(&classes, alpha);
    let c = -TAIL_EPS.ln();
    let t0 = (2.0 * c).sqrt() / sd;
    let mean = cumulants[0];
    let upper = {
        let b = (t0 * 100.0).min(cgf.t_max);
        let a = (t0 / 100.0).min(b * 1e-4);
        golden_min(|t| (cgf.k(t) + c) / t, a, b)
    };
    let lower = -golden_min(|s| (cgf.k(-s) + c) / s, t0 / 100.0, t0 * 100.0);
    let hi_f = if upper.is_finite() {
        upper.ceil()
    } else {
        // No usable bound (should not happen): the old rule of thumb.
        (mean + (10.0 + 6.0 * (cumulants[2] / sd.powi(3)).max(0.0)) * sd).ceil()
    };
    let lo = lower.floor().max(0.0) as u64;
    let hi = (hi_f.max(lo as f64)) as u64;
    let width = hi - lo + 1;
    let m = next_pow2(width as usize);
    if m > (1 << 25) {
        return Err(AggregateError::TooWide(m));
    }
    // The log-pgf of the total given the common factor, folded onto the output grid: exact,
    // since e^{-2πi k x / m} has period m in x.
    let mut out = vec![0.0; m];
    WORK.with(|w| {
        let mut work = w.borrow_mut();
        let work = &mut *work;
        let mut grid = std::mem::take(&mut work.grid);
        grid.clear();
        grid.resize(m, 0.0);
        for (n, pmf) in &classes {
            add_log_pgf(pmf, *n, &mut grid, work);
        }
        work.forward(&mut grid);
        work.grid = grid;
        let spec = &mut work.spec;
        // Σ h = log G(1) = 0 exactly; the computed sum carries the rounding of terms of size
        // n·|log p0|, which would otherwise show as a total mass off one.
        spec[0] = Complex64::new(0.0, 0.0);
        if alpha.is_finite() {
            // (1 - z/α)^-α = exp(-α·log(1 - z/α)), of modulus |1 - z/α|^-α: below the cut
            // when |1 - z/α|² > cut^(-2/α).
            let far = SPECTRUM_CUT.powf(-2.0 / alpha);
            for z in spec.iter_mut() {
                let w = Complex64::new(1.0 - z.re / alpha, -z.im / alpha);
                *z = if w.norm_sqr() > far {
                    Complex64::new(0.0, 0.0)
                } else {
                    (ln_c(w) * (-alpha)).exp()
                };
            }
        } else {
            let far = SPECTRUM_CUT.ln();
            for z in spec.iter_mut() {
                *z = if z.re < far {
                    Complex64::new(0.0, 0.0)
                } else {
                    z.exp()
                };
            }
        }
        spec[0].im = 0.0;
        let last = spec.len() - 1;
        spec[last].im = 0.0;
        work.inverse(&mut out);
        work.trim();
    });
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
    // Rounding error: the dispersal acts like adding noise of variance `added` (given the common
    // factor, scaled by it), which moves P(total ≤ x) by about ½·added·f'(x); reading between
    // coarse points by linear interpolation adds at most max|F''|/8 = max|f'|/8. With
    // f' ≈ (p[j+1] - p[j-1])/2 from the computed pmf and a factor 2 of safety:
    // (added/2 + 1/8)·max|p[j+1] - p[j-1]|.
    let rounding_error = if span > 1 {
        let mut d2 = 0.0f64;
        for j in 0..out.len() {
            let a = if j + 1 < out.len() { out[j + 1] } else { 0.0 };
            let b = if j >= 1 { out[j - 1] } else { 0.0 };
            d2 = d2.max((a - b).abs());
        }
        (0.5 * added_c + 0.125) * d2
    } else {
        0.0
    };
    let u = unit_fen as f64;
    Ok(PayoutDistribution {
        unit_fen: unit_fen * span as i64,
        offset: lo,
        pmf: out,
        cumulants,
        exact_unit_fen: unit_fen,
        rounding_variance_fen2: added * u * u,
        rounding_error,
        tail_bound: 2.0 * TAIL_EPS + m as f64 * SPECTRUM_CUT,
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

    /// A town whose total spreads over ~10^5 exact lattice points: computed exactly and on a
    /// coarser lattice, every probability P(S > x) agrees within the reported error bound.
    #[test]
    fn coarse_lattice_agrees_with_exact_within_the_reported_error() {
        let sev = Severity {
            points: vec![
                (30, 0.35),
                (47, 0.25),
                (123, 0.2),
                (311, 0.12),
                (1000, 0.08),
            ],
        };
        let mut classes = Vec::new();
        for (i, m) in [0.03, 0.07, 0.15].iter().enumerate() {
            for (shape, extra) in [(0.5, 0), (0.5, 7)] {
                let sev = Severity {
                    points: sev.points.iter().map(|(k, p)| (k + extra, *p)).collect(),
                };
                let pmf = compound(
                    Frequency::NegativeBinomial { mean: *m, shape },
                    &sev,
                    Some(2000),
                    0.0,
                    usize::MAX,
                );
                classes.push(ClassRisk {
                    members: 3_000 * (i as u64 + 1),
                    pmf,
                });
            }
        }
        for cv in [0.0, 0.1] {
            let exact = payout_distribution(&classes, 1000, cv).unwrap();
            let res = Resolution {
                max_exact_grid: 1 << 12,
                target_grid: 1 << 12,
                max_rounding_error: 1e-4,
            };
            let coarse = payout_distribution_at(&classes, 1000, cv, 1.0, &res).unwrap();
            let k = coarse.unit_fen / 1000;
            assert!(k > 1, "the lattice was not coarsened");
            assert!(coarse.rounding_error > 0.0 && coarse.rounding_error <= 1e-4);
            assert_eq!(coarse.exact_unit_fen, 1000);
            // Exact cumulants, whatever the lattice.
            for i in 0..3 {
                let e = exact.cumulants[i] / (k as f64).powi(i as i32 + 1);
                assert!((coarse.cumulants[i] / e - 1.0).abs() < 1e-9);
            }
            assert!((coarse.mean_fen() / exact.mean_fen() - 1.0).abs() < 1e-12);
            // The computed vector keeps the mean exactly; its variance exceeds the exact one by
            // the reported rounding variance.
            let kf = k as f64;
            assert!((coarse.pmf_mean_units() / coarse.cumulants[0] - 1.0).abs() < 1e-9);
            let added = coarse.pmf_variance_units() * kf * kf * 1e6 - exact.sd_fen().powi(2);
            assert!(
                (added / coarse.rounding_variance_fen2 - 1.0).abs() < 1e-3,
                "{added} vs {}",
                coarse.rounding_variance_fen2
            );
            let bound = coarse.rounding_error + coarse.tail_bound + exact.tail_bound;
            // P(S > x) on the exact lattice from a suffix sum, at 2,000 points across the body.
            let mut above = vec![0.0; exact.pmf.len() + 1];
            for j in (0..exact.pmf.len()).rev() {
                above[j] = above[j + 1] + exact.pmf[j].max(0.0);
            }
            let (lo, hi) = (exact.quantile_fen(1e-9), exact.quantile_fen(1.0 - 1e-9));
            let step = ((hi - lo) / 2000 / 1000).max(1) * 1000 + 1000;
            let mut worst = 0.0f64;
            let mut x = lo;
            while x <= hi {
                let j = (x / 1000) as usize + 1 - exact.offset as usize;
                let d = (coarse.prob_exceeds(x) - above[j.min(exact.pmf.len())]).abs();
                worst = worst.max(d);
                x += step;
            }
            eprintln!(
                "cv {cv}: exact window {} points, span {k}, largest error {worst:.2e}, reported {:.2e}",
                exact.pmf.len(),
                coarse.rounding_error
            );
            assert!(worst <= bound, "{worst} > {bound}");
            for p in [0.5, 0.9, 0.975, 0.99] {
                let (a, b) = (coarse.quantile_fen(p), exact.quantile_fen(p));
                assert!((a - b).abs() <= coarse.unit_fen, "{p}: {a} vs {b}");
            }
        }
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

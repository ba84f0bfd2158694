//! A member's yearly benefit: a compound sum of fixed subsidies, capped per year, by Panjer's
//! recursion on the lattice.

/// Number of eligible stays of one member in a year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Frequency {
    Poisson {
        mean: f64,
    },
    /// Poisson with a gamma frailty of the given shape (over-dispersion of stays per person).
    NegativeBinomial {
        mean: f64,
        shape: f64,
    },
}

impl Frequency {
    pub fn mean(&self) -> f64 {
        match *self {
            Frequency::Poisson { mean } | Frequency::NegativeBinomial { mean, .. } => mean,
        }
    }
    pub fn variance(&self) -> f64 {
        match *self {
            Frequency::Poisson { mean } => mean,
            Frequency::NegativeBinomial { mean, shape } => mean + mean * mean / shape,
        }
    }
    /// (a, b, p0) of the (a, b, 0) class; `ln_p0` is returned as a logarithm so that large means
    /// do not underflow.
    fn abp(&self) -> (f64, f64, f64) {
        match *self {
            Frequency::Poisson { mean } => (0.0, mean, -mean),
            Frequency::NegativeBinomial { mean, shape } => {
                let beta = mean / shape;
                let a = beta / (1.0 + beta);
                (a, (shape - 1.0) * a, -shape * beta.ln_1p())
            }
        }
    }
}

/// Severity of one subsidy on the lattice: `points[i] = (k, p)` means `k` lattice units with
/// probability `p`; `k >= 1` (every subsidy is at least the minimum amount).
#[derive(Debug, Clone, PartialEq)]
pub struct Severity {
    pub points: Vec<(usize, f64)>,
}

impl Severity {
    pub fn mean(&self) -> f64 {
        self.points.iter().map(|(k, p)| *k as f64 * p).sum()
    }
    pub fn second_moment(&self) -> f64 {
        self.points
            .iter()
            .map(|(k, p)| (*k as f64).powi(2) * p)
            .sum()
    }
    pub fn max(&self) -> usize {
        self.points.iter().map(|x| x.0).max().unwrap_or(0)
    }
}

/// Smallest n with P(N > n) below 1e-18 (log-space, so huge means are fine).
fn count_bound(a: f64, b: f64, ln_p0: f64) -> usize {
    let mut ln_p = ln_p0;
    let mut n = 0usize;
    let mut past_mode = false;
    loop {
        n += 1;
        let ratio = a + b / n as f64;
        if ratio <= 0.0 {
            return n;
        }
        ln_p += ratio.ln();
        if ratio < 1.0 {
            past_mode = true;
        }
        // Past the mode the terms fall at least geometrically with `ratio`; bound the rest.
        if past_mode && ratio < 1.0 && ln_p - (1.0 - ratio).ln() < -41.4 {
            return n;
        }
    }
}

/// Smallest length L such that P(S > L) ≤ `tail` by the Chernoff bound of the compound sum,
/// P(S ≥ x) ≤ exp(K(t) − t·x) for every t > 0 where the cumulant generating function
/// K(t) = log E[e^{tS}] is finite: K(t) = λ(M(t) − 1) for Poisson counts and
/// −r·log(1 − β(M(t) − 1)) for negative binomial ones (M the severity's mgf, M − 1 summed as
/// Σ p_k·expm1(t·k) without cancellation). Any t gives a valid bound; the best one minimises
/// (K(t) − log tail)/t, which is unimodal in t (its derivative has the sign of
/// t·K′(t) − K(t) + log tail, increasing in t), by golden section on log t. `None` when no
/// finite bound exists (tail ≤ 0).
pub fn chernoff_length(freq: Frequency, sev: &Severity, tail: f64) -> Option<usize> {
    if tail.is_nan() || tail <= 0.0 || sev.points.is_empty() {
        return None;
    }
    let c = -tail.ln();
    let ymax = sev.max().max(1) as f64;
    let m1 = |t: f64| -> f64 {
        sev.points
            .iter()
            .map(|&(k, p)| p * (t * k as f64).exp_m1())
            .sum()
    };
    let (k_of, t_hi): (Box<dyn Fn(f64) -> f64>, f64) = match freq {
        Frequency::Poisson { mean } => (Box::new(move |t| mean * m1(t)), 700.0 / ymax),
        Frequency::NegativeBinomial { mean, shape } => {
            let beta = mean / shape;
            // K is finite while β(M(t) − 1) < 1: the root by bisection (M − 1 increases in t).
            let (mut lo, mut hi) = (0.0f64, 700.0 / ymax);
            if beta * m1(hi) >= 1.0 {
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if beta * m1(mid) < 1.0 {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                hi = lo;
            }
            (
                Box::new(move |t| {
                    let u = beta * m1(t);
                    if u < 1.0 {
                        -shape * (-u).ln_1p()
                    } else {
                        f64::INFINITY
                    }
                }),
                hi,
            )
        }
    };
    if t_hi.is_nan() || t_hi <= 0.0 {
        return None;
    }
    let f = |lt: f64| -> f64 {
        let t = lt.exp();
        (k_of(t) + c) / t
    };
    let (mut a, mut b) = ((t_hi * 1e-12).ln(), t_hi.ln());
    let r = 0.5 * (5f64.sqrt() - 1.0);
    let (mut x1, mut x2) = (b - r * (b - a), a + r * (b - a));
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..120 {
        if f1 <= f2 {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - r * (b - a);
            f1 = f(x1);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + r * (b - a);
            f2 = f(x2);
        }
    }
    let best = f1.min(f2).min(f(a)).min(f(b));
    if best.is_finite() && best < usize::MAX as f64 / 2.0 {
        Some(best.max(0.0).ceil() as usize)
    } else {
        None
    }
}

/// The sums Σ fa·g[x − y] and Σ fb·g[x − y] for x in x0..x0 + N at once, over severity points
/// with every amount at least N (so that the block reads only values before it): the 2N
/// accumulators stay in registers and the reads are contiguous.
#[inline]
fn panjer_block<const N: usize>(
    g: &[f64],
    x0: usize,
    pts: &[(usize, f64, f64)],
    out_a: &mut [f64; 8],
    out_b: &mut [f64; 8],
) {
    let mut sa = [0.0f64; N];
    let mut sb = [0.0f64; N];
    let mut k = 0;
    // Amounts up to x0 are read by the whole block.
    while k < pts.len() && pts[k].0 <= x0 {
        let (y, fa, fb) = pts[k];
        let src: &[f64; N] = g[x0 - y..x0 - y + N].try_into().expect("N values");
        for j in 0..N {
            sa[j] += fa * src[j];
            sb[j] += fb * src[j];
        }
        k += 1;
    }
    // Amounts within the block are read from x = y on.
    while k < pts.len() && pts[k].0 < x0 + N {
        let (y, fa, fb) = pts[k];
        for j in (y - x0)..N {
            let v = g[x0 + j - y];
            sa[j] += fa * v;
            sb[j] += fb * v;
        }
        k += 1;
    }
    out_a[..N].copy_from_slice(&sa);
    out_b[..N].copy_from_slice(&sb);
}

/// Σ fa·g[x - y] and Σ fb·g[x - y] over the severity points (all with 1 ≤ y ≤ x = g.len()),
/// with four independent accumulators so that the additions do not wait for each other.
#[inline]
fn panjer_sums(g: &[f64], x: usize, pts: &[(usize, f64, f64)]) -> (f64, f64) {
    let mut sa = [0.0f64; 4];
    let mut sb = [0.0f64; 4];
    let mut chunks = pts.chunks_exact(4);
    for c in &mut chunks {
        for i in 0..4 {
            let v = g[x - c[i].0];
            sa[i] += c[i].1 * v;
            sb[i] += c[i].2 * v;
        }
    }
    for (i, &(y, fa, fb)) in chunks.remainder().iter().enumerate() {
        let v = g[x - y];
        sa[i] += fa * v;
        sb[i] += fb * v;
    }
    (
        (sa[0] + sa[1]) + (sa[2] + sa[3]),
        (sb[0] + sb[1]) + (sb[2] + sb[3]),
    )
}

/// The distribution of `min(S, cap)` where `S` is the compound sum, on lattice points
/// `0..=cap` (the last point holds P(S >= cap)). Without a cap the recursion stops at the first
/// of: the length `L` from the count distribution beyond which at most `tail` of the mass lies
/// ([`chernoff_length`]); the point where the accumulated mass is within `tail` of one; the
/// point beyond which not even one part in 1e18 of the count distribution remains
/// ([`count_bound`] subsidies of the largest amount); and `max_len` points. The first rule
/// alone decides when `tail` is below what a running sum of 10^5 and more terms can resolve.
///
/// The recursion is run in a rescaled form: values are renormalised whenever they grow past
/// 1e250, so that means up to 10^6 and more neither underflow (e^-λ) nor overflow.
pub fn compound(
    freq: Frequency,
    sev: &Severity,
    cap: Option<usize>,
    tail: f64,
    max_len: usize,
) -> Vec<f64> {
    let total_p: f64 = sev.points.iter().map(|x| x.1).sum();
    assert!((total_p - 1.0).abs() < 1e-9, "severity sums to {total_p}");
    assert!(
        sev.points.iter().all(|x| x.0 >= 1),
        "severity has mass at zero"
    );
    let (a, b, ln_p0) = freq.abp();
    // Beyond `stop` at most `tail` of the mass is left (the Chernoff bound of S), and beyond
    // `beyond` subsidies of the largest amount none is left in double precision.
    let reach = sev.max().max(1);
    let stop = if cap.is_none() {
        let beyond = count_bound(a, b, ln_p0).saturating_mul(reach);
        chernoff_length(freq, sev, tail).map_or(beyond, |l| l.min(beyond))
    } else {
        usize::MAX
    };
    let limit = cap
        .unwrap_or(max_len.saturating_sub(1))
        .min(max_len.saturating_sub(1))
        .min(stop);
    // g[i] is the true value scaled by exp(-log_scale of its segment). Only the last `reach`
    // entries feed the recursion, so a rescale touches those alone and opens a new segment.
    let mut g: Vec<f64> = Vec::with_capacity(limit.min(1 << 26) + 1);
    let mut segments: Vec<(usize, f64)> = vec![(0, ln_p0)];
    g.push(1.0);
    let mean_total = freq.mean() * sev.mean();
    let mut acc = ln_p0.exp();
    // g[x] = Σ_y (a + b·y/x) f_y g[x-y] = Σ_y (a·f_y) g[x-y] + (1/x) Σ_y (b·y·f_y) g[x-y], with
    // the severity points sorted by amount so that the sum stops at the first y > x.
    let mut sorted: Vec<(usize, f64)> = sev.points.clone();
    sorted.sort_by_key(|p| p.0);
    let pts: Vec<(usize, f64, f64)> = sorted
        .iter()
        .map(|&(y, f)| (y, a * f, b * y as f64 * f))
        .collect();
    // The scaled values are P(S = x)/p0 ≤ 1/p0, so with p0 ≥ e^-500 no rescaling is ever
    // needed, and the values are computed in blocks of eight: the amounts of eight units and
    // more ("far") read only values before the block, so their sums for the whole block are
    // computed at once, point by point of the severity, in loops over contiguous memory that
    // vectorise; the few amounts below eight units ("near") are then added value by value.
    if -ln_p0 < 500.0 {
        const W: usize = 8;
        let p0 = ln_p0.exp();
        let split = pts.partition_point(|p| p.0 < W);
        let (near, far) = pts.split_at(split);
        let mut x0 = 1;
        'blocks: while x0 <= limit {
            let x1 = (x0 + W).min(limit + 1);
            let mut fa = [0.0f64; W];
            let mut fb = [0.0f64; W];
            if x1 - x0 == W {
                panjer_block::<W>(&g, x0, far, &mut fa, &mut fb);
            } else {
                for j in 0..x1 - x0 {
                    let x = x0 + j;
                    let live = far.partition_point(|p| p.0 <= x);
                    (fa[j], fb[j]) = panjer_sums(&g, x, &far[..live]);
                }
            }
            for j in 0..x1 - x0 {
                let x = x0 + j;
                let (mut na, mut nb) = (0.0, 0.0);
                for &(y, pa, pb) in near {
                    if y > x {
                        break;
                    }
                    let v = g[x - y];
                    na += pa * v;
                    nb += pb * v;
                }
                let v = (fa[j] + na) + (fb[j] + nb) / x as f64;
                g.push(v);
                if cap.is_none() {
                    acc += v * p0;
                    if x as f64 > mean_total && 1.0 - acc < tail {
                        break 'blocks;
                    }
                }
            }
            x0 = x1;
        }
    } else {
        let mut live = 0usize;
        for x in 1..=limit {
            let xf = x as f64;
            while live < pts.len() && pts[live].0 <= x {
                live += 1;
            }
            let (sa, sb) = panjer_sums(&g, x, &pts[..live]);
            let s = sa + sb / xf;
            g.push(s);
            if s > 1e250 {
                let from = (x + 1)
                    .saturating_sub(reach)
                    .max(segments.last().map_or(0, |s| s.0));
                for v in &mut g[from..] {
                    *v *= 1e-250;
                }
                let ls = segments.last().map_or(0.0, |s| s.1) + 250.0 * std::f64::consts::LN_10;
                segments.push((from, ls));
            }
            if cap.is_none() {
                acc += g[x] * segments.last().map_or(0.0, |s| s.1).exp();
                if xf > mean_total && 1.0 - acc < tail {
                    break;
                }
            }
        }
    }
    let mut out = vec![0.0; g.len()];
    for (k, &(start, ls)) in segments.iter().enumerate() {
        let end = segments.get(k + 1).map_or(g.len(), |s| s.0);
        let f = ls.exp();
        for i in start..end {
            out[i] = g[i] * f;
        }
    }
    if out.iter().any(|v| !v.is_finite()) {
        panic!("compound recursion left the floating-point range");
    }
    if let Some(c) = cap {
        if out.len() == c + 1 {
            let below: f64 = out[..c].iter().sum();
            out[c] = (1.0 - below).max(0.0);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: sum over n of P(N = n) times the n-fold convolution of the severity.
    fn brute(freq: Frequency, sev: &Severity, len: usize, nmax: usize) -> Vec<f64> {
        let mut f = vec![0.0; len];
        for &(k, p) in &sev.points {
            f[k] += p;
        }
        let pn = |n: usize| -> f64 {
            match freq {
                Frequency::Poisson { mean } => {
                    let mut lp = -mean;
                    for i in 1..=n {
                        lp += mean.ln() - (i as f64).ln();
                    }
                    lp.exp()
                }
                Frequency::NegativeBinomial { mean, shape } => {
                    let beta = mean / shape;
                    let mut p = (1.0 + beta).powf(-shape);
                    for i in 1..=n {
                        p *= (shape + i as f64 - 1.0) / i as f64 * beta / (1.0 + beta);
                    }
                    p
                }
            }
        };
        let mut out = vec![0.0; len];
        let mut conv = vec![0.0; len];
        conv[0] = 1.0;
        for n in 0..=nmax {
            let w = pn(n);
            for i in 0..len {
                out[i] += w * conv[i];
            }
            let mut next = vec![0.0; len];
            for i in 0..len {
                if conv[i] == 0.0 {
                    continue;
                }
                for j in 0..len - i {
                    next[i + j] += conv[i] * f[j];
                }
            }
            conv = next;
        }
        out
    }

    fn sev() -> Severity {
        Severity {
            points: vec![(3, 0.5), (5, 0.3), (8, 0.2)],
        }
    }

    #[test]
    fn agrees_with_brute_force_convolution() {
        for freq in [
            Frequency::Poisson { mean: 0.7 },
            Frequency::NegativeBinomial {
                mean: 0.7,
                shape: 0.5,
            },
        ] {
            let exact = brute(freq, &sev(), 60, 120);
            let p = compound(freq, &sev(), None, 1e-300, 60);
            for i in 0..60 {
                assert!(
                    (p[i] - exact[i]).abs() < 1e-12,
                    "{freq:?} {i}: {} vs {}",
                    p[i],
                    exact[i]
                );
            }
            // With a cap: identical below the cap, the rest piled on the cap.
            let c = compound(freq, &sev(), Some(20), 0.0, usize::MAX);
            assert_eq!(c.len(), 21);
            for i in 0..20 {
                assert!((c[i] - exact[i]).abs() < 1e-12);
            }
            let tail: f64 = 1.0 - exact[..20].iter().sum::<f64>();
            assert!((c[20] - tail).abs() < 1e-12);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
        #[test]
        fn any_small_compound_matches_brute_force(
            pts in proptest::collection::vec((1usize..7, 0.05f64..1.0), 1..4),
            mean in 0.05f64..1.5,
            nb in proptest::bool::ANY,
            cap in 5usize..30,
        ) {
            let total: f64 = pts.iter().map(|p| p.1).sum();
            let sev = Severity { points: pts.iter().map(|(k, p)| (*k, p / total)).collect() };
            let freq = if nb { Frequency::NegativeBinomial { mean, shape: 0.5 } } else { Frequency::Poisson { mean } };
            let exact = brute(freq, &sev, 40, 160);
            let c = compound(freq, &sev, Some(cap), 0.0, usize::MAX);
            for i in 0..cap {
                proptest::prop_assert!((c[i] - exact[i]).abs() < 1e-12, "{} vs {}", c[i], exact[i]);
            }
            let below: f64 = exact[..cap].iter().sum();
            proptest::prop_assert!((c[cap] - (1.0 - below)).abs() < 1e-12);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Amounts of 8 units and more take the blocked recursion with eight values at a time.
        #[test]
        fn blocked_recursion_matches_brute_force(
            pts in proptest::collection::vec((8usize..40, 0.05f64..1.0), 1..6),
            mean in 0.05f64..1.2,
            nb in proptest::bool::ANY,
            cap in 20usize..110,
        ) {
            let total: f64 = pts.iter().map(|p| p.1).sum();
            let sev = Severity { points: pts.iter().map(|(k, p)| (*k, p / total)).collect() };
            let freq = if nb { Frequency::NegativeBinomial { mean, shape: 0.5 } } else { Frequency::Poisson { mean } };
            let exact = brute(freq, &sev, 120, 60);
            let c = compound(freq, &sev, Some(cap), 0.0, usize::MAX);
            for i in 0..cap {
                proptest::prop_assert!((c[i] - exact[i]).abs() < 1e-12, "{i}: {} vs {}", c[i], exact[i]);
            }
            let u = compound(freq, &sev, None, 1e-300, 120);
            for i in 0..u.len().min(120) {
                proptest::prop_assert!((u[i] - exact[i]).abs() < 1e-12, "{i}: {} vs {}", u[i], exact[i]);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        /// Amounts from one unit up, mixed with larger ones: the blocked recursion adds the
        /// amounts below eight units value by value (uncapped and capped).
        #[test]
        fn blocked_recursion_with_small_amounts_matches_brute_force(
            small in proptest::collection::vec((1usize..8, 0.05f64..1.0), 1..4),
            large in proptest::collection::vec((8usize..30, 0.05f64..1.0), 0..4),
            mean in 0.05f64..1.2,
            nb in proptest::bool::ANY,
            cap in 9usize..90,
        ) {
            let pts: Vec<(usize, f64)> = small.iter().chain(large.iter()).copied().collect();
            let total: f64 = pts.iter().map(|p| p.1).sum();
            let sev = Severity { points: pts.iter().map(|(k, p)| (*k, p / total)).collect() };
            let freq = if nb { Frequency::NegativeBinomial { mean, shape: 0.5 } } else { Frequency::Poisson { mean } };
            let exact = brute(freq, &sev, 100, 100);
            let c = compound(freq, &sev, Some(cap), 0.0, usize::MAX);
            for i in 0..cap {
                proptest::prop_assert!((c[i] - exact[i]).abs() < 1e-12, "{i}: {} vs {}", c[i], exact[i]);
            }
            let u = compound(freq, &sev, None, 1e-300, 100);
            for i in 0..u.len().min(100) {
                proptest::prop_assert!((u[i] - exact[i]).abs() < 1e-12, "{i}: {} vs {}", u[i], exact[i]);
            }
        }
    }

    /// The Chernoff length is a valid bound: the exact mass beyond it is at most the tail asked
    /// for, and it is not far beyond where that happens.
    #[test]
    fn chernoff_length_bounds_the_tail() {
        let s = Severity {
            points: vec![(1, 0.6), (2, 0.3), (40, 0.1)],
        };
        for freq in [
            Frequency::Poisson { mean: 3.0 },
            Frequency::NegativeBinomial {
                mean: 3.0,
                shape: 0.5,
            },
            Frequency::Poisson { mean: 0.06 },
        ] {
            let full = compound(freq, &s, Some(20_000), 0.0, usize::MAX);
            for tail in [1e-4, 1e-8, 1e-12] {
                let l = chernoff_length(freq, &s, tail).unwrap();
                let beyond: f64 = full[l + 1..].iter().sum();
                assert!(beyond <= tail, "{freq:?} {tail}: {beyond} beyond {l}");
                // Where the exact tail first drops below `tail`: the bound is within 2× of it.
                let mut first = full.len() - 1;
                let mut rest = 0.0;
                for x in (0..full.len()).rev() {
                    if rest > tail {
                        break;
                    }
                    first = x;
                    rest += full[x];
                }
                assert!(l <= 2 * first + 40, "{freq:?} {tail}: {l} vs {first}");
            }
        }
    }

    /// Issue 16, item 15: λ = 17,500 with a tail of 1e-12 is below what the running sum can
    /// resolve (its rounding is ~1e-11); the recursion must stop on the bound from the count
    /// distribution, near mean + 8 sd, not run to its maximum length.
    #[test]
    fn large_mean_with_tiny_tail_stops_on_the_count_bound() {
        let s = Severity {
            points: vec![(1, 0.6), (2, 0.3), (40, 0.1)],
        };
        let freq = Frequency::Poisson { mean: 17_500.0 };
        let mean = 17_500.0 * s.mean();
        let sd = (17_500.0 * s.second_moment()).sqrt();
        let l = chernoff_length(freq, &s, 1e-12).unwrap();
        assert!((l as f64) < mean + 9.0 * sd, "{l} vs {mean} + 9·{sd}");
        assert!((l as f64) > mean + 6.0 * sd, "{l} vs {mean} + 6·{sd}");
        let p = compound(freq, &s, None, 1e-12, usize::MAX);
        assert_eq!(p.len(), l + 1);
        assert!(p.capacity() <= l + 1);
        let total: f64 = p.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        let m1: f64 = p.iter().enumerate().map(|(i, v)| i as f64 * v).sum::<f64>();
        assert!((m1 / mean - 1.0).abs() < 1e-9, "{m1} {mean}");
        // The same with negative binomial counts.
        let nb = Frequency::NegativeBinomial {
            mean: 17_500.0,
            shape: 50.0,
        };
        let q = compound(nb, &s, None, 1e-12, usize::MAX);
        let nb_sd =
            (17_500.0 * s.second_moment() + (nb.variance() - nb.mean()) * s.mean().powi(2)).sqrt();
        assert!(
            (q.len() as f64) < mean + 12.0 * nb_sd,
            "{} {nb_sd}",
            q.len()
        );
        assert!((q.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn exact_moments_without_cap() {
        let freq = Frequency::NegativeBinomial {
            mean: 2.5,
            shape: 0.5,
        };
        let p = compound(freq, &sev(), None, 1e-16, 100_000);
        let m1: f64 = p.iter().enumerate().map(|(i, v)| i as f64 * v).sum();
        let m2: f64 = p
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64).powi(2) * v)
            .sum();
        let s = sev();
        let mean = freq.mean() * s.mean();
        let var =
            freq.mean() * s.second_moment() + (freq.variance() - freq.mean()) * s.mean().powi(2);
        assert!((m1 / mean - 1.0).abs() < 1e-10, "{m1} {mean}");
        assert!(((m2 - m1 * m1) / var - 1.0).abs() < 1e-9);
    }

    #[test]
    fn huge_means_neither_underflow_nor_overflow() {
        // 10^6 expected subsidies: e^-1e6 underflows in a naive recursion.
        let freq = Frequency::Poisson { mean: 1e6 };
        let s = Severity {
            points: vec![(1, 0.6), (2, 0.4)],
        };
        let p = compound(freq, &s, None, 1e-14, 3_000_000);
        assert!(p.iter().all(|v| v.is_finite() && *v >= 0.0));
        // 1.4 million recursion steps accumulate rounding of order 1e-8.
        let total: f64 = p.iter().sum();
        assert!((total - 1.0).abs() < 1e-7, "{total}");
        let m1: f64 = p.iter().enumerate().map(|(i, v)| i as f64 * v).sum::<f64>() / total;
        assert!((m1 / 1.4e6 - 1.0).abs() < 1e-9, "{m1}");
        let var: f64 = p
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 - m1).powi(2) * v)
            .sum();
        assert!(
            (var / (1e6 * s.second_moment()) - 1.0).abs() < 1e-6,
            "{var}"
        );
    }
}

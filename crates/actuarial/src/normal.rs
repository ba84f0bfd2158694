//! Standard normal distribution and the Normal-Power approximation.

/// Φ(x) to about 1e-7 relative error: ample for the Normal-Power approximation, whose own
/// error is far larger, and for reporting.
pub fn cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// Complementary error function (the Chebyshev fit of Numerical Recipes' `erfcc`, relative
/// error below 1.2e-7 everywhere).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Φ⁻¹(p) by Acklam's rational approximation (relative error below 1.2e-9).
pub fn quantile(p: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0, "probability {p} outside (0, 1)");
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let plow = 0.02425;
    if p < plow {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - plow {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// Normal-Power (NP2) quantile from mean, standard deviation and skewness.
pub fn np_quantile(mean: f64, sd: f64, skew: f64, p: f64) -> f64 {
    let z = quantile(p);
    mean + sd * (z + skew / 6.0 * (z * z - 1.0))
}

/// NP2 probability that the total exceeds `x`.
pub fn np_exceed(mean: f64, sd: f64, skew: f64, x: f64) -> f64 {
    if sd <= 0.0 {
        return if x < mean { 1.0 } else { 0.0 };
    }
    let y = (x - mean) / sd;
    let z = if skew.abs() < 1e-12 {
        y
    } else {
        // Invert y = z + g/6 (z^2 - 1) for the root that is increasing in y.
        let g = skew / 6.0;
        let disc = 1.0 + 4.0 * g * (y + g);
        if disc <= 0.0 {
            -1.0 / (2.0 * g)
        } else {
            (-1.0 + disc.sqrt()) / (2.0 * g)
        }
    };
    1.0 - cdf(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert!((cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((cdf(1.959963984540054) - 0.975).abs() < 2e-7);
        assert!((cdf(-2.326347874040841) - 0.01).abs() < 2e-7);
        assert!((quantile(0.975) - 1.959963984540054).abs() < 1e-6);
        assert!((quantile(0.01) + 2.326347874040841).abs() < 1e-6);
        // NP with zero skew is the normal.
        assert!(
            (np_quantile(10.0, 2.0, 0.0, 0.975) - (10.0 + 2.0 * 1.959963984540054)).abs() < 1e-5
        );
        let x = np_quantile(10.0, 2.0, 0.8, 0.95);
        assert!((np_exceed(10.0, 2.0, 0.8, x) - 0.05).abs() < 1e-6);
    }
}

//! `changePercent` arithmetic exactly as Otter does it, in Python's `decimal` module:
//! `int((current * (Decimal(percent) / 100)).to_integral_value(ROUND_UP))`.
//!
//! That is: the exact value of the binary number the JSON parser produced (not its
//! shortest decimal spelling), divided by 100 and then multiplied by the current capacity,
//! each result rounded half-even to 28 significant digits (Python's default context), and
//! the product rounded away from zero to a whole number of members. So any non-zero
//! fraction of a member counts as one: 33.333333333333336 % of 3 is 2 members, 1e-9 % of 10
//! is 1, and 10 % of 10 is exactly 1. Floating-point arithmetic cannot give these answers
//! (the products of binary numbers round where Otter's decimals do not), so this is done in
//! integers; `num-bigint` holds the up to ~770 digits a tiny `f64` has exactly.

use num_bigint::BigUint;

/// Python's default decimal context precision.
const PRECISION: u32 = 28;

/// `coefficient × 10^exponent`, with a sign.
#[derive(Debug, Clone, PartialEq)]
struct Decimal {
    negative: bool,
    coefficient: BigUint,
    exponent: i64,
}

impl Decimal {
    /// The exact value of a finite `f64`.
    fn from_f64(value: f64) -> Decimal {
        let bits = value.to_bits();
        let negative = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let fraction = bits & ((1 << 52) - 1);
        let (mantissa, power_of_two) =
            if biased == 0 { (fraction, -1074) } else { (fraction | (1 << 52), biased - 1075) };
        let mantissa = BigUint::from(mantissa);
        if power_of_two >= 0 {
            Decimal { negative, coefficient: mantissa << power_of_two as usize, exponent: 0 }
        } else {
            // m × 2^-k = m × 5^k × 10^-k.
            let k = (-power_of_two) as u32;
            Decimal { negative, coefficient: mantissa * BigUint::from(5u32).pow(k), exponent: power_of_two }
        }
    }

    /// Rounded half-even to [`PRECISION`] significant digits.
    fn rounded(self) -> Decimal {
        let digits = self.coefficient.to_string().len() as u32;
        if digits <= PRECISION {
            return self;
        }
        let dropped = digits - PRECISION;
        let divisor = BigUint::from(10u32).pow(dropped);
        let mut kept = &self.coefficient / &divisor;
        let rest = &self.coefficient % &divisor;
        let twice_rest = rest * 2u32;
        let odd = kept.bit(0);
        if twice_rest > divisor || (twice_rest == divisor && odd) {
            kept += 1u32;
        }
        Decimal { negative: self.negative, coefficient: kept, exponent: self.exponent + i64::from(dropped) }
    }

    /// The whole number reached by rounding away from zero, saturated to `i64`.
    fn round_up(&self) -> i128 {
        let magnitude = if self.exponent >= 0 {
            &self.coefficient * BigUint::from(10u32).pow(self.exponent.min(400) as u32)
        } else {
            let divisor = BigUint::from(10u32).pow(self.exponent.unsigned_abs().min(2000) as u32);
            let whole = &self.coefficient / &divisor;
            if (&self.coefficient % &divisor) == BigUint::ZERO { whole } else { whole + 1u32 }
        };
        let magnitude = i128::from(u64::try_from(&magnitude).unwrap_or(u64::MAX).min(i64::MAX as u64));
        if self.negative { -magnitude } else { magnitude }
    }
}

/// How many members `percent` % of `current` adds (negative: removes), as Otter computes it.
pub fn percent_delta(current: u32, percent: f64) -> i128 {
    if !percent.is_finite() {
        // The validators accept only finite numbers; saturate rather than guess.
        return if percent > 0.0 { i128::from(i64::MAX) } else { i128::from(i64::MIN) };
    }
    if current == 0 || percent == 0.0 {
        return 0;
    }
    let mut per_member = Decimal::from_f64(percent);
    per_member.exponent -= 2;
    let per_member = per_member.rounded();
    let product = Decimal {
        negative: per_member.negative,
        coefficient: per_member.coefficient * current,
        exponent: per_member.exponent,
    }
    .rounded();
    product.round_up()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otters_table_with_five_members() {
        for (percent, delta) in [(50.0, 3), (5.0, 1), (75.0, 4), (-50.0, -3), (-5.0, -1), (-75.0, -4)] {
            assert_eq!(percent_delta(5, percent), delta, "{percent} %");
        }
    }

    #[test]
    fn any_fraction_of_a_member_counts_as_one() {
        assert_eq!(percent_delta(3, 33.333333333333336), 2);
        assert_eq!(percent_delta(10, 1e-9), 1);
        assert_eq!(percent_delta(10, -1e-9), -1);
        assert_eq!(percent_delta(1000, 1e-300), 1);
        assert_eq!(percent_delta(1, f64::MIN_POSITIVE / 2.0), 1, "subnormal");
    }

    #[test]
    fn exact_multiples_are_not_rounded_up() {
        assert_eq!(percent_delta(10, 10.0), 1);
        assert_eq!(percent_delta(3, 100.0), 3);
        assert_eq!(percent_delta(200, 50.0), 100);
        assert_eq!(percent_delta(0, 50.0), 0);
        assert_eq!(percent_delta(4, -25.0), -1);
    }

    #[test]
    fn binary_values_are_taken_exactly_as_python_does() {
        // Decimal(0.1) is 0.1000000000000000055511151231257827…: 0.1 % of 1000 is just over 1.
        assert_eq!(percent_delta(1000, 0.1), 2);
        // 28 digits: Decimal(1/3) / 100 rounds to 0.003333333333333333148296162562, times 300
        // is 0.9999999999999999444888487686, which rounds up to 1.
        assert_eq!(percent_delta(300, 1.0 / 3.0), 1);
    }

    #[test]
    fn huge_percentages_saturate() {
        assert_eq!(percent_delta(1000, 1e300), i128::from(i64::MAX));
        assert_eq!(percent_delta(1000, -1e300), -i128::from(i64::MAX));
        assert_eq!(percent_delta(1, f64::MAX), i128::from(i64::MAX));
    }
}

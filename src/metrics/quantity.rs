//! Kubernetes `resource.Quantity` strings (`100m`, `1Gi`, `1.5`, `5e3`, `129e6`) as
//! numbers, with the two conversions KSM uses:
//! - [`Quantity::value`]: Go's `Quantity.Value()`, the amount rounded up to an integer
//!   (used for bytes and extended resources);
//! - [`Quantity::cores`]: KSM's `convertValueToFloat64`, `MilliValue()/1000`, which
//!   keeps three decimals (used for CPU and node resources), or `Value()` when the
//!   milli value would not fit in an int64.
//!
//! Arithmetic is exact (i128) so `0.1` CPU is 0.1 and `1Gi` is 1073741824.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    #[error("quantity {0:?}: no digits")]
    NoDigits(String),
    #[error("quantity {0:?}: unknown suffix {1:?}")]
    UnknownSuffix(String, String),
    #[error("quantity {0:?}: number too large")]
    TooLarge(String),
}

/// `mantissa × 10^exp10 × 2^exp2`, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exp10: i32,
    exp2: u32,
}

/// `MaxMilliValue` in apimachinery: the largest value whose milli value fits an int64.
const MAX_MILLI_VALUE: i128 = (i64::MAX / 1000) as i128;

impl Quantity {
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let trimmed = text.trim();
        let (negative, rest) = match trimmed.as_bytes().first() {
            Some(b'-') => (true, &trimmed[1..]),
            Some(b'+') => (false, &trimmed[1..]),
            _ => (false, trimmed),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(QuantityError::NoDigits(text.to_string()));
        }
        let too_large = || QuantityError::TooLarge(text.to_string());
        let mut mantissa: i128 = 0;
        // Leading zeros cost nothing; more than 38 significant digits would overflow.
        for digit in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(digit - b'0')))
                .ok_or_else(too_large)?;
        }
        let fraction_digits = i32::try_from(fraction.len()).map_err(|_| too_large())?;
        let (exp10, exp2) = parse_suffix(suffix)
            .ok_or_else(|| QuantityError::UnknownSuffix(text.to_string(), suffix.to_string()))?;
        Ok(Quantity {
            mantissa: if negative { -mantissa } else { mantissa },
            exp10: exp10 - fraction_digits,
            exp2,
        })
    }

    /// `ceil(self × 10^scale)` when it fits in an i128.
    fn scaled_ceil(&self, scale: i32) -> Option<i128> {
        let numerator = self.mantissa.checked_mul(1i128.checked_shl(self.exp2)?)?;
        let exp = self.exp10.checked_add(scale)?;
        if exp >= 0 {
            numerator.checked_mul(10i128.checked_pow(exp.unsigned_abs())?)
        } else {
            let denominator = 10i128.checked_pow(exp.unsigned_abs())?;
            let quotient = numerator.div_euclid(denominator);
            Some(if numerator.rem_euclid(denominator) == 0 {
                quotient
            } else {
                quotient + 1
            })
        }
    }

    fn approximate(&self, scale: i32) -> f64 {
        let exp2 = i32::try_from(self.exp2).unwrap_or(i32::MAX);
        self.mantissa as f64 * 10f64.powi(self.exp10.saturating_add(scale)) * 2f64.powi(exp2)
    }

    /// Go's `Quantity.Value()`: rounded up to an integer, saturating at the int64 range.
    pub fn value(&self) -> f64 {
        match self.scaled_ceil(0) {
            Some(v) => v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as f64,
            None => self
                .approximate(0)
                .ceil()
                .clamp(i64::MIN as f64, i64::MAX as f64),
        }
    }

    /// KSM's `convertValueToFloat64`: `MilliValue()/1000`, or `Value()` when the
    /// milli value would overflow an int64.
    pub fn cores(&self) -> f64 {
        let whole = self.scaled_ceil(0);
        match (whole, self.scaled_ceil(3)) {
            (Some(v), Some(milli)) if v <= MAX_MILLI_VALUE => milli as f64 / 1000.0,
            _ => self.value(),
        }
    }
}

/// `(exp10, exp2)` for a suffix: binary SI, decimal SI, or a decimal exponent.
fn parse_suffix(suffix: &str) -> Option<(i32, u32)> {
    let binary = |power: u32| Some((0, power * 10));
    match suffix {
        "" => Some((0, 0)),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        "n" => Some((-9, 0)),
        "u" => Some((-6, 0)),
        "m" => Some((-3, 0)),
        "k" => Some((3, 0)),
        "M" => Some((6, 0)),
        "G" => Some((9, 0)),
        "T" => Some((12, 0)),
        "P" => Some((15, 0)),
        "E" => Some((18, 0)),
        _ => {
            let exponent = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            exponent.parse::<i32>().ok().map(|e| (e, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn values_round_up_to_integers() {
        assert_eq!(q("100m").value(), 1.0);
        assert_eq!(q("1Gi").value(), 1_073_741_824.0);
        assert_eq!(q("123Mi").value(), 128_974_848.0);
        assert_eq!(q("128974848").value(), 128_974_848.0);
        assert_eq!(q("129e6").value(), 129_000_000.0);
        assert_eq!(q("5e3").value(), 5000.0);
        assert_eq!(q("1.5").value(), 2.0);
        assert_eq!(q("300M").value(), 3e8);
        assert_eq!(q("10000T").value(), 1e16);
        assert_eq!(q("0").value(), 0.0);
        assert_eq!(q("1E").value(), 1e18);
    }

    #[test]
    fn cores_keep_three_decimals() {
        assert_eq!(q("100m").cores(), 0.1);
        assert_eq!(q("200m").cores(), 0.2);
        assert_eq!(q("4.3").cores(), 4.3);
        assert_eq!(q("1.5").cores(), 1.5);
        assert_eq!(q("3").cores(), 3.0);
        assert_eq!(q("1n").cores(), 0.001, "milli value rounds up");
        assert_eq!(q("2G").cores(), 2e9);
        // 10000T: the milli value overflows int64, so KSM falls back to Value().
        assert_eq!(q("10000T").cores(), 1e16);
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            Quantity::parse(""),
            Err(QuantityError::NoDigits(_))
        ));
        assert!(matches!(
            Quantity::parse("12Qi"),
            Err(QuantityError::UnknownSuffix(..))
        ));
        assert!(matches!(
            Quantity::parse("1e"),
            Err(QuantityError::UnknownSuffix(..))
        ));
        assert!(matches!(
            Quantity::parse("1".repeat(60).as_str()),
            Err(QuantityError::TooLarge(_))
        ));
    }

    #[test]
    fn negative_and_signed_exponents() {
        assert_eq!(q("-1").value(), -1.0);
        assert_eq!(q("1e-3").cores(), 0.001);
        assert_eq!(q("+2Ki").value(), 2048.0);
    }
}

//! Byte-level pieces of the exposition: Go's shortest `%g` float formatting (KSM
//! writes values with `strconv.FormatFloat(v, 'g', -1, 64)`), label value escaping
//! and HELP text escaping.

use std::io::Write as _;

/// Appends `value` exactly as Go's `strconv.FormatFloat(value, 'g', -1, 64)` would,
/// with KSM's special cases (`+Inf`, `-Inf`, `NaN`, and `0` for negative zero).
pub fn push_go_float(out: &mut Vec<u8>, value: f64) {
    write_go_float(out, value);
}

/// `value` formatted as [`push_go_float`] does, in a stack buffer: lets a caller learn a
/// sample's length before writing it.
pub fn go_float_bytes(value: f64) -> GoFloat {
    let mut formatted = GoFloat {
        bytes: [0; GO_FLOAT_MAX],
        len: 0,
    };
    write_go_float(&mut formatted, value);
    formatted
}

/// The longest Go `%g` output of an f64 (`-2.2250738585072014e-308` is 24 bytes).
const GO_FLOAT_MAX: usize = 32;

/// A formatted float held on the stack (see [`go_float_bytes`]).
pub struct GoFloat {
    bytes: [u8; GO_FLOAT_MAX],
    len: usize,
}

impl GoFloat {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Where formatted bytes go: a `Vec` or a [`GoFloat`].
trait ByteSink {
    fn push(&mut self, byte: u8);
    fn extend_from_slice(&mut self, bytes: &[u8]);
}

impl ByteSink for Vec<u8> {
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes);
    }
}

impl ByteSink for GoFloat {
    fn push(&mut self, byte: u8) {
        // Formatting never exceeds GO_FLOAT_MAX; a longer write would be a bug, dropped here.
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.push(byte);
        }
    }
}

fn write_go_float(out: &mut impl ByteSink, value: f64) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    if value == 0.0 {
        // KSM's fast path compares with 0, so -0 prints as "0" too.
        out.push(b'0');
        return;
    }
    if value.fract() == 0.0 && value.abs() < 1e15 {
        push_integer(out, value);
        return;
    }
    // Rust's `{:e}` yields the shortest digits that round-trip, the same digit
    // string Go's shortest mode picks; only the layout differs.
    let mut scratch = [0u8; 40];
    let mut cursor = std::io::Cursor::new(&mut scratch[..]);
    // A 40-byte buffer always holds a formatted f64 ("-d.ddddddddddddddddde-308").
    let _ = write!(cursor, "{value:e}");
    let len = cursor.position() as usize;
    let text = &scratch[..len];

    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let e_pos = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut digits = [0u8; 20];
    let mut nd = 0;
    for &b in &text[..e_pos] {
        if b.is_ascii_digit() && nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    let exponent = parse_exponent(&text[(e_pos + 1).min(text.len())..]);
    let digits = &digits[..nd];

    if negative {
        out.push(b'-');
    }
    // Go: exponent form when the decimal exponent is < -4 or >= 6 (shortest mode
    // uses precision 6 for this decision).
    if !(-4..6).contains(&exponent) {
        push_exponent_form(out, digits, exponent);
    } else {
        push_fixed_form(out, digits, exponent);
    }
}

/// Convenience wrapper returning a `String`.
pub fn go_float(value: f64) -> String {
    let mut out = Vec::with_capacity(24);
    push_go_float(&mut out, value);
    // Only ASCII was written.
    String::from_utf8(out).unwrap_or_default()
}

/// Fast path for whole numbers below 1e15 (timestamps, bytes, counts): below 2^53
/// every integer is exact, so its shortest round-trip digits are its decimal digits
/// without trailing zeros, and no float formatting machinery is needed.
fn push_integer(out: &mut impl ByteSink, value: f64) {
    let mut n = value.abs() as u64;
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    while n > 0 {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let all = &digits[start..];
    if value < 0.0 {
        out.push(b'-');
    }
    let exponent = all.len() as i32 - 1;
    if exponent < 6 {
        out.extend_from_slice(all);
    } else {
        let significant = all
            .iter()
            .rposition(|&d| d != b'0')
            .map_or(1, |last| last + 1);
        push_exponent_form(out, &all[..significant], exponent);
    }
}

fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let magnitude = digits
        .iter()
        .fold(0i32, |acc, &b| acc * 10 + i32::from(b.wrapping_sub(b'0')));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

fn push_exponent_form(out: &mut impl ByteSink, digits: &[u8], exponent: i32) {
    out.push(digits[0]);
    if digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
    }
    out.push(b'e');
    out.push(if exponent < 0 { b'-' } else { b'+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        out.push(b'0');
    }
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    let mut rest = magnitude;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

fn push_fixed_form(out: &mut impl ByteSink, digits: &[u8], exponent: i32) {
    // Position of the decimal point relative to the first digit.
    let point = exponent + 1;
    if point <= 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..point.unsigned_abs() {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
        return;
    }
    let point = point as usize;
    if point >= digits.len() {
        out.extend_from_slice(digits);
        for _ in digits.len()..point {
            out.push(b'0');
        }
    } else {
        out.extend_from_slice(&digits[..point]);
        out.push(b'.');
        out.extend_from_slice(&digits[point..]);
    }
}

/// Appends a label value with the three escapes of the text format: `\` → `\\`,
/// newline → `\n`, `"` → `\"`.
pub fn push_escaped_label_value(out: &mut Vec<u8>, value: &str) {
    if !value.bytes().any(|b| matches!(b, b'\\' | b'\n' | b'"')) {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' => out.extend_from_slice(b"\\\""),
            other => out.push(other),
        }
    }
}

/// HELP text escaping: `\` → `\\` and newline → `\n` (quotes stay as they are).
pub fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_go_for_known_values() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (137.0, "137"),
            (0.2, "0.2"),
            (0.3, "0.3"),
            (4.3, "4.3"),
            (3e8, "3e+08"),
            (1.5e9, "1.5e+09"),
            (1_501_779_547.0, "1.501779547e+09"),
            (5_368_709_120.0, "5.36870912e+09"),
            (11111.0, "11111"),
            (123_456.0, "123456"),
            (1_234_567.0, "1.234567e+06"),
            (12_345_678.0, "1.2345678e+07"),
            (1e6, "1e+06"),
            (999_999.0, "999999"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.000_123, "0.000123"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1e100, "1e+100"),
            (-2.5e-300, "-2.5e-300"),
            (-62_135_596_800.0, "-6.21355968e+10"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (100.5, "100.5"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for &(value, want) in cases {
            assert_eq!(go_float(value), want, "formatting {value:?}");
            assert_eq!(go_float_bytes(value).as_bytes(), want.as_bytes());
        }
    }

    #[test]
    fn escapes_label_values() {
        let mut out = Vec::new();
        push_escaped_label_value(&mut out, "a\\b\n\"c\"");
        assert_eq!(out, b"a\\\\b\\n\\\"c\\\"");
        assert_eq!(escape_help("a\\b\nc\"d"), "a\\\\b\\nc\"d");
    }

    proptest! {
        #[test]
        fn parses_back_to_the_same_value(value in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL) {
            let text = go_float(value);
            let parsed: f64 = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(parsed, value);
        }

        #[test]
        fn layout_follows_the_exponent_rule(value in -1e12f64..1e12) {
            let text = go_float(value);
            let exponent = if value == 0.0 { 0 } else { value.abs().log10().floor() as i32 };
            let uses_exponent = text.contains('e');
            // Near a power of ten log10 can be off by one; only check clear cases.
            if (-3..5).contains(&exponent) { prop_assert!(!uses_exponent, "{text}"); }
            if exponent >= 7 { prop_assert!(uses_exponent, "{text}"); }
        }

        #[test]
        fn integer_fast_path_agrees_with_the_general_path(value in -1e15f64..1e15) {
            let whole = value.trunc();
            let mut fast = Vec::new();
            push_go_float(&mut fast, whole);
            // Nudge through the general path: format the same digits via `{:e}` layout.
            let slow = format!("{whole:e}");
            let parsed: f64 = String::from_utf8_lossy(&fast).parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(parsed, whole, "{} vs {}", String::from_utf8_lossy(&fast), slow);
        }

        #[test]
        fn integers_below_a_million_print_plainly(value in -999_999i64..999_999) {
            prop_assert_eq!(go_float(value as f64), value.to_string());
        }
    }
}

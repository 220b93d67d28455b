//! Decimal text to `f64`, correctly rounded (to nearest, ties to even), with the grammar of
//! `str::parse::<f64>`; and an `f32` to its shortest decimal, as `f32`'s `Display` picks it.
//!
//! Why not `str::parse`: core's algorithm carries a 10 KB table of powers of five and about
//! 6 KB of code, a twentieth of the component, for the few numbers the provider reads
//! (prices, `retry-after`). Here the common case is exact in `f64` arithmetic (at most 15
//! digits and a power of ten up to 10^22, Clinger's fast path); anything else is computed
//! exactly with a small big integer: the first 800 significant digits decide the rounding,
//! the rest only whether the value lies above them.

/// Significant digits read exactly; later ones only tell whether something follows.
const MAX_DIGITS: usize = 800;

/// Parses `[+-]` then `inf`, `infinity` or `nan` (any case), or digits with an optional `.`
/// (digits on at least one side) and an optional exponent `e`/`E` `[+-]` digits.
pub fn parse_f64(text: &str) -> Option<f64> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = if ["inf", "infinity"]
        .iter()
        .any(|w| rest.eq_ignore_ascii_case(w))
    {
        f64::INFINITY
    } else if rest.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else {
        parse_decimal(rest.as_bytes())?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// An unsigned decimal number.
fn parse_decimal(bytes: &[u8]) -> Option<f64> {
    // value = digits × 10^exponent (+ something smaller when `inexact`)
    let mut digits: Vec<u8> = Vec::new();
    let mut exponent: i64 = 0;
    let mut inexact = false;
    let mut seen_digit = false;
    let mut seen_point = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                if seen_point {
                    exponent -= 1;
                }
                if digits.len() < MAX_DIGITS {
                    // Leading zeros only set the scale.
                    if b != b'0' || !digits.is_empty() {
                        digits.push(b - b'0');
                    }
                } else {
                    inexact |= b != b'0';
                    exponent += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if let Some(b'e' | b'E') = bytes.get(i) {
        i += 1;
        let negative = match bytes.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while let Some(&b @ b'0'..=b'9') = bytes.get(i) {
            // Saturates far beyond any f64.
            e = (e * 10 + i64::from(b - b'0')).min(1 << 40);
            i += 1;
        }
        if i == start {
            return None;
        }
        exponent += if negative { -e } else { e };
    }
    if i != bytes.len() {
        return None;
    }
    while digits.last() == Some(&0) {
        digits.pop();
        exponent += 1;
    }
    if digits.is_empty() {
        return Some(0.0);
    }
    // The value lies in [10^(magnitude - 1), 10^magnitude).
    let magnitude = exponent + digits.len() as i64;
    if magnitude > 310 {
        return Some(f64::INFINITY);
    }
    if magnitude < -330 {
        return Some(0.0);
    }
    let exponent = exponent as i32;
    if digits.len() <= 15 && !inexact && (-22..=22).contains(&exponent) {
        let mut n: u64 = 0;
        for &d in &digits {
            n = n * 10 + u64::from(d);
        }
        let n = n as f64;
        let scale = POWERS_OF_TEN[exponent.unsigned_abs() as usize];
        return Some(if exponent < 0 { n / scale } else { n * scale });
    }
    Some(slow(&digits, exponent, inexact))
}

/// 10^0 to 10^22, each exact in `f64`.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `digits × 10^exponent` (plus a little when `inexact`), computed exactly.
fn slow(digits: &[u8], exponent: i32, inexact: bool) -> f64 {
    let mut n = Big::default();
    for chunk in digits.chunks(9) {
        let mut part = 0;
        for &d in chunk {
            part = part * 10 + u32::from(d);
        }
        n.mul_add(10u32.pow(chunk.len() as u32), part);
    }
    if exponent >= 0 {
        n.mul_pow10(exponent.unsigned_abs());
        let bits = n.bits();
        let (top, rest) = n.top64(bits);
        round(top, bits as i32 - 64, rest || inexact)
    } else {
        // n / 10^k = q × 2^-shift, with q of 63 or 64 bits.
        let mut den = Big::default();
        den.mul_add(1, 1);
        den.mul_pow10(exponent.unsigned_abs());
        let shift = 63 + den.bits() as i32 - n.bits() as i32;
        if shift >= 0 {
            n.shl(shift as u32);
        } else {
            den.shl(shift.unsigned_abs());
        }
        den.shl(63);
        let mut q: u64 = 0;
        for bit in (0..64).rev() {
            if n.ge(&den) {
                n.sub(&den);
                q |= 1 << bit;
            }
            den.shr1();
        }
        round(q, -shift, !n.is_zero() || inexact)
    }
}

/// The `f64` nearest to `(q + ε) × 2^e2`, where ε is in (0, 1) when `sticky`, else 0.
fn round(q: u64, e2: i32, sticky: bool) -> f64 {
    if q == 0 {
        return 0.0;
    }
    let zeros = q.leading_zeros();
    let q = u128::from(q << zeros);
    // The leading bit's weight is 2^top.
    let top = e2 - zeros as i32 + 63;
    if top > 1023 {
        return f64::INFINITY;
    }
    // Bits below the 53 kept (fewer kept below 2^-1022).
    let drop = (11 + (-1022 - top).max(0)) as u32;
    if drop >= 66 {
        return 0.0;
    }
    let kept = q >> drop;
    let rest = q & ((1 << drop) - 1);
    let half = 1u128 << (drop - 1);
    let up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    let mut kept = (kept + u128::from(up)) as u64;
    let mut top = top;
    if top >= -1022 {
        if kept == 1 << 53 {
            kept >>= 1;
            top += 1;
        }
        if top > 1023 {
            return f64::INFINITY;
        }
        f64::from_bits(((top + 1023) as u64) << 52 | (kept & ((1 << 52) - 1)))
    } else {
        // Subnormal; a carry into bit 52 makes the smallest normal, as the bits say.
        f64::from_bits(kept)
    }
}

/// The shortest decimal that reads back as `value` (positive and finite) as an `f32`:
/// `(digits, exponent)` with `value ≈ digits × 10^exponent`; of two as near, the greater, as
/// `f32`'s `Display` picks (Steele and White's free-format digits, as core's Dragon4 makes
/// them; the `ryu` crate breaks such ties to even instead).
pub fn shortest_f32(value: f32) -> (u64, i32) {
    let bits = value.to_bits();
    let biased = bits >> 23 & 0xff;
    let (mantissa, exponent) = if biased == 0 {
        (bits & 0x7f_ffff, -149)
    } else {
        (bits & 0x7f_ffff | 1 << 23, biased as i32 - 150)
    };
    // value = r / s, and what reads back as it lies within ((r - minus) / s, (r + plus) / s),
    // the ends included when the mantissa is even (reading rounds ties to even). The gap below
    // a power of two is half the gap above.
    let inclusive = mantissa % 2 == 0;
    let unequal = u32::from(mantissa == 1 << 23 && biased > 1);
    let mut r = Big::from(u64::from(mantissa) << (1 + unequal));
    let mut s = Big::from(2 << unequal);
    let mut minus = Big::from(1);
    let mut plus = Big::from(1 << unequal);
    if exponent >= 0 {
        for n in [&mut r, &mut minus, &mut plus] {
            n.shl(exponent.unsigned_abs());
        }
    } else {
        s.shl(exponent.unsigned_abs());
    }
    // Whether `a + b` reaches `s` (passes it, or meets it when the ends are included).
    let reaches = |a: &Big, b: &Big, s: &Big| {
        let mut sum = a.clone();
        sum.add(b);
        if inclusive { sum.ge(s) } else { !s.ge(&sum) }
    };
    // Scale by 10^k so that the interval's top lies just below 1: value = r / s × 10^k.
    let mut k = 0;
    while reaches(&r, &plus, &s) {
        s.mul_add(10, 0);
        k += 1;
    }
    loop {
        let mut top = r.clone();
        top.add(&plus);
        top.mul_add(10, 0);
        if reaches(&top, &Big::default(), &s) {
            break;
        }
        for n in [&mut r, &mut minus, &mut plus] {
            n.mul_add(10, 0);
        }
        k -= 1;
    }
    let mut digits = 0;
    loop {
        for n in [&mut r, &mut minus, &mut plus] {
            n.mul_add(10, 0);
        }
        let mut digit = 0;
        while r.ge(&s) {
            r.sub(&s);
            digit += 1;
        }
        digits = digits * 10 + digit;
        k -= 1;
        // Stop once the digits so far, or the next ones up, read back as the value.
        let low = if inclusive {
            minus.ge(&r)
        } else {
            !r.ge(&minus)
        };
        let high = reaches(&r, &plus, &s);
        if low || high {
            // Of both, the nearer; at a tie, the greater.
            let mut twice = r.clone();
            twice.add(&r);
            if high && (!low || twice.ge(&s)) {
                digits += 1;
            }
            return (digits, k);
        }
    }
}

/// A non-negative big integer, 32-bit limbs, least significant first.
#[derive(Default, Clone)]
struct Big(Vec<u32>);

impl From<u64> for Big {
    fn from(n: u64) -> Big {
        let mut big = Big(vec![n as u32, (n >> 32) as u32]);
        while big.0.last() == Some(&0) {
            big.0.pop();
        }
        big
    }
}

impl Big {
    /// `self += other`.
    fn add(&mut self, other: &Big) {
        let mut carry = 0u64;
        for i in 0..self.0.len().max(other.0.len()) {
            let sum = u64::from(self.0.get(i).copied().unwrap_or(0))
                + u64::from(other.0.get(i).copied().unwrap_or(0))
                + carry;
            match self.0.get_mut(i) {
                Some(limb) => *limb = sum as u32,
                None => self.0.push(sum as u32),
            }
            carry = sum >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    /// `self = self × m + a`.
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut k: u32) {
        while k > 0 {
            let step = k.min(9);
            self.mul_add(10u32.pow(step), 0);
            k -= step;
        }
    }

    fn bits(&self) -> u32 {
        match self.0.last() {
            Some(&top) => (self.0.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
            None => 0,
        }
    }

    fn bit(&self, i: u32) -> bool {
        self.0
            .get((i / 32) as usize)
            .is_some_and(|limb| limb >> (i % 32) & 1 == 1)
    }

    /// The 64 bits below bit `bits`, and whether any lower bit is set.
    fn top64(&self, bits: u32) -> (u64, bool) {
        let mut top = 0u64;
        for i in (0..64).rev() {
            let at = bits as i64 - 64 + i;
            top = top << 1 | u64::from(at >= 0 && self.bit(at as u32));
        }
        let below = bits.saturating_sub(64);
        let rest = (0..below).any(|i| self.bit(i));
        (top, rest)
    }

    fn shl(&mut self, n: u32) {
        let (limbs, bits) = ((n / 32) as usize, n % 32);
        if bits > 0 {
            let mut carry = 0;
            for limb in &mut self.0 {
                let v = *limb;
                *limb = v << bits | carry;
                carry = v >> (32 - bits);
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    fn shr1(&mut self) {
        let mut carry = 0;
        for limb in self.0.iter_mut().rev() {
            let v = *limb;
            *limb = v >> 1 | carry << 31;
            carry = v & 1;
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&limb| limb == 0)
    }

    /// `self >= other`, both without leading zero limbs.
    fn ge(&self, other: &Big) -> bool {
        let len = |b: &Big| b.0.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1);
        let (a, b) = (len(self), len(other));
        if a != b {
            return a > b;
        }
        for i in (0..a).rev() {
            if self.0[i] != other.0[i] {
                return self.0[i] > other.0[i];
            }
        }
        true
    }

    /// `self -= other`, where `self >= other`.
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let v = i64::from(*limb) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(v < 0);
            *limb = v.rem_euclid(1 << 32) as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(text: &str) {
        let want = text.parse::<f64>().ok();
        let got = parse_f64(text);
        assert_eq!(
            got.map(f64::to_bits),
            want.map(f64::to_bits),
            "{text}: {got:?} != {want:?}"
        );
    }

    #[test]
    fn parses_as_core_does() {
        for text in [
            "0",
            "-0",
            "+0",
            "0.0",
            "1",
            "1.5",
            ".5",
            "5.",
            "-.5e1",
            "1e22",
            "1e23",
            "0.1",
            "0.15",
            "123456789012345678901234567890",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "1e309",
            "2.2250738585072014e-308",
            "2.2250738585072011e-308",
            "4.9e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "1e-400",
            "9007199254740993",
            "9007199254740992.5",
            "9007199254740993.0000000000000000000000001",
            "0.000000000000000000000000000001",
            "inf",
            "-Infinity",
            "NaN",
            "nan",
            "INF",
            "",
            ".",
            "e5",
            "1e",
            "1e+",
            "1.2.3",
            "--1",
            "+-1",
            " 1",
            "1 ",
            "0x10",
            "1_0",
            "1e99999999999999999999",
            "0e999999999999",
            "1e-99999999999999999999",
            "00000000000000000000000000001.5e-1",
        ] {
            same(text);
        }
        let long = format!("0.{}1", "0".repeat(1000));
        same(&long);
        let halfway = format!("9007199254740993{}", "0".repeat(900));
        same(&halfway);
        let above = format!("9007199254740993{}1e-900", "0".repeat(900));
        same(&above);
    }

    #[test]
    fn parses_random_decimals_as_core_does() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200_000 {
            let r = next();
            let text = match r % 5 {
                // Every f64, shortest and long.
                0 => f64::from_bits(next()).to_string(),
                1 => format!("{:e}", f64::from_bits(next())),
                2 => format!("{:.30e}", f64::from_bits(next())),
                // Many digits, any exponent.
                3 => {
                    let digits = next() % 40 + 1;
                    let mut t: String = (0..digits)
                        .map(|_| char::from(b'0' + (next() % 10) as u8))
                        .collect();
                    t.insert(((next() % digits) as usize).min(t.len()), '.');
                    format!("{t}e{}", next() as i64 % 340)
                }
                // Halfway points between neighbouring f64s, (2m + 1) × 2^e, and just above.
                _ => {
                    let odd = u128::from((next() >> 11) | 1 << 52) * 2 + 1;
                    let e = (next() % 100) as i32 - 40;
                    let mut t = if e >= 0 {
                        format!("{}", odd << e.min(60))
                    } else {
                        let j = e.unsigned_abs().min(27);
                        format!("{}e-{j}", odd * 5u128.pow(j))
                    };
                    if next() % 2 == 0 {
                        t = match t.split_once('e') {
                            Some((m, x)) => format!("{m}1e{}", x.parse::<i32>().unwrap() - 1),
                            None => format!("{t}1e-1"),
                        };
                    }
                    t
                }
            };
            same(&text);
        }
    }
}

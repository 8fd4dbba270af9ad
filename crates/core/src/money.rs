//! Money: integer minor units of an ISO 4217 currency, never a float.
//!
//! Vendors send amounts three ways: integer minor units (Stripe, Chargebee, Maxio's `*_in_cents`),
//! decimal text in major units (Maxio invoices, `"12.50"`), and JSON decimals in major units
//! (Recurly, `12.5`). [`Money::parse_major`] reads the last two exactly, with the currency's own
//! exponent: `"1500"` JPY is 1500 minor units, `"12.5"` USD is 1250, `"1.250"` KWD is 1250.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code, upper case (`USD`). Vendors write it in either case (`usd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// Currencies whose minor unit is not a hundredth (ISO 4217 table A.1). Every other
/// three-letter code has two decimals.
const EXPONENTS: &[(&str, u8)] = &[
    // Zero-decimal currencies.
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    // Three-decimal currencies.
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    // Four decimals.
    ("CLF", 4),
    ("UYW", 4),
];

/// Why a currency code or an amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not a currency code (expected three letters such as USD)")]
    Currency(String),
    #[error("{0:?} is not an amount (expected a decimal such as 12.50)")]
    Amount(String),
    #[error("{text:?} has more decimals than {currency} allows ({exponent})")]
    TooPrecise { text: String, currency: Currency, exponent: u8 },
    #[error("{0:?} is too large an amount")]
    Overflow(String),
    #[error("cannot add {0} to {1}")]
    Mismatch(Currency, Currency),
}

impl Currency {
    /// The code from text in any case (`usd`, `USD`).
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let code = code.trim();
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return Err(MoneyError::Currency(code.to_owned()));
        }
        let mut upper = [0u8; 3];
        for (u, b) in upper.iter_mut().zip(bytes) {
            *u = b.to_ascii_uppercase();
        }
        Ok(Currency(upper))
    }

    pub fn code(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Decimal places of the minor unit: JPY 0, USD 2, KWD 3.
    pub fn exponent(&self) -> u8 {
        EXPONENTS.iter().find(|(c, _)| *c == self.code()).map_or(2, |(_, e)| *e)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

/// An amount: integer minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents for USD, yen for JPY, fils for KWD).
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// Decimal text in major units with the currency's decimals: 4990 USD → `"49.90"`, -5 KWD →
    /// `"-0.005"`, 1200 JPY → `"1200"`. The inverse of [`Money::parse_major`].
    pub fn major_text(&self) -> String {
        let e = u32::from(self.currency.exponent());
        let (sign, abs) = (if self.minor < 0 { "-" } else { "" }, self.minor.unsigned_abs());
        if e == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10u64.pow(e);
        format!("{sign}{}.{:0width$}", abs / scale, abs % scale, width = e as usize)
    }

    /// Decimal text in major units, read exactly: `"12.5"` USD → 1250, `"-0.005"` KWD → -5,
    /// `"1e3"` (JSON numbers keep their text) → 100000 USD. Trailing zeros beyond the exponent
    /// are allowed (`"12.500"` USD); other digits beyond it are an error, never rounded.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let bad = || MoneyError::Amount(text.to_owned());
        let s = text.trim();
        let (neg, s) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp10) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().map_err(|_| bad())?),
            None => (s, 0),
        };
        let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        // digits × 10^(exp10 − frac.len()) major units = digits × 10^(shift) minor units.
        let digits = format!("{whole}{frac}");
        let digits = digits.trim_start_matches('0');
        let shift = i64::from(exp10) - frac.len() as i64 + i64::from(currency.exponent());
        let overflow = || MoneyError::Overflow(text.to_owned());
        let minor: i64 = if digits.is_empty() {
            0
        } else if shift >= 0 {
            let base: i64 = digits.parse().map_err(|_| overflow())?;
            let scale = 10i64.checked_pow(u32::try_from(shift).map_err(|_| overflow())?).ok_or_else(overflow)?;
            base.checked_mul(scale).ok_or_else(overflow)?
        } else {
            let cut = usize::try_from(-shift).map_err(|_| overflow())?;
            let kept = digits.len().saturating_sub(cut);
            if digits[kept..].bytes().any(|b| b != b'0') {
                return Err(MoneyError::TooPrecise { text: text.to_owned(), currency, exponent: currency.exponent() });
            }
            if kept == 0 { 0 } else { digits[..kept].parse().map_err(|_| overflow())? }
        };
        Ok(Money { minor: if neg { -minor } else { minor }, currency })
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::Mismatch(other.currency, self.currency));
        }
        let minor =
            self.minor.checked_add(other.minor).ok_or_else(|| MoneyError::Overflow(format!("{self} + {other}")))?;
        Ok(Money { minor, currency: self.currency })
    }
}

/// Major units with the currency's decimals: `12.50 USD`, `1500 JPY`, `1.250 KWD`.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = u32::from(self.currency.exponent());
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if e == 0 {
            return write!(f, "{sign}{abs} {}", self.currency);
        }
        let scale = 10u64.pow(e);
        write!(f, "{sign}{}.{:0width$} {}", abs / scale, abs % scale, self.currency, width = e as usize)
    }
}

/// Rounds `num / den` to the nearest integer, halves away from zero. `den` must be positive.
pub fn div_round(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    let q = num / den;
    let r = num % den;
    if 2 * r.abs() >= den { q + num.signum() } else { q }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(c("jpy").exponent(), 0);
        assert_eq!(c("USD").exponent(), 2);
        assert_eq!(c("eur").exponent(), 2);
        assert_eq!(c("KWD").exponent(), 3);
        assert_eq!(c("usd").code(), "USD");
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("U$D").is_err());
    }

    #[test]
    fn major_text_writes_the_currency_decimals_and_reads_back() {
        assert_eq!(Money::new(4990, c("USD")).major_text(), "49.90");
        assert_eq!(Money::new(-5, c("KWD")).major_text(), "-0.005");
        assert_eq!(Money::new(1200, c("JPY")).major_text(), "1200");
        for (minor, cur) in [(0, "USD"), (-123_456, "EUR"), (7, "KWD")] {
            let m = Money::new(minor, c(cur));
            assert_eq!(Money::parse_major(&m.major_text(), c(cur)).unwrap(), m);
        }
    }

    #[test]
    fn decimal_text_is_read_exactly_with_the_currency_exponent() {
        let cases = [
            ("12.5", "USD", 1250),
            ("12.50", "USD", 1250),
            ("12.500", "USD", 1250),
            ("0.1", "USD", 10),
            (".07", "USD", 7),
            ("19.99", "EUR", 1999),
            ("1500", "JPY", 1500),
            ("1500.0", "JPY", 1500),
            ("1.250", "KWD", 1250),
            ("-0.005", "KWD", -5),
            ("+3", "USD", 300),
            ("1e3", "USD", 100_000),
            ("1.5E1", "JPY", 15),
            ("125e-2", "USD", 125),
            ("0", "USD", 0),
            ("000.00", "JPY", 0),
            // 0.1 + 0.2 is no problem for integers: 0.3 exactly.
            ("0.3", "USD", 30),
            ("92233720368547758.07", "USD", i64::MAX),
        ];
        for (text, cur, minor) in cases {
            assert_eq!(Money::parse_major(text, c(cur)), Ok(Money::new(minor, c(cur))), "{text} {cur}");
        }
    }

    #[test]
    fn extra_precision_and_junk_are_errors_not_rounding() {
        assert!(matches!(Money::parse_major("12.345", c("USD")), Err(MoneyError::TooPrecise { .. })));
        assert!(matches!(Money::parse_major("1.5", c("JPY")), Err(MoneyError::TooPrecise { .. })));
        assert!(matches!(Money::parse_major("1.2345", c("KWD")), Err(MoneyError::TooPrecise { .. })));
        for junk in ["", ".", "-", "1.2.3", "12,50", "$12", "1e", "abc", "1 000"] {
            assert!(matches!(Money::parse_major(junk, c("USD")), Err(MoneyError::Amount(_))), "{junk:?}");
        }
        assert!(matches!(Money::parse_major("92233720368547758.08", c("USD")), Err(MoneyError::Overflow(_))));
        assert!(matches!(Money::parse_major("1e40", c("USD")), Err(MoneyError::Overflow(_))));
    }

    #[test]
    fn display_uses_the_exponent() {
        assert_eq!(Money::new(1250, c("USD")).to_string(), "12.50 USD");
        assert_eq!(Money::new(-5, c("KWD")).to_string(), "-0.005 KWD");
        assert_eq!(Money::new(1500, c("JPY")).to_string(), "1500 JPY");
        assert_eq!(Money::new(7, c("EUR")).to_string(), "0.07 EUR");
    }

    #[test]
    fn sums_refuse_mixed_currencies() {
        let usd = Money::new(100, c("USD"));
        assert_eq!(usd.checked_add(Money::new(5, c("USD"))), Ok(Money::new(105, c("USD"))));
        assert!(matches!(usd.checked_add(Money::new(5, c("EUR"))), Err(MoneyError::Mismatch(..))));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(5, 3), 2);
        assert_eq!(div_round(-4, 3), -1);
        assert_eq!(div_round(0, 7), 0);
    }
}

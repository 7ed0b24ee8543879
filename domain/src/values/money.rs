//! Money and the UK's financial year. Amounts are integer pence in 64 bits, never floating point: they are taken and
//! shown as decimal strings ("7500.00"), as Shopify's API does, so no client rounds a budget through a double.
use chrono::{Datelike, NaiveDate};

use crate::error::{AppError, AppResult};

/// An amount of money in pence. Amounts people give are never negative (`parse`); a ledger's movements may be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pence(pub i64);

/// The most pence an amount may be written with (10^18, £10 quadrillion): far beyond any fund, inside `i64`.
const MAX_PENCE: i64 = 1_000_000_000_000_000;

impl Pence {
    /// An amount as people write it: pounds with at most two decimal places ("7500", "7500.5", "7500.00").
    /// Negative amounts, fractions of a penny, signs, exponents, separators and currency symbols are refused.
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let bad = |why: &str| AppError::bad_input(field, why.to_owned());
        let text = raw.trim();
        if text.starts_with('-') {
            return Err(bad("must not be negative"));
        }
        let (pounds, pence) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if pounds.is_empty() || !digits(pounds) || !digits(pence) || (text.contains('.') && pence.is_empty()) {
            return Err(bad("must be an amount in pounds such as \"7500.00\""));
        }
        if pence.len() > 2 {
            return Err(bad("must be a whole number of pence (at most two decimal places)"));
        }
        let pounds: i64 = pounds.parse().map_err(|_| bad("is too large"))?;
        let pence: i64 = format!("{pence:0<2}").parse().map_err(|_| bad("must be an amount in pounds"))?;
        let total = pounds.checked_mul(100).and_then(|p| p.checked_add(pence)).filter(|t| *t <= MAX_PENCE);
        total.map(Self).ok_or_else(|| bad("is too large"))
    }

    /// The amount in pounds with two decimal places ("7500.00", "-12.05").
    pub fn to_decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }

    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }
}

/// A UK financial year, 1 April to 31 March, named as councils name it: "2026-27".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FinancialYear {
    /// The calendar year it starts in.
    starts_in: i32,
}

impl FinancialYear {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let bad = || AppError::bad_input(field, "must be a financial year such as \"2026-27\"");
        let (first, second) = raw.trim().split_once('-').ok_or_else(bad)?;
        let ok =
            first.len() == 4 && second.len() == 2 && (first.bytes().chain(second.bytes())).all(|b| b.is_ascii_digit());
        if !ok {
            return Err(bad());
        }
        let starts_in: i32 = first.parse().map_err(|_| bad())?;
        let next: i32 = second.parse().map_err(|_| bad())?;
        if (starts_in + 1) % 100 != next || !(2000..=2999).contains(&starts_in) {
            return Err(AppError::bad_input(
                field,
                format!("{raw} is not a financial year: after {starts_in} comes {:02}", (starts_in + 1) % 100),
            ));
        }
        Ok(Self { starts_in })
    }

    /// The financial year a day falls in.
    pub fn containing(day: NaiveDate) -> Self {
        Self { starts_in: if day.month() >= 4 { day.year() } else { day.year() - 1 } }
    }

    pub fn name(self) -> String {
        format!("{}-{:02}", self.starts_in, (self.starts_in + 1) % 100)
    }

    /// 1 April.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.starts_in, 4, 1).unwrap_or(NaiveDate::MIN)
    }

    /// 31 March of the next calendar year.
    pub fn last_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.starts_in + 1, 3, 31).unwrap_or(NaiveDate::MAX)
    }

    pub fn next(self) -> Self {
        Self { starts_in: self.starts_in + 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_pence_from_decimal_strings() {
        for (text, pence) in [
            ("7500", 750_000),
            ("7500.00", 750_000),
            ("7500.5", 750_050),
            ("0.01", 1),
            (" 25000.10 ", 2_500_010),
            ("0", 0),
        ] {
            assert_eq!(Pence::parse("amount", text).unwrap(), Pence(pence), "{text}");
        }
        for bad in [
            "-1",
            "-0.01",
            "1.005",
            "0.001",
            "1e3",
            "",
            ".5",
            "5.",
            "£5",
            "1,000",
            "+5",
            "5.5.5",
            "NaN",
            "99999999999999999999",
        ] {
            let refused = Pence::parse("input.amount", bad).unwrap_err();
            assert_eq!((refused.code(), bad), ("BAD_USER_INPUT", bad));
        }
        assert_eq!(Pence(750_000).to_decimal(), "7500.00");
        assert_eq!(Pence(5).to_decimal(), "0.05");
        assert_eq!(Pence(-1205).to_decimal(), "-12.05");
        // Shown and read back, every amount is itself.
        for pence in [0, 1, 99, 100, 123_456_789, MAX_PENCE] {
            assert_eq!(Pence::parse("x", &Pence(pence).to_decimal()).unwrap(), Pence(pence));
        }
    }

    #[test]
    fn financial_years_run_april_to_march() {
        let year = FinancialYear::parse("financialYear", "2026-27").unwrap();
        assert_eq!(year.name(), "2026-27");
        assert_eq!(year.first_day(), NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
        assert_eq!(year.last_day(), NaiveDate::from_ymd_opt(2027, 3, 31).unwrap());
        assert_eq!(FinancialYear::containing(NaiveDate::from_ymd_opt(2027, 3, 31).unwrap()), year);
        assert_eq!(FinancialYear::containing(NaiveDate::from_ymd_opt(2027, 4, 1).unwrap()), year.next());
        assert_eq!(FinancialYear::parse("y", "2099-00").unwrap().name(), "2099-00");
        for bad in ["2026-28", "2026", "26-27", "2026/27", "2026-2027", "abcd-ef"] {
            assert!(FinancialYear::parse("y", bad).is_err(), "{bad}");
        }
    }
}

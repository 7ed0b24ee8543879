//! Numbers an organisation is registered under, which open data uses to name it: a charity number (the Charity
//! Commission for England and Wales, OSCR in Scotland, the Charity Commission for Northern Ireland) or a company
//! number (Companies House). Parsed into the form the registers print, so one organisation has one spelling.
use crate::error::{AppError, AppResult};

/// A registered charity's number: `1234567` or `202918` (England and Wales, a linked charity with `-1`),
/// `SC012345` (Scotland), `NIC100001` (Northern Ireland).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharityNumber(String);

/// A company's number at Companies House: eight characters, digits (`01234567`) or two letters and six digits
/// (`SC123456`, `NI012345`, `OC301234`). Leading zeros left off a number are put back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompanyNumber(String);

/// Upper case, without the spaces people type inside numbers.
fn compact(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase()
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl CharityNumber {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let number = compact(raw);
        let (main, linked) = number.split_once('-').unwrap_or((number.as_str(), ""));
        let england_and_wales = digits(main)
            && (6..=7).contains(&main.len())
            && (linked.is_empty() || (digits(linked) && linked.len() <= 2));
        let scotland = number.strip_prefix("SC").is_some_and(|n| digits(n) && n.len() == 6);
        let northern_ireland = number.strip_prefix("NIC").is_some_and(|n| digits(n) && n.len() == 6);
        if england_and_wales || scotland || northern_ireland {
            Ok(Self(number))
        } else {
            Err(AppError::bad_input(
                field,
                "must be a registered charity number: 6 or 7 digits (England and Wales), SC and 6 digits (Scotland) or NIC and 6 digits (Northern Ireland)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// The organisation identifier open data (360Giving, org-id.guide) names the charity by.
    pub fn org_id(&self) -> String {
        if self.0.starts_with("SC") {
            format!("GB-SC-{}", self.0)
        } else if let Some(number) = self.0.strip_prefix("NIC") {
            format!("GB-NIC-{number}")
        } else {
            // Linked charities share their main charity's identifier.
            format!("GB-CHC-{}", self.0.split('-').next().unwrap_or(&self.0))
        }
    }
}

impl CompanyNumber {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let number = compact(raw);
        let bad = || {
            AppError::bad_input(
                field,
                "must be a Companies House number: 8 digits, or 2 letters and 6 digits (SC123456)",
            )
        };
        if digits(&number) && number.len() <= 8 {
            if number.bytes().all(|b| b == b'0') {
                return Err(bad());
            }
            return Ok(Self(format!("{number:0>8}")));
        }
        let (prefix, rest) = number.split_at_checked(2).ok_or_else(bad)?;
        // Two letters (SC, NI, OC…), or R0 (Northern Ireland's oldest companies).
        let prefix_ok = prefix.bytes().all(|b| b.is_ascii_uppercase()) || prefix == "R0";
        if prefix_ok && digits(rest) && rest.len() == 6 { Ok(Self(number)) } else { Err(bad()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// The organisation identifier open data names the company by.
    pub fn org_id(&self) -> String {
        format!("GB-COH-{}", self.0)
    }
}

/// A council's code in the Local Authorities in England register (org-id.guide's `GB-LAE`): three or four capital
/// letters, e.g. `BIR`. Open data names a council's grants' funder by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalAuthorityCode(String);

impl LocalAuthorityCode {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let code = compact(raw);
        if (3..=4).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code))
        } else {
            Err(AppError::bad_input(
                field,
                "must be the council's code in the Local Authorities in England register: 3 or 4 letters",
            ))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// The organisation identifier open data names the council by.
    pub fn org_id(code: &str) -> String {
        format!("GB-LAE-{code}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_authority_codes_are_three_or_four_letters() {
        assert_eq!(
            LocalAuthorityCode::parse("f", " esk ").map(LocalAuthorityCode::into_inner).ok().as_deref(),
            Some("ESK")
        );
        assert_eq!(LocalAuthorityCode::org_id("BIR"), "GB-LAE-BIR");
        for bad in ["", "AB", "ABCDE", "A1C", "É1"] {
            assert_eq!(LocalAuthorityCode::parse("f", bad).unwrap_err().code(), "BAD_USER_INPUT", "{bad}");
        }
    }

    #[test]
    fn charity_numbers_take_each_registers_form() {
        for (typed, stored, org_id) in [
            ("1234567", "1234567", "GB-CHC-1234567"),
            ("202918", "202918", "GB-CHC-202918"),
            ("1123456-1", "1123456-1", "GB-CHC-1123456"),
            ("sc 012345", "SC012345", "GB-SC-SC012345"),
            ("NIC100001", "NIC100001", "GB-NIC-100001"),
        ] {
            let number = CharityNumber::parse("input.charityNumber", typed).unwrap();
            assert_eq!((number.as_str(), number.org_id().as_str()), (stored, org_id), "{typed}");
        }
        for bad in ["", "12345", "12345678", "SC12345", "NI100001", "1234567-123", "charity", "12-34567"] {
            assert_eq!(CharityNumber::parse("input.charityNumber", bad).unwrap_err().code(), "BAD_USER_INPUT", "{bad}");
        }
    }

    #[test]
    fn company_numbers_are_eight_characters() {
        for (typed, stored) in [
            ("1234567", "01234567"),
            ("01234567", "01234567"),
            ("sc123456", "SC123456"),
            ("OC 301234", "OC301234"),
            ("R0012345", "R0012345"),
        ] {
            let number = CompanyNumber::parse("input.companyNumber", typed).unwrap();
            assert_eq!(number.as_str(), stored, "{typed}");
            assert_eq!(number.org_id(), format!("GB-COH-{stored}"));
        }
        for bad in [
            "",
            "0",
            "00000000",
            "123456789",
            "S1234567",
            "SC1234567",
            "SC12345",
            "12AB3456",
            "é1234567",
            "1A123456",
            "S1234567",
            "R1123456",
        ] {
            assert_eq!(CompanyNumber::parse("input.companyNumber", bad).unwrap_err().code(), "BAD_USER_INPUT", "{bad}");
        }
    }
}

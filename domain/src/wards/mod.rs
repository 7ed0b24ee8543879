//! Council wards: where people live, how many, and how deprived, so that money can go to the areas in need. Loaded
//! from a CSV (`import`), listed by council or partnership (`service`).
pub mod import;
pub mod service;

use crate::error::{AppError, AppResult};

/// A ward's ONS GSS code: E05 (England), W05 (Wales), S13 (Scotland) or N08 (Northern Ireland), then six digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GssCode(String);

impl GssCode {
    pub fn parse(field: &str, raw: &str) -> AppResult<Self> {
        let code = raw.trim().to_ascii_uppercase();
        let ward_prefix = ["E05", "W05", "S13", "N08"].iter().any(|p| code.starts_with(p));
        if ward_prefix && code.len() == 9 && code[3..].bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(code))
        } else {
            Err(AppError::bad_input(field, "must be a ward's ONS code: E05, W05, S13 or N08 and six digits"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::GssCode;

    #[test]
    fn ward_codes_are_the_onss() {
        assert_eq!(GssCode::parse("gss_code", " e05012345 ").unwrap().as_str(), "E05012345");
        for ok in ["W05000001", "S13002517", "N08000101"] {
            assert!(GssCode::parse("gss_code", ok).is_ok(), "{ok}");
        }
        // A district's (E07) or a county division's (E58) code is not a ward's.
        for bad in ["E07000244", "E0501234", "E050123456", "E05A12345", ""] {
            assert!(GssCode::parse("gss_code", bad).is_err(), "{bad}");
        }
    }
}

//! Free text and tag lists.
use crate::error::{AppError, AppResult};

/// Trims and checks the length (in characters) of a required text.
pub fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> AppResult<String> {
    let text = raw.trim();
    let len = text.chars().count();
    if len < min {
        return Err(if min == 1 {
            AppError::bad_input(field, "must not be empty")
        } else {
            AppError::bad_input(field, format!("must be at least {min} characters"))
        });
    }
    if len > max {
        return Err(AppError::bad_input(field, format!("must be at most {max} characters")));
    }
    Ok(text.to_owned())
}

/// Like `bounded_text`, but an absent or blank value is `None`.
pub fn optional_text(field: &str, raw: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => bounded_text(field, text, 1, max).map(Some),
    }
}

/// Normalises tags (skills, languages): lower case, single spaces, `-`/`_` as spaces, deduplicated, sorted.
pub fn tags(field: &str, raw: &[String], max_count: usize) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, tag) in raw.iter().enumerate() {
        let normalised = normalise_tag(tag);
        if normalised.is_empty() {
            return Err(AppError::bad_input(format!("{field}[{i}]"), "must not be empty"));
        }
        if normalised.chars().count() > 40 {
            return Err(AppError::bad_input(format!("{field}[{i}]"), "must be at most 40 characters"));
        }
        out.push(normalised);
    }
    out.sort();
    out.dedup();
    if out.len() > max_count {
        return Err(AppError::bad_input(field, format!("at most {max_count} entries")));
    }
    Ok(out)
}

pub fn normalise_tag(raw: &str) -> String {
    raw.to_lowercase().replace(['_', '-'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Tags as the JSON array they are stored as.
pub fn json_tags(tags: &[String]) -> serde_json::Value {
    serde_json::Value::Array(tags.iter().cloned().map(serde_json::Value::String).collect())
}

pub fn json_strings(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalised_and_deduplicated() {
        let raw = vec!["  Teaching_English ".to_owned(), "teaching-english".to_owned(), "IT  Support".to_owned()];
        assert_eq!(tags("skills", &raw, 10), Ok(vec!["it support".to_owned(), "teaching english".to_owned()]));
        assert!(tags("skills", &["  ".to_owned()], 10).is_err());
        assert!(tags("skills", &["a".to_owned(), "b".to_owned()], 1).is_err());
    }

    #[test]
    fn text_lengths_are_enforced() {
        assert_eq!(bounded_text("title", "  Jobs club ", 1, 10), Ok("Jobs club".to_owned()));
        assert!(bounded_text("title", "   ", 1, 10).is_err());
        assert!(bounded_text("title", "x".repeat(11).as_str(), 1, 10).is_err());
        assert_eq!(optional_text("website", Some("  "), 10), Ok(None));
    }
}

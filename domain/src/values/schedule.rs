//! Weekly time windows, e.g. "Tuesdays 19:00–21:00", used by needs' schedules and volunteers' availability.
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// A day of the week; the order of the variants is the order windows sort in. (`api` mirrors it as a GraphQL
/// enum.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// One weekly window; minutes from midnight, `start < end`, `end` at most 24:00. Stored as JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub day: Weekday,
    pub start: u16,
    pub end: u16,
}

pub const MAX_WINDOWS: usize = 28;
const BLOCK_MINUTES: u16 = 180;

impl TimeWindow {
    pub fn minutes(&self) -> u16 {
        self.end - self.start
    }

    /// Parses windows given as `HH:MM` strings, refusing empty, reversed, too-short or overlapping ones.
    pub fn parse_all(field: &str, windows: &[(Weekday, String, String)]) -> AppResult<Vec<TimeWindow>> {
        if windows.len() > MAX_WINDOWS {
            return Err(AppError::bad_input(field, format!("at most {MAX_WINDOWS} time windows")));
        }
        let mut parsed = Vec::with_capacity(windows.len());
        for (i, (day, start, end)) in windows.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let start = parse_hhmm(&format!("{at}.start"), start)?;
            let end = parse_hhmm(&format!("{at}.end"), end)?;
            if end <= start {
                return Err(AppError::bad_input(format!("{at}.end"), "must be after the start"));
            }
            if end - start < 15 {
                return Err(AppError::bad_input(format!("{at}.end"), "a window must last at least 15 minutes"));
            }
            parsed.push(TimeWindow { day: *day, start, end });
        }
        parsed.sort_by_key(|w| (w.day, w.start));
        for pair in parsed.windows(2) {
            if pair[0].day == pair[1].day && pair[1].start < pair[0].end {
                return Err(AppError::bad_input(field, "time windows on the same day must not overlap"));
            }
        }
        Ok(parsed)
    }

    /// The 3-hour blocks of the week these windows touch, as bits (day × 8 + block; 56 bits). Two sets of
    /// windows that overlap always share a block, so `a & b != 0` is a cheap necessary test SQL can run.
    /// 0 means no windows.
    pub fn week_mask(windows: &[TimeWindow]) -> i64 {
        let mut mask = 0i64;
        for w in windows {
            if w.end <= w.start {
                continue;
            }
            let day = i64::from(w.day as u8);
            for block in (w.start / BLOCK_MINUTES)..=((w.end - 1) / BLOCK_MINUTES).min(7) {
                mask |= 1 << (day * 8 + i64::from(block));
            }
        }
        mask
    }

    pub fn format_minutes(m: u16) -> String {
        format!("{:02}:{:02}", m / 60, m % 60)
    }

    pub fn to_json(windows: &[TimeWindow]) -> serde_json::Value {
        serde_json::to_value(windows).unwrap_or_else(|_| serde_json::Value::Array(vec![]))
    }

    /// Reads what `to_json` wrote; anything unreadable counts as no windows rather than failing a read.
    pub fn from_json(value: &serde_json::Value) -> Vec<TimeWindow> {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }
}

fn parse_hhmm(field: &str, raw: &str) -> AppResult<u16> {
    let bad = || AppError::bad_input(field, "must be a time such as 19:00 (24-hour HH:MM)");
    let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(day: Weekday, s: &str, e: &str) -> (Weekday, String, String) {
        (day, s.into(), e.into())
    }

    #[test]
    fn parses_and_sorts_windows() {
        let parsed = TimeWindow::parse_all(
            "availability",
            &[w(Weekday::Thursday, "09:30", "12:00"), w(Weekday::Tuesday, "19:00", "21:00")],
        )
        .expect("valid windows");
        assert_eq!(parsed[0], TimeWindow { day: Weekday::Tuesday, start: 1140, end: 1260 });
        assert_eq!(parsed[1].minutes(), 150);
        assert_eq!(TimeWindow::format_minutes(1140), "19:00");
    }

    #[test]
    fn overlapping_windows_share_a_mask_bit() {
        let tue_evening = TimeWindow { day: Weekday::Tuesday, start: 19 * 60, end: 21 * 60 };
        let tue_late = TimeWindow { day: Weekday::Tuesday, start: 20 * 60, end: 24 * 60 };
        let tue_morning = TimeWindow { day: Weekday::Tuesday, start: 9 * 60, end: 12 * 60 };
        let wed_evening = TimeWindow { day: Weekday::Wednesday, start: 19 * 60, end: 21 * 60 };
        let m = |w: TimeWindow| TimeWindow::week_mask(&[w]);
        assert_ne!(m(tue_evening) & m(tue_late), 0);
        assert_eq!(m(tue_evening) & m(tue_morning), 0);
        assert_eq!(m(tue_evening) & m(wed_evening), 0);
        assert_eq!(TimeWindow::week_mask(&[]), 0);
        let sunday_night = TimeWindow { day: Weekday::Sunday, start: 21 * 60, end: 24 * 60 };
        assert_eq!(m(sunday_night), 1 << 55, "the last block of the week is bit 55");
        // Exhaustively: any two windows on the same day that overlap share a block.
        for a in (0..24 * 60).step_by(30) {
            for b in (0..24 * 60).step_by(30) {
                let x = TimeWindow { day: Weekday::Friday, start: a, end: (a + 45).min(1440) };
                let y = TimeWindow { day: Weekday::Friday, start: b, end: (b + 90).min(1440) };
                let overlap = x.start < y.end && y.start < x.end;
                if overlap {
                    assert_ne!(m(x) & m(y), 0, "{x:?} {y:?}");
                }
            }
        }
    }

    #[test]
    fn refuses_insane_windows() {
        for bad in [
            vec![w(Weekday::Monday, "21:00", "19:00")],
            vec![w(Weekday::Monday, "19:00", "19:10")],
            vec![w(Weekday::Monday, "25:00", "26:00")],
            vec![w(Weekday::Monday, "7pm", "9pm")],
            vec![w(Weekday::Monday, "18:00", "20:00"), w(Weekday::Monday, "19:00", "21:00")],
        ] {
            assert!(TimeWindow::parse_all("s", &bad).is_err(), "{bad:?} should be refused");
        }
        assert!(TimeWindow::parse_all("s", &[w(Weekday::Sunday, "22:00", "24:00")]).is_ok());
    }
}

//! Weekly time windows, e.g. "Tuesdays 19:00–21:00", used by needs' schedules and volunteers' availability.
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
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

/// The clock schedules keep: UK projects meet at the time on the wall, GMT in winter and BST in summer.
pub const TIME_ZONE: chrono_tz::Tz = chrono_tz::Europe::London;

/// A wall-clock time in `TIME_ZONE` as an instant. In the hour the clocks go forward a wall time does not exist:
/// it is read as the same time an hour later (01:30 as 02:30 BST); in the hour they go back it happens twice: the
/// first is taken.
pub fn local_instant(local: NaiveDateTime) -> DateTime<Utc> {
    let at = |t: NaiveDateTime| TIME_ZONE.from_local_datetime(&t).earliest().map(|t| t.with_timezone(&Utc));
    at(local).or_else(|| at(local + chrono::Duration::hours(1))).unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

impl Weekday {
    pub fn to_chrono(self) -> chrono::Weekday {
        match self {
            Self::Monday => chrono::Weekday::Mon,
            Self::Tuesday => chrono::Weekday::Tue,
            Self::Wednesday => chrono::Weekday::Wed,
            Self::Thursday => chrono::Weekday::Thu,
            Self::Friday => chrono::Weekday::Fri,
            Self::Saturday => chrono::Weekday::Sat,
            Self::Sunday => chrono::Weekday::Sun,
        }
    }
}

/// One weekly window's run of sessions, as a calendar states it: the first session's date, the window's wall-clock
/// times, and the last date a session may fall on (none: it goes on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Series {
    pub window: TimeWindow,
    pub first: NaiveDate,
    pub last: Option<NaiveDate>,
}

impl Series {
    /// The runs of a schedule: each window from its first day on or after `start` (or `posted`, when the schedule
    /// names no start) up to `end`. A window whose day does not come round by `end` has no run.
    pub fn of(weekly: &[TimeWindow], start: Option<NaiveDate>, end: Option<NaiveDate>, posted: NaiveDate) -> Vec<Self> {
        let from = start.unwrap_or(posted);
        let mut runs: Vec<Self> = weekly
            .iter()
            .filter_map(|window| {
                let ahead =
                    (7 + window.day.to_chrono().num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
                let first = from.checked_add_days(Days::new(u64::from(ahead)))?;
                end.is_none_or(|end| first <= end).then_some(Self { window: *window, first, last: end })
            })
            .collect();
        runs.sort_by_key(|r| (r.first, r.window.start));
        runs
    }

    /// Whether the run has one session only (its last date comes before the window's day comes round again).
    pub fn is_single(&self) -> bool {
        self.last.is_some_and(|last| last < self.first + Days::new(7))
    }

    /// The first session's start, on the wall clock.
    pub fn starts(&self) -> NaiveDateTime {
        self.on(self.first).0
    }

    /// The first session's end, on the wall clock (24:00 is the next day's midnight).
    pub fn ends(&self) -> NaiveDateTime {
        self.on(self.first).1
    }

    /// The window's start and end on `date`, on the wall clock.
    pub fn on(&self, date: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
        let midnight = date.and_time(NaiveTime::MIN);
        (date.and_time(wall_time(self.window.start)), midnight + chrono::Duration::minutes(i64::from(self.window.end)))
    }

    /// Each session's start and end as instants, from the first on or after `from`'s London date onward (the
    /// caller stops when it has enough), stepping a week of wall-clock dates at a time: 19:00 stays 19:00 across
    /// the clock changes, so the instants are 167 or 169 hours apart there.
    pub fn sessions(&self, from: DateTime<Utc>) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let local = from.with_timezone(&TIME_ZONE).date_naive();
        // Whole weeks from the first date to the week holding `from` (a day early: a late session may end after).
        let weeks = if local > self.first { (local - self.first).num_days().saturating_sub(1) / 7 } else { 0 };
        let start = u64::try_from(weeks).ok().and_then(|w| self.first.checked_add_days(Days::new(w * 7)));
        std::iter::successors(start, |d| d.checked_add_days(Days::new(7)))
            .take_while(move |d| self.last.is_none_or(|last| *d <= last))
            .map(move |d| {
                let (starts, ends) = self.on(d);
                let starts = local_instant(starts);
                // A window crossing the hour the clocks skip may end on the wall clock "before" it starts: never.
                (starts, local_instant(ends).max(starts))
            })
    }

    /// The last instant a session may start: the end of the last date on the wall clock, as RFC 5545's `UNTIL`
    /// wants it (in UTC, since the start names a time zone).
    pub fn until(&self) -> Option<DateTime<Utc>> {
        let next_day = self.last?.checked_add_days(Days::new(1))?;
        Some(local_instant(next_day.and_time(NaiveTime::MIN)) - chrono::Duration::seconds(1))
    }
}

fn wall_time(minutes: u16) -> NaiveTime {
    NaiveTime::from_hms_opt(u32::from(minutes / 60), u32::from(minutes % 60), 0).unwrap_or(NaiveTime::MIN)
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

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    #[test]
    fn a_series_starts_on_the_first_of_its_days_and_ends_with_the_last_date() {
        let tuesdays = TimeWindow { day: Weekday::Tuesday, start: 19 * 60, end: 24 * 60 };
        let saturdays = TimeWindow { day: Weekday::Saturday, start: 600, end: 720 };
        // Wednesday 6 January 2027: the first Tuesday is the 12th, the first Saturday the 9th.
        let runs =
            Series::of(&[tuesdays, saturdays], Some(date(2027, 1, 6)), Some(date(2027, 3, 31)), date(2026, 1, 1));
        assert_eq!(runs.iter().map(|r| r.first).collect::<Vec<_>>(), [date(2027, 1, 9), date(2027, 1, 12)]);
        assert_eq!(runs[1].ends(), date(2027, 1, 13).and_time(NaiveTime::MIN), "24:00 is the next midnight");
        // 31 March 2027 is in BST: the end of that day is 22:59:59 UTC.
        assert_eq!(runs[0].until().map(|u| u.to_rfc3339()), Some("2027-03-31T22:59:59+00:00".into()));
        // Starting on the window's own day, and a run whose day never comes round.
        let only = Series::of(&[tuesdays], Some(date(2027, 1, 12)), Some(date(2027, 1, 12)), date(2026, 1, 1));
        assert_eq!((only[0].first, only[0].is_single()), (date(2027, 1, 12), true));
        assert!(
            Series::of(&[saturdays], Some(date(2027, 1, 12)), Some(date(2027, 1, 14)), date(2026, 1, 1)).is_empty()
        );
        let open = Series::of(&[tuesdays], None, None, date(2026, 12, 3));
        assert_eq!((open[0].first, open[0].until(), open[0].is_single()), (date(2026, 12, 8), None, false));
    }

    #[test]
    fn wall_clock_times_follow_the_uk_clock_changes() {
        let at = |y, m, d, h| local_instant(date(y, m, d).and_hms_opt(h, 30, 0).expect("a time")).to_rfc3339();
        assert_eq!(at(2027, 1, 12, 19), "2027-01-12T19:30:00+00:00", "GMT in winter");
        assert_eq!(at(2027, 6, 8, 19), "2027-06-08T18:30:00+00:00", "BST in summer");
        // 28 March 2027: 01:00–02:00 does not exist; 31 October 2027: 01:00–02:00 happens twice.
        assert_eq!(at(2027, 3, 28, 1), "2027-03-28T01:30:00+00:00", "read as 02:30 BST");
        assert_eq!(at(2027, 10, 31, 1), "2027-10-31T00:30:00+00:00", "the first 01:30, in BST");
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

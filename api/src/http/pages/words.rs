//! Needs and organisations in plain words, for the pages and the widget: what a reader sees instead of enum
//! values and JSON.
use chrono::{Datelike, NaiveDate};
use domain::needs::NeedCategory;
use domain::organisations::OrganisationKind;
use domain::values::{Postcode, TimeWindow, Weekday};
use domain::volunteers::DbsLevel;

pub fn category(category: NeedCategory) -> &'static str {
    match category {
        NeedCategory::EnglishClasses => "English classes",
        NeedCategory::JobsClub => "Jobs club",
        NeedCategory::YouthClub => "Youth club",
        NeedCategory::ItSkills => "IT skills",
        NeedCategory::Mentoring => "Mentoring",
        NeedCategory::Intergenerational => "Intergenerational",
        NeedCategory::EmploymentSupport => "Employment support",
        NeedCategory::Befriending => "Befriending",
        NeedCategory::FoodAndEssentials => "Food and essentials",
        NeedCategory::CommunitySafety => "Community safety",
        NeedCategory::Environment => "Environment",
        NeedCategory::Housing => "Housing",
        NeedCategory::Fundraising => "Fundraising",
        NeedCategory::Premises => "Premises",
        NeedCategory::Other => "Other",
    }
}

pub fn organisation_kind(kind: OrganisationKind) -> &'static str {
    match kind {
        OrganisationKind::Charity => "Charity",
        OrganisationKind::SocialEnterprise => "Social enterprise",
        OrganisationKind::CommunityGroup => "Community group",
        OrganisationKind::PartyAssociation => "Local party association",
        OrganisationKind::Council => "Council",
        OrganisationKind::CommunityPartnership => "Community partnership",
        OrganisationKind::Business => "Business",
        OrganisationKind::FaithGroup => "Faith group",
        OrganisationKind::Other => "Organisation",
    }
}

/// The safeguarding requirement. Standard and enhanced checks are free for volunteers (the DBS charges nothing
/// for them); a basic check is not.
pub fn safeguarding(level: DbsLevel) -> &'static str {
    match level {
        DbsLevel::None => "No DBS check needed",
        DbsLevel::Basic => "Basic DBS check needed",
        DbsLevel::Standard => "Standard DBS check needed — free for volunteers",
        DbsLevel::Enhanced => "Enhanced DBS check needed — free for volunteers",
        DbsLevel::EnhancedBarredLists => "Enhanced DBS check with barred lists needed — free for volunteers",
    }
}

pub fn day_plural(day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => "Mondays",
        Weekday::Tuesday => "Tuesdays",
        Weekday::Wednesday => "Wednesdays",
        Weekday::Thursday => "Thursdays",
        Weekday::Friday => "Fridays",
        Weekday::Saturday => "Saturdays",
        Weekday::Sunday => "Sundays",
    }
}

/// `6 January`, with the year when it is not `this_year`.
pub fn date(date: NaiveDate, this_year: i32) -> String {
    let month = date.format("%B");
    if date.year() == this_year {
        format!("{} {month}", date.day())
    } else {
        format!("{} {month} {}", date.day(), date.year())
    }
}

/// "Tuesdays 19:00–21:00, from 6 January"; "Saturday 6 June 10:00–13:00" for a one-off; "Flexible" when the need
/// names no times or dates. Windows on one day share it: "Tuesdays 10:00–12:00 and 19:00–21:00".
pub fn schedule(weekly: &[TimeWindow], start: Option<NaiveDate>, end: Option<NaiveDate>, this_year: i32) -> String {
    let times =
        |w: &TimeWindow| format!("{}–{}", TimeWindow::format_minutes(w.start), TimeWindow::format_minutes(w.end));
    let mut days: Vec<String> = Vec::new();
    let mut windows = weekly.to_vec();
    windows.sort_by_key(|w| (w.day, w.start));
    for (i, window) in windows.iter().enumerate() {
        if i > 0 && windows[i - 1].day == window.day {
            if let Some(last) = days.last_mut() {
                last.push_str(&format!(" and {}", times(window)));
            }
        } else {
            days.push(format!("{} {}", day_plural(window.day), times(window)));
        }
    }
    let weekly = join_words(&days);
    if let (Some(start), Some(end)) = (start, end)
        && start == end
    {
        let day = format!("{} {}", start.format("%A"), date(start, this_year));
        let hours: Vec<String> = windows.iter().map(times).collect();
        return if hours.is_empty() { day } else { format!("{day}, {}", join_words(&hours)) };
    }
    let dates = match (start, end) {
        (Some(start), Some(end)) => Some(format!("{} to {}", date(start, this_year), date(end, this_year))),
        (Some(start), None) => Some(format!("from {}", date(start, this_year))),
        (None, Some(end)) => Some(format!("until {}", date(end, this_year))),
        (None, None) => None,
    };
    match (weekly.is_empty(), dates) {
        (true, None) => "Flexible".into(),
        (true, Some(dates)) => capitalise(&dates),
        (false, None) => weekly,
        (false, Some(dates)) => format!("{weekly}, {dates}"),
    }
}

/// Where a need happens, without street-level detail: the postcode district, or "Remote".
pub fn place(remote: bool, postcode: Option<&str>) -> String {
    match (remote, postcode) {
        (true, _) => "Remote".into(),
        (false, Some(postcode)) => Postcode::district(postcode).to_owned(),
        (false, None) => "In person".into(),
    }
}

pub fn places_left(left: i32) -> String {
    match left {
        0 => "No places left".into(),
        1 => "1 place left".into(),
        n => format!("{n} places left"),
    }
}

/// "0.8 km away", "12 km away".
pub fn distance(km: f64) -> String {
    if km < 10.0 { format!("{km:.1} km away") } else { format!("{km:.0} km away") }
}

fn join_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(day: Weekday, start: u16, end: u16) -> TimeWindow {
        TimeWindow { day, start, end }
    }

    #[test]
    fn schedules_read_as_people_write_them() {
        let jan6 = NaiveDate::from_ymd_opt(2027, 1, 6);
        let tuesday_evenings = [window(Weekday::Tuesday, 19 * 60, 21 * 60)];
        assert_eq!(schedule(&tuesday_evenings, jan6, None, 2027), "Tuesdays 19:00–21:00, from 6 January");
        assert_eq!(schedule(&tuesday_evenings, jan6, None, 2026), "Tuesdays 19:00–21:00, from 6 January 2027");
        let two = [
            window(Weekday::Thursday, 600, 720),
            window(Weekday::Tuesday, 1140, 1260),
            window(Weekday::Tuesday, 600, 720),
        ];
        assert_eq!(schedule(&two, None, None, 2027), "Tuesdays 10:00–12:00 and 19:00–21:00 and Thursdays 10:00–12:00");
        assert_eq!(schedule(&[], None, None, 2027), "Flexible");
        assert_eq!(schedule(&[], None, NaiveDate::from_ymd_opt(2027, 3, 31), 2027), "Until 31 March");
        let saturday = NaiveDate::from_ymd_opt(2027, 6, 5);
        assert_eq!(
            schedule(&[window(Weekday::Saturday, 600, 780)], saturday, saturday, 2027),
            "Saturday 5 June, 10:00–13:00"
        );
        assert_eq!(schedule(&[window(Weekday::Monday, 0, 1440)], None, None, 2027), "Mondays 00:00–24:00");
    }

    #[test]
    fn places_and_distances() {
        assert_eq!(place(false, Some("IP12 1AA")), "IP12");
        assert_eq!(place(true, Some("IP12 1AA")), "Remote");
        assert_eq!(places_left(1), "1 place left");
        assert_eq!(distance(0.84), "0.8 km away");
        assert_eq!(distance(12.4), "12 km away");
    }
}

//! Scoring a (need, volunteer) pair: pure functions, no I/O.
//!
//! **Hard constraints** exclude a pair, each with a reason: the need is OPEN with places left; the volunteer's
//! DBS check is at least the level the need asks for and still valid on the need's start date; the need is
//! within the volunteer's travel radius (unless it is remote); their weekly availability overlaps the need's
//! schedule (when it has one); the volunteer has not already applied, been invited or been accepted.
//!
//! **Soft score** in [0, 1]: the sum of `weight × value` over the factors below, each value in [0, 1]; the
//! weights add up to 1, and every match carries the factors' contributions, which add up to its score.
//!
//! | factor | weight | value |
//! | --- | --- | --- |
//! | skills | 0.35 | share of the need's required skills the volunteer has (synonyms count, e.g. "esol" ~ "teaching english") |
//! | interest | 0.10 | 1 if the volunteer is interested in the need's category |
//! | distance | 0.20 | 1 at the door, falling linearly to 0 at the edge of the volunteer's radius |
//! | availability | 0.15 | shared hours a week over the need's hours a week (at most 1) |
//! | languages | 0.10 | share of the need's languages the volunteer speaks |
//! | few applicants | 0.10 | places left ÷ (places left + active applicants): a need nobody has applied to scores 1, so a popular need does not absorb everyone |
//!
//! A factor that does not apply (no skills required, a remote need, no weekly schedule, no languages asked for)
//! counts as `NOT_APPLICABLE` = 0.5, neither for nor against: otherwise a vague remote need would outrank every
//! specific match nearby.
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use chrono::{Months, NaiveDate};

use crate::applications::ApplicationStatus;
use crate::needs::{NeedCategory, NeedStatus};
use crate::offers::OfferKind;
use crate::values::{Coordinates, TimeWindow};
use crate::volunteers::DbsLevel;

/// What scoring needs to know about a need.
#[derive(Clone, Debug)]
pub struct NeedFacts {
    pub status: NeedStatus,
    pub places_left: i32,
    pub category: NeedCategory,
    pub safeguarding: DbsLevel,
    pub start_date: Option<NaiveDate>,
    pub location: Option<Coordinates>,
    pub remote: bool,
    pub weekly: Vec<TimeWindow>,
    pub required_skills: Vec<String>,
    pub languages: Vec<String>,
    /// Applications that are APPLIED, INVITED or ACCEPTED.
    pub active_applicants: i32,
    /// The organisation whose verified DBS check it requires (`volunteers::verification`), if it requires one.
    pub verified_by: Option<uuid::Uuid>,
}

/// A skill or language tag, shared rather than copied.
pub type Tag = Arc<str>;

/// What scoring needs to know about a volunteer. `location` should already be the approximate one
/// (see `approximate_location`): distances shown to organisations must not pinpoint a home.
#[derive(Clone, Debug)]
pub struct VolunteerFacts {
    pub location: Option<Coordinates>,
    pub travel_radius_km: f64,
    pub availability: Vec<TimeWindow>,
    /// Canonical skill tags (`canonical_skills`), so scoring compares each pair's skills without lookups.
    /// Tags are shared strings: the matching index holds one copy of each for its 100,000 volunteers.
    pub skills: Vec<Tag>,
    pub interests: Vec<NeedCategory>,
    pub languages: Vec<Tag>,
    pub dbs: DbsFacts,
}

#[derive(Clone, Copy, Debug)]
pub struct DbsFacts {
    pub level: DbsLevel,
    pub issued_on: Option<NaiveDate>,
    pub recheck_by: Option<NaiveDate>,
    pub on_update_service: bool,
}

crate::db_enum! {
    /// A hard constraint of matching.
    pub enum MatchConstraint {
        /// The need is OPEN and has places left.
        NeedOpen => "NEED_OPEN",
        /// The volunteer's DBS check meets the need's safeguarding level and is valid on its start date.
        Safeguarding => "SAFEGUARDING",
        /// The need is within the volunteer's travel radius (or remote).
        Distance => "DISTANCE",
        /// The volunteer's weekly availability overlaps the need's schedule.
        Availability => "AVAILABILITY",
        /// The volunteer has not already applied, been invited or been accepted.
        NotAlreadyApplied => "NOT_ALREADY_APPLIED",
    }
}

crate::db_enum! {
    /// A soft factor of the match score.
    pub enum MatchFactor {
        Skills => "SKILLS",
        Interest => "INTEREST",
        Distance => "DISTANCE",
        Availability => "AVAILABILITY",
        Languages => "LANGUAGES",
        FewApplicants => "FEW_APPLICANTS",
    }
}

impl MatchFactor {
    pub fn weight(self) -> f64 {
        match self {
            Self::Skills => 0.35,
            Self::Interest => 0.10,
            Self::Distance => 0.20,
            Self::Availability => 0.15,
            Self::Languages => 0.10,
            Self::FewApplicants => 0.10,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub constraint: MatchConstraint,
    pub explanation: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
    pub factor: MatchFactor,
    pub weight: f64,
    /// `weight × value`; the contributions of a match add up to its score.
    pub contribution: f64,
    pub explanation: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Every hard constraint that failed; empty means eligible.
    pub failures: Vec<Failure>,
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// Rounded to 0.1 km; `None` for remote needs or when either side has no place.
    pub distance_km: Option<f64>,
    pub matched_skills: Vec<String>,
    pub missing_skills: Vec<String>,
    pub overlap_hours_per_week: f64,
}

impl Evaluation {
    pub fn eligible(&self) -> bool {
        self.failures.is_empty()
    }
}

/// A DBS check without a recheck date, and not on the Update Service, counts as valid for this long after issue
/// (organisations commonly ask for a recheck every three years).
pub const DBS_DEFAULT_VALIDITY_MONTHS: u32 = 36;

/// Rounds a volunteer's home to two decimal places (about 1 km), the precision matching works at.
pub fn approximate_location(location: Option<Coordinates>) -> Option<Coordinates> {
    location.map(|c| c.rounded(2))
}

/// Skill synonyms: each tag on the left counts as the canonical tag on the right.
const SYNONYMS: &[(&str, &str)] = &[
    ("esol", "teaching english"),
    ("tefl", "teaching english"),
    ("english teaching", "teaching english"),
    ("english tutoring", "teaching english"),
    ("teaching esol", "teaching english"),
    ("it", "it support"),
    ("computer skills", "it support"),
    ("computing", "it support"),
    ("digital skills", "it support"),
    ("tech support", "it support"),
    ("cv", "cv writing"),
    ("cvs", "cv writing"),
    ("cv review", "cv writing"),
    ("job search", "employment support"),
    ("interview practice", "interview coaching"),
    ("mock interviews", "interview coaching"),
    ("mentor", "mentoring"),
    ("youth worker", "youth work"),
    ("youth leadership", "youth work"),
    ("decorating", "painting"),
    ("painting and decorating", "painting"),
    ("befriender", "befriending"),
    ("companionship", "befriending"),
    ("fund raising", "fundraising"),
    ("grant writing", "fundraising"),
    ("event management", "event planning"),
    ("events", "event planning"),
    ("cooking", "catering"),
    ("bookkeeping", "accounts"),
];

/// The canonical form of a (normalised) skill tag. Idempotent: no canonical tag is itself an alias.
pub fn canonical_skill(tag: &str) -> &str {
    // A map rather than a scan of the table: scoring looks up every required skill of every candidate pair.
    static BY_ALIAS: LazyLock<HashMap<&'static str, &'static str>> =
        LazyLock::new(|| SYNONYMS.iter().copied().collect());
    BY_ALIAS.get(tag).copied().unwrap_or(tag)
}

/// A volunteer's skills as `VolunteerFacts` holds them: canonical, without repeats.
pub fn canonical_skills(tags: &[String]) -> Vec<Tag> {
    let mut out: Vec<Tag> = tags.iter().map(|t| Tag::from(canonical_skill(t))).collect();
    out.sort();
    out.dedup();
    out
}

/// DBS levels in order of what they clear: a check clears every level of a lower rank.
pub fn dbs_rank(level: DbsLevel) -> u8 {
    match level {
        DbsLevel::None => 0,
        DbsLevel::Basic => 1,
        DbsLevel::Standard => 2,
        DbsLevel::Enhanced => 3,
        DbsLevel::EnhancedBarredLists => 4,
    }
}

/// Why a DBS check does not satisfy a level, without the words (scoring tests millions of pairs).
enum DbsProblem {
    TooLow,
    Expires(NaiveDate),
    Undated,
}

fn dbs_problem(dbs: &DbsFacts, required: DbsLevel, on: NaiveDate) -> Option<DbsProblem> {
    if required == DbsLevel::None {
        return None;
    }
    if dbs_rank(dbs.level) < dbs_rank(required) {
        return Some(DbsProblem::TooLow);
    }
    if dbs.on_update_service {
        return None;
    }
    let valid_until = dbs.recheck_by.or_else(|| {
        dbs.issued_on.and_then(|issued| issued.checked_add_months(Months::new(DBS_DEFAULT_VALIDITY_MONTHS)))
    });
    match valid_until {
        Some(until) if until < on => Some(DbsProblem::Expires(until)),
        None => Some(DbsProblem::Undated),
        _ => None,
    }
}

/// Whether a DBS check satisfies `required` on `on` (the need's start, or today).
pub fn dbs_satisfies(dbs: &DbsFacts, required: DbsLevel, on: NaiveDate) -> Result<(), String> {
    match dbs_problem(dbs, required, on) {
        None => Ok(()),
        Some(DbsProblem::TooLow) => Err(format!(
            "needs a {} DBS check; the volunteer has {}",
            level_words(required),
            if dbs.level == DbsLevel::None { "none".to_owned() } else { format!("a {} one", level_words(dbs.level)) }
        )),
        Some(DbsProblem::Expires(until)) => {
            Err(format!("the volunteer's DBS check needs renewing by {until}, before {on}"))
        }
        Some(DbsProblem::Undated) => Err("the volunteer's DBS check has no date".to_owned()),
    }
}

fn level_words(level: DbsLevel) -> &'static str {
    match level {
        DbsLevel::None => "no",
        DbsLevel::Basic => "basic",
        DbsLevel::Standard => "standard",
        DbsLevel::Enhanced => "enhanced",
        DbsLevel::EnhancedBarredLists => "enhanced with barred lists",
    }
}

fn has_skill(volunteer: &VolunteerFacts, skill: &str) -> bool {
    has_canonical_skill(volunteer, canonical_skill(skill))
}

fn speaks(volunteer: &VolunteerFacts, language: &str) -> bool {
    volunteer.languages.iter().any(|l| &**l == language)
}

fn has_canonical_skill(volunteer: &VolunteerFacts, skill: &str) -> bool {
    volunteer.skills.iter().any(|have| &**have == skill)
}

/// Minutes a week the two sets of windows share.
pub fn overlap_minutes(a: &[TimeWindow], b: &[TimeWindow]) -> u32 {
    let mut total = 0u32;
    for x in a {
        for y in b.iter().filter(|y| y.day == x.day) {
            let start = x.start.max(y.start);
            let end = x.end.min(y.end);
            if end > start {
                total += u32::from(end - start);
            }
        }
    }
    total
}

fn weekly_minutes(windows: &[TimeWindow]) -> u32 {
    windows.iter().map(|w| u32::from(w.minutes())).sum()
}

/// Rounds to `per_unit`ths (10 → 0.1), dividing last so 0.6 comes out as 0.6, not 0.6000000000000001.
fn round_to(x: f64, per_unit: f64) -> f64 {
    (x * per_unit).round() / per_unit
}

/// Everything the constraints and factors are computed from, measured once per pair without allocating.
#[derive(Default)]
struct Measures {
    need_open: bool,
    dbs_ok: bool,
    /// Exact distance in km between the need and the volunteer's (approximate) place.
    distance: Option<f64>,
    within_radius: bool,
    overlap: u32,
    need_minutes: u32,
    matched_skills: usize,
    interested: bool,
    shared_languages: usize,
    already: bool,
}

/// A need made ready to be scored against many volunteers: what depends on the need alone is worked out once.
pub struct PreparedNeed<'a> {
    need: &'a NeedFacts,
    /// The day the volunteer's DBS check must still be valid on.
    on: NaiveDate,
    canonical_skills: Vec<&'a str>,
    need_minutes: u32,
}

impl<'a> PreparedNeed<'a> {
    pub fn new(need: &'a NeedFacts, today: NaiveDate) -> Self {
        Self {
            need,
            on: need.start_date.map_or(today, |start| start.max(today)),
            canonical_skills: need.required_skills.iter().map(|s| canonical_skill(s)).collect(),
            need_minutes: weekly_minutes(&need.weekly),
        }
    }
}

/// Measures a pair. With `stop_early` it stops at the first hard constraint that fails, leaving the later
/// measures at their defaults: ranking skips such pairs whatever they are. Explanations measure everything.
fn measure(
    p: &PreparedNeed,
    volunteer: &VolunteerFacts,
    existing: Option<ApplicationStatus>,
    stop_early: bool,
) -> Measures {
    let need = p.need;
    let mut m = Measures {
        need_open: need.status == NeedStatus::Open && need.places_left > 0,
        already: existing.is_some_and(|s| ApplicationStatus::LIVE.contains(&s)),
        dbs_ok: dbs_problem(&volunteer.dbs, need.safeguarding, p.on).is_none(),
        need_minutes: p.need_minutes,
        ..Measures::default()
    };
    if stop_early && !(m.need_open && !m.already && m.dbs_ok) {
        return m;
    }
    m.distance = match (need.remote, need.location, volunteer.location) {
        (false, Some(n), Some(v)) => Some(n.distance_km(&v)),
        _ => None,
    };
    m.within_radius = need.remote || m.distance.is_some_and(|d| d <= volunteer.travel_radius_km);
    if stop_early && !m.within_radius {
        return m;
    }
    m.overlap = overlap_minutes(&need.weekly, &volunteer.availability);
    if stop_early && m.need_minutes > 0 && m.overlap == 0 {
        return m;
    }
    m.matched_skills = p.canonical_skills.iter().filter(|skill| has_canonical_skill(volunteer, skill)).count();
    m.interested = volunteer.interests.contains(&need.category);
    m.shared_languages = need.languages.iter().filter(|l| speaks(volunteer, l)).count();
    m
}

impl Measures {
    fn eligible(&self) -> bool {
        self.need_open
            && self.dbs_ok
            && self.within_radius
            && (self.need_minutes == 0 || self.overlap > 0)
            && !self.already
    }

    /// Factor values in [0, 1], in `FACTORS` order.
    fn values(&self, need: &NeedFacts, volunteer: &VolunteerFacts) -> [f64; 6] {
        let required = need.required_skills.len();
        let places = f64::from(need.places_left.max(0));
        let applicants = f64::from(need.active_applicants.max(0));
        [
            if required == 0 { NOT_APPLICABLE } else { self.matched_skills as f64 / required as f64 },
            if self.interested { 1.0 } else { 0.0 },
            match (need.remote, self.distance) {
                (true, _) => NOT_APPLICABLE,
                (false, Some(d)) if volunteer.travel_radius_km > 0.0 => 1.0 - d / volunteer.travel_radius_km,
                _ => 0.0,
            },
            if self.need_minutes == 0 {
                NOT_APPLICABLE
            } else {
                f64::from(self.overlap) / f64::from(self.need_minutes)
            },
            if need.languages.is_empty() {
                NOT_APPLICABLE
            } else {
                self.shared_languages as f64 / need.languages.len() as f64
            },
            if places + applicants > 0.0 { places / (places + applicants) } else { 0.0 },
        ]
        .map(|v| v.clamp(0.0, 1.0))
    }
}

/// The value of a factor that does not apply to a pair.
pub const NOT_APPLICABLE: f64 = 0.5;

const FACTORS: [MatchFactor; 6] = [
    MatchFactor::Skills,
    MatchFactor::Interest,
    MatchFactor::Distance,
    MatchFactor::Availability,
    MatchFactor::Languages,
    MatchFactor::FewApplicants,
];

fn weighted_sum(values: &[f64; 6]) -> f64 {
    FACTORS.iter().zip(values).map(|(f, v)| f.weight() * v).sum::<f64>().clamp(0.0, 1.0)
}

/// The score of an eligible pair, or `None`: what ranking uses, without building explanations.
/// Always equal to `evaluate(..).score` for eligible pairs (a property test holds it to that).
pub fn quick_score(
    need: &NeedFacts,
    volunteer: &VolunteerFacts,
    existing: Option<ApplicationStatus>,
    today: NaiveDate,
) -> Option<f64> {
    score_prepared(&PreparedNeed::new(need, today), volunteer, existing)
}

/// `quick_score` for a need prepared once and scored against many volunteers.
pub fn score_prepared(
    p: &PreparedNeed,
    volunteer: &VolunteerFacts,
    existing: Option<ApplicationStatus>,
) -> Option<f64> {
    let m = measure(p, volunteer, existing, true);
    m.eligible().then(|| weighted_sum(&m.values(p.need, volunteer)))
}

/// Evaluates a pair in full, with the reasons for every constraint and factor. `existing` is the status
/// of the volunteer's application to this need, if any; `today` is when the DBS check must be valid for
/// needs without a start date.
pub fn evaluate(
    need: &NeedFacts,
    volunteer: &VolunteerFacts,
    existing: Option<ApplicationStatus>,
    today: NaiveDate,
) -> Evaluation {
    let m = measure(&PreparedNeed::new(need, today), volunteer, existing, false);
    let mut failures = Vec::new();
    let mut fail = |constraint, explanation: String| failures.push(Failure { constraint, explanation });
    if !m.need_open {
        fail(
            MatchConstraint::NeedOpen,
            format!("the need is {} with {} places left", need.status.as_db().to_lowercase(), need.places_left.max(0)),
        );
    }
    if !m.dbs_ok {
        let on = need.start_date.map_or(today, |start| start.max(today));
        fail(
            MatchConstraint::Safeguarding,
            dbs_satisfies(&volunteer.dbs, need.safeguarding, on).err().unwrap_or_default(),
        );
    }
    if !m.within_radius {
        let why = match m.distance {
            Some(d) => format!("{:.1} km away, beyond the volunteer's {:.0} km radius", d, volunteer.travel_radius_km),
            None if volunteer.location.is_none() => "the volunteer has not said where they are".to_owned(),
            None => "the need has no location".to_owned(),
        };
        fail(MatchConstraint::Distance, why);
    }
    if m.need_minutes > 0 && m.overlap == 0 {
        fail(MatchConstraint::Availability, "the volunteer is not free at any of the need's times".to_owned());
    }
    if let (true, Some(status)) = (m.already, existing) {
        fail(
            MatchConstraint::NotAlreadyApplied,
            format!("the volunteer's application is already {}", status.as_db().to_lowercase()),
        );
    }

    let (mut matched_skills, mut missing_skills) = (Vec::new(), Vec::new());
    for skill in &need.required_skills {
        if has_skill(volunteer, skill) {
            matched_skills.push(skill.clone());
        } else {
            missing_skills.push(skill.clone());
        }
    }
    let required = need.required_skills.len();
    let shared: Vec<&str> = need.languages.iter().filter(|l| speaks(volunteer, l)).map(String::as_str).collect();
    let explanations = [
        if required == 0 {
            "no particular skills required".to_owned()
        } else if matched_skills.is_empty() {
            format!("has none of the {required} required skills")
        } else {
            format!("has {} of {} required skills ({})", matched_skills.len(), required, matched_skills.join(", "))
        },
        if m.interested {
            format!("interested in {}", category_words(need.category))
        } else {
            format!("has not said they are interested in {}", category_words(need.category))
        },
        match (need.remote, m.distance) {
            (true, _) => "remote: no travel".to_owned(),
            (false, Some(d)) => format!("{:.1} km away, within a {:.0} km radius", d, volunteer.travel_radius_km),
            _ => "no place to measure from".to_owned(),
        },
        if m.need_minutes == 0 {
            "the need has no fixed weekly times".to_owned()
        } else {
            format!(
                "free for {:.1} of the need's {:.1} hours a week",
                f64::from(m.overlap) / 60.0,
                f64::from(m.need_minutes) / 60.0
            )
        },
        if need.languages.is_empty() {
            "no particular languages asked for".to_owned()
        } else if shared.is_empty() {
            format!("speaks none of {}", need.languages.join(", "))
        } else {
            format!("speaks {}", shared.join(", "))
        },
        format!("{} applicants for {} places left", need.active_applicants.max(0), need.places_left.max(0)),
    ];
    let values = m.values(need, volunteer);
    let reasons: Vec<Reason> = FACTORS
        .iter()
        .zip(values)
        .zip(explanations)
        .map(|((factor, value), explanation)| Reason {
            factor: *factor,
            weight: factor.weight(),
            contribution: factor.weight() * value,
            explanation,
        })
        .collect();
    Evaluation {
        failures,
        score: weighted_sum(&values),
        reasons,
        distance_km: m.distance.map(|d| round_to(d, 10.0)),
        matched_skills,
        missing_skills,
        overlap_hours_per_week: round_to(f64::from(m.overlap) / 60.0, 100.0),
    }
}

/// What offer matching needs to know about an offer.
#[derive(Clone, Debug)]
pub struct OfferFacts {
    pub kind: crate::offers::OfferKind,
    pub category: Option<NeedCategory>,
    pub location: Option<Coordinates>,
    pub remote: bool,
    pub availability: Vec<TimeWindow>,
}

/// In-person offers further than this from a need do not match it.
pub const OFFER_RADIUS_KM: f64 = 25.0;

crate::db_enum! {
    /// A factor of an offer's fit to a need.
    pub enum OfferFactor {
        Kind => "KIND",
        Category => "CATEGORY",
        Distance => "DISTANCE",
        Availability => "AVAILABILITY",
    }
}

/// Offer kinds that serve a category best, then kinds that help it.
fn kinds_for(category: NeedCategory) -> (&'static [OfferKind], &'static [OfferKind]) {
    use OfferKind as K;
    match category {
        NeedCategory::Premises => (&[K::Space], &[K::Introduction]),
        NeedCategory::Fundraising => (&[K::Introduction], &[K::Equipment, K::Time]),
        NeedCategory::ItSkills => (&[K::Equipment, K::Skills], &[K::Time, K::Space]),
        NeedCategory::FoodAndEssentials => (&[K::Equipment, K::Time], &[K::Space, K::Introduction]),
        NeedCategory::EnglishClasses | NeedCategory::JobsClub | NeedCategory::YouthClub => {
            (&[K::Skills, K::Time], &[K::Space, K::Introduction, K::Equipment])
        }
        _ => (&[K::Time, K::Skills], &[K::Space, K::Equipment, K::Introduction]),
    }
}

pub struct OfferEvaluation {
    pub eligible: bool,
    pub score: f64,
    pub distance_km: Option<f64>,
    pub overlap_hours_per_week: f64,
    /// (factor, weight, contribution, explanation)
    pub reasons: Vec<(OfferFactor, f64, f64, String)>,
}

/// How well an ACTIVE offer fits a need: kind 0.4, category 0.2, distance 0.25, availability 0.15.
/// In-person offers more than `OFFER_RADIUS_KM` away, and offers of a kind that does not help the need's
/// category, are not eligible.
pub fn evaluate_offer(need: &NeedFacts, offer: &OfferFacts) -> OfferEvaluation {
    let (best, helpful) = kinds_for(need.category);
    let (kind_value, kind_words) = if best.contains(&offer.kind) {
        (1.0, format!("{} is what {} needs most", offer.kind.as_db().to_lowercase(), category_words(need.category)))
    } else if helpful.contains(&offer.kind) {
        (0.5, format!("{} helps with {}", offer.kind.as_db().to_lowercase(), category_words(need.category)))
    } else {
        (0.0, format!("{} is rarely what {} needs", offer.kind.as_db().to_lowercase(), category_words(need.category)))
    };
    let (category_value, category_words_) = match offer.category {
        Some(c) if c == need.category => (1.0, "offered for this kind of need".to_owned()),
        Some(_) => (0.0, "offered for another kind of need".to_owned()),
        None => (0.5, "offered for any kind of need".to_owned()),
    };
    let distance = match (need.remote || offer.remote, need.location, offer.location) {
        (false, Some(n), Some(o)) => Some(n.distance_km(&o)),
        _ => None,
    };
    let in_reach = need.remote || offer.remote || distance.is_some_and(|d| d <= OFFER_RADIUS_KM);
    let (distance_value, distance_words) = match distance {
        _ if need.remote || offer.remote => (1.0, "no travel needed".to_owned()),
        Some(d) => ((1.0 - d / OFFER_RADIUS_KM).clamp(0.0, 1.0), format!("{d:.1} km away")),
        None => (0.0, "no place to measure from".to_owned()),
    };
    let overlap = overlap_minutes(&need.weekly, &offer.availability);
    let need_minutes = weekly_minutes(&need.weekly);
    let (availability_value, availability_words) = if need_minutes == 0 {
        (1.0, "the need has no fixed weekly times".to_owned())
    } else if offer.availability.is_empty() {
        (0.5, "the offer has no fixed times".to_owned())
    } else {
        (
            (f64::from(overlap) / f64::from(need_minutes)).clamp(0.0, 1.0),
            format!(
                "available for {:.1} of the need's {:.1} hours a week",
                f64::from(overlap) / 60.0,
                f64::from(need_minutes) / 60.0
            ),
        )
    };
    let reasons: Vec<(OfferFactor, f64, f64, String)> = [
        (OfferFactor::Kind, 0.40, kind_value, kind_words),
        (OfferFactor::Category, 0.20, category_value, category_words_),
        (OfferFactor::Distance, 0.25, distance_value, distance_words),
        (OfferFactor::Availability, 0.15, availability_value, availability_words),
    ]
    .into_iter()
    .map(|(factor, weight, value, words)| (factor, weight, weight * value, words))
    .collect();
    OfferEvaluation {
        eligible: in_reach && kind_value > 0.0,
        score: reasons.iter().map(|r| r.2).sum::<f64>().clamp(0.0, 1.0),
        distance_km: distance.map(|d| round_to(d, 10.0)),
        overlap_hours_per_week: round_to(f64::from(overlap) / 60.0, 100.0),
        reasons,
    }
}

fn category_words(category: NeedCategory) -> String {
    category.as_db().to_lowercase().replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::schedule::Weekday;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default()
    }

    fn at(lat: f64, lng: f64) -> Option<Coordinates> {
        Coordinates::new("test", lat, lng).ok()
    }

    fn window(day: Weekday, start_h: u16, end_h: u16) -> TimeWindow {
        TimeWindow { day, start: start_h * 60, end: end_h * 60 }
    }

    fn need() -> NeedFacts {
        NeedFacts {
            status: NeedStatus::Open,
            places_left: 2,
            category: NeedCategory::EnglishClasses,
            safeguarding: DbsLevel::Basic,
            start_date: Some(NaiveDate::from_ymd_opt(2027, 1, 12).unwrap_or_default()),
            location: at(51.4566, -0.2426),
            remote: false,
            weekly: vec![window(Weekday::Tuesday, 19, 21)],
            required_skills: vec!["teaching english".into(), "it support".into()],
            languages: vec!["arabic".into(), "urdu".into()],
            active_applicants: 0,
            verified_by: None,
        }
    }

    fn volunteer() -> VolunteerFacts {
        VolunteerFacts {
            location: at(51.4613, -0.2391),
            travel_radius_km: 5.0,
            availability: vec![window(Weekday::Tuesday, 18, 22)],
            skills: canonical_skills(&["esol".into(), "baking".into()]),
            interests: vec![NeedCategory::EnglishClasses],
            languages: vec!["arabic".into(), "english".into()],
            dbs: DbsFacts {
                level: DbsLevel::Enhanced,
                issued_on: NaiveDate::from_ymd_opt(2025, 3, 1),
                recheck_by: None,
                on_update_service: false,
            },
        }
    }

    fn failed(e: &Evaluation) -> Vec<MatchConstraint> {
        e.failures.iter().map(|f| f.constraint).collect()
    }

    #[test]
    fn a_good_pair_is_eligible_and_explained() {
        let e = evaluate(&need(), &volunteer(), None, today());
        assert!(e.eligible(), "{:?}", e.failures);
        assert_eq!(e.matched_skills, vec!["teaching english"], "esol counts as teaching english");
        assert_eq!(e.missing_skills, vec!["it support"]);
        assert_eq!(e.overlap_hours_per_week, 2.0);
        assert_eq!(e.distance_km, Some(0.6));
        let sum: f64 = e.reasons.iter().map(|r| r.contribution).sum();
        assert!((sum - e.score).abs() < 1e-9);
        // skills 0.35×0.5 + interest 0.10 + distance 0.20×(1−0.6/5) + availability 0.15 + languages 0.10×0.5 + few 0.10
        let distance = need().location.zip(volunteer().location).map(|(a, b)| a.distance_km(&b)).unwrap_or_default();
        let expected = 0.175 + 0.10 + 0.20 * (1.0 - distance / 5.0) + 0.15 + 0.05 + 0.10;
        assert!((e.score - expected).abs() < 1e-9, "{} vs {expected}", e.score);
    }

    #[test]
    fn each_constraint_excludes_with_a_reason() {
        let mut closed = need();
        closed.status = NeedStatus::Filled;
        assert_eq!(failed(&evaluate(&closed, &volunteer(), None, today())), vec![MatchConstraint::NeedOpen]);
        let mut full = need();
        full.places_left = 0;
        assert_eq!(failed(&evaluate(&full, &volunteer(), None, today())), vec![MatchConstraint::NeedOpen]);

        let mut strict = need();
        strict.safeguarding = DbsLevel::EnhancedBarredLists;
        assert_eq!(failed(&evaluate(&strict, &volunteer(), None, today())), vec![MatchConstraint::Safeguarding]);

        let mut far = volunteer();
        far.location = at(52.0567, 1.1482);
        assert_eq!(failed(&evaluate(&need(), &far, None, today())), vec![MatchConstraint::Distance]);
        let mut nowhere = volunteer();
        nowhere.location = None;
        assert_eq!(failed(&evaluate(&need(), &nowhere, None, today())), vec![MatchConstraint::Distance]);

        let mut busy = volunteer();
        busy.availability = vec![window(Weekday::Wednesday, 9, 17)];
        assert_eq!(failed(&evaluate(&need(), &busy, None, today())), vec![MatchConstraint::Availability]);

        for status in [ApplicationStatus::Applied, ApplicationStatus::Invited, ApplicationStatus::Accepted] {
            assert_eq!(
                failed(&evaluate(&need(), &volunteer(), Some(status), today())),
                vec![MatchConstraint::NotAlreadyApplied]
            );
        }
        for status in [ApplicationStatus::Withdrawn, ApplicationStatus::Declined, ApplicationStatus::Completed] {
            assert!(evaluate(&need(), &volunteer(), Some(status), today()).eligible());
        }
    }

    #[test]
    fn remote_needs_ignore_distance_and_unscheduled_needs_ignore_availability() {
        let mut remote = need();
        remote.remote = true;
        remote.location = None;
        remote.weekly = vec![];
        let mut far = volunteer();
        far.location = at(55.9533, -3.1883);
        far.availability = vec![];
        let e = evaluate(&remote, &far, None, today());
        assert!(e.eligible());
        assert_eq!(e.distance_km, None);
        let distance = e.reasons.iter().find(|r| r.factor == MatchFactor::Distance).map(|r| r.contribution);
        assert_eq!(distance, Some(0.20 * NOT_APPLICABLE));
    }

    #[test]
    fn dbs_validity_depends_on_the_need_start() {
        let dbs = DbsFacts {
            level: DbsLevel::Enhanced,
            issued_on: NaiveDate::from_ymd_opt(2024, 1, 1),
            recheck_by: NaiveDate::from_ymd_opt(2027, 1, 1),
            on_update_service: false,
        };
        let before = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let after = NaiveDate::from_ymd_opt(2027, 2, 1).unwrap_or_default();
        assert!(dbs_satisfies(&dbs, DbsLevel::Enhanced, before).is_ok());
        assert!(dbs_satisfies(&dbs, DbsLevel::Enhanced, after).is_err(), "expires before the need starts");
        assert!(dbs_satisfies(&DbsFacts { on_update_service: true, ..dbs }, DbsLevel::Enhanced, after).is_ok());
        assert!(dbs_satisfies(&dbs, DbsLevel::EnhancedBarredLists, before).is_err(), "level too low");
        let undated = DbsFacts { recheck_by: None, ..dbs };
        assert!(
            dbs_satisfies(&undated, DbsLevel::Basic, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default()).is_ok()
        );
        assert!(
            dbs_satisfies(&undated, DbsLevel::Basic, NaiveDate::from_ymd_opt(2027, 1, 2).unwrap_or_default()).is_err(),
            "3 years after issue"
        );
        let none = DbsFacts { level: DbsLevel::None, issued_on: None, recheck_by: None, on_update_service: false };
        assert!(dbs_satisfies(&none, DbsLevel::None, after).is_ok());
    }

    #[test]
    fn a_vague_remote_need_does_not_outrank_a_specific_match_nearby() {
        let vague = NeedFacts {
            remote: true,
            location: None,
            weekly: vec![],
            required_skills: vec![],
            languages: vec![],
            category: NeedCategory::Befriending,
            ..need()
        };
        let specific = evaluate(&need(), &volunteer(), None, today()).score;
        let remote = evaluate(&vague, &volunteer(), None, today()).score;
        assert!(remote < specific, "remote {remote} vs specific {specific}");
        assert!(remote < 0.7, "n/a factors count half, not full: {remote}");
    }

    #[test]
    fn factors_reward_what_they_say() {
        let base = evaluate(&need(), &volunteer(), None, today()).score;
        let mut crowded = need();
        crowded.active_applicants = 8;
        assert!(evaluate(&crowded, &volunteer(), None, today()).score < base, "popular needs score lower");
        let mut uninterested = volunteer();
        uninterested.interests.clear();
        assert!(evaluate(&need(), &uninterested, None, today()).score < base);
        let mut skilled = volunteer();
        skilled.skills = canonical_skills(&["esol".into(), "baking".into(), "computer skills".into()]);
        assert!(evaluate(&need(), &skilled, None, today()).score > base, "computer skills ~ it support");
        assert_eq!(canonical_skill("tefl"), "teaching english");
        for (_, canonical) in SYNONYMS {
            assert_eq!(canonical_skill(canonical), *canonical, "canonical tags are not aliases");
        }
        assert_eq!(
            overlap_minutes(
                &[window(Weekday::Monday, 9, 12)],
                &[window(Weekday::Monday, 11, 14), window(Weekday::Tuesday, 9, 12)]
            ),
            60
        );
    }

    #[test]
    fn offers_fit_needs_by_kind_category_place_and_time() {
        let premises = NeedFacts { category: NeedCategory::Premises, ..need() };
        let office = OfferFacts {
            kind: OfferKind::Space,
            category: None,
            location: at(51.4600, -0.2300),
            remote: false,
            availability: vec![window(Weekday::Tuesday, 18, 21)],
        };
        let e = evaluate_offer(&premises, &office);
        assert!(e.eligible);
        // kind 0.40 + any category 0.20×0.5 + distance + the offer covers the need's two hours 0.15
        assert!((e.score - (0.40 + 0.10 + 0.25 * (1.0 - e.distance_km.unwrap_or(0.0) / 25.0) + 0.15)).abs() < 0.01);
        let sum: f64 = e.reasons.iter().map(|r| r.2).sum();
        assert!((sum - e.score).abs() < 1e-9);
        let far = OfferFacts { location: at(53.4808, -2.2426), ..office.clone() };
        assert!(!evaluate_offer(&premises, &far).eligible, "Manchester is too far from Putney");
        let equipment = OfferFacts { kind: OfferKind::Equipment, ..office.clone() };
        assert!(!evaluate_offer(&premises, &equipment).eligible, "equipment does not help a premises need");
        let intro = OfferFacts { kind: OfferKind::Introduction, ..office };
        assert!(evaluate_offer(&premises, &intro).score < e.score);
    }

    fn arb_windows() -> impl Strategy<Value = Vec<TimeWindow>> {
        proptest::collection::vec((0usize..7, 0u16..23, 1u16..4), 0..4).prop_map(|ws| {
            let days = [
                Weekday::Monday,
                Weekday::Tuesday,
                Weekday::Wednesday,
                Weekday::Thursday,
                Weekday::Friday,
                Weekday::Saturday,
                Weekday::Sunday,
            ];
            ws.into_iter()
                .map(|(d, h, len)| TimeWindow { day: days[d], start: h * 60, end: ((h + len).min(24)) * 60 })
                .collect()
        })
    }

    const SKILLS: &[&str] = &["teaching english", "esol", "it support", "mentoring", "painting", "driving"];
    const LEVELS: &[DbsLevel] =
        &[DbsLevel::None, DbsLevel::Basic, DbsLevel::Standard, DbsLevel::Enhanced, DbsLevel::EnhancedBarredLists];

    prop_compose! {
        fn arb_pair()(
            need_lat in 50.0f64..56.0, need_lng in -4.0f64..1.5,
            dlat in -0.5f64..0.5, dlng in -0.5f64..0.5,
            radius in 0.5f64..50.0, remote in any::<bool>(),
            places in -1i32..6, applicants in 0i32..20,
            need_level in 0usize..5, vol_level in 0usize..5,
            need_windows in arb_windows(), vol_windows in arb_windows(),
            need_skills in proptest::sample::subsequence(SKILLS, 0..4),
            vol_skills in proptest::sample::subsequence(SKILLS, 0..4),
            interested in any::<bool>(),
        ) -> (NeedFacts, VolunteerFacts) {
            let need = NeedFacts {
                status: NeedStatus::Open,
                places_left: places,
                category: NeedCategory::Mentoring,
                safeguarding: LEVELS[need_level],
                start_date: None,
                location: at(need_lat, need_lng),
                remote,
                weekly: need_windows,
                required_skills: need_skills.into_iter().map(str::to_owned).collect(),
                languages: vec!["polish".into()],
                active_applicants: applicants,
                verified_by: None,
            };
            let volunteer = VolunteerFacts {
                location: at(need_lat + dlat, need_lng + dlng),
                travel_radius_km: radius,
                availability: vol_windows,
                skills: canonical_skills(&vol_skills.into_iter().map(str::to_owned).collect::<Vec<_>>()),
                interests: if interested { vec![NeedCategory::Mentoring] } else { vec![] },
                languages: vec!["english".into()],
                dbs: DbsFacts { level: LEVELS[vol_level], issued_on: NaiveDate::from_ymd_opt(2026, 1, 1), recheck_by: None, on_update_service: false },
            };
            (need, volunteer)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn scores_lie_in_the_unit_interval_and_reasons_add_up((need, volunteer) in arb_pair()) {
            let e = evaluate(&need, &volunteer, None, today());
            prop_assert!((0.0..=1.0).contains(&e.score));
            let sum: f64 = e.reasons.iter().map(|r| r.contribution).sum();
            prop_assert!((sum - e.score).abs() < 1e-9);
            let weights: f64 = e.reasons.iter().map(|r| r.weight).sum();
            prop_assert!((weights - 1.0).abs() < 1e-9);
        }

        #[test]
        fn quick_score_agrees_with_the_full_evaluation((need, volunteer) in arb_pair()) {
            let e = evaluate(&need, &volunteer, None, today());
            match quick_score(&need, &volunteer, None, today()) {
                Some(score) => prop_assert!(e.eligible() && (score - e.score).abs() < 1e-12),
                None => prop_assert!(!e.eligible()),
            }
        }

        #[test]
        fn outside_the_radius_or_below_the_dbs_level_is_never_eligible((need, volunteer) in arb_pair()) {
            let e = evaluate(&need, &volunteer, None, today());
            if let (false, Some(n), Some(v)) = (need.remote, need.location, volunteer.location)
                && n.distance_km(&v) > volunteer.travel_radius_km
            {
                prop_assert!(!e.eligible());
                prop_assert!(e.failures.iter().any(|f| f.constraint == MatchConstraint::Distance));
            }
            if dbs_rank(volunteer.dbs.level) < dbs_rank(need.safeguarding) {
                prop_assert!(!e.eligible());
                prop_assert!(e.failures.iter().any(|f| f.constraint == MatchConstraint::Safeguarding));
            }
        }
    }
}

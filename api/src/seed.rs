//! Demo data: the community projects of the two articles in `shared/context`, made concrete so a newcomer
//! exploring GraphiQL sees real-looking data. Real UK places (postcodes and coordinates); fictional people;
//! fictional organisations, except East Suffolk Council and its Felixstowe Peninsula Community Partnership,
//! the public bodies the East Suffolk article describes.
//!
//! `demo` loads, through the same service functions the API calls (so every value is validated and every
//! invariant kept exactly as for a client):
//! - one platform admin, `admin@pitchin.example`, and the people who run the organisations;
//! - 8 organisations: a bakery social enterprise on the Roehampton Estate, a Stockwell jobs club, a scheme
//!   getting former offenders into work, a party association, a youth club, an inter-generational mentoring
//!   project, East Suffolk Council and the Felixstowe Peninsula Community Partnership;
//! - 20 needs: 16 open, 1 filled, 1 closed, 2 drafts; weekly, date-range, one-off and remote ones;
//! - 13 volunteer profiles in London boroughs and Suffolk towns and villages;
//! - 10 offers (spare office space, introductions, grants, laptops, lifts…) and 25 applications
//!   (15 accepted, 8 waiting, 2 declined).
//!
//! Every demo account signs in with the password [`DEMO_PASSWORD`]. It all happens in one transaction:
//! a failure leaves the database empty, so `pitchin seed --demo` can simply be run again.
use std::collections::HashMap;

use async_graphql::MaybeUndefined;
use chrono::{Months, NaiveDate};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait};
use uuid::Uuid;

use crate::applications::service as applications;
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult};
use crate::graphql::LocationInput;
use crate::graphql::ids::{NodeKind, encode};
use crate::needs::service as needs;
use crate::needs::{CreateNeedInput, NeedCategory, ScheduleInput, TimeWindowInput};
use crate::offers::service as offers;
use crate::offers::{CreateOfferInput, OfferKind};
use crate::organisations::service as organisations;
use crate::organisations::{
    AddOrganisationMemberInput, CreateOrganisationInput, MemberRole, OrganisationKind, UpdateOrganisationInput,
};
use crate::users::PlatformRole;
use crate::users::service::{auth_user, create_user};
use crate::values::Weekday::{
    Friday as Fri, Monday as Mon, Saturday as Sat, Sunday as Sun, Thursday as Thu, Tuesday as Tue, Wednesday as Wed,
};
use crate::values::{Email, Password, Weekday};
use crate::volunteers::service as volunteers;
use crate::volunteers::{DbsCheckInput, DbsLevel, UpsertVolunteerProfileInput};

/// The password of every demo account. Public on purpose: demo data is never for a real deployment.
pub const DEMO_PASSWORD: &str = "pitch-in-demo-2026";

const ADMIN_EMAIL: &str = "admin@pitchin.example";

pub async fn is_empty(db: &DatabaseConnection) -> AppResult<bool> {
    Ok(entity::user::Entity::find().count(db).await? == 0 && entity::organisation::Entity::find().count(db).await? == 0)
}

/// A postcode with the coordinates of that spot.
#[derive(Clone, Copy)]
struct Place {
    postcode: &'static str,
    lat: f64,
    lng: f64,
}

const fn at(postcode: &'static str, lat: f64, lng: f64) -> Place {
    Place { postcode, lat, lng }
}

/// Where a need or offer happens. `Home` is the organisation's address, or the volunteer's for their offers.
#[derive(Clone, Copy)]
enum Where {
    Home,
    At(Place),
    Remote,
}

type Windows = &'static [(Weekday, &'static str, &'static str)];
type Day = (i32, u32, u32);

/// The people who run the organisations: (email, display name).
const STAFF: &[(&str, &str)] = &[
    ("marcus.boateng@secondrise.example", "Marcus Boateng"),
    ("chantelle.morris@secondrise.example", "Chantelle Morris"),
    ("bernadette.okoro@larkhalljobsclub.example", "Bernadette Okoro"),
    ("alan.pearce@freshpagefutures.example", "Alan Pearce"),
    ("edward.lennox@earlsfieldconservatives.example", "Edward Lennox"),
    ("farah.siddiqui@earlsfieldconservatives.example", "Farah Siddiqui"),
    ("leon.francis@opendoorsyouth.example", "Leon Francis"),
    ("pamela.grant@oldhandsnewstarts.example", "Pamela Grant"),
    ("rachel.thurlow@eastsuffolk.example", "Rachel Thurlow"),
    ("helen.ashby@eastsuffolk.example", "Cllr Helen Ashby"),
    ("paul.marjoram@peninsulapartnership.example", "Paul Marjoram"),
];

struct OrganisationSeed {
    key: &'static str,
    name: &'static str,
    kind: OrganisationKind,
    description: &'static str,
    website: Option<&'static str>,
    contact_email: &'static str,
    place: Place,
    owner: &'static str,
    /// Added as COORDINATOR; the first one posts the organisation's needs and decides applications.
    coordinators: &'static [&'static str],
    /// Checked by the Pitch In team (one is left unverified, to show the difference).
    verified: bool,
}

const ORGANISATIONS: &[OrganisationSeed] = &[
    OrganisationSeed {
        key: "bakery",
        name: "Second Rise Bakery",
        kind: OrganisationKind::SocialEnterprise,
        description: "A social enterprise bakery in the middle of the Roehampton Estate. We employ young men and \
            women leaving gangs and the drug trade, and turn the entrepreneurial skills they used on the street to \
            baking bread, selling sandwiches and running market stalls. Every loaf pays a wage.",
        website: Some("https://secondrise.example"),
        contact_email: "hello@secondrise.example",
        place: at("SW15 4DQ", 51.4530, -0.2475),
        owner: "marcus.boateng@secondrise.example",
        coordinators: &["chantelle.morris@secondrise.example"],
        verified: true,
    },
    OrganisationSeed {
        key: "jobs-club",
        name: "Larkhall Jobs Club",
        kind: OrganisationKind::CommunityGroup,
        description: "A weekly jobs club in Stockwell, run by volunteers: help with CVs, online applications, \
            interview practice and the confidence to keep going. Between us we find our members more jobs than \
            the job centre does.",
        website: Some("https://larkhalljobsclub.example"),
        contact_email: "tuesdays@larkhalljobsclub.example",
        place: at("SW8 2PD", 51.4745, -0.1268),
        owner: "bernadette.okoro@larkhalljobsclub.example",
        coordinators: &[],
        verified: true,
    },
    OrganisationSeed {
        key: "fresh-page",
        name: "Fresh Page Futures",
        kind: OrganisationKind::Charity,
        description: "We help people with criminal convictions leave the spiral of offending, prison, release and \
            re-offending by getting them into work: we prepare candidates, and we persuade London employers to \
            take on reformed former offenders.",
        website: Some("https://freshpagefutures.example"),
        contact_email: "info@freshpagefutures.example",
        place: at("SE1 6TE", 51.4950, -0.1005),
        owner: "alan.pearce@freshpagefutures.example",
        coordinators: &[],
        verified: true,
    },
    OrganisationSeed {
        key: "association",
        name: "Earlsfield & Southfields Conservative Association",
        kind: OrganisationKind::PartyAssociation,
        description: "Our local association opens its doors to the community: free English classes for newly \
            arrived neighbours, basic computing classes, our spare office for local groups to use, and \
            introductions to the businesses and donors we know.",
        website: Some("https://earlsfieldconservatives.example"),
        contact_email: "office@earlsfieldconservatives.example",
        place: at("SW18 4EU", 51.4417, -0.1878),
        owner: "edward.lennox@earlsfieldconservatives.example",
        coordinators: &["farah.siddiqui@earlsfieldconservatives.example"],
        verified: true,
    },
    OrganisationSeed {
        key: "youth-club",
        name: "Battersea Open Doors Youth Club",
        kind: OrganisationKind::CommunityGroup,
        description: "A Friday-night youth club for 11 to 18 year olds near Clapham Junction: football, music, \
            cooking and somewhere safe and warm to be, instead of hanging around on the streets.",
        website: None,
        contact_email: "leon@opendoorsyouth.example",
        place: at("SW11 2JE", 51.4664, -0.1722),
        owner: "leon.francis@opendoorsyouth.example",
        coordinators: &[],
        verified: false,
    },
    OrganisationSeed {
        key: "mentoring",
        name: "Old Hands, New Starts",
        kind: OrganisationKind::Charity,
        description: "An inter-generational mentoring project in Streatham. We bring older, often isolated people \
            together with young people who need a mentor in their lives: care leavers, and young people out of \
            school or work. Both sides gain a friend.",
        website: Some("https://oldhandsnewstarts.example"),
        contact_email: "pamela@oldhandsnewstarts.example",
        place: at("SW16 1HS", 51.4307, -0.1310),
        owner: "pamela.grant@oldhandsnewstarts.example",
        coordinators: &[],
        verified: true,
    },
    OrganisationSeed {
        key: "council",
        name: "East Suffolk Council",
        kind: OrganisationKind::Council,
        description: "The district council for East Suffolk, the newest in the UK. Each ward member has an \
            enabling communities budget of £7,500 a year, funded from the New Homes Bonus, for local projects \
            such as a village defibrillator, painting the sports pavilion or a speed gun for a neighbourhood \
            watch. The district is split into eight community partnerships that set local priorities.",
        website: None,
        contact_email: "communities@eastsuffolk.example",
        place: at("IP12 1RT", 52.1037, 1.3395),
        owner: "rachel.thurlow@eastsuffolk.example",
        coordinators: &["helen.ashby@eastsuffolk.example"],
        verified: true,
    },
    OrganisationSeed {
        key: "partnership",
        name: "Felixstowe Peninsula Community Partnership",
        kind: OrganisationKind::CommunityPartnership,
        description: "One of East Suffolk's eight community partnerships: ward and county councillors, Suffolk \
            Police, health, youth, business and community groups, working in informal workshops on priorities \
            agreed each year, with £25,000 a year to spend against them. This year: loneliness and isolation, \
            road safety, and things to do for young people.",
        website: None,
        contact_email: "peninsula@peninsulapartnership.example",
        place: at("IP11 7HT", 51.9630, 1.3510),
        owner: "paul.marjoram@peninsulapartnership.example",
        // The council's communities officer supports the partnership day to day.
        coordinators: &["rachel.thurlow@eastsuffolk.example"],
        verified: true,
    },
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Publish {
    Draft,
    Open,
    /// Published, applied to, then closed.
    Closed,
}

struct NeedSeed {
    key: &'static str,
    organisation: &'static str,
    title: &'static str,
    description: &'static str,
    category: NeedCategory,
    skills: &'static [&'static str],
    languages: &'static [&'static str],
    safeguarding: DbsLevel,
    weekly: Windows,
    /// First and last day; the same day for a one-off.
    dates: Option<(Day, Day)>,
    place: Where,
    places: i32,
    publish: Publish,
}

/// What a need row starts from: published, in person at the organisation's address, at no set time, no DBS
/// check, one place.
const NEED: NeedSeed = NeedSeed {
    key: "",
    organisation: "",
    title: "",
    description: "",
    category: NeedCategory::Other,
    skills: &[],
    languages: &[],
    safeguarding: DbsLevel::None,
    weekly: &[],
    dates: None,
    place: Where::Home,
    places: 1,
    publish: Publish::Open,
};

const SHOTTISHAM: Place = at("IP12 3HG", 52.0488, 1.3768);
const KIRTON: Place = at("IP10 0PT", 51.9985, 1.3045);
const MARTLESHAM: Place = at("IP12 4RG", 52.0637, 1.2846);

const NEEDS: &[NeedSeed] = &[
    NeedSeed {
        key: "bake-shift",
        organisation: "bakery",
        title: "Weekend bake-shift buddies",
        description: "Work alongside our apprentices on the early weekend shift: shaping, proving, baking and \
            packing for Putney market. Patience and good humour matter more than baking skill; we will teach you.",
        category: NeedCategory::EmploymentSupport,
        skills: &["baking", "mentoring"],
        safeguarding: DbsLevel::Basic,
        weekly: &[(Sat, "06:00", "10:00"), (Sun, "07:00", "11:00")],
        places: 2,
        ..NEED
    },
    NeedSeed {
        key: "bakery-books",
        organisation: "bakery",
        title: "Help with bookkeeping and pricing, from home",
        description: "An hour or two a week keeping the books and working out the real cost of every loaf before \
            our first wholesale contract. On a shared spreadsheet, from wherever you are.",
        category: NeedCategory::Other,
        skills: &["bookkeeping", "data entry"],
        dates: Some(((2027, 1, 11), (2027, 3, 31))),
        place: Where::Remote,
        ..NEED
    },
    NeedSeed {
        key: "cv-evenings",
        organisation: "jobs-club",
        title: "CV and application help at the Tuesday jobs club",
        description: "Sit with one or two jobseekers each week: rewrite a CV, fill in an online application, \
            practise the questions. Many of our members have been out of work for a long time; some are over 50 \
            and new to applying online.",
        category: NeedCategory::JobsClub,
        skills: &["cv writing", "interview coaching"],
        weekly: &[(Tue, "18:30", "20:30")],
        places: 3,
        ..NEED
    },
    NeedSeed {
        key: "mock-interviews",
        organisation: "jobs-club",
        title: "Mock interview day",
        description: "A Saturday of practice interviews with honest feedback. We need four people who have \
            interviewed staff in their working lives.",
        category: NeedCategory::JobsClub,
        skills: &["interview coaching"],
        dates: Some(((2027, 3, 20), (2027, 3, 20))),
        places: 4,
        ..NEED
    },
    NeedSeed {
        key: "release-mentors",
        organisation: "fresh-page",
        title: "Mentors for people leaving prison",
        description: "Meet your mentee every week for the six months after release: the first job application, \
            the first payslip, the first hard week. Training provided.",
        category: NeedCategory::Mentoring,
        skills: &["mentoring", "cv writing"],
        safeguarding: DbsLevel::Standard,
        weekly: &[(Wed, "17:00", "19:00")],
        dates: Some(((2027, 2, 1), (2027, 7, 30))),
        places: 5,
        ..NEED
    },
    NeedSeed {
        key: "employer-intros",
        organisation: "fresh-page",
        title: "Introductions to employers who will give a fair chance",
        description: "Know someone who runs a business in construction, hospitality, logistics or retail? \
            Introduce us, or help us organise a breakfast where employers meet our candidates.",
        category: NeedCategory::EmploymentSupport,
        skills: &["event planning", "fundraising"],
        place: Where::Remote,
        places: 3,
        ..NEED
    },
    NeedSeed {
        key: "english-classes",
        organisation: "association",
        title: "Volunteer teachers for free English classes",
        description: "Our office becomes a classroom two evenings a week for newly arrived neighbours learning \
            English, from complete beginners to ESOL Entry 3. Teaching experience or a CELTA helps; speaking \
            Arabic, Urdu, Polish or Ukrainian helps the beginners most.",
        category: NeedCategory::EnglishClasses,
        skills: &["teaching english", "esol"],
        languages: &["arabic", "urdu", "polish", "ukrainian"],
        safeguarding: DbsLevel::Basic,
        weekly: &[(Tue, "19:00", "21:00"), (Thu, "19:00", "21:00")],
        dates: Some(((2027, 1, 12), (2027, 7, 15))),
        places: 4,
        ..NEED
    },
    NeedSeed {
        key: "computing-classes",
        organisation: "association",
        title: "Helpers for Saturday basic computing classes",
        description: "Help adults take their first steps online: email, video calls, the Universal Credit \
            journal, spotting scams. Two helpers for each Saturday class of eight.",
        category: NeedCategory::ItSkills,
        skills: &["it support"],
        weekly: &[(Sat, "10:00", "12:00")],
        places: 2,
        ..NEED
    },
    NeedSeed {
        key: "conversation-cafe",
        organisation: "association",
        title: "English conversation café",
        description: "Still being planned: an informal Saturday afternoon café where learners practise everyday \
            English over tea.",
        category: NeedCategory::EnglishClasses,
        skills: &["teaching english", "befriending"],
        weekly: &[(Sat, "14:00", "16:00")],
        places: 3,
        publish: Publish::Draft,
        ..NEED
    },
    NeedSeed {
        key: "youth-workers",
        organisation: "youth-club",
        title: "Youth workers for Friday nights",
        description: "Run a session, referee the football or just be a steady adult to talk to. We need people \
            who are calm, reliable and there every week.",
        category: NeedCategory::YouthClub,
        skills: &["youth work", "safeguarding", "first aid"],
        safeguarding: DbsLevel::EnhancedBarredLists,
        weekly: &[(Fri, "18:00", "21:30")],
        places: 3,
        ..NEED
    },
    NeedSeed {
        key: "summer-minibus",
        organisation: "youth-club",
        title: "Minibus drivers for summer trips",
        description: "Drive the club minibus on day trips to the coast and the Surrey Hills in the summer \
            holidays. You need D1 on your licence or a MiDAS certificate; we can arrange the training.",
        category: NeedCategory::YouthClub,
        skills: &["driving", "first aid"],
        safeguarding: DbsLevel::EnhancedBarredLists,
        dates: Some(((2027, 7, 26), (2027, 8, 6))),
        places: 2,
        ..NEED
    },
    NeedSeed {
        key: "mentors-55",
        organisation: "mentoring",
        title: "Mentors aged 55 and over for young people leaving care",
        description: "Two hours a week, for a year, with a young person who has just left care: help with forms \
            and first jobs, a cup of tea, someone on their side. Full training and supervision.",
        category: NeedCategory::Mentoring,
        skills: &["mentoring", "befriending"],
        safeguarding: DbsLevel::EnhancedBarredLists,
        weekly: &[(Wed, "16:00", "18:00")],
        dates: Some(((2027, 1, 13), (2027, 12, 15))),
        places: 6,
        ..NEED
    },
    NeedSeed {
        key: "tech-afternoons",
        organisation: "mentoring",
        title: "Tech-help afternoons: teenagers and older neighbours",
        description: "Teenagers from a local school teach older neighbours to use their phones and tablets, and \
            get stories and advice in return. We need adults to host the sessions and keep them going.",
        category: NeedCategory::Intergenerational,
        skills: &["it support", "youth work"],
        safeguarding: DbsLevel::Enhanced,
        weekly: &[(Thu, "15:30", "17:30")],
        places: 4,
        ..NEED
    },
    NeedSeed {
        key: "defibrillator",
        organisation: "council",
        title: "Fund and install a village defibrillator in Shottisham",
        description: "The ward's enabling communities budget will match what the village raises. Help run a quiz \
            night and a plant sale, find a wall with power for the cabinet, then show neighbours how to use it.",
        category: NeedCategory::Fundraising,
        skills: &["fundraising", "event planning", "first aid"],
        dates: Some(((2027, 3, 1), (2027, 6, 30))),
        place: Where::At(SHOTTISHAM),
        places: 3,
        ..NEED
    },
    NeedSeed {
        key: "pavilion",
        organisation: "council",
        title: "Repaint the Kirton sports pavilion",
        description: "One Saturday, eight pairs of hands, and the paint already bought from the ward budget. \
            Brushes, rollers and lunch provided; old clothes advised.",
        category: NeedCategory::Environment,
        skills: &["painting"],
        dates: Some(((2027, 5, 15), (2027, 5, 15))),
        place: Where::At(KIRTON),
        places: 8,
        ..NEED
    },
    NeedSeed {
        key: "speed-watch",
        organisation: "council",
        title: "Speed gun volunteers for the Martlesham neighbourhood watch",
        description: "The ward budget has bought a speed gun for the neighbourhood watch. Suffolk Police train \
            you; then, in threes and in high-vis, you record speeding drivers at school times and the police \
            write to them.",
        category: NeedCategory::CommunitySafety,
        skills: &["data entry"],
        weekly: &[(Mon, "07:30", "09:00"), (Wed, "15:00", "16:30")],
        place: Where::At(MARTLESHAM),
        places: 6,
        ..NEED
    },
    NeedSeed {
        key: "befriending-visits",
        organisation: "partnership",
        title: "Befriending visits for isolated older residents",
        description: "Loneliness is the partnership's first priority this year. Visit an older person at home \
            for an hour a week in Felixstowe, Walton, the Trimleys or Kirton; we match you with someone nearby.",
        category: NeedCategory::Befriending,
        skills: &["befriending"],
        safeguarding: DbsLevel::Enhanced,
        weekly: &[(Mon, "10:00", "12:00"), (Wed, "14:00", "16:00")],
        places: 10,
        ..NEED
    },
    NeedSeed {
        key: "phone-befriending",
        organisation: "partnership",
        title: "Telephone befriending, from home",
        description: "A friendly call twice a week to someone on the peninsula who lives alone. From anywhere, \
            at times that suit you both.",
        category: NeedCategory::Befriending,
        skills: &["befriending"],
        safeguarding: DbsLevel::Basic,
        weekly: &[(Tue, "10:00", "12:00"), (Thu, "18:00", "20:00")],
        place: Where::Remote,
        places: 6,
        ..NEED
    },
    NeedSeed {
        key: "priorities-workshop",
        organisation: "partnership",
        title: "Helpers for the annual priorities workshop",
        description: "Set up the hall, take notes on the tables and keep the tea coming while residents, \
            councillors and local groups agree next year's priorities.",
        category: NeedCategory::Other,
        skills: &["event planning"],
        dates: Some(((2027, 1, 23), (2027, 1, 23))),
        places: 3,
        publish: Publish::Closed,
        ..NEED
    },
    NeedSeed {
        key: "youth-forum",
        organisation: "partnership",
        title: "Set up a peninsula youth forum",
        description: "Draft: help young people from Felixstowe and the villages run their own forum and bid for \
            partnership funding.",
        category: NeedCategory::YouthClub,
        skills: &["youth work", "event planning", "safeguarding"],
        safeguarding: DbsLevel::Enhanced,
        places: 2,
        publish: Publish::Draft,
        ..NEED
    },
];

struct VolunteerSeed {
    email: &'static str,
    name: &'static str,
    bio: &'static str,
    skills: &'static [&'static str],
    interests: &'static [NeedCategory],
    languages: &'static [&'static str],
    place: Place,
    travel_radius_km: f64,
    availability: Windows,
    /// Level, issue date, on the DBS update service.
    dbs: Option<(DbsLevel, Day, bool)>,
}

const VOLUNTEERS: &[VolunteerSeed] = &[
    VolunteerSeed {
        email: "amira.haddad@mail.example",
        name: "Amira Haddad",
        bio: "Secondary school English teacher, originally from Aleppo. Happy to teach adults in the evenings.",
        skills: &["teaching english", "esol", "safeguarding"],
        interests: &[NeedCategory::EnglishClasses, NeedCategory::Mentoring],
        languages: &["arabic", "english", "french"],
        place: at("SW18 3JL", 51.4431, -0.1862),
        travel_radius_km: 5.0,
        availability: &[(Tue, "18:00", "22:00"), (Thu, "18:00", "22:00")],
        dbs: Some((DbsLevel::Enhanced, (2025, 9, 1), true)),
    },
    VolunteerSeed {
        email: "tomasz.nowak@mail.example",
        name: "Tomasz Nowak",
        bio: "Network engineer. I fix laptops for the neighbours anyway; I might as well teach them.",
        skills: &["it support", "data entry"],
        interests: &[NeedCategory::ItSkills],
        languages: &["polish", "english"],
        place: at("SW17 0RG", 51.4277, -0.1680),
        travel_radius_km: 6.0,
        availability: &[(Sat, "09:00", "13:00")],
        dbs: None,
    },
    VolunteerSeed {
        email: "olena.kovalenko@mail.example",
        name: "Olena Kovalenko",
        bio: "Lectured in English at a university in Kharkiv until 2022; now an interpreter, and keen to help \
            others settle.",
        skills: &["teaching english", "esol", "interview coaching"],
        interests: &[NeedCategory::EnglishClasses, NeedCategory::EmploymentSupport],
        languages: &["ukrainian", "russian", "english"],
        place: at("SW15 1SN", 51.4612, -0.2170),
        travel_radius_km: 8.0,
        availability: &[(Tue, "19:00", "21:00"), (Thu, "19:00", "21:00"), (Wed, "16:00", "18:00")],
        dbs: Some((DbsLevel::Basic, (2025, 3, 14), false)),
    },
    VolunteerSeed {
        email: "imran.qureshi@mail.example",
        name: "Imran Qureshi",
        bio: "Software tester and school governor. I like helping people into their first job in tech.",
        skills: &["it support", "mentoring", "cv writing"],
        interests: &[NeedCategory::ItSkills, NeedCategory::JobsClub, NeedCategory::EnglishClasses],
        languages: &["urdu", "punjabi", "english"],
        place: at("SW12 9HG", 51.4431, -0.1525),
        travel_radius_km: 10.0,
        availability: &[(Tue, "18:30", "21:00"), (Sat, "10:00", "12:00")],
        dbs: Some((DbsLevel::Enhanced, (2024, 11, 2), true)),
    },
    VolunteerSeed {
        email: "grace.adeyemi@mail.example",
        name: "Grace Adeyemi",
        bio: "Youth worker at a Lambeth secondary school by day; I want to give Friday nights too.",
        skills: &["youth work", "safeguarding", "first aid"],
        interests: &[NeedCategory::YouthClub, NeedCategory::Mentoring],
        languages: &["yoruba", "english"],
        place: at("SW9 8HE", 51.4627, -0.1146),
        travel_radius_km: 7.0,
        availability: &[(Fri, "17:30", "22:00")],
        dbs: Some((DbsLevel::EnhancedBarredLists, (2025, 6, 20), true)),
    },
    VolunteerSeed {
        email: "dennis.whitlock@mail.example",
        name: "Dennis Whitlock",
        bio: "Retired London bus driver, 68. Widowed last year; my daughter says I need something to get me out \
            of the house.",
        skills: &["mentoring", "befriending", "driving"],
        interests: &[NeedCategory::Intergenerational, NeedCategory::Mentoring, NeedCategory::Befriending],
        languages: &["english"],
        place: at("SW16 2XT", 51.4254, -0.1284),
        travel_radius_km: 5.0,
        availability: &[(Mon, "10:00", "16:00"), (Wed, "10:00", "18:00"), (Fri, "10:00", "16:00")],
        dbs: Some((DbsLevel::EnhancedBarredLists, (2025, 1, 15), false)),
    },
    VolunteerSeed {
        email: "priya.raman@mail.example",
        name: "Priya Raman",
        bio: "HR manager. I read a hundred CVs a month and can tell you what works.",
        skills: &["cv writing", "interview coaching", "fundraising"],
        interests: &[NeedCategory::JobsClub, NeedCategory::EmploymentSupport],
        languages: &["tamil", "english"],
        place: at("SW4 7AA", 51.4619, -0.1381),
        travel_radius_km: 5.0,
        availability: &[(Tue, "18:00", "21:00"), (Sat, "09:00", "13:00")],
        dbs: Some((DbsLevel::Basic, (2025, 10, 5), false)),
    },
    VolunteerSeed {
        email: "kwame.mensah@mail.example",
        name: "Kwame Mensah",
        bio: "Grew up on the Alton Estate, now a pastry chef in Wimbledon. I know how much a first job matters.",
        skills: &["baking", "mentoring", "youth work"],
        interests: &[NeedCategory::EmploymentSupport, NeedCategory::YouthClub],
        languages: &["twi", "english"],
        place: at("SW15 4LH", 51.4512, -0.2418),
        travel_radius_km: 6.0,
        availability: &[(Sat, "06:00", "12:00"), (Fri, "18:00", "21:30")],
        dbs: Some((DbsLevel::Standard, (2025, 4, 11), false)),
    },
    VolunteerSeed {
        email: "sophie.turner@mail.example",
        name: "Sophie Turner",
        bio: "Theatre set painter. Good with a brush, better with a spreadsheet of volunteers.",
        skills: &["painting", "event planning", "fundraising"],
        interests: &[NeedCategory::Environment, NeedCategory::Fundraising, NeedCategory::YouthClub],
        languages: &["english", "spanish"],
        place: at("SW11 5TN", 51.4705, -0.1597),
        travel_radius_km: 15.0,
        availability: &[(Sat, "09:00", "17:00"), (Sun, "10:00", "16:00"), (Fri, "18:00", "22:00")],
        dbs: None,
    },
    VolunteerSeed {
        email: "maggie.pryke@mail.example",
        name: "Maggie Pryke",
        bio: "Retired district nurse. I drive, I know the peninsula, and I know how lonely the winter can be.",
        skills: &["befriending", "first aid", "driving", "event planning"],
        interests: &[NeedCategory::Befriending, NeedCategory::Intergenerational],
        languages: &["english"],
        place: at("IP12 1DJ", 52.0934, 1.3186),
        travel_radius_km: 15.0,
        availability: &[(Mon, "09:00", "13:00"), (Wed, "13:00", "17:00"), (Sat, "09:00", "17:00")],
        dbs: Some((DbsLevel::Enhanced, (2024, 9, 30), true)),
    },
    VolunteerSeed {
        email: "gary.fulcher@mail.example",
        name: "Gary Fulcher",
        bio: "Painter and decorator at the docks, weekends free. Played cricket at Kirton for twenty years.",
        skills: &["painting", "driving"],
        interests: &[NeedCategory::Environment, NeedCategory::CommunitySafety],
        languages: &["english"],
        place: at("IP11 7HF", 51.9631, 1.3497),
        travel_radius_km: 12.0,
        availability: &[(Sat, "08:00", "17:00"), (Wed, "15:00", "17:00")],
        dbs: None,
    },
    VolunteerSeed {
        email: "ruth.catchpole@mail.example",
        name: "Ruth Catchpole",
        bio: "Mother of two at the village primary, and tired of cars racing past the school gate.",
        skills: &["first aid", "fundraising", "event planning", "data entry"],
        interests: &[NeedCategory::CommunitySafety, NeedCategory::Fundraising],
        languages: &["english"],
        place: at("IP12 4PB", 52.0653, 1.2822),
        travel_radius_km: 10.0,
        availability: &[(Mon, "07:30", "09:00"), (Wed, "15:00", "16:30"), (Sat, "10:00", "14:00")],
        dbs: None,
    },
    VolunteerSeed {
        email: "jack.button@mail.example",
        name: "Jack Button",
        bio: "Computing student at East Coast College. Happy to help from home in the evenings.",
        skills: &["it support", "data entry"],
        interests: &[NeedCategory::ItSkills, NeedCategory::Befriending],
        languages: &["english"],
        place: at("NR32 1LQ", 52.4776, 1.7505),
        travel_radius_km: 25.0,
        availability: &[
            (Mon, "18:00", "21:00"),
            (Tue, "18:00", "21:00"),
            (Wed, "18:00", "21:00"),
            (Thu, "18:00", "21:00"),
        ],
        dbs: Some((DbsLevel::Basic, (2026, 2, 10), false)),
    },
];

#[derive(Clone, Copy)]
enum OfferedBy {
    Organisation(&'static str),
    Volunteer(&'static str),
}

struct OfferSeed {
    by: OfferedBy,
    kind: OfferKind,
    title: &'static str,
    description: &'static str,
    category: Option<NeedCategory>,
    place: Where,
    availability: Windows,
}

const OFFERS: &[OfferSeed] = &[
    OfferSeed {
        by: OfferedBy::Organisation("association"),
        kind: OfferKind::Space,
        title: "Spare office space on weekday evenings",
        description: "Our office on Garratt Lane sits empty most evenings: a meeting room for twelve, a kitchen, \
            wifi and a projector. Free for local community groups and charities; just book ahead.",
        category: Some(NeedCategory::Premises),
        place: Where::Home,
        availability: &[(Mon, "18:00", "22:00"), (Wed, "18:00", "22:00"), (Fri, "18:00", "22:00")],
    },
    OfferSeed {
        by: OfferedBy::Organisation("association"),
        kind: OfferKind::Introduction,
        title: "Introductions to local businesses and donors",
        description: "Our members run shops, firms and trades across Wandsworth, and some give to good causes. \
            Tell us what your project needs and we will make the introductions.",
        category: Some(NeedCategory::Fundraising),
        place: Where::Remote,
        availability: &[],
    },
    OfferSeed {
        by: OfferedBy::Organisation("bakery"),
        kind: OfferKind::Other,
        title: "Day-old bread for community meals",
        description: "Whatever we have not sold by Friday afternoon, free for food banks, lunch clubs and youth \
            clubs. Collect from the bakery.",
        category: Some(NeedCategory::FoodAndEssentials),
        place: Where::Home,
        availability: &[(Fri, "15:00", "17:00")],
    },
    OfferSeed {
        by: OfferedBy::Organisation("council"),
        kind: OfferKind::Other,
        title: "Enabling communities budget: small grants from your ward member",
        description: "Each ward member has £7,500 a year for local projects. Tell your councillor what your group \
            needs: recent grants paid for a village defibrillator, a pavilion repaint and a speed gun.",
        category: Some(NeedCategory::Fundraising),
        place: Where::Home,
        availability: &[],
    },
    OfferSeed {
        by: OfferedBy::Organisation("partnership"),
        kind: OfferKind::Other,
        title: "Partnership funding for local priorities",
        description: "£25,000 a year for projects on the peninsula that tackle the priorities agreed at our \
            annual workshop: loneliness, road safety and things to do for young people.",
        category: Some(NeedCategory::Fundraising),
        place: Where::Home,
        availability: &[],
    },
    OfferSeed {
        by: OfferedBy::Volunteer("Tomasz Nowak"),
        kind: OfferKind::Equipment,
        title: "Refurbished laptops for computing classes",
        description: "I refurbish old company laptops; five are ready for a class that needs them.",
        category: Some(NeedCategory::ItSkills),
        place: Where::Home,
        availability: &[(Sat, "09:00", "13:00")],
    },
    OfferSeed {
        by: OfferedBy::Volunteer("Sophie Turner"),
        kind: OfferKind::Skills,
        title: "Painting and decorating at weekends",
        description: "Community halls, youth clubs, murals. I bring brushes and dust sheets; you buy the paint.",
        category: Some(NeedCategory::Environment),
        place: Where::Home,
        availability: &[(Sat, "09:00", "17:00"), (Sun, "10:00", "16:00")],
    },
    OfferSeed {
        by: OfferedBy::Volunteer("Dennis Whitlock"),
        kind: OfferKind::Time,
        title: "Lifts to appointments and the shops",
        description: "I have a car and time on weekdays. Hospital appointments, the big shop, a trip to the park.",
        category: Some(NeedCategory::Befriending),
        place: Where::Home,
        availability: &[(Mon, "10:00", "16:00"), (Fri, "10:00", "16:00")],
    },
    OfferSeed {
        by: OfferedBy::Volunteer("Jack Button"),
        kind: OfferKind::Skills,
        title: "IT help for small charities, remotely",
        description: "Setting up email, shared drives, a simple website or a volunteer rota.",
        category: Some(NeedCategory::ItSkills),
        place: Where::Remote,
        availability: &[(Mon, "18:00", "21:00"), (Wed, "18:00", "21:00")],
    },
    OfferSeed {
        by: OfferedBy::Volunteer("Priya Raman"),
        kind: OfferKind::Skills,
        title: "CV reviews by email",
        description: "Send me a CV and the job advert; I will send it back with changes within a week.",
        category: Some(NeedCategory::EmploymentSupport),
        place: Where::Remote,
        availability: &[],
    },
];

#[derive(Clone, Copy)]
enum Decision {
    Accept,
    Decline,
    /// Left waiting for the organisation (APPLIED).
    Wait,
}

use Decision::{Accept, Decline, Wait};

/// (need, volunteer's name, what the organisation decides, the volunteer's message), in the order they happen.
/// Accepted applications never exceed a need's places: `computing-classes` fills exactly.
const APPLICATIONS: &[(&str, &str, Decision, &str)] = &[
    ("english-classes", "Amira Haddad", Accept, "I teach English at a Wandsworth secondary and speak Arabic."),
    ("english-classes", "Olena Kovalenko", Accept, "I taught English in Kharkiv; I can help Ukrainian speakers."),
    ("english-classes", "Imran Qureshi", Wait, "I could help Urdu and Punjabi speakers with the basics."),
    ("computing-classes", "Tomasz Nowak", Accept, "I can bring refurbished laptops too."),
    ("computing-classes", "Imran Qureshi", Accept, "Saturday mornings suit me well."),
    ("cv-evenings", "Priya Raman", Accept, "I work in HR and read CVs all day."),
    ("cv-evenings", "Imran Qureshi", Wait, "Happy to help people applying for tech jobs."),
    ("mock-interviews", "Priya Raman", Wait, "I interview for my company every month."),
    ("youth-workers", "Grace Adeyemi", Accept, "I am a youth worker and my enhanced DBS is on the update service."),
    ("youth-workers", "Kwame Mensah", Wait, "I could run a baking session some weeks."),
    ("youth-workers", "Sophie Turner", Decline, "I would love to run some art sessions."),
    ("bake-shift", "Kwame Mensah", Accept, "Pastry chef, and I grew up on the estate."),
    ("bakery-books", "Tomasz Nowak", Decline, "I am good with spreadsheets, though no accountant."),
    ("release-mentors", "Kwame Mensah", Wait, "I have seen friends go through this."),
    ("mentors-55", "Dennis Whitlock", Accept, "Thirty years on the buses; I can talk to anyone."),
    ("befriending-visits", "Maggie Pryke", Accept, "I visited people at home for thirty years as a district nurse."),
    ("phone-befriending", "Jack Button", Accept, "I can call in the evenings after college."),
    ("phone-befriending", "Dennis Whitlock", Wait, "I know what a quiet house is like."),
    ("speed-watch", "Ruth Catchpole", Accept, "I am at the school gate at those times anyway."),
    ("speed-watch", "Gary Fulcher", Wait, "Wednesday afternoons only, I am afraid."),
    ("pavilion", "Gary Fulcher", Accept, "Painter and decorator, and I owe that pavilion a few teas."),
    ("defibrillator", "Maggie Pryke", Accept, "I can teach CPR and how to use the defibrillator."),
    ("defibrillator", "Ruth Catchpole", Wait, "I ran the school's summer fair last year."),
    ("priorities-workshop", "Ruth Catchpole", Accept, "Happy to take notes."),
    ("priorities-workshop", "Maggie Pryke", Accept, "I will do the tea."),
];

/// An organisation once created: its id, address, owner, and the member who runs its needs.
struct Created {
    id: Uuid,
    place: Place,
    owner: AuthUser,
    lead: AuthUser,
}

/// Loads the demo data set into an empty database.
pub async fn demo(db: &DatabaseConnection) -> AppResult<()> {
    // One transaction: the services' own transactions nest inside it as savepoints.
    let txn = db.begin().await?;

    let admin = account(&txn, ADMIN_EMAIL, "Pitch In team", PlatformRole::Admin).await?;
    let mut staff: HashMap<&str, AuthUser> = HashMap::new();
    for (email, name) in STAFF {
        staff.insert(email, account(&txn, email, name, PlatformRole::Member).await?);
    }

    let mut orgs: HashMap<&str, Created> = HashMap::new();
    for o in ORGANISATIONS {
        let owner = *find(&staff, o.owner)?;
        let input = CreateOrganisationInput {
            name: o.name.to_owned(),
            kind: o.kind,
            description: o.description.to_owned(),
            website: o.website.map(str::to_owned),
            contact_email: Some(o.contact_email.to_owned()),
            postcode: Some(o.place.postcode.to_owned()),
            location: Some(location(&o.place)),
        };
        let org = organisations::create(&txn, &owner, input).await?;
        let organisation_id = encode(NodeKind::Organisation, org.id);
        for email in o.coordinators {
            let input = AddOrganisationMemberInput {
                organisation_id: organisation_id.clone(),
                email: (*email).to_owned(),
                role: MemberRole::Coordinator,
            };
            organisations::add_member(&txn, &owner, input).await?;
        }
        if o.verified {
            organisations::update(&txn, &admin, verify(organisation_id)).await?;
        }
        let lead = match o.coordinators.first() {
            Some(email) => *find(&staff, email)?,
            None => owner,
        };
        orgs.insert(o.key, Created { id: org.id, place: o.place, owner, lead });
    }

    let mut people: HashMap<&str, (AuthUser, Place)> = HashMap::new();
    for v in VOLUNTEERS {
        let actor = account(&txn, v.email, v.name, PlatformRole::Member).await?;
        let dbs_check = match v.dbs {
            Some((level, issued, on_update_service)) => {
                let issued_on = date(issued)?;
                // The update service keeps a check current; otherwise organisations usually ask every 3 years.
                let recheck_by = if on_update_service { None } else { issued_on.checked_add_months(Months::new(36)) };
                Some(DbsCheckInput { level, issued_on: Some(issued_on), recheck_by, on_update_service })
            }
            None => None,
        };
        let input = UpsertVolunteerProfileInput {
            display_name: v.name.to_owned(),
            bio: v.bio.to_owned(),
            skills: strings(v.skills),
            interests: v.interests.to_vec(),
            languages: strings(v.languages),
            postcode: Some(v.place.postcode.to_owned()),
            location: Some(location(&v.place)),
            travel_radius_km: v.travel_radius_km,
            availability: windows(v.availability),
            dbs_check,
        };
        volunteers::upsert(&txn, &actor, input).await?;
        people.insert(v.name, (actor, v.place));
    }

    let mut posted: HashMap<&str, (Uuid, &Created)> = HashMap::new();
    for n in NEEDS {
        let org = find(&orgs, n.organisation)?;
        let (place, remote) = resolve(n.place, org.place);
        let input = CreateNeedInput {
            organisation_id: encode(NodeKind::Organisation, org.id),
            title: n.title.to_owned(),
            description: n.description.to_owned(),
            category: n.category,
            required_skills: strings(n.skills),
            languages: strings(n.languages),
            safeguarding: n.safeguarding,
            schedule: Some(ScheduleInput {
                weekly: windows(n.weekly),
                start_date: n.dates.map(|(start, _)| date(start)).transpose()?,
                end_date: n.dates.map(|(_, end)| date(end)).transpose()?,
            }),
            location: place.as_ref().map(location),
            postcode: place.map(|p| p.postcode.to_owned()),
            remote,
            volunteers_needed: n.places,
        };
        let need = needs::create(&txn, &org.lead, input).await?;
        if n.publish != Publish::Draft {
            needs::publish(&txn, &org.lead, need.id).await?;
        }
        posted.insert(n.key, (need.id, org));
    }

    for o in OFFERS {
        let (actor, organisation_id, home) = match o.by {
            OfferedBy::Organisation(key) => {
                let org = find(&orgs, key)?;
                (org.owner, Some(encode(NodeKind::Organisation, org.id)), org.place)
            }
            OfferedBy::Volunteer(email) => {
                let (actor, home) = find(&people, email)?;
                (*actor, None, *home)
            }
        };
        let (place, remote) = resolve(o.place, home);
        let input = CreateOfferInput {
            organisation_id,
            kind: o.kind,
            title: o.title.to_owned(),
            description: o.description.to_owned(),
            category: o.category,
            postcode: place.map(|p| p.postcode.to_owned()),
            location: place.as_ref().map(location),
            remote,
            availability: windows(o.availability),
        };
        offers::create(&txn, &actor, input).await?;
    }

    for (need_key, email, decision, message) in APPLICATIONS {
        let (need_id, org) = find(&posted, need_key)?;
        let (volunteer, _) = find(&people, email)?;
        let (application, _) = applications::apply(&txn, volunteer, *need_id, message).await?;
        match decision {
            Accept => {
                applications::accept(&txn, &org.lead, application.id).await?;
            }
            Decline => {
                applications::decline(&txn, &org.lead, application.id).await?;
            }
            Wait => {}
        }
    }

    for n in NEEDS.iter().filter(|n| n.publish == Publish::Closed) {
        let (need_id, org) = find(&posted, n.key)?;
        needs::close(&txn, &org.lead, *need_id).await?;
    }

    txn.commit().await?;
    Ok(())
}

/// Creates an account with the demo password, as the CLI does for admins.
async fn account(
    db: &impl sea_orm::ConnectionTrait,
    email: &str,
    name: &str,
    role: PlatformRole,
) -> AppResult<AuthUser> {
    let email = Email::parse("email", email)?;
    let password = Password::parse("password", DEMO_PASSWORD, &email)?;
    Ok(auth_user(&create_user(db, email, password, name.to_owned(), role, true).await?))
}

/// A table entry names something that is not in the tables: a mistake in this file, not in the input.
fn find<'a, T>(map: &'a HashMap<&str, T>, key: &str) -> AppResult<&'a T> {
    map.get(key).ok_or_else(|| AppError::internal(format!("demo data refers to unknown {key:?}")))
}

fn date((y, m, d): Day) -> AppResult<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| AppError::internal(format!("invalid demo date {y}-{m}-{d}")))
}

/// The place to record, if any, and whether it is remote.
fn resolve(place: Where, home: Place) -> (Option<Place>, bool) {
    match place {
        Where::Home => (Some(home), false),
        Where::At(p) => (Some(p), false),
        Where::Remote => (None, true),
    }
}

fn location(place: &Place) -> LocationInput {
    LocationInput { lat: place.lat, lng: place.lng }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| (*s).to_owned()).collect()
}

fn windows(windows: Windows) -> Vec<TimeWindowInput> {
    windows
        .iter()
        .map(|&(day, start, end)| TimeWindowInput { day, start: start.to_owned(), end: end.to_owned() })
        .collect()
}

/// An update that only marks the organisation verified (platform admins only).
fn verify(organisation_id: async_graphql::ID) -> UpdateOrganisationInput {
    UpdateOrganisationInput {
        organisation_id,
        name: None,
        kind: None,
        description: None,
        website: MaybeUndefined::Undefined,
        contact_email: MaybeUndefined::Undefined,
        postcode: MaybeUndefined::Undefined,
        location: MaybeUndefined::Undefined,
        verified: Some(true),
    }
}

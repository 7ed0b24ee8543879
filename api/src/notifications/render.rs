//! Writing a message from a notification: the words for each kind, then the plain-text and HTML bodies from one
//! pair of templates (`templates/mail/message.txt` and `.html`; askama escapes every value in the HTML one). Times
//! are on the London clock, as the sessions are.
use askama::Template;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use domain::notifications::outbox::{Claimed, Names};
use domain::notifications::{Notice, NotificationKind};
use domain::values::schedule::TIME_ZONE;
use uuid::Uuid;

use crate::auth::token::LinkKeys;
use crate::error::{AppError, AppResult};
use crate::kit::ids::{NodeKind, encode};
use crate::mail::Email;

/// What messages link to and how long waitlist offers stay open: fixed at start.
pub struct Links {
    /// The public address without a trailing slash.
    pub public_url: String,
    /// The frontend page that takes a verification token as `?token=`.
    pub verify_email_url: String,
    pub waitlist_offer: TimeDelta,
}

struct Item {
    text: String,
    url: Option<String>,
}

struct Action {
    label: String,
    url: String,
}

/// The words of one message, before the templates lay them out.
struct Words {
    subject: String,
    paragraphs: Vec<String>,
    items: Vec<Item>,
    action: Option<Action>,
}

#[derive(Template)]
#[template(path = "mail/message.txt")]
struct Text<'a> {
    greeting: &'a str,
    paragraphs: &'a [String],
    items: &'a [Item],
    action: &'a Option<Action>,
    reason: &'a str,
    unsubscribe: &'a Option<String>,
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct Html<'a> {
    subject: &'a str,
    greeting: &'a str,
    paragraphs: &'a [String],
    items: &'a [Item],
    action: &'a Option<Action>,
    reason: &'a str,
    unsubscribe: &'a Option<String>,
}

/// The unsubscribe link's token names the account and the kind of message: `<user id, 32 hex>.<KIND>`.
pub fn unsubscribe_token(keys: &LinkKeys, user_id: Uuid, kind: NotificationKind) -> AppResult<String> {
    keys.token(&format!("{}.{}", user_id.simple(), kind.as_db()))
}

/// The account and kind an unsubscribe token was made for, if it is one of ours.
pub fn unsubscribe_target(keys: &LinkKeys, token: &str) -> Option<(Uuid, NotificationKind)> {
    let (user, kind) = keys.id_of(token)?.split_once('.')?;
    Some((Uuid::try_parse(user).ok()?, NotificationKind::from_db(kind)?))
}

/// A kind of message in words, as a plural: "session reminders".
pub fn kind_words(kind: NotificationKind) -> &'static str {
    use NotificationKind as K;
    match kind {
        K::ApplicationDecision => "decisions on your applications",
        K::Invitation => "invitations to needs",
        K::WaitlistOffer => "offers of places from waitlists",
        K::WaitlistOfferExpired => "notices of lapsed waitlist offers",
        K::NewApplications => "digests of new applications",
        K::SessionReminder => "session reminders",
        K::SessionCancelled => "notices of cancelled sessions",
        K::HoursDecision => "decisions on your hours",
        K::DbsRecheck => "DBS recheck reminders",
        K::WeeklyDigest => "weekly digests of new needs",
        K::EmailVerification => "address confirmation codes",
        K::SignIn => "sign-in notices",
    }
}

/// "Tuesday 8 December at 19:00", on the London clock.
fn when(at: DateTime<Utc>) -> String {
    at.with_timezone(&TIME_ZONE).format("%A %-d %B at %H:%M").to_string()
}

fn day(date: NaiveDate) -> String {
    date.format("%A %-d %B %Y").to_string()
}

fn need_url(links: &Links, id: Uuid) -> String {
    format!("{}/needs/{}", links.public_url, encode(NodeKind::Need, id).as_str())
}

/// The message for a claimed notification, to its recipient's address as it is now.
pub fn email(claimed: &Claimed, names: &Names, links: &Links, keys: &LinkKeys) -> AppResult<Email> {
    let kind = claimed.notice.kind();
    let words = words(&claimed.notice, names, links)?;
    let unsubscribe = if kind.is_account() {
        None
    } else {
        let token = unsubscribe_token(keys, claimed.user.id, kind)?;
        Some(format!("{}/unsubscribe/{token}", links.public_url))
    };
    let greeting = format!("Hello {},", claimed.user.display_name);
    let reason = reason(kind);
    let text = Text {
        greeting: &greeting,
        paragraphs: &words.paragraphs,
        items: &words.items,
        action: &words.action,
        reason,
        unsubscribe: &unsubscribe,
    }
    .render()
    .map_err(AppError::internal)?;
    let html = Html {
        subject: &words.subject,
        greeting: &greeting,
        paragraphs: &words.paragraphs,
        items: &words.items,
        action: &words.action,
        reason,
        unsubscribe: &unsubscribe,
    }
    .render()
    .map_err(AppError::internal)?;
    Ok(Email { to: claimed.user.email.clone(), subject: words.subject, text, html, unsubscribe })
}

/// Why the person gets this kind of message: the footer.
fn reason(kind: NotificationKind) -> &'static str {
    use NotificationKind as K;
    match kind {
        K::EmailVerification => "You get this because this address was given when an account was made.",
        K::SignIn => "You get this whenever someone signs in to your account, so that you would notice a stranger.",
        K::NewApplications => "You get this as a member of the organisation.",
        K::WeeklyDigest => "You get this weekly digest as a volunteer on Pitch In.",
        _ => "You get this because you volunteer through Pitch In.",
    }
}

fn words(notice: &Notice, names: &Names, links: &Links) -> AppResult<Words> {
    let need = |id: &Uuid| -> (String, String) {
        names.needs.get(id).cloned().unwrap_or_else(|| ("a need".to_owned(), "the organisation".to_owned()))
    };
    let organisation =
        |id: &Uuid| names.organisations.get(id).cloned().unwrap_or_else(|| "the organisation".to_owned());
    let view = |label: &str, id: &Uuid| Some(Action { label: label.to_owned(), url: need_url(links, *id) });
    let plain = |subject: String, paragraphs: Vec<String>, action: Option<Action>| Words {
        subject,
        paragraphs,
        items: Vec::new(),
        action,
    };
    Ok(match notice {
        Notice::ApplicationDecision { need_id, accepted: true, .. } => {
            let (title, org) = need(need_id);
            plain(
                format!("You're in: {title}"),
                vec![
                    format!("{org} accepted your application for \u{201c}{title}\u{201d}."),
                    "Your sessions are in the app, and we will remind you the day before each one.".to_owned(),
                ],
                view("See the need", need_id),
            )
        }
        Notice::ApplicationDecision { need_id, accepted: false, .. } => {
            let (title, org) = need(need_id);
            plain(
                format!("About your application: {title}"),
                vec![
                    format!("{org} could not take up your application for \u{201c}{title}\u{201d} this time."),
                    "Thank you for offering. Other needs near you are in the app.".to_owned(),
                ],
                None,
            )
        }
        Notice::Invitation { application_id, need_id } if names.urgent.contains_key(application_id) => {
            let (title, org) = need(need_id);
            let minutes = names.urgent.get(application_id).copied().unwrap_or_default();
            plain(
                format!("Urgent: {org} needs help with {title}"),
                vec![
                    format!("{org} urgently needs volunteers for \u{201c}{title}\u{201d}, and you are a good match."),
                    format!(
                        "The first to accept take the places, so it may be gone before you answer. The invitation \
                         stays open for {minutes} minutes; accept or decline it in the app."
                    ),
                ],
                view("See the need", need_id),
            )
        }
        Notice::Invitation { need_id, .. } => {
            let (title, org) = need(need_id);
            plain(
                format!("{org} invites you: {title}"),
                vec![format!(
                    "{org} thinks you would be a good fit for \u{201c}{title}\u{201d} and invites you to join. Accept or \
                     decline the invitation in the app."
                )],
                view("See the need", need_id),
            )
        }
        Notice::WaitlistOffer { need_id, offered_at, .. } => {
            let (title, org) = need(need_id);
            plain(
                format!("A place is yours if you want it: {title}"),
                vec![
                    format!(
                        "A place has come free on \u{201c}{title}\u{201d} with {org}, and you were next on the waitlist."
                    ),
                    format!(
                        "It is held for you until {}. Accept it in the app before then, or it passes to the next person.",
                        when(*offered_at + links.waitlist_offer)
                    ),
                ],
                view("See the need", need_id),
            )
        }
        Notice::WaitlistOfferExpired { need_id, .. } => {
            let (title, _) = need(need_id);
            plain(
                format!("The place on {title} has passed on"),
                vec![
                    format!(
                        "The place held for you on \u{201c}{title}\u{201d} was not taken up in time, so it has gone to the next person waiting."
                    ),
                    "You can apply again, or find another need in the app.".to_owned(),
                ],
                None,
            )
        }
        Notice::NewApplications { organisation_id, needs, .. } => {
            let total: u32 = needs.iter().map(|n| n.applied + n.waitlisted).sum();
            let items = needs
                .iter()
                .map(|n| {
                    let (title, _) = need(&n.need_id);
                    let mut counts = Vec::new();
                    if n.applied > 0 {
                        counts.push(format!("{} new", n.applied));
                    }
                    if n.waitlisted > 0 {
                        counts.push(format!("{} on the waitlist", n.waitlisted));
                    }
                    Item { text: format!("{title}: {}", counts.join(", ")), url: Some(need_url(links, n.need_id)) }
                })
                .collect();
            Words {
                subject: format!(
                    "{total} new application{} to {}",
                    if total == 1 { "" } else { "s" },
                    organisation(organisation_id)
                ),
                paragraphs: vec!["These applications arrived in the last hour and wait for a decision:".to_owned()],
                items,
                action: None,
            }
        }
        Notice::SessionReminder { need_id, starts_at, ends_at } => {
            let (title, org) = need(need_id);
            plain(
                format!("Reminder: {title}, {}", when(*starts_at)),
                vec![
                    format!(
                        "You are down for \u{201c}{title}\u{201d} with {org} on {}, until {}.",
                        when(*starts_at),
                        ends_at.with_timezone(&TIME_ZONE).format("%H:%M")
                    ),
                    "Check in from the app when you arrive. If you cannot come, let the organisation know.".to_owned(),
                ],
                view("See the need", need_id),
            )
        }
        Notice::SessionCancelled { need_id, starts_at, reason } => {
            let (title, org) = need(need_id);
            plain(
                format!("Cancelled: {title}, {}", when(*starts_at)),
                vec![
                    format!("{org} has called off the session of \u{201c}{title}\u{201d} on {}.", when(*starts_at)),
                    format!("Their reason: {reason}"),
                ],
                view("See the need", need_id),
            )
        }
        Notice::HoursDecision { need_id, date, minutes, approved, reason, .. } => {
            let (title, org) = need(need_id);
            let hours = domain::hours::hours(i64::from(*minutes));
            if *approved {
                plain(
                    format!("{hours} hours approved: {title}"),
                    vec![format!(
                        "{org} approved the {hours} hours you gave to \u{201c}{title}\u{201d} on {}. They count in your \
                         totals and statements.",
                        day(*date)
                    )],
                    None,
                )
            } else {
                let mut paragraphs = vec![format!(
                    "{org} did not approve the {hours} hours logged for \u{201c}{title}\u{201d} on {}.",
                    day(*date)
                )];
                if let Some(reason) = reason {
                    paragraphs.push(format!("Their reason: {reason}"));
                }
                plain(format!("Hours not approved: {title}"), paragraphs, None)
            }
        }
        Notice::DbsRecheck { organisation_id, valid_until, days_left, .. } => plain(
            format!("Your DBS check with {} ends in {days_left} days", organisation(organisation_id)),
            vec![
                format!(
                    "The DBS check {} verified for you counts until {}. Needs that ask for a verified check will not \
                     take you after that.",
                    organisation(organisation_id),
                    day(*valid_until)
                ),
                "If you are on the DBS Update Service, the organisation can check it again; otherwise ask them about a \
                 new check."
                    .to_owned(),
            ],
            None,
        ),
        Notice::WeeklyDigest { needs } => Words {
            subject: format!("{} new need{} that match you", needs.len(), if needs.len() == 1 { "" } else { "s" }),
            paragraphs: vec!["These needs were posted this week, and they suit what you said you can do:".to_owned()],
            items: needs
                .iter()
                .map(|n| {
                    let (title, org) = need(&n.need_id);
                    Item { text: format!("{title} ({org})"), url: Some(need_url(links, n.need_id)) }
                })
                .collect(),
            action: None,
        },
        Notice::EmailVerification { token } => {
            if token.is_empty() {
                return Err(AppError::internal("a verification message without its code"));
            }
            plain(
                "Confirm your email address for Pitch In".to_owned(),
                vec![
                    format!("Confirm this address with the link below, or paste this code into the app: {token}"),
                    "The link works once, for two days. If you did not sign up to Pitch In, ignore this message: the \
                     account will be removed."
                        .to_owned(),
                ],
                Some(Action {
                    label: "Confirm my address".to_owned(),
                    url: format!("{}?token={token}", links.verify_email_url),
                }),
            )
        }
        Notice::SignIn { at } => plain(
            "New sign-in to your Pitch In account".to_owned(),
            vec![
                format!("Someone signed in to your account on {}.", when(*at)),
                "If it was you, there is nothing to do. If not, change your password and sign out everywhere from the \
                 app."
                    .to_owned(),
            ],
            None,
        ),
    })
}

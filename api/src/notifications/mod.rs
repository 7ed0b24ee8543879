//! Notifications in GraphQL: the signed-in person's preferences (`notificationPreferences`,
//! `updateNotificationPreferences`). Messages themselves go by email from the outbox (`sender`), written by
//! `render`; unsubscribe links land on `/unsubscribe/{token}` (served by the HTTP layer).
pub mod render;
pub mod sender;

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use domain::notifications::preferences::{self, Preferences};

use crate::error::ApiResult;
use crate::kit::{db, viewer};

crate::graphql_enum! {
    pub enum NotificationKind as domain::notifications::NotificationKind {
        /// An application accepted or declined by the organisation.
        ApplicationDecision => "APPLICATION_DECISION",
        /// An organisation invites you to a need.
        Invitation => "INVITATION",
        /// A place freed on a need you wait for, held for you until a deadline.
        WaitlistOffer => "WAITLIST_OFFER",
        /// That offer lapsed unanswered.
        WaitlistOfferExpired => "WAITLIST_OFFER_EXPIRED",
        /// New applications to your organisation's needs, hourly.
        NewApplications => "NEW_APPLICATIONS",
        /// A session you come to starts within a day.
        SessionReminder => "SESSION_REMINDER",
        /// A session you come to was called off.
        SessionCancelled => "SESSION_CANCELLED",
        /// Your hours approved or rejected.
        HoursDecision => "HOURS_DECISION",
        /// A verified DBS check ends in 60, 30 or 7 days.
        DbsRecheck => "DBS_RECHECK",
        /// The week's new needs that match you best.
        WeeklyDigest => "WEEKLY_DIGEST",
        /// A code to confirm your address. Cannot be turned off.
        EmailVerification => "EMAIL_VERIFICATION",
        /// Someone signed in to your account. Cannot be turned off.
        SignIn => "SIGN_IN",
    }
}

/// One kind of message and whether you get it.
#[derive(SimpleObject)]
pub struct NotificationSetting {
    pub kind: NotificationKind,
    pub enabled: bool,
    /// False for account messages (a verification code, a sign-in notice), which keep the account safe.
    pub can_turn_off: bool,
}

/// What you chose to hear, by email.
#[derive(SimpleObject)]
pub struct NotificationPreferences {
    /// Every kind, in a fixed order.
    pub kinds: Vec<NotificationSetting>,
    /// At most this many messages over any seven days (account messages aside); null: no cap.
    pub weekly_cap: Option<i32>,
    /// At most this many invitations to needs in any seven days: the platform's cap (3) unless you chose fewer
    /// (0 stops them). Plans and waitlists pass over you meanwhile; your place in a waitlist's line is kept.
    pub invitations_per_week: i32,
}

impl From<Preferences> for NotificationPreferences {
    fn from(prefs: Preferences) -> Self {
        let kinds = domain::notifications::NotificationKind::ALL
            .iter()
            .map(|k| NotificationSetting {
                kind: (*k).into(),
                enabled: prefs.enabled(*k),
                can_turn_off: !k.is_account(),
            })
            .collect();
        let most = domain::applications::caps::INVITATIONS_PER_WEEK;
        let invitations_per_week = prefs.invitations_per_week.map_or(most, |n| n.min(most));
        Self { kinds, weekly_cap: prefs.weekly_cap, invitations_per_week }
    }
}

#[derive(InputObject)]
pub struct NotificationKindSetting {
    pub kind: NotificationKind,
    pub enabled: bool,
}

#[derive(InputObject)]
pub struct UpdateNotificationPreferencesInput {
    /// Kinds to turn on or off; those not named stay as they are.
    pub kinds: Option<Vec<NotificationKindSetting>>,
    /// 1 to 100 messages a week; null removes the cap; absent leaves it.
    pub weekly_cap: MaybeUndefined<i32>,
    /// 0 to 3 invitations a week; null goes back to the platform's cap; absent leaves it.
    pub invitations_per_week: MaybeUndefined<i32>,
}

/// Absent: unchanged; null: back to the default; a value: that.
fn change_of(value: MaybeUndefined<i32>) -> Option<Option<i32>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// The signed-in person's notification preferences.
    async fn notification_preferences(&self, ctx: &Context<'_>) -> ApiResult<NotificationPreferences> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(preferences::of_user(db(ctx)?, actor.id).await?.into())
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Turns kinds of message on or off and sets the weekly cap, for the signed-in person. Applies to messages
    /// already waiting too.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: UpdateNotificationPreferencesInput,
    ) -> ApiResult<NotificationPreferences> {
        let actor = viewer(ctx)?.require_user()?;
        let change = preferences::Change {
            kinds: input.kinds.unwrap_or_default().into_iter().map(|s| (s.kind.into(), s.enabled)).collect(),
            weekly_cap: change_of(input.weekly_cap),
            invitations_per_week: change_of(input.invitations_per_week),
        };
        Ok(preferences::update(db(ctx)?, actor.id, change).await?.into())
    }
}

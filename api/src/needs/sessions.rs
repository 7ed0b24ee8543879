//! A need's sessions in GraphQL: `Need.sessions(from, to)`, `me.upcomingSessions(first)`, `cancelSession` /
//! `restoreSession` for the need's coordinators, and `signUpForSession` / `cancelSessionSignup` for volunteers.
//! Sessions are as public as their need; who comes to them (`attendees`) is not.
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::access;
use domain::needs::sessions::{self, Session as Computed};
use domain::needs::signups;
use domain::store::rows::Read;
use domain::values::TimeWindow;
use uuid::Uuid;

use super::Need;
use crate::error::{ApiError, ApiResult, AppError};
use crate::kit::eager::Eager;
use crate::kit::ids::{NodeKind, decode, decode_session, encode_session};
use crate::kit::{boxed, db, loaders, viewer};
use crate::volunteers::VolunteerProfile;

crate::graphql_enum! {
    pub enum SessionStatus as domain::needs::sessions::SessionStatus {
        /// Going ahead.
        Scheduled => "SCHEDULED",
        /// Called off by the need's organisation; `cancellationReason` says why.
        Cancelled => "CANCELLED",
    }
}

/// One session of a need: an occurrence of one of its weekly windows, on the wall clock in Europe/London.
pub struct Session(pub Computed);

#[Object]
impl Session {
    /// Stable: the need and the start.
    async fn id(&self) -> ID {
        encode_session(self.0.need_id, self.0.starts_at)
    }
    async fn need(&self, ctx: &Context<'_>) -> ApiResult<Need> {
        let need = boxed(loaders(ctx)?.needs.load_one(self.0.need_id)).await?;
        need.map(Need).ok_or_else(|| AppError::not_found("need")).map_err(ApiError::from)
    }
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.starts_at
    }
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.ends_at
    }
    async fn status(&self) -> SessionStatus {
        if self.0.cancellation.is_some() { SessionStatus::Cancelled } else { SessionStatus::Scheduled }
    }
    async fn cancellation_reason(&self) -> Option<&str> {
        self.0.cancellation.as_ref().map(|c| c.reason.as_str())
    }
    /// How many may sign up, when the need takes sign-ups per session; `null` when its accepted volunteers all come.
    async fn capacity(&self) -> Option<i32> {
        self.0.capacity
    }
    /// How many are coming: those signed up, or (when they all come) the need's accepted volunteers.
    async fn signed_up(&self, ctx: &Context<'_>) -> ApiResult<i32> {
        Ok(i32::try_from(self.coming(ctx).await?.len()).unwrap_or(i32::MAX))
    }
    /// Places left to sign up for; `null` when the need's accepted volunteers all come.
    async fn places_left(&self, ctx: &Context<'_>) -> ApiResult<Option<i32>> {
        let Some(capacity) = self.0.capacity else { return Ok(None) };
        let taken = i32::try_from(self.coming(ctx).await?.len()).unwrap_or(i32::MAX);
        Ok(Some((capacity - taken).max(0)))
    }
    /// Who is coming. The need's organisation's members and platform admins see everyone; a volunteer sees only
    /// themselves; anyone else, nobody.
    async fn attendees(&self, ctx: &Context<'_>) -> ApiResult<Vec<SessionAttendee>> {
        let viewer = viewer(ctx)?;
        if viewer.user.is_none() {
            return Ok(Vec::new());
        }
        let loaders = loaders(ctx)?;
        let coming = self.coming(ctx).await?;
        let Some(need) = boxed(loaders.needs.load_one(self.0.need_id)).await? else { return Ok(Vec::new()) };
        let member = viewer.is_member_of(db(ctx)?, *need.organisation_id()).await?;
        let profiles = boxed(loaders.volunteers.load_many(coming.iter().map(|(id, _)| *id))).await?;
        Ok(coming
            .into_iter()
            .filter_map(|(id, signed_up_at)| {
                let profile = profiles.get(&id)?;
                access::may_see_session_attendee(viewer, *profile.user_id(), member).then(|| SessionAttendee {
                    volunteer: VolunteerProfile(std::sync::Arc::new(profile.clone())),
                    signed_up_at,
                    session: (self.0.need_id, self.0.starts_at),
                })
            })
            .collect())
    }
}

impl Session {
    /// Who is coming (volunteer profile ids, with when they signed up): the session's sign-ups, or the need's
    /// accepted volunteers when they all come. Batched with every other session of the request.
    async fn coming(&self, ctx: &Context<'_>) -> ApiResult<Vec<(Uuid, Option<DateTime<Utc>>)>> {
        let loaders = loaders(ctx)?;
        if self.0.capacity.is_some() {
            let rows = boxed(loaders.session_signups.load_one((self.0.need_id, self.0.starts_at))).await?;
            return Ok(rows.unwrap_or_default().into_iter().map(|s| (s.volunteer_id, Some(s.signed_up_at))).collect());
        }
        let accepted = boxed(loaders.accepted_volunteers.load_one(self.0.need_id)).await?;
        Ok(accepted.unwrap_or_default().into_iter().map(|id| (id, None)).collect())
    }
}

/// A volunteer coming to a session.
pub struct SessionAttendee {
    volunteer: VolunteerProfile,
    signed_up_at: Option<DateTime<Utc>>,
    session: (Uuid, DateTime<Utc>),
}

#[Object]
impl SessionAttendee {
    async fn volunteer(&self) -> Eager<VolunteerProfile> {
        Eager(VolunteerProfile(self.volunteer.0.clone()))
    }
    /// When they signed up for this session; `null` when the need's accepted volunteers all come.
    async fn signed_up_at(&self) -> Option<DateTime<Utc>> {
        self.signed_up_at
    }
    /// Whether they came: their check-in and check-out, or a coordinator's record; `null` until either.
    async fn attendance(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::hours::Attendance>> {
        let rows = boxed(loaders(ctx)?.attendance.load_one(self.session)).await?.unwrap_or_default();
        let id = *self.volunteer.0.id();
        Ok(rows.into_iter().find(|a| a.volunteer_id == id).map(crate::hours::Attendance))
    }
}

/// The sessions of a need, for `Need.sessions`: from the columns its row was read with (`schema::shown` reads the
/// schedule for this field), its cancellations batched with every other need's of the request.
pub async fn of_need(
    ctx: &Context<'_>,
    need: &Read<entity::need::Model>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<Session>> {
    let weekly = TimeWindow::from_json(need.weekly_schedule()?);
    let posted = need.published_at()?.unwrap_or(*need.created_at()).date_naive();
    sessions::check_span(from, to)?;
    let occurring = sessions::occurrences_of(&weekly, *need.start_date(), *need.end_date()?, posted, from, to);
    let cancelled = boxed(loaders(ctx)?.cancelled_sessions.load_one(*need.id())).await?.unwrap_or_default();
    let capacity = sessions::capacity_of(need.signup_mode(), *need.session_capacity(), *need.volunteers_needed()?);
    Ok(sessions::mark(*need.id(), capacity, occurring, &cancelled).into_iter().map(Session).collect())
}

/// The signed-in volunteer's next sessions, for `User.upcomingSessions`.
pub async fn upcoming(ctx: &Context<'_>, user_id: uuid::Uuid, first: Option<i32>) -> ApiResult<Vec<Session>> {
    let first = usize::try_from(first.unwrap_or(10).clamp(1, 100)).unwrap_or(10);
    Ok(sessions::upcoming(db(ctx)?, user_id, first).await?.into_iter().map(Session).collect())
}

#[derive(InputObject)]
pub struct CancelSessionInput {
    pub need_id: ID,
    /// The session's start, as `Session.startsAt` gives it.
    pub starts_at: DateTime<Utc>,
    /// Why: the need's volunteers read it.
    pub reason: String,
}

#[derive(InputObject)]
pub struct RestoreSessionInput {
    pub need_id: ID,
    pub starts_at: DateTime<Utc>,
}

#[derive(InputObject)]
pub struct SessionSignupInput {
    /// `Session.id`.
    pub session_id: ID,
}

#[derive(SimpleObject)]
pub struct SessionPayload {
    pub session: Session,
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// The need's coordinators call a coming session off; it stays listed (and in calendars) as cancelled.
    async fn cancel_session(&self, ctx: &Context<'_>, input: CancelSessionInput) -> ApiResult<SessionPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let need = decode("input.needId", &input.need_id, NodeKind::Need)?;
        let session = sessions::cancel(db(ctx)?, &actor, need, input.starts_at, &input.reason).await?;
        Ok(SessionPayload { session: Session(session) })
    }

    /// A volunteer accepted on a need that takes sign-ups per session signs up for one of its coming sessions;
    /// CONFLICT when it is full (its capacity is never exceeded, however many sign up at once) or cancelled.
    async fn sign_up_for_session(&self, ctx: &Context<'_>, input: SessionSignupInput) -> ApiResult<SessionPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (need, starts_at) = decode_session("input.sessionId", &input.session_id)?;
        Ok(SessionPayload { session: Session(signups::sign_up(db(ctx)?, &actor, need, starts_at).await?) })
    }

    /// The volunteer takes back their sign-up for a coming session, freeing the place.
    async fn cancel_session_signup(&self, ctx: &Context<'_>, input: SessionSignupInput) -> ApiResult<SessionPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (need, starts_at) = decode_session("input.sessionId", &input.session_id)?;
        Ok(SessionPayload { session: Session(signups::cancel_sign_up(db(ctx)?, &actor, need, starts_at).await?) })
    }

    /// Puts a cancelled session back.
    async fn restore_session(&self, ctx: &Context<'_>, input: RestoreSessionInput) -> ApiResult<SessionPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let need = decode("input.needId", &input.need_id, NodeKind::Need)?;
        Ok(SessionPayload { session: Session(sessions::restore(db(ctx)?, &actor, need, input.starts_at).await?) })
    }
}

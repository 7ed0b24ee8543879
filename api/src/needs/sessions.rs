//! A need's sessions in GraphQL: `Need.sessions(from, to)`, `me.upcomingSessions(first)`, and `cancelSession` /
//! `restoreSession` for the need's coordinators. Sessions are as public as their need.
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::needs::sessions::{self, Session as Computed};
use domain::store::rows::Read;
use domain::values::TimeWindow;

use super::Need;
use crate::error::{ApiError, ApiResult, AppError};
use crate::kit::ids::{NodeKind, decode, encode_session};
use crate::kit::{boxed, db, loaders, viewer};

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
    Ok(sessions::mark(*need.id(), occurring, &cancelled).into_iter().map(Session).collect())
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

    /// Puts a cancelled session back.
    async fn restore_session(&self, ctx: &Context<'_>, input: RestoreSessionInput) -> ApiResult<SessionPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let need = decode("input.needId", &input.need_id, NodeKind::Need)?;
        Ok(SessionPayload { session: Session(sessions::restore(db(ctx)?, &actor, need, input.starts_at).await?) })
    }
}

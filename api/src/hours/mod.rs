//! Attendance and hours in GraphQL: `checkIn` / `checkOut` by volunteers, `recordAttendance` by coordinators,
//! `logHours`, `approveHours`, `rejectHours`; `VolunteerProfile.hours` (the volunteer's own) and
//! `Organisation.impact` (public totals) and `Organisation.hoursEntries` (its members' approval queue).
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::hours::{attendance, hours, service};
use uuid::Uuid;

use crate::applications::Application;
use crate::error::{ApiError, ApiResult, AppError};
use crate::kit::ids::{NodeKind, decode, decode_session, encode};
use crate::kit::{boxed, db, loaders, viewer};
use crate::needs::Need;
use crate::needs::sessions::Session;
use crate::volunteers::VolunteerProfile;

crate::graphql_enum! {
    pub enum AttendanceStatus as domain::hours::AttendanceStatus {
        Attended => "ATTENDED",
        Absent => "ABSENT",
    }
}

crate::graphql_enum! {
    pub enum HoursStatus as domain::hours::HoursStatus {
        /// Waiting for the organisation.
        Pending => "PENDING",
        Approved => "APPROVED",
        Rejected => "REJECTED",
    }
}

crate::graphql_enum! {
    pub enum HoursSource as domain::hours::HoursSource {
        /// Logged by the volunteer.
        Logged => "LOGGED",
        /// Proposed by the volunteer's check-out of a session.
        CheckOut => "CHECK_OUT",
        /// Recorded by a coordinator with the session's attendance.
        Recorded => "RECORDED",
    }
}

/// Time a volunteer gave on one day on one need. Seen by the volunteer, the need's organisation's members and
/// platform admins.
pub struct HoursEntry(pub entity::hours_entry::Model);

#[Object]
impl HoursEntry {
    async fn id(&self) -> ID {
        encode(NodeKind::HoursEntry, self.0.id)
    }
    async fn application(&self, ctx: &Context<'_>) -> ApiResult<Option<Application>> {
        Ok(boxed(loaders(ctx)?.applications.load_one(self.0.application_id)).await?.map(Application))
    }
    async fn need(&self, ctx: &Context<'_>) -> ApiResult<Need> {
        let need = boxed(loaders(ctx)?.needs.load_one(self.0.need_id)).await?;
        need.map(Need).ok_or_else(|| AppError::not_found("need")).map_err(ApiError::from)
    }
    async fn volunteer(&self, ctx: &Context<'_>) -> ApiResult<Option<VolunteerProfile>> {
        let profile = boxed(loaders(ctx)?.volunteers.load_one(self.0.volunteer_id)).await?;
        Ok(profile.map(|p| VolunteerProfile(std::sync::Arc::new(p))))
    }
    /// The day the time was given.
    async fn date(&self) -> NaiveDate {
        self.0.worked_on
    }
    async fn minutes(&self) -> i32 {
        self.0.minutes
    }
    async fn note(&self) -> &str {
        &self.0.note
    }
    async fn status(&self) -> HoursStatus {
        HoursStatus::from_db(&self.0.status).unwrap_or(HoursStatus::Pending)
    }
    async fn source(&self) -> HoursSource {
        HoursSource::from_db(&self.0.source).unwrap_or(HoursSource::Logged)
    }
    /// The session it is for, when it came from a check-out or an attendance record.
    async fn session_starts_at(&self) -> Option<DateTime<Utc>> {
        self.0.session_starts_at
    }
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Whether a volunteer came to a session.
pub struct Attendance(pub entity::attendance::Model);

#[Object]
impl Attendance {
    async fn volunteer(&self, ctx: &Context<'_>) -> ApiResult<Option<VolunteerProfile>> {
        let profile = boxed(loaders(ctx)?.volunteers.load_one(self.0.volunteer_id)).await?;
        Ok(profile.map(|p| VolunteerProfile(std::sync::Arc::new(p))))
    }
    async fn status(&self) -> AttendanceStatus {
        AttendanceStatus::from_db(&self.0.status).unwrap_or(AttendanceStatus::Attended)
    }
    async fn checked_in_at(&self) -> Option<DateTime<Utc>> {
        self.0.checked_in_at
    }
    async fn checked_out_at(&self) -> Option<DateTime<Utc>> {
        self.0.checked_out_at
    }
    /// Recorded by a coordinator (rather than only by the volunteer's own check-in).
    async fn recorded_by_coordinator(&self) -> bool {
        self.0.recorded_by.is_some()
    }
}

/// Minutes in one month (`YYYY-MM`).
#[derive(SimpleObject)]
pub struct MonthMinutes {
    pub month: String,
    pub minutes: i64,
}

/// Minutes on one need.
pub struct NeedMinutes(Uuid, i64);

#[Object]
impl NeedMinutes {
    async fn need(&self, ctx: &Context<'_>) -> ApiResult<Option<Need>> {
        Ok(boxed(loaders(ctx)?.needs.load_one(self.0)).await?.map(Need))
    }
    async fn minutes(&self) -> i64 {
        self.1
    }
}

/// Minutes for one organisation.
pub struct OrganisationMinutes(Uuid, i64);

#[Object]
impl OrganisationMinutes {
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::organisations::Organisation>> {
        Ok(boxed(loaders(ctx)?.organisations.load_one(self.0)).await?.map(crate::organisations::Organisation))
    }
    async fn minutes(&self) -> i64 {
        self.1
    }
}

/// Minutes on one project.
pub struct ProjectMinutes(Uuid, i64);

#[Object]
impl ProjectMinutes {
    async fn project(&self, ctx: &Context<'_>) -> ApiResult<Option<crate::projects::Project>> {
        Ok(boxed(loaders(ctx)?.projects.load_one(self.0)).await?.map(crate::projects::Project))
    }
    async fn minutes(&self) -> i64 {
        self.1
    }
}

fn months(rows: Vec<(String, i64)>) -> Vec<MonthMinutes> {
    rows.into_iter().map(|(month, minutes)| MonthMinutes { month, minutes }).collect()
}

/// A volunteer's hours: approved totals (by month, organisation and need), what awaits approval, and entries.
pub struct VolunteerHours {
    pub volunteer_id: Uuid,
    pub totals: service::Totals,
}

#[Object]
impl VolunteerHours {
    async fn approved_minutes(&self) -> i64 {
        self.totals.approved_minutes
    }
    async fn approved_hours(&self) -> f64 {
        hours(self.totals.approved_minutes)
    }
    async fn pending_minutes(&self) -> i64 {
        self.totals.pending_minutes
    }
    async fn by_month(&self) -> Vec<MonthMinutes> {
        months(self.totals.by_month.clone())
    }
    async fn by_organisation(&self) -> Vec<OrganisationMinutes> {
        self.totals.by_organisation.iter().map(|(id, m)| OrganisationMinutes(*id, *m)).collect()
    }
    async fn by_need(&self) -> Vec<NeedMinutes> {
        self.totals.by_need.iter().map(|(id, m)| NeedMinutes(*id, *m)).collect()
    }
    /// The entries, newest first: at most `first` (up to 100).
    async fn entries(
        &self,
        ctx: &Context<'_>,
        status: Option<HoursStatus>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<HoursEntry>> {
        let of = service::EntriesOf::Volunteer(self.volunteer_id);
        let rows = service::entries(db(ctx)?, of, status.map(Into::into), u64::try_from(first).unwrap_or(1)).await?;
        Ok(rows.into_iter().map(HoursEntry).collect())
    }
}

/// The volunteer's hours, for `VolunteerProfile.hours` (the caller has checked who may see them).
pub async fn of_volunteer(ctx: &Context<'_>, volunteer_id: Uuid) -> ApiResult<VolunteerHours> {
    let totals = service::totals_for_volunteer(db(ctx)?, volunteer_id).await?;
    Ok(VolunteerHours { volunteer_id, totals })
}

/// What an organisation's volunteers gave between two days.
pub struct Impact(service::Impact);

#[Object]
impl Impact {
    async fn approved_minutes(&self) -> i64 {
        self.0.approved_minutes
    }
    async fn approved_hours(&self) -> f64 {
        hours(self.0.approved_minutes)
    }
    /// Volunteers with approved hours in the span.
    async fn active_volunteers(&self) -> i64 {
        self.0.active_volunteers
    }
    /// Sessions in the span at which at least one volunteer attended.
    async fn sessions_held(&self) -> i64 {
        self.0.sessions_held
    }
    async fn by_month(&self) -> Vec<MonthMinutes> {
        months(self.0.by_month.clone())
    }
    async fn by_need(&self) -> Vec<NeedMinutes> {
        self.0.by_need.iter().map(|(id, m)| NeedMinutes(*id, *m)).collect()
    }
    async fn by_project(&self) -> Vec<ProjectMinutes> {
        self.0.by_project.iter().map(|(id, m)| ProjectMinutes(*id, *m)).collect()
    }
}

/// `Organisation.impact(from, to)`.
pub async fn impact(ctx: &Context<'_>, organisation_id: Uuid, from: NaiveDate, to: NaiveDate) -> ApiResult<Impact> {
    let span = (to - from).num_days() + 1;
    // A span the wrong way round is the service's to refuse, whoever asks.
    if span > 0
        && span < domain::access::PUBLIC_IMPACT_DAYS
        && !domain::access::may_see_impact(span, viewer(ctx)?.is_member_of(db(ctx)?, organisation_id).await?)
    {
        return Err(AppError::forbidden("impact over under four weeks is for the organisation's members").into());
    }
    Ok(Impact(service::impact(db(ctx)?, organisation_id, from, to).await?))
}

/// `Organisation.hoursEntries`: the organisation's entries (its approval queue with `status: PENDING`), for its
/// members and platform admins.
pub async fn of_organisation(
    ctx: &Context<'_>,
    organisation_id: Uuid,
    status: Option<HoursStatus>,
    first: i32,
) -> ApiResult<Vec<HoursEntry>> {
    if !domain::access::may_see_organisation_private(viewer(ctx)?.is_member_of(db(ctx)?, organisation_id).await?) {
        return Err(AppError::forbidden("only members of this organisation can see its volunteers' hours").into());
    }
    let of = service::EntriesOf::Organisation(organisation_id);
    let rows = service::entries(db(ctx)?, of, status.map(Into::into), u64::try_from(first).unwrap_or(1)).await?;
    Ok(rows.into_iter().map(HoursEntry).collect())
}

#[derive(InputObject)]
pub struct SessionInput {
    /// `Session.id`.
    pub session_id: ID,
}

#[derive(InputObject)]
pub struct RecordAttendanceInput {
    pub session_id: ID,
    /// Volunteer profile ids of those who came.
    #[graphql(default)]
    pub attended: Vec<ID>,
    /// Volunteer profile ids of those who did not.
    #[graphql(default)]
    pub absent: Vec<ID>,
}

#[derive(InputObject)]
pub struct LogHoursInput {
    pub application_id: ID,
    /// The day the time was given (not in the future).
    pub date: NaiveDate,
    /// 1 to 1,440.
    pub minutes: i32,
    #[graphql(default)]
    pub note: String,
}

#[derive(InputObject)]
pub struct ApproveHoursInput {
    pub hours_entry_id: ID,
}

#[derive(InputObject)]
pub struct RejectHoursInput {
    pub hours_entry_id: ID,
    /// Why: the volunteer reads it.
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct AttendancePayload {
    pub session: Session,
    pub attendance: Attendance,
    /// The hours a check-out proposed (PENDING); `null` on check-in, or when the session already has hours.
    pub hours_entry: Option<HoursEntry>,
}

#[derive(SimpleObject)]
pub struct RecordAttendancePayload {
    pub session: Session,
    pub attendances: Vec<Attendance>,
}

#[derive(SimpleObject)]
pub struct HoursPayload {
    pub hours_entry: HoursEntry,
}

fn hours_entry_id(id: &ID) -> Result<Uuid, AppError> {
    decode("input.hoursEntryId", id, NodeKind::HoursEntry)
}

async fn session_of(ctx: &Context<'_>, need_id: Uuid, starts_at: DateTime<Utc>) -> ApiResult<Session> {
    let need = domain::needs::service::get(db(ctx)?, need_id).await?;
    let until = starts_at.checked_add_signed(chrono::TimeDelta::seconds(1)).unwrap_or(starts_at);
    let listed = domain::needs::sessions::list(db(ctx)?, &need, starts_at, until).await?;
    listed.into_iter().next().map(Session).ok_or_else(|| AppError::not_found("session").into())
}

/// A statement of volunteering: approved hours and roles between two days, as the volunteer chose to show them,
/// fixed when made. Only its volunteer sees it here; anyone with its `url` sees the page, until it is revoked.
pub struct VolunteeringStatement(pub entity::volunteering_statement::Model);

/// One role on a statement.
#[derive(SimpleObject)]
pub struct StatementLine {
    pub organisation: String,
    pub role: String,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
    pub minutes: i64,
    pub hours: f64,
}

#[Object]
impl VolunteeringStatement {
    async fn id(&self) -> ID {
        encode(NodeKind::VolunteeringStatement, self.0.id)
    }
    /// The page an employer opens: `/statements/{code}`.
    async fn url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(format!("{}/statements/{}", crate::kit::public_url(ctx)?, self.0.code))
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn from(&self) -> NaiveDate {
        self.0.from_date
    }
    async fn to(&self) -> NaiveDate {
        self.0.to_date
    }
    async fn lines(&self) -> Vec<StatementLine> {
        domain::hours::statements::lines(&self.0)
            .into_iter()
            .map(|l| StatementLine {
                organisation: l.organisation,
                role: l.role,
                first_date: l.first_date,
                last_date: l.last_date,
                minutes: l.minutes,
                hours: hours(l.minutes),
            })
            .collect()
    }
    async fn total_minutes(&self) -> i64 {
        self.0.total_minutes
    }
    async fn total_hours(&self) -> f64 {
        hours(self.0.total_minutes)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// `VolunteerProfile.statements` (the caller has checked it is the volunteer's own).
pub async fn statements_of(ctx: &Context<'_>, volunteer_id: Uuid) -> ApiResult<Vec<VolunteeringStatement>> {
    let rows = domain::hours::statements::of_volunteer(db(ctx)?, volunteer_id).await?;
    Ok(rows.into_iter().map(VolunteeringStatement).collect())
}

#[derive(InputObject)]
pub struct CreateVolunteeringStatementInput {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Only these needs' hours (each must have approved hours in the span); left out: all with approved hours.
    pub need_ids: Option<Vec<ID>>,
    /// The name to print (2 to 120 characters); left out: the profile's display name.
    pub name: Option<String>,
}

#[derive(InputObject)]
pub struct RevokeVolunteeringStatementInput {
    pub statement_id: ID,
}

#[derive(SimpleObject)]
pub struct VolunteeringStatementPayload {
    pub statement: VolunteeringStatement,
}

#[derive(Default)]
pub struct HoursMutation;

#[Object]
impl HoursMutation {
    /// The volunteer checks in to a session they come to, from `PITCHIN_CHECK_IN_EARLY_MINUTES` (30) before it
    /// starts until it ends.
    async fn check_in(&self, ctx: &Context<'_>, input: SessionInput) -> ApiResult<AttendancePayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (need, starts_at) = decode_session("input.sessionId", &input.session_id)?;
        let early = crate::kit::check_in_early(ctx)?;
        let row = attendance::check_in(db(ctx)?, &actor, need, starts_at, domain::now(), early).await?;
        Ok(AttendancePayload {
            session: session_of(ctx, need, starts_at).await?,
            attendance: Attendance(row),
            hours_entry: None,
        })
    }

    /// The volunteer checks out; the time at the session is proposed as hours for the organisation to approve.
    async fn check_out(&self, ctx: &Context<'_>, input: SessionInput) -> ApiResult<AttendancePayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (need, starts_at) = decode_session("input.sessionId", &input.session_id)?;
        let (row, proposed) = attendance::check_out(db(ctx)?, &actor, need, starts_at, domain::now()).await?;
        Ok(AttendancePayload {
            session: session_of(ctx, need, starts_at).await?,
            attendance: Attendance(row),
            hours_entry: proposed.map(HoursEntry),
        })
    }

    /// The need's coordinators record who came to a session that has started (up to 500 at once); those who came
    /// get the session's length as approved hours unless they have hours for it already.
    async fn record_attendance(
        &self,
        ctx: &Context<'_>,
        input: RecordAttendanceInput,
    ) -> ApiResult<RecordAttendancePayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (need, starts_at) = decode_session("input.sessionId", &input.session_id)?;
        let ids = |field: &str, list: &[ID]| -> Result<Vec<Uuid>, AppError> {
            list.iter()
                .enumerate()
                .map(|(i, id)| decode(&format!("{field}[{i}]"), id, NodeKind::VolunteerProfile))
                .collect()
        };
        let (attended, absent) = (ids("input.attended", &input.attended)?, ids("input.absent", &input.absent)?);
        let rows = attendance::record(db(ctx)?, &actor, need, starts_at, &attended, &absent).await?;
        Ok(RecordAttendancePayload {
            session: session_of(ctx, need, starts_at).await?,
            attendances: rows.into_iter().map(Attendance).collect(),
        })
    }

    /// The volunteer logs time given on a need they are (or were) accepted on; PENDING until the organisation decides.
    async fn log_hours(&self, ctx: &Context<'_>, input: LogHoursInput) -> ApiResult<HoursPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let application = decode("input.applicationId", &input.application_id, NodeKind::Application)?;
        let row = service::log(db(ctx)?, &actor, application, input.date, input.minutes, &input.note).await?;
        Ok(HoursPayload { hours_entry: HoursEntry(row) })
    }

    /// The organisation's members approve pending hours (not their own).
    async fn approve_hours(&self, ctx: &Context<'_>, input: ApproveHoursInput) -> ApiResult<HoursPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let row = service::approve(db(ctx)?, &actor, hours_entry_id(&input.hours_entry_id)?).await?;
        Ok(HoursPayload { hours_entry: HoursEntry(row) })
    }

    /// The signed-in volunteer makes a statement of their approved hours and roles between two days, at a public,
    /// unguessable address (`url`) they can give an employer. It shows only what they chose.
    async fn create_volunteering_statement(
        &self,
        ctx: &Context<'_>,
        input: CreateVolunteeringStatementInput,
    ) -> ApiResult<VolunteeringStatementPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let need_ids = input
            .need_ids
            .map(|ids| {
                ids.iter()
                    .enumerate()
                    .map(|(i, id)| decode(&format!("input.needIds[{i}]"), id, NodeKind::Need))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let command =
            domain::hours::statements::NewStatement { from: input.from, to: input.to, need_ids, name: input.name };
        let row = domain::hours::statements::create(db(ctx)?, &actor, command).await?;
        Ok(VolunteeringStatementPayload { statement: VolunteeringStatement(row) })
    }

    /// The volunteer withdraws a statement: its page then says so (410).
    async fn revoke_volunteering_statement(
        &self,
        ctx: &Context<'_>,
        input: RevokeVolunteeringStatementInput,
    ) -> ApiResult<VolunteeringStatementPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("input.statementId", &input.statement_id, NodeKind::VolunteeringStatement)?;
        let row = domain::hours::statements::revoke(db(ctx)?, &actor, id).await?;
        Ok(VolunteeringStatementPayload { statement: VolunteeringStatement(row) })
    }

    /// The organisation's members reject pending hours, with a reason the volunteer reads.
    async fn reject_hours(&self, ctx: &Context<'_>, input: RejectHoursInput) -> ApiResult<HoursPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let row = service::reject(db(ctx)?, &actor, hours_entry_id(&input.hours_entry_id)?, &input.reason).await?;
        Ok(HoursPayload { hours_entry: HoursEntry(row) })
    }
}

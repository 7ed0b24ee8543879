//! Who may see or do what: the one access policy. Callers (resolvers, services, pages) gather the facts about the
//! caller and the resource (whose it is, whom it concerns) and ask a function here; nothing else decides.
//!
//! The README's "Who sees what" table is this module's contract: `tests::who_sees_what` has a row for each of
//! its rows and a column for each kind of caller.
use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::api_keys::ApiKeyScope;
use crate::applications::ApplicationStatus;
use crate::error::{AppError, AppResult};
use crate::needs::NeedStatus;
use crate::offers::OfferStatus;
use crate::organisations::MemberRole;
use crate::users::PlatformRole;

/// A signed-in user, as proven by a valid access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthUser {
    pub id: Uuid,
    pub role: PlatformRole,
}

impl AuthUser {
    pub fn is_admin(&self) -> bool {
        self.role == PlatformRole::Admin
    }
}

/// A partner calling with a live API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyCaller {
    pub id: Uuid,
    pub scopes: Vec<ApiKeyScope>,
    pub organisation_id: Option<Uuid>,
    pub rate_limit_per_minute: u32,
}

impl ApiKeyCaller {
    pub fn reads_matches_of(&self, organisation_id: Uuid) -> bool {
        self.scopes.contains(&ApiKeyScope::ReadOrganisationMatches) && self.organisation_id == Some(organisation_id)
    }
}

/// The caller of one request: a user, a partner's key, or nobody. Made by the transport (a bearer token, an
/// `X-Api-Key`) and handed to whatever decides.
#[derive(Default)]
pub struct Viewer {
    pub user: Option<AuthUser>,
    /// A partner calling with an API key (never together with a user).
    pub api_key: Option<ApiKeyCaller>,
    /// The caller's organisation roles, read at most once per request (for read-side visibility only;
    /// mutations re-check against the database).
    memberships: OnceCell<HashMap<Uuid, MemberRole>>,
}

impl Viewer {
    pub fn new(user: Option<AuthUser>) -> Self {
        Self { user, api_key: None, memberships: OnceCell::new() }
    }

    /// A signed-in user whose organisation roles were read with their account (`None`: read when first needed).
    pub fn with_memberships(user: AuthUser, memberships: Option<HashMap<Uuid, MemberRole>>) -> Self {
        Self { user: Some(user), api_key: None, memberships: OnceCell::new_with(memberships) }
    }

    pub fn for_api_key(key: ApiKeyCaller) -> Self {
        Self { user: None, api_key: Some(key), memberships: OnceCell::new() }
    }

    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn require_user(&self) -> AppResult<AuthUser> {
        match (self.user, &self.api_key) {
            (Some(user), _) => Ok(user),
            (None, Some(_)) => Err(AppError::forbidden("an API key cannot do that: it needs a signed-in user")),
            (None, None) => Err(AppError::unauthenticated()),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.user.is_some_and(|u| u.is_admin())
    }

    pub fn user_id(&self) -> Option<Uuid> {
        self.user.map(|u| u.id)
    }

    pub async fn memberships(&self, db: &impl ConnectionTrait) -> AppResult<&HashMap<Uuid, MemberRole>> {
        if let Some(memberships) = self.memberships.get() {
            return Ok(memberships);
        }
        // Boxed: usually read with the account, so the read's future should not make every caller's larger.
        Box::pin(self.memberships.get_or_try_init(|| async {
            let Some(user) = self.user else { return Ok(HashMap::new()) };
            let rows = entity::membership::Entity::find()
                .filter(entity::membership::Column::UserId.eq(user.id))
                .all(db)
                .await?;
            Ok(rows
                .into_iter()
                .filter_map(|m| MemberRole::from_db(&m.role).map(|role| (m.organisation_id, role)))
                .collect())
        }))
        .await
    }

    /// Whether the caller may see an organisation's private side (drafts, applications, members, paused offers):
    /// its members and platform admins.
    pub async fn is_member_of(&self, db: &impl ConnectionTrait, organisation_id: Uuid) -> AppResult<bool> {
        if self.is_admin() {
            return Ok(true);
        }
        Ok(self.memberships(db).await?.contains_key(&organisation_id))
    }

    /// Whether the caller may read the volunteers matched to an organisation's needs: its members, platform admins,
    /// and API keys with that organisation's matches scope.
    pub async fn may_read_matches_of(&self, db: &impl ConnectionTrait, organisation_id: Uuid) -> AppResult<bool> {
        if self.api_key.as_ref().is_some_and(|key| key.reads_matches_of(organisation_id)) {
            return Ok(true);
        }
        self.is_member_of(db, organisation_id).await
    }
}

// ---- Organisations: what members may do --------------------------------------------------------------------

/// The actor's role in an organisation, read from the database (not a per-request cache), for decisions.
pub async fn member_role(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    organisation_id: Uuid,
) -> AppResult<Option<MemberRole>> {
    let row = entity::membership::Entity::find()
        .filter(entity::membership::Column::OrganisationId.eq(organisation_id))
        .filter(entity::membership::Column::UserId.eq(actor.id))
        .one(db)
        .await?;
    Ok(row.and_then(|m| MemberRole::from_db(&m.role)))
}

/// Edit the organisation itself and add members: owners and admins of it, or platform admins.
pub fn can_manage_organisation(actor: &AuthUser, role: Option<MemberRole>) -> bool {
    actor.is_admin() || matches!(role, Some(MemberRole::Owner | MemberRole::Admin))
}

/// Post and edit needs and offers, decide applications: any member, or platform admins.
pub fn can_coordinate(actor: &AuthUser, role: Option<MemberRole>) -> bool {
    actor.is_admin() || role.is_some()
}

/// Only owners (and platform admins) may make someone an owner.
pub fn can_grant(actor: &AuthUser, role: Option<MemberRole>, granted: MemberRole) -> bool {
    match granted {
        MemberRole::Owner => actor.is_admin() || role == Some(MemberRole::Owner),
        MemberRole::Admin | MemberRole::Coordinator => can_manage_organisation(actor, role),
    }
}

/// A partner key's webhooks (endpoints, their secrets, deliveries): platform admins, and owners and admins of the
/// organisation the key is scoped to. A key without an organisation is the platform's; the key itself never
/// manages them (API keys are read-only).
pub fn can_manage_webhooks(actor: &AuthUser, role_in_keys_organisation: Option<MemberRole>) -> bool {
    can_manage_organisation(actor, role_in_keys_organisation)
}

pub async fn require_webhook_manager(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    keys_organisation: Option<Uuid>,
) -> AppResult<()> {
    let role = match keys_organisation {
        Some(organisation_id) => member_role(db, actor, organisation_id).await?,
        None => None,
    };
    if can_manage_webhooks(actor, role) {
        Ok(())
    } else {
        Err(AppError::forbidden("only platform admins and the admins of the key's organisation manage its webhooks"))
    }
}

pub async fn require_coordinator(db: &impl ConnectionTrait, actor: &AuthUser, organisation_id: Uuid) -> AppResult<()> {
    let role = member_role(db, actor, organisation_id).await?;
    if can_coordinate(actor, role) {
        Ok(())
    } else {
        Err(AppError::forbidden("only members of this organisation may do that"))
    }
}

// ---- Reading: who sees what ---------------------------------------------------------------------------------

/// Approved, paid and completed bids are public money, for everyone; drafts, bids under review, rejected and
/// withdrawn ones are for the bidding organisation's members and the fund's deciders and administrators.
pub fn may_see_bid(status: crate::funding::BidStatus, bidder_member: bool, decider: bool) -> bool {
    status.is_public() || bidder_member || decider
}

/// A campaign is public once launched (its pledges are public giving); a draft, and a draft called off, is for the
/// project's organisation's members.
pub fn may_see_campaign(launched: bool, member_or_admin: bool) -> bool {
    launched || member_or_admin
}

/// A pledge's backer's name is public unless they pledged anonymously; the backer always sees their own.
pub fn may_see_backer_name(viewer: &Viewer, backer_id: Option<Uuid>, anonymous: bool) -> bool {
    !anonymous || is_backer(viewer, backer_id)
}

/// Whether the viewer made the pledge: its payment reference is theirs alone (a matching pledge has no backer).
pub fn is_backer(viewer: &Viewer, backer_id: Option<Uuid>) -> bool {
    backer_id.is_some() && viewer.user_id() == backer_id
}

/// A need is public unless it is a draft; drafts are for the organisation's members (and platform admins).
pub fn may_see_need(status: NeedStatus, member_or_admin: bool) -> bool {
    status != NeedStatus::Draft || member_or_admin
}

/// The statuses a caller may list: drafts only for the organisation's members.
pub fn visible_statuses(requested: Option<NeedStatus>, member: bool) -> Vec<NeedStatus> {
    let wanted: Vec<NeedStatus> = requested.map(|s| vec![s]).unwrap_or_else(|| NeedStatus::ALL.to_vec());
    wanted.into_iter().filter(|s| may_see_need(*s, member)).collect()
}

/// An organisation's private side: `Need.applications`, `Organisation.members`.
pub fn may_see_organisation_private(member_or_admin: bool) -> bool {
    member_or_admin
}

/// Whose an offer is, as far as seeing it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfferOwner {
    Organisation(Uuid),
    Volunteer { user_id: Uuid },
    Nobody,
}

/// Whether the viewer made the offer (or is a member of the organisation that did), or is a platform admin;
/// `member_of` answers for the organisation's case.
pub fn owns_offer(viewer: &Viewer, owner: OfferOwner, member_of: bool) -> bool {
    if viewer.is_admin() {
        return true;
    }
    match owner {
        OfferOwner::Organisation(_) => member_of,
        OfferOwner::Volunteer { user_id } => viewer.user_id() == Some(user_id),
        OfferOwner::Nobody => false,
    }
}

/// Active offers are public; paused and closed ones only for their owners.
pub fn may_see_offer(status: OfferStatus, owner: bool) -> bool {
    status == OfferStatus::Active || owner
}

/// Who comes to a session (`Session.attendees`): each attendee themselves, members of the need's organisation, and
/// platform admins; as an application is seen, since coming is what an accepted application means.
pub fn may_see_session_attendee(viewer: &Viewer, attendee_user_id: Uuid, member_of_need_org: bool) -> bool {
    may_see_application(viewer, Some(attendee_user_id), member_of_need_org)
}

/// An organisation's record of a volunteer's DBS check: the volunteer, platform admins, and members of the
/// organisation that made it. Another organisation the volunteer applied to sees their DBS status, not where else
/// they volunteer or who checked them there.
pub fn may_see_dbs_verification(viewer: &Viewer, volunteer_user_id: Uuid, member_of_verifying_org: bool) -> bool {
    viewer.is_admin()
        || viewer.user_id() == Some(volunteer_user_id)
        || (viewer.user.is_some() && member_of_verifying_org)
}

/// The shortest span anyone may see an organisation's impact over: four weeks, so that its totals are totals and not
/// one volunteer's afternoon.
pub const PUBLIC_IMPACT_DAYS: i64 = 28;

/// An organisation's impact (`Organisation.impact`): public over four weeks or more; over a shorter span, for its
/// members and platform admins.
pub fn may_see_impact(span_days: i64, member_or_admin: bool) -> bool {
    member_or_admin || span_days >= PUBLIC_IMPACT_DAYS
}

/// An application: the volunteer who applied, members of the need's organisation, and platform admins.
pub fn may_see_application(viewer: &Viewer, applicant_user_id: Option<Uuid>, member_of_need_org: bool) -> bool {
    if viewer.is_admin() {
        return true;
    }
    let Some(user) = viewer.user_id() else { return false };
    applicant_user_id == Some(user) || member_of_need_org
}

/// How the caller relates to a volunteer's profile, which decides what of it they may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProfileAccess {
    /// Anyone who meets the profile (through an application they may see, an offer, `node`).
    Stranger,
    /// A member of an organisation this volunteer has applied to (an invitation alone does not count).
    Organisation,
    /// The volunteer themselves, or a platform admin.
    Owner,
}

/// `applied_to_viewers_organisation`: whether the volunteer has applied to a need of an organisation the viewer is
/// a member of (asked only of signed-in viewers; the caller may skip it otherwise).
pub fn profile_access(viewer: &Viewer, profile_user_id: Uuid, applied_to_viewers_organisation: bool) -> ProfileAccess {
    if viewer.user_id() == Some(profile_user_id) || viewer.is_admin() {
        ProfileAccess::Owner
    } else if viewer.user.is_some() && applied_to_viewers_organisation {
        ProfileAccess::Organisation
    } else {
        ProfileAccess::Stranger
    }
}

/// A partner key's counts (`partnerStats`): for platform admins, and for members of the organisation the key is
/// scoped to. A key without an organisation is the platform's to read.
pub fn may_see_partner_stats(viewer: &Viewer, member_of_keys_organisation: bool) -> bool {
    viewer.is_admin() || (viewer.user.is_some() && member_of_keys_organisation)
}

/// A volunteer's private calendar feed address is a secret that opens their feed without signing in: only the
/// volunteer sees it, not even platform admins (who can see what it shows through the volunteer's applications).
pub fn may_see_calendar_url(viewer: &Viewer, profile_user_id: Uuid) -> bool {
    viewer.user_id() == Some(profile_user_id)
}

/// The application statuses that show a volunteer's contact details, availability and DBS status to the need's
/// organisation: applying (to a place or its waitlist) is consent to be contacted; an invitation alone is not (until
/// accepted).
pub const CONTACT_REVEALING: [ApplicationStatus; 5] = [
    ApplicationStatus::Applied,
    ApplicationStatus::Waitlisted,
    ApplicationStatus::Accepted,
    ApplicationStatus::Declined,
    ApplicationStatus::Completed,
];

/// The organisations the actor may coordinate for (every membership; any role coordinates).
pub async fn coordinated_organisations(db: &impl ConnectionTrait, actor: &AuthUser) -> AppResult<Vec<Uuid>> {
    Ok(entity::membership::Entity::find()
        .filter(entity::membership::Column::UserId.eq(actor.id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.organisation_id)
        .collect())
}

/// Whether the volunteer has applied (`CONTACT_REVEALING`) to one of the organisation's needs.
pub async fn applied_to_organisation(
    db: &impl ConnectionTrait,
    volunteer_id: Uuid,
    organisation_id: Uuid,
) -> AppResult<bool> {
    use entity::{application, need};
    use sea_orm::PaginatorTrait;
    use sea_orm::sea_query::Query;
    let needs = Query::select()
        .column(need::Column::Id)
        .from(need::Entity)
        .and_where(need::Column::OrganisationId.eq(organisation_id))
        .to_owned();
    let applied = application::Entity::find()
        .filter(application::Column::VolunteerId.eq(volunteer_id))
        .filter(application::Column::NeedId.in_subquery(needs))
        .filter(application::Column::Status.is_in(CONTACT_REVEALING.iter().map(|s| s.as_db())))
        .count(db)
        .await?;
    Ok(applied > 0)
}

/// Of `volunteer_ids`, those who have applied (`CONTACT_REVEALING`) to a need of an organisation `viewer` is a
/// member of: the fact `profile_access` takes as `applied_to_viewers_organisation`. One statement.
pub async fn applied_to_organisations_of(
    db: &impl ConnectionTrait,
    viewer: Uuid,
    volunteer_ids: &[Uuid],
) -> AppResult<std::collections::HashSet<Uuid>> {
    use entity::{application, membership, need};
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    #[derive(sea_orm::FromQueryResult)]
    struct VolunteerIdRow {
        volunteer_id: Uuid,
    }
    let select = Query::select()
        .distinct()
        .column((application::Entity, application::Column::VolunteerId))
        .from(application::Entity)
        .inner_join(
            need::Entity,
            Expr::col((need::Entity, need::Column::Id)).equals((application::Entity, application::Column::NeedId)),
        )
        .inner_join(
            membership::Entity,
            Expr::col((membership::Entity, membership::Column::OrganisationId))
                .equals((need::Entity, need::Column::OrganisationId)),
        )
        .and_where(Expr::col((membership::Entity, membership::Column::UserId)).eq(viewer))
        .and_where(
            Expr::col((application::Entity, application::Column::VolunteerId)).is_in(volunteer_ids.iter().copied()),
        )
        .and_where(
            Expr::col((application::Entity, application::Column::Status))
                .is_in(CONTACT_REVEALING.iter().map(|s| s.as_db())),
        )
        .to_owned();
    let rows: Vec<VolunteerIdRow> = crate::store::page::fetch_rows(db, &select).await?;
    Ok(rows.into_iter().map(|r| r.volunteer_id).collect())
}

/// Finding a profile by its id (`node`) is not meeting it: only for those who see more of it than a stranger.
pub fn may_find_profile(access: ProfileAccess) -> bool {
    access > ProfileAccess::Stranger
}

/// The parts of a volunteer's profile that are personal data, each with who may see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileField {
    /// Display name, bio, skills, interests, languages.
    Public,
    Email,
    Availability,
    DbsStatus,
    Postcode,
    Location,
    Applications,
}

impl ProfileField {
    pub fn needs(self) -> ProfileAccess {
        match self {
            Self::Public => ProfileAccess::Stranger,
            Self::Email | Self::Availability | Self::DbsStatus => ProfileAccess::Organisation,
            Self::Postcode | Self::Location | Self::Applications => ProfileAccess::Owner,
        }
    }
}

pub fn may_see_profile_field(access: ProfileAccess, field: ProfileField) -> bool {
    access >= field.needs()
}

/// A user's own account details (email, when they verified it): that user and platform admins.
pub fn may_see_account(viewer: &Viewer, user_id: Uuid) -> bool {
    viewer.user_id() == Some(user_id) || viewer.is_admin()
}

/// The audit log and API keys: platform admins only.
pub fn require_platform_admin(viewer: &Viewer, what: &str) -> AppResult<AuthUser> {
    let user = viewer.require_user()?;
    if !user.is_admin() {
        return Err(AppError::forbidden(format!("only platform admins can {what}")));
    }
    Ok(user)
}

#[cfg(test)]
mod tests;

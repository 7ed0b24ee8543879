//! Community partnerships: an organisation of kind COMMUNITY_PARTNERSHIP tied to its council, its wards, and its
//! seats (who sits on it, whom they represent, their votes), with the balance of elected and other members. Public:
//! a partnership is a public body; its members' own account details stay theirs (`User`'s rules).
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::partnerships::priorities;
use domain::partnerships::service::{self, NewPartnershipMember, Partnership};
use domain::values::FinancialYear;

use crate::error::{ApiError, ApiResult, AppError};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::{boxed, db, loaders, viewer};
use crate::organisations::Organisation;
use crate::users::User;
use crate::wards::Ward;

crate::graphql_enum! {
    /// Whom a partnership member represents.
    pub enum PartnershipRole as domain::partnerships::PartnershipRole {
        /// An elected ward member of the district council (with their ward).
        WardMember => "WARD_MEMBER",
        /// The elected county councillor.
        CountyCouncillor => "COUNTY_COUNCILLOR",
        Police => "POLICE",
        Health => "HEALTH",
        Youth => "YOUTH",
        Business => "BUSINESS",
        Community => "COMMUNITY",
        CouncilOfficer => "COUNCIL_OFFICER",
    }
}

crate::graphql_enum! {
    /// Where a priority stands.
    pub enum PriorityStatus as domain::partnerships::priorities::PriorityStatus {
        /// Being worked on.
        Active => "ACTIVE",
        /// Achieved.
        Met => "MET",
        /// Set aside.
        Retired => "RETIRED",
    }
}

crate::graphql_enum! {
    /// What a piece of evidence is.
    pub enum EvidenceKind as domain::partnerships::priorities::EvidenceKind {
        /// Figures (deprivation, crime, health).
        Data => "DATA",
        /// What local people and groups know.
        LocalInsight => "LOCAL_INSIGHT",
        /// What a consultation found.
        Consultation => "CONSULTATION",
    }
}

/// A community partnership. Its `id` is its organisation's.
pub struct CommunityPartnership(pub Partnership);

#[Object]
impl CommunityPartnership {
    async fn id(&self) -> ID {
        encode(NodeKind::Organisation, self.0.organisation.id)
    }
    async fn name(&self) -> &str {
        &self.0.organisation.name
    }
    async fn slug(&self) -> &str {
        &self.0.organisation.slug
    }
    /// The partnership as an organisation (its description, contacts, needs, offers).
    async fn organisation(&self) -> Organisation {
        Organisation::from(self.0.organisation.clone())
    }
    /// The council it serves, once tied to one (`setPartnershipCouncil`).
    async fn council(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
        let Some(council) = self.0.council_id else { return Ok(None) };
        Ok(loaders(ctx)?.organisations.load_one(council).await?.map(Organisation))
    }
    /// Its wards, by name.
    async fn wards(&self, ctx: &Context<'_>) -> ApiResult<Vec<Ward>> {
        let wards = loaders(ctx)?.partnership_wards.load_one(self.0.organisation.id).await?.unwrap_or_default();
        Ok(wards.iter().cloned().map(Ward).collect())
    }
    /// Its priorities, oldest first; those of one financial year ("2026-27") if it is given.
    async fn priorities(&self, ctx: &Context<'_>, financial_year: Option<String>) -> ApiResult<Vec<Priority>> {
        let year =
            financial_year.map(|y| FinancialYear::parse("financialYear", &y)).transpose()?.map(FinancialYear::name);
        let all = loaders(ctx)?.partnership_priorities.load_one(self.0.organisation.id).await?.unwrap_or_default();
        Ok(all.iter().filter(|p| year.as_ref().is_none_or(|y| *y == p.financial_year)).cloned().map(Priority).collect())
    }
    /// Who sits on it, oldest seat first.
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<PartnershipMember>> {
        let members = loaders(ctx)?.partnership_members.load_one(self.0.organisation.id).await?.unwrap_or_default();
        Ok(members.iter().cloned().map(PartnershipMember).collect())
    }
    /// Seats by role, and a warning when elected members hold more than half of them.
    async fn seat_balance(&self, ctx: &Context<'_>) -> ApiResult<SeatBalance> {
        let members = loaders(ctx)?.partnership_members.load_one(self.0.organisation.id).await?.unwrap_or_default();
        let balance = domain::partnerships::seat_balance(&service::seats(&members));
        let count = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
        Ok(SeatBalance {
            seats: count(balance.seats),
            elected_seats: count(balance.elected_seats),
            votes: count(balance.votes),
            elected_votes: count(balance.elected_votes),
            by_role: balance
                .by_role
                .iter()
                .map(|r| RoleSeats { role: r.role.into(), seats: count(r.seats), votes: count(r.votes) })
                .collect(),
            warning: balance.warning,
        })
    }
}

/// A partnership's priority for a financial year.
pub struct Priority(pub entity::priority::Model);

#[Object]
impl Priority {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Priority, self.0.id)
    }
    async fn partnership(&self, ctx: &Context<'_>) -> ApiResult<CommunityPartnership> {
        Ok(CommunityPartnership(service::get(db(ctx)?, self.0.partnership_id).await?))
    }
    /// "2026-27".
    async fn financial_year(&self) -> &str {
        &self.0.financial_year
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn agreed_on(&self) -> NaiveDate {
        self.0.agreed_on
    }
    /// The workshop that agreed it.
    async fn workshop(&self) -> &str {
        &self.0.workshop
    }
    async fn evidence(&self) -> Vec<Evidence> {
        priorities::evidence_of(&self.0)
            .into_iter()
            .map(|e| Evidence { kind: e.kind.into(), summary: e.summary, url: e.url })
            .collect()
    }
    async fn status(&self) -> Option<PriorityStatus> {
        PriorityStatus::from_db(&self.0.status)
    }
    /// Projects addressing it, in the order they were tagged.
    async fn projects(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::projects::Project>> {
        let tied = boxed(loaders(ctx)?.priority_projects.load_one(self.0.id)).await?.unwrap_or_default();
        Ok(tied.iter().cloned().map(crate::projects::Project).collect())
    }
    /// Published needs serving it (drafts stay with their organisations), in the order they were tagged.
    async fn needs(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::needs::Need>> {
        let tied = boxed(loaders(ctx)?.priority_needs.load_one(self.0.id)).await?.unwrap_or_default();
        let draft = domain::needs::NeedStatus::Draft.as_db();
        Ok(tied.iter().filter(|n| n.status() != draft).cloned().map(crate::needs::Need).collect())
    }
}

/// Priority ids from an input, each checked to be one (`field[i]` names a bad one).
pub fn priority_ids(field: &str, ids: &[ID]) -> crate::error::AppResult<Vec<uuid::Uuid>> {
    ids.iter().enumerate().map(|(i, id)| decode(&format!("{field}[{i}]"), id, NodeKind::Priority)).collect()
}

/// What a priority rests on.
#[derive(SimpleObject)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub summary: String,
    pub url: Option<String>,
}

#[derive(InputObject)]
pub struct EvidenceInput {
    pub kind: EvidenceKind,
    pub summary: String,
    pub url: Option<String>,
}

impl From<EvidenceInput> for priorities::Evidence {
    fn from(e: EvidenceInput) -> Self {
        Self { kind: e.kind.into(), summary: e.summary, url: e.url }
    }
}

#[derive(InputObject)]
pub struct CreatePriorityInput {
    pub partnership_id: ID,
    /// "2026-27".
    pub financial_year: String,
    pub title: String,
    #[graphql(default)]
    pub description: String,
    /// The day it was agreed (not in the future).
    pub agreed_on: NaiveDate,
    /// The workshop that agreed it, e.g. "Annual workshop, Felixstowe, March 2026".
    pub workshop: String,
    #[graphql(default)]
    pub evidence: Vec<EvidenceInput>,
}

/// Fields left out stay as they are; `evidence` is replaced whole.
#[derive(InputObject)]
pub struct UpdatePriorityInput {
    pub id: ID,
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: Option<PriorityStatus>,
    pub evidence: Option<Vec<EvidenceInput>>,
}

/// Someone's seat on a partnership.
pub struct PartnershipMember(pub entity::partnership_member::Model);

#[Object]
impl PartnershipMember {
    async fn id(&self) -> ID {
        encode(NodeKind::PartnershipMember, self.0.id)
    }
    /// The name they sit under: public, as the seat is.
    async fn display_name(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let user = loaders(ctx)?.users.load_one(self.0.user_id).await?;
        Ok(user.map(|u| u.display_name).unwrap_or_default())
    }
    /// Their account: only for them and platform admins (the seat shows their name, not who they are on Pitch In).
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<User> {
        if !domain::access::may_see_account(viewer(ctx)?, self.0.user_id) {
            return Err(
                AppError::forbidden("only this person and platform admins see the account behind a seat").into()
            );
        }
        let user = loaders(ctx)?.users.load_one(self.0.user_id).await?;
        user.map(User::new).ok_or_else(|| AppError::not_found("user")).map_err(ApiError::from)
    }
    async fn role(&self) -> Option<PartnershipRole> {
        PartnershipRole::from_db(&self.0.role)
    }
    /// The ward a ward member represents.
    async fn ward(&self, ctx: &Context<'_>) -> ApiResult<Option<Ward>> {
        let Some(ward) = self.0.ward_id else { return Ok(None) };
        Ok(loaders(ctx)?.wards.load_one(ward).await?.map(Ward))
    }
    /// The organisation they represent, if any.
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
        let Some(organisation) = self.0.organisation_id else { return Ok(None) };
        Ok(loaders(ctx)?.organisations.load_one(organisation).await?.map(Organisation))
    }
    async fn votes(&self) -> i32 {
        self.0.votes
    }
    async fn joined_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Seats of one role.
#[derive(SimpleObject)]
pub struct RoleSeats {
    pub role: PartnershipRole,
    pub seats: i32,
    pub votes: i32,
}

/// How a partnership's seats are shared.
#[derive(SimpleObject)]
pub struct SeatBalance {
    pub seats: i32,
    /// Ward members and county councillors.
    pub elected_seats: i32,
    pub votes: i32,
    pub elected_votes: i32,
    /// Every role, with 0 where no one holds it.
    pub by_role: Vec<RoleSeats>,
    /// Said when elected members hold more than half of the seats or of the votes.
    pub warning: Option<String>,
}

#[derive(InputObject)]
pub struct SetPartnershipCouncilInput {
    pub partnership_id: ID,
    pub council_id: ID,
}

#[derive(InputObject)]
pub struct AddPartnershipMemberInput {
    pub partnership_id: ID,
    /// The address the person registered with.
    pub email: String,
    pub role: PartnershipRole,
    /// Required for a ward member: one of the partnership's wards.
    pub ward_id: Option<ID>,
    /// The organisation they represent, if any.
    pub organisation_id: Option<ID>,
    /// Default 1, at most 10.
    pub votes: Option<i32>,
}

#[derive(InputObject)]
pub struct RemovePartnershipMemberInput {
    pub member_id: ID,
}

#[derive(SimpleObject)]
pub struct PartnershipMemberPayload {
    pub member: PartnershipMember,
    pub partnership: CommunityPartnership,
}

#[derive(SimpleObject)]
pub struct RemovePartnershipMemberPayload {
    pub removed_id: ID,
    pub partnership: CommunityPartnership,
}

#[derive(Default)]
pub struct PartnershipQuery;

#[Object]
impl PartnershipQuery {
    /// One community partnership, by its organisation's `id` or `slug`; null for an organisation of another kind.
    async fn community_partnership(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> ApiResult<Option<CommunityPartnership>> {
        let db = db(ctx)?;
        let id = match (id, slug) {
            (Some(id), None) => decode("id", &id, NodeKind::Organisation)?,
            (None, Some(slug)) => match domain::organisations::service::find_by_slug(db, &slug).await? {
                Some(o) => o.id,
                None => return Ok(None),
            },
            _ => return Err(AppError::bad_input("id", "pass exactly one of id and slug").into()),
        };
        match service::get(db, id).await {
            Ok(partnership) => Ok(Some(CommunityPartnership(partnership))),
            Err(AppError::NotFound(_)) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// A council's community partnerships, by name.
    async fn community_partnerships(&self, ctx: &Context<'_>, council_id: ID) -> ApiResult<Vec<CommunityPartnership>> {
        let council = decode("councilId", &council_id, NodeKind::Organisation)?;
        Ok(service::of_council(db(ctx)?, council).await?.into_iter().map(CommunityPartnership).collect())
    }
}

#[derive(Default)]
pub struct PartnershipMutation;

#[Object]
impl PartnershipMutation {
    /// Ties a community partnership to the council it serves. For someone who manages both (owners and admins).
    async fn set_partnership_council(
        &self,
        ctx: &Context<'_>,
        input: SetPartnershipCouncilInput,
    ) -> ApiResult<CommunityPartnership> {
        let actor = viewer(ctx)?.require_user()?;
        let partnership = decode("input.partnershipId", &input.partnership_id, NodeKind::Organisation)?;
        let council = decode("input.councilId", &input.council_id, NodeKind::Organisation)?;
        Ok(CommunityPartnership(service::set_council(db(ctx)?, &actor, partnership, council).await?))
    }

    /// Records a priority the partnership agreed. For the partnership's owners and admins, and its council's.
    async fn create_priority(&self, ctx: &Context<'_>, input: CreatePriorityInput) -> ApiResult<Priority> {
        let actor = viewer(ctx)?.require_user()?;
        let new = priorities::NewPriority {
            partnership_id: decode("input.partnershipId", &input.partnership_id, NodeKind::Organisation)?,
            financial_year: FinancialYear::parse("input.financialYear", &input.financial_year)?,
            title: input.title,
            description: input.description,
            agreed_on: input.agreed_on,
            workshop: input.workshop,
            evidence: input.evidence.into_iter().map(Into::into).collect(),
        };
        Ok(Priority(priorities::create(db(ctx)?, &actor, new).await?))
    }

    /// Changes a priority (its words, evidence or status). For the same people.
    async fn update_priority(&self, ctx: &Context<'_>, input: UpdatePriorityInput) -> ApiResult<Priority> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("input.id", &input.id, NodeKind::Priority)?;
        let patch = priorities::PriorityPatch {
            title: input.title,
            description: input.description,
            status: input.status.map(Into::into),
            evidence: input.evidence.map(|e| e.into_iter().map(Into::into).collect()),
        };
        Ok(Priority(priorities::update(db(ctx)?, &actor, id, patch).await?))
    }

    /// Seats someone on a partnership. For the partnership's owners and admins, and its council's.
    async fn add_partnership_member(
        &self,
        ctx: &Context<'_>,
        input: AddPartnershipMemberInput,
    ) -> ApiResult<PartnershipMemberPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = |field: &str, id: Option<ID>, kind| id.map(|id| decode(field, &id, kind)).transpose();
        let new = NewPartnershipMember {
            partnership_id: decode("input.partnershipId", &input.partnership_id, NodeKind::Organisation)?,
            email: input.email,
            role: input.role.into(),
            ward_id: id("input.wardId", input.ward_id, NodeKind::Ward)?,
            organisation_id: id("input.organisationId", input.organisation_id, NodeKind::Organisation)?,
            votes: input.votes,
        };
        let db = db(ctx)?;
        let member = service::add_member(db, &actor, new).await?;
        let partnership = service::get(db, member.partnership_id).await?;
        Ok(PartnershipMemberPayload {
            member: PartnershipMember(member),
            partnership: CommunityPartnership(partnership),
        })
    }

    /// Takes someone's seat away. For the partnership's owners and admins, and its council's.
    async fn remove_partnership_member(
        &self,
        ctx: &Context<'_>,
        input: RemovePartnershipMemberInput,
    ) -> ApiResult<RemovePartnershipMemberPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("input.memberId", &input.member_id, NodeKind::PartnershipMember)?;
        let (_, partnership) = service::remove_member(db(ctx)?, &actor, id).await?;
        Ok(RemovePartnershipMemberPayload {
            removed_id: input.member_id,
            partnership: CommunityPartnership(partnership),
        })
    }
}

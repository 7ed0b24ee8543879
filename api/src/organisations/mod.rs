//! Organisations and their members: charities, community groups, associations, councils, businesses.
pub use domain::organisations::service;

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::loaders::{ChildFilter, ChildRelation, child_connection};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::{Location, LocationInput, NearInput, db, loaders, parse_location, patch, viewer};
use crate::needs::{NeedConnection, NeedStatus};
use crate::offers::{Offer, OfferConnection, OfferStatus};
use crate::users::User;
use domain::organisations::OrganisationId;
use domain::store::rows::Read;
use domain::values::{CharityNumber, CompanyNumber, LocalAuthorityCode, Postcode};

crate::graphql_enum! {
    pub enum OrganisationKind as domain::organisations::OrganisationKind {
        Charity => "CHARITY",
        SocialEnterprise => "SOCIAL_ENTERPRISE",
        CommunityGroup => "COMMUNITY_GROUP",
        PartyAssociation => "PARTY_ASSOCIATION",
        Council => "COUNCIL",
        CommunityPartnership => "COMMUNITY_PARTNERSHIP",
        Business => "BUSINESS",
        FaithGroup => "FAITH_GROUP",
        Other => "OTHER",
    }
}

crate::graphql_enum! {
    /// A member's role: owners manage everything, admins manage the organisation and its members,
    /// coordinators run its needs, offers and applications.
    pub enum MemberRole as domain::organisations::MemberRole {
        Owner => "OWNER",
        Admin => "ADMIN",
        Coordinator => "COORDINATOR",
    }
}

crate::graphql_enum! {
    pub enum OrganisationOrder as domain::organisations::OrganisationOrder {
        /// Alphabetical by name.
        Name => "NAME",
        /// Most recently created first.
        Newest => "NEWEST",
    }
}

pub struct Organisation(pub Read<entity::organisation::Model>);

pub type OrganisationConnection = ListConnection<Organisation>;
pub type MembershipConnection = ListConnection<Membership>;

impl From<entity::organisation::Model> for Organisation {
    fn from(organisation: entity::organisation::Model) -> Self {
        Self(Read::whole(organisation))
    }
}

#[Object]
impl Organisation {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Organisation, *self.0.id())
    }
    /// Stable, URL-friendly name, unique across Pitch In.
    async fn slug(&self) -> ApiResult<&str> {
        Ok(self.0.slug()?)
    }
    async fn name(&self) -> ApiResult<&str> {
        Ok(self.0.name()?)
    }
    async fn kind(&self) -> ApiResult<OrganisationKind> {
        Ok(OrganisationKind::from_db(self.0.kind()?).unwrap_or(OrganisationKind::Other))
    }
    async fn description(&self) -> ApiResult<&str> {
        Ok(self.0.description()?)
    }
    async fn website(&self) -> ApiResult<Option<&str>> {
        Ok(self.0.website()?.as_deref())
    }
    /// The organisation's public contact address.
    async fn contact_email(&self) -> ApiResult<Option<&str>> {
        Ok(self.0.contact_email()?.as_deref())
    }
    async fn postcode(&self) -> ApiResult<Option<&str>> {
        Ok(self.0.postcode()?.as_deref())
    }
    async fn location(&self) -> ApiResult<Option<Location>> {
        Ok(Location::from_stored(*self.0.lat()?, *self.0.lng()?))
    }
    /// Checked by the Pitch In team.
    async fn verified(&self) -> ApiResult<bool> {
        Ok(*self.0.verified()?)
    }
    /// Its registered charity number, as the register prints it (`1234567`, `SC012345`, `NIC100001`).
    /// A council's code in the Local Authorities in England register; its grants' funder is `GB-LAE-` and this.
    async fn local_authority_code(&self) -> ApiResult<Option<&str>> {
        Ok(self.0.local_authority_code()?.as_deref())
    }
    async fn charity_number(&self) -> ApiResult<Option<&str>> {
        Ok(self.0.charity_number()?.as_deref())
    }
    /// Its Companies House number (eight characters).
    async fn company_number(&self) -> ApiResult<Option<&str>> {
        Ok(self.0.company_number()?.as_deref())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        *self.0.created_at()
    }
    async fn updated_at(&self) -> ApiResult<DateTime<Utc>> {
        Ok(*self.0.updated_at()?)
    }

    /// The caller's role here, or null if they are not a member.
    async fn viewer_role(&self, ctx: &Context<'_>) -> ApiResult<Option<MemberRole>> {
        Ok(viewer(ctx)?.memberships(db(ctx)?).await?.get(self.0.id()).copied().map(Into::into))
    }

    /// This organisation's needs, newest first. Drafts only for its members.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, last, child_complexity)")]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        status: Option<NeedStatus>,
    ) -> ApiResult<NeedConnection> {
        crate::needs::child_needs(
            ctx,
            ChildRelation::OrganisationNeeds,
            *self.0.id(),
            *self.0.id(),
            status,
            Page::parse(first, after, last, before)?,
        )
        .await
    }

    /// This organisation's projects, newest first.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<crate::projects::ProjectConnection> {
        crate::projects::of_organisation(ctx, *self.0.id(), first, after).await
    }

    /// Offers made by this organisation, newest first. Paused and closed ones only for its members.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, last, child_complexity)")]
    async fn offers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<OfferConnection> {
        let member = viewer(ctx)?.is_member_of(db(ctx)?, *self.0.id()).await?;
        let statuses = if member { None } else { Some(vec![OfferStatus::Active.as_db().to_owned()]) };
        let filter = ChildFilter { statuses };
        let page = Page::parse(first, after, last, before)?;
        child_connection(
            &loaders(ctx)?.organisation_offers,
            ChildRelation::OrganisationOffers,
            *self.0.id(),
            filter,
            page,
            false,
            |o| (Offer(o), EmptyFields),
        )
        .await
        .map_err(ApiError::from)
    }

    /// What its volunteers gave between two days (inclusive, at most five years apart): approved hours, active
    /// volunteers, sessions held, and hours by month, need and project. Public over four weeks or more (totals, not
    /// one volunteer's afternoon); shorter spans are for its members.
    async fn impact(&self, ctx: &Context<'_>, from: NaiveDate, to: NaiveDate) -> ApiResult<crate::hours::Impact> {
        crate::hours::impact(ctx, *self.0.id(), from, to).await
    }

    /// Whom it invited between two days (inclusive, at most five years apart) and how evenly, and how many
    /// volunteers matching finds for its open needs it has never asked. Only for its members and platform admins.
    async fn outreach(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ApiResult<crate::matching::Outreach> {
        crate::matching::outreach(ctx, *self.0.id(), from, to).await
    }

    /// Its volunteers' hours, newest first (at most `first`, up to 100); `status: PENDING` is the approval queue.
    /// Only for its members and platform admins.
    async fn hours_entries(
        &self,
        ctx: &Context<'_>,
        status: Option<crate::hours::HoursStatus>,
        #[graphql(default = 20)] first: i32,
    ) -> ApiResult<Vec<crate::hours::HoursEntry>> {
        crate::hours::of_organisation(ctx, *self.0.id(), status, first).await
    }

    /// The people who run this organisation. Only for its members and platform admins.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<MembershipConnection> {
        if !domain::access::may_see_organisation_private(viewer(ctx)?.is_member_of(db(ctx)?, *self.0.id()).await?) {
            return Err(AppError::forbidden("only members of this organisation can see its members").into());
        }
        let page = Page::parse(first, after, last, before)?;
        child_connection(
            &loaders(ctx)?.organisation_members,
            ChildRelation::OrganisationMembers,
            *self.0.id(),
            ChildFilter::default(),
            page,
            false,
            |m| (Membership(m), EmptyFields),
        )
        .await
        .map_err(ApiError::from)
    }
}

/// A user's role in an organisation.
pub struct Membership(pub entity::membership::Model);

#[Object]
impl Membership {
    async fn role(&self) -> MemberRole {
        MemberRole::from_db(&self.0.role).unwrap_or(MemberRole::Coordinator)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let user = loaders(ctx)?.users.load_one(self.0.user_id).await?;
        user.map(User::new).ok_or_else(|| AppError::not_found("user")).map_err(ApiError::from)
    }
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        let org = loaders(ctx)?.organisations.load_one(self.0.organisation_id).await?;
        org.map(Organisation).ok_or_else(|| AppError::not_found("organisation")).map_err(ApiError::from)
    }
}

#[derive(InputObject)]
pub struct CreateOrganisationInput {
    pub name: String,
    pub kind: OrganisationKind,
    #[graphql(default)]
    pub description: String,
    pub website: Option<String>,
    pub contact_email: Option<String>,
    pub postcode: Option<String>,
    pub location: Option<LocationInput>,
    /// A registered charity number: 6 or 7 digits (England and Wales), SC and 6 digits (Scotland), NIC and 6
    /// digits (Northern Ireland).
    pub charity_number: Option<String>,
    /// A Companies House number: 8 digits, or 2 letters and 6 digits.
    pub company_number: Option<String>,
    /// A council's code in the Local Authorities in England register (3 or 4 letters), for open data.
    pub local_authority_code: Option<String>,
}

/// Fields left out are unchanged; `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateOrganisationInput {
    pub organisation_id: ID,
    pub name: Option<String>,
    pub kind: Option<OrganisationKind>,
    pub description: Option<String>,
    pub website: MaybeUndefined<String>,
    pub contact_email: MaybeUndefined<String>,
    pub postcode: MaybeUndefined<String>,
    pub location: MaybeUndefined<LocationInput>,
    /// Platform admins only.
    pub verified: Option<bool>,
    pub charity_number: MaybeUndefined<String>,
    pub company_number: MaybeUndefined<String>,
    pub local_authority_code: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct AddOrganisationMemberInput {
    pub organisation_id: ID,
    /// The email address the person registered with.
    pub email: String,
    pub role: MemberRole,
}

#[derive(InputObject, Default)]
pub struct OrganisationFilter {
    pub kinds: Option<Vec<OrganisationKind>>,
    /// Words to find in the name or description.
    pub text: Option<String>,
    pub verified: Option<bool>,
    pub near: Option<NearInput>,
}

impl CreateOrganisationInput {
    fn parse(self) -> AppResult<service::NewOrganisation> {
        Ok(service::NewOrganisation {
            name: self.name,
            kind: self.kind.into(),
            description: self.description,
            website: self.website,
            contact_email: self.contact_email,
            postcode: Postcode::parse_optional("input.postcode", self.postcode.as_deref())?,
            location: parse_location(self.location.as_ref())?,
            charity_number: self
                .charity_number
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map(|n| CharityNumber::parse("input.charityNumber", n))
                .transpose()?,
            company_number: self
                .company_number
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map(|n| CompanyNumber::parse("input.companyNumber", n))
                .transpose()?,
            local_authority_code: self
                .local_authority_code
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map(|n| LocalAuthorityCode::parse("input.localAuthorityCode", n))
                .transpose()?,
        })
    }
}

impl UpdateOrganisationInput {
    fn parse(self) -> AppResult<(OrganisationId, service::OrganisationPatch)> {
        let id = OrganisationId(decode("input.organisationId", &self.organisation_id, NodeKind::Organisation)?);
        Ok((
            id,
            service::OrganisationPatch {
                name: self.name,
                kind: self.kind.map(Into::into),
                description: self.description,
                website: patch(self.website),
                contact_email: patch(self.contact_email),
                postcode: patch(self.postcode)
                    .try_map(|p| Postcode::parse_optional("input.postcode", Some(&p)))?
                    .flatten(),
                location: patch(self.location).try_map(|l| l.parse("input.location"))?,
                verified: self.verified,
                // A blank number clears it, as on creation.
                charity_number: patch(self.charity_number)
                    .try_map(|n| {
                        (!n.trim().is_empty()).then(|| CharityNumber::parse("input.charityNumber", &n)).transpose()
                    })?
                    .flatten(),
                company_number: patch(self.company_number)
                    .try_map(|n| {
                        (!n.trim().is_empty()).then(|| CompanyNumber::parse("input.companyNumber", &n)).transpose()
                    })?
                    .flatten(),
                local_authority_code: patch(self.local_authority_code)
                    .try_map(|n| {
                        (!n.trim().is_empty())
                            .then(|| LocalAuthorityCode::parse("input.localAuthorityCode", &n))
                            .transpose()
                    })?
                    .flatten(),
            },
        ))
    }
}

impl OrganisationFilter {
    fn parse(self) -> AppResult<service::OrganisationFilter> {
        Ok(service::OrganisationFilter {
            kinds: self.kinds.map(|k| k.into_iter().map(Into::into).collect()),
            text: self.text,
            verified: self.verified,
            near: self.near.map(|n| n.parse("filter.near")).transpose()?,
        })
    }
}

#[derive(SimpleObject)]
pub struct OrganisationPayload {
    pub organisation: Organisation,
}

#[derive(SimpleObject)]
pub struct AddOrganisationMemberPayload {
    pub membership: Membership,
    pub organisation: Organisation,
}

#[derive(Default)]
pub struct OrganisationQuery;

#[Object]
impl OrganisationQuery {
    /// One organisation, by `id` or by `slug`.
    async fn organisation(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> ApiResult<Option<Organisation>> {
        let org = match (id, slug) {
            (Some(id), None) => {
                let id = crate::kit::ids::decode("id", &id, NodeKind::Organisation)?;
                loaders(ctx)?.organisations.load_one(id).await?
            }
            (None, Some(slug)) => service::find_by_slug(db(ctx)?, &slug).await?.map(Read::whole),
            _ => return Err(AppError::bad_input("id", "pass exactly one of id and slug").into()),
        };
        Ok(org.map(Organisation))
    }

    #[graphql(complexity = "crate::kit::limits::page_cost(first, last, child_complexity)")]
    async fn organisations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OrganisationFilter>,
        #[graphql(default_with = "Some(OrganisationOrder::Name)")] order_by: Option<OrganisationOrder>,
    ) -> ApiResult<OrganisationConnection> {
        let page = Page::parse(first, after, last, before)?;
        let filter = filter.unwrap_or_default().parse()?;
        let order = order_by.unwrap_or(OrganisationOrder::Name).into();
        let (rows, count) = service::list(db(ctx)?, filter, order, &page).await?;
        Ok(connection(rows, TotalCount::of(count), |(cursor, o)| (cursor, Organisation::from(o), EmptyFields)))
    }
}

#[derive(Default)]
pub struct OrganisationMutation;

#[Object]
impl OrganisationMutation {
    /// Creates an organisation; the caller becomes its OWNER.
    async fn create_organisation(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganisationInput,
    ) -> ApiResult<OrganisationPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let organisation = service::create(db(ctx)?, &actor, input.parse()?).await?;
        Ok(OrganisationPayload { organisation: Organisation::from(organisation) })
    }

    async fn update_organisation(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganisationInput,
    ) -> ApiResult<OrganisationPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (id, patch) = input.parse()?;
        let organisation = service::update(db(ctx)?, &actor, id, patch).await?;
        Ok(OrganisationPayload { organisation: Organisation::from(organisation) })
    }

    async fn add_organisation_member(
        &self,
        ctx: &Context<'_>,
        input: AddOrganisationMemberInput,
    ) -> ApiResult<AddOrganisationMemberPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = OrganisationId(decode("input.organisationId", &input.organisation_id, NodeKind::Organisation)?);
        let member = service::NewMember { email: input.email, role: input.role.into() };
        let (membership, organisation) = service::add_member(db(ctx)?, &actor, id, member).await?;
        Ok(AddOrganisationMemberPayload {
            membership: Membership(membership),
            organisation: Organisation::from(organisation),
        })
    }
}

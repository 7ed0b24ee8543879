//! Offers: time, skills, space, introductions or equipment, from a volunteer or an organisation.
//!
//! A volunteer's offer never shows where they live: its location is stored rounded to about a kilometre
//! (so no search can narrow it down further), and others see only its postcode district.
pub use domain::offers::service;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::access::{self, OfferOwner};

use crate::error::{ApiResult, AppResult};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::{Location, LocationInput, NearInput, db, loaders, parse_location, patch, viewer};
use crate::needs::{NeedCategory, TimeWindowInput, TimeWindowView};
use crate::organisations::Organisation;
use crate::values::{Postcode, TimeWindow};
use crate::volunteers::VolunteerProfile;
use domain::organisations::OrganisationId;

crate::graphql_enum! {
    pub enum OfferKind as domain::offers::OfferKind {
        Time => "TIME",
        Skills => "SKILLS",
        /// Spare rooms or office space.
        Space => "SPACE",
        /// Introductions to local businesses, donors or funders.
        Introduction => "INTRODUCTION",
        Equipment => "EQUIPMENT",
        Other => "OTHER",
    }
}

crate::graphql_enum! {
    pub enum OfferStatus as domain::offers::OfferStatus {
        Active => "ACTIVE",
        Paused => "PAUSED",
        Closed => "CLOSED",
    }
}

pub struct Offer(pub entity::offer::Model);

pub type OfferConnection = ListConnection<Offer>;

/// Whether the caller made this offer (or runs the organisation that did), or is a platform admin.
/// The facts `domain::access::owns_offer` needs are read only for a signed-in caller who is not a platform admin.
pub async fn is_owner(ctx: &Context<'_>, offer: &entity::offer::Model) -> AppResult<bool> {
    let viewer = viewer(ctx)?;
    if viewer.user.is_none() || viewer.is_admin() {
        return Ok(access::owns_offer(viewer, OfferOwner::Nobody, false));
    }
    let (owner, member) = match (offer.organisation_id, offer.volunteer_id) {
        (Some(org), _) => (OfferOwner::Organisation(org), viewer.is_member_of(db(ctx)?, org).await?),
        (None, Some(v)) => match loaders(ctx)?.volunteers.load_one(v).await? {
            Some(p) => (OfferOwner::Volunteer { user_id: *p.user_id() }, false),
            None => (OfferOwner::Nobody, false),
        },
        (None, None) => (OfferOwner::Nobody, false),
    };
    Ok(access::owns_offer(viewer, owner, member))
}

/// Active offers are public; paused and closed ones only for their owners.
pub async fn can_see(ctx: &Context<'_>, offer: &entity::offer::Model) -> AppResult<bool> {
    let status = domain::offers::OfferStatus::from_db(&offer.status).unwrap_or(domain::offers::OfferStatus::Closed);
    Ok(access::may_see_offer(status, false) || access::may_see_offer(status, is_owner(ctx, offer).await?))
}

#[Object]
impl Offer {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Offer, self.0.id)
    }
    async fn kind(&self) -> OfferKind {
        OfferKind::from_db(&self.0.kind).unwrap_or(OfferKind::Other)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// The kind of need this offer suits best, if the offerer said.
    async fn category(&self) -> Option<NeedCategory> {
        self.0.category.as_deref().and_then(NeedCategory::from_db)
    }
    async fn status(&self) -> OfferStatus {
        OfferStatus::from_db(&self.0.status).unwrap_or(OfferStatus::Closed)
    }
    async fn remote(&self) -> bool {
        self.0.remote
    }
    async fn availability(&self) -> Vec<TimeWindowView> {
        TimeWindow::from_json(&self.0.availability).into_iter().map(Into::into).collect()
    }
    /// For a volunteer's offer, only the postcode district (e.g. `IP12`) unless you made it.
    async fn postcode(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let Some(postcode) = &self.0.postcode else { return Ok(None) };
        if self.0.volunteer_id.is_some() && !is_owner(ctx, &self.0).await? {
            return Ok(Some(Postcode::district(postcode).to_owned()));
        }
        Ok(Some(postcode.clone()))
    }
    /// For a volunteer's offer, only to about 1 km (it is stored that way).
    async fn location(&self) -> Option<Location> {
        Location::from_stored(self.0.lat, self.0.lng)
    }
    /// The organisation making the offer, if it is an organisation's.
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
        let Some(id) = self.0.organisation_id else { return Ok(None) };
        Ok(loaders(ctx)?.organisations.load_one(id).await?.map(Organisation))
    }
    /// The volunteer making the offer, if it is a volunteer's.
    async fn volunteer(&self, ctx: &Context<'_>) -> ApiResult<Option<VolunteerProfile>> {
        let Some(id) = self.0.volunteer_id else { return Ok(None) };
        Ok(loaders(ctx)?.volunteers.load_one(id).await?.map(|p| VolunteerProfile(std::sync::Arc::new(p))))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct CreateOfferInput {
    /// Offer on behalf of this organisation (you must be a member); without it, the offer is yours as a volunteer.
    pub organisation_id: Option<ID>,
    pub kind: OfferKind,
    pub title: String,
    #[graphql(default)]
    pub description: String,
    pub category: Option<NeedCategory>,
    pub postcode: Option<String>,
    pub location: Option<LocationInput>,
    #[graphql(default)]
    pub remote: bool,
    #[graphql(default)]
    pub availability: Vec<TimeWindowInput>,
}

/// Fields left out are unchanged; `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateOfferInput {
    pub offer_id: ID,
    pub kind: Option<OfferKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: MaybeUndefined<NeedCategory>,
    pub status: Option<OfferStatus>,
    pub postcode: MaybeUndefined<String>,
    pub location: MaybeUndefined<LocationInput>,
    pub remote: Option<bool>,
    pub availability: Option<Vec<TimeWindowInput>>,
}

#[derive(InputObject, Default)]
pub struct OfferFilter {
    pub kinds: Option<Vec<OfferKind>>,
    /// Without it, ACTIVE offers. PAUSED and CLOSED list only your own.
    pub status: Option<OfferStatus>,
    pub organisation_id: Option<ID>,
    pub category: Option<NeedCategory>,
    pub text: Option<String>,
    pub near: Option<NearInput>,
}

fn organisation_id(field: &str, id: Option<ID>) -> AppResult<Option<OrganisationId>> {
    id.map(|id| decode(field, &id, NodeKind::Organisation).map(OrganisationId)).transpose()
}

impl CreateOfferInput {
    fn parse(self) -> AppResult<service::NewOffer> {
        Ok(service::NewOffer {
            organisation_id: organisation_id("input.organisationId", self.organisation_id)?,
            kind: self.kind.into(),
            title: self.title,
            description: self.description,
            category: self.category.map(Into::into),
            postcode: Postcode::parse_optional("input.postcode", self.postcode.as_deref())?,
            location: parse_location(self.location.as_ref())?,
            remote: self.remote,
            availability: TimeWindowInput::parse_all("input.availability", &self.availability)?,
        })
    }
}

impl UpdateOfferInput {
    fn parse(self) -> AppResult<(service::OfferId, service::OfferPatch)> {
        let id = service::OfferId(decode("input.offerId", &self.offer_id, NodeKind::Offer)?);
        let availability =
            self.availability.map(|w| TimeWindowInput::parse_all("input.availability", &w)).transpose()?;
        Ok((
            id,
            service::OfferPatch {
                kind: self.kind.map(Into::into),
                title: self.title,
                description: self.description,
                category: patch(self.category).map(Into::into),
                status: self.status.map(Into::into),
                postcode: patch(self.postcode)
                    .try_map(|p| Postcode::parse_optional("input.postcode", Some(&p)))?
                    .flatten(),
                location: patch(self.location).try_map(|l| l.parse("input.location"))?,
                remote: self.remote,
                availability,
            },
        ))
    }
}

impl OfferFilter {
    fn parse(self) -> AppResult<service::OfferFilter> {
        Ok(service::OfferFilter {
            kinds: self.kinds.map(|k| k.into_iter().map(Into::into).collect()),
            status: self.status.map(Into::into),
            organisation_id: organisation_id("filter.organisationId", self.organisation_id)?,
            category: self.category.map(Into::into),
            text: self.text,
            near: self.near.map(|n| n.parse("filter.near")).transpose()?,
        })
    }
}

#[derive(SimpleObject)]
pub struct OfferPayload {
    pub offer: Offer,
}

#[derive(Default)]
pub struct OfferQuery;

#[Object]
impl OfferQuery {
    /// Offers, newest first.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, last, child_complexity)")]
    async fn offers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OfferFilter>,
    ) -> ApiResult<OfferConnection> {
        let page = Page::parse(first, after, last, before)?;
        let (rows, count) = service::list(db(ctx)?, viewer(ctx)?, filter.unwrap_or_default().parse()?, &page).await?;
        Ok(connection(rows, TotalCount::of(count), |(cursor, o)| {
            (cursor, Offer(o), async_graphql::connection::EmptyFields)
        }))
    }
}

#[derive(Default)]
pub struct OfferMutation;

#[Object]
impl OfferMutation {
    async fn create_offer(&self, ctx: &Context<'_>, input: CreateOfferInput) -> ApiResult<OfferPayload> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(OfferPayload { offer: Offer(service::create(db(ctx)?, &actor, input.parse()?).await?) })
    }

    async fn update_offer(&self, ctx: &Context<'_>, input: UpdateOfferInput) -> ApiResult<OfferPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let (id, patch) = input.parse()?;
        Ok(OfferPayload { offer: Offer(service::update(db(ctx)?, &actor, id, patch).await?) })
    }
}

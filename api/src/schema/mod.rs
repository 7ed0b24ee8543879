//! The schema root: the `Query` and `Mutation` roots merged from every area, the `Node` interface over the areas'
//! objects, which objects resolve eagerly, and which fields read which columns. The one place that names every
//! area (the kit below it names none).
pub mod shown;

use std::sync::Arc;

use async_graphql::{Context, ID, Interface, MergedObject, MergedSubscription, Object, Schema};
use sea_orm::DatabaseConnection;

use crate::api_keys::{ApiKeyMutation, ApiKeyQuery};
use crate::applications::{Application, ApplicationMutation, ApplicationSubscription};
use crate::audit::AuditQuery;
use crate::auth::token::TokenKeys;
use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::funding::campaigns::{Campaign, CampaignMutation, CampaignQuery};
use crate::funding::insight::InsightQuery;
use crate::funding::{Bid, Fund, FundingMutation, FundingQuery};
use crate::hours::HoursMutation;
use crate::kit::ids::{self, NodeKind};
use crate::kit::{db, limits, loaders, viewer};
use crate::matching::{MatchingMutation, MatchingQuery, MatchingSubscription};
use crate::needs::sessions::SessionMutation;
use crate::needs::{Need, NeedMutation, NeedQuery, NeedSubscription};
use crate::notifications::{NotificationMutation, NotificationQuery};
use crate::offers::{Offer, OfferMutation, OfferQuery};
use crate::organisations::{Organisation, OrganisationMutation, OrganisationQuery};
use crate::partnerships::{PartnershipMutation, PartnershipQuery, Priority};
use crate::privacy::{PrivacyMutation, PrivacyQuery};
use crate::projects::{Project, ProjectMutation, ProjectQuery};
use crate::users::{SignInAttempts, User, UserMutation, UserQuery};
use crate::volunteers::{VolunteerMutation, VolunteerProfile};
use crate::wards::{Ward, WardQuery};
use crate::webhooks::{WebhookMutation, WebhookQuery};
use domain::matching::index::MatchingIndex;
use domain::store::Reads;

#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    UserQuery,
    OrganisationQuery,
    NeedQuery,
    OfferQuery,
    MatchingQuery,
    PrivacyQuery,
    ApiKeyQuery,
    AuditQuery,
    WebhookQuery,
    WardQuery,
    PartnershipQuery,
    ProjectQuery,
    FundingQuery,
    CampaignQuery,
    InsightQuery,
    NotificationQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    UserMutation,
    OrganisationMutation,
    NeedMutation,
    VolunteerMutation,
    OfferMutation,
    ApplicationMutation,
    MatchingMutation,
    PrivacyMutation,
    ApiKeyMutation,
    WebhookMutation,
    PartnershipMutation,
    ProjectMutation,
    FundingMutation,
    CampaignMutation,
    SessionMutation,
    HoursMutation,
    NotificationMutation,
);

/// Live updates, over `/graphql/ws` (`http::live`).
#[derive(MergedSubscription, Default)]
pub struct Subscription(NeedSubscription, ApplicationSubscription, MatchingSubscription);

pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// What the schema answers besides queries: introspection and "did you mean" suggestions (see `Settings`).
#[derive(Clone, Copy, Debug)]
pub struct SchemaOptions {
    pub introspection: bool,
    pub suggestions: bool,
    /// Where webhook endpoints may point (`Settings::webhook_targets`).
    pub webhook_targets: domain::webhooks::targets::TargetPolicy,
    /// How long an offer from a waitlist stays open (`Settings::waitlist_offer`).
    pub waitlist_offer: chrono::TimeDelta,
    /// How long before a session check-in opens (`Settings::check_in_early`).
    pub check_in_early: chrono::TimeDelta,
}

pub fn build_schema(
    live: Arc<domain::live::Hub>,
    db: DatabaseConnection,
    reads: Reads,
    keys: Arc<TokenKeys>,
    matching: Arc<MatchingIndex>,
    sign_ins: Arc<SignInAttempts>,
    public_url: Arc<str>,
    partners: Arc<domain::api_keys::stats::Tally>,
    options: SchemaOptions,
) -> AppSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), Subscription::default())
        .data(live)
        .data(db)
        .data(reads)
        .data(keys)
        .data(matching)
        .data(sign_ins)
        .data(crate::kit::PublicUrl(public_url))
        .data(partners)
        .data(options.webhook_targets)
        .data(crate::kit::WaitlistOffer(options.waitlist_offer))
        .data(crate::kit::CheckInEarly(options.check_in_early))
        // The shape of a document is checked before it gets here (`limits::check_shape`). Cost is checked in
        // validation; a document over it is measured again by `cost_schema`, which says by how much.
        // No extensions at all: with one installed, every field resolved goes through the extension chain (and
        // the fields of `eager::Eager` objects would not). clippy.toml refuses `SchemaBuilder::extension` for that.
        // Each request has its span (`http`), and service functions theirs.
        .limit_complexity(limits::MAX_COST)
        // Directive overloading (CVE-2024-47614): the same directive repeated on a field.
        .limit_directives(20);
    if !options.introspection {
        builder = builder.disable_introspection();
    }
    if !options.suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The same types, used only to state the cost of a document the main schema refused as too costly: its one
/// extension measures each document and refuses it at validation, so nothing given to it runs.
pub fn cost_schema(options: SchemaOptions) -> AppSchema {
    // The same options as the main schema: validation errors it reports alongside must not offer suggestions
    // where the main schema would not.
    #[expect(
        clippy::disallowed_methods,
        reason = "eager objects bypass extensions, but this schema refuses every document at validation: nothing resolves"
    )]
    let mut builder =
        Schema::build(Query::default(), Mutation::default(), Subscription::default()).extension(limits::CostMeasure);
    if !options.introspection {
        builder = builder.disable_introspection();
    }
    if !options.suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The schema as SDL, exactly as checked in to `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), Subscription::default()).finish().sdl()
}

/// An object with a global ID that `node(id:)` can fetch.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    User(User),
    Organisation(Organisation),
    Need(Need),
    VolunteerProfile(VolunteerProfile),
    Offer(Offer),
    Application(Application),
    Ward(Ward),
    Priority(Priority),
    Project(Project),
    Fund(Fund),
    Bid(Bid),
    Campaign(Campaign),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global ID; null if it does not exist or the caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        let (kind, uuid) = ids::decode_any(&id).ok_or_else(|| AppError::bad_input("id", "is not a valid id"))?;
        resolve_node(ctx, kind, uuid).await.map_err(ApiError::from)
    }

    /// Fetches several objects by global ID, in the same order; at most 100.
    #[graphql(complexity = "ids.len().saturating_mul(child_complexity)")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        if ids.len() > 100 {
            return Err(AppError::bad_input("ids", "at most 100 ids at once").into());
        }
        let mut out = Vec::with_capacity(ids.len());
        let parsed = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                ids::decode_any(id).ok_or_else(|| AppError::bad_input(format!("ids[{i}]"), "is not a valid id"))
            })
            .collect::<AppResult<Vec<_>>>()?;
        // Resolve concurrently so the loaders batch them.
        let futures = parsed.into_iter().map(|(kind, uuid)| resolve_node(ctx, kind, uuid));
        for node in futures::future::join_all(futures).await {
            out.push(node?);
        }
        Ok(out)
    }
}

async fn resolve_node(ctx: &Context<'_>, kind: NodeKind, id: uuid::Uuid) -> Result<Option<Node>, AppError> {
    let loaders = loaders(ctx)?;
    let db = db(ctx)?;
    let viewer = viewer(ctx)?;
    Ok(match kind {
        NodeKind::User => {
            let user = loaders.users.load_one(id).await?;
            // Users are reachable by id only for themselves and admins; others meet them through memberships.
            user.filter(|u| domain::access::may_see_account(viewer, u.id)).map(|u| Node::User(User::new(u)))
        }
        NodeKind::Organisation => {
            loaders.organisations.load_one(id).await?.map(|o| Node::Organisation(Organisation(o)))
        }
        NodeKind::Need => match loaders.needs.load_one(id).await? {
            Some(n) if crate::needs::can_see(db, viewer, n.status(), *n.organisation_id()).await? => {
                Some(Node::Need(Need(n)))
            }
            _ => None,
        },
        NodeKind::VolunteerProfile => match loaders.volunteers.load_one(id).await? {
            Some(p) if crate::volunteers::can_see_profile(ctx, &p).await? => {
                Some(Node::VolunteerProfile(VolunteerProfile(Arc::new(p))))
            }
            _ => None,
        },
        NodeKind::Offer => match loaders.offers.load_one(id).await? {
            Some(o) if crate::offers::can_see(ctx, &o).await? => Some(Node::Offer(Offer(o))),
            _ => None,
        },
        NodeKind::Application => match loaders.applications.load_one(id).await? {
            Some(a) if crate::applications::can_see(ctx, &a).await? => Some(Node::Application(Application(a))),
            _ => None,
        },
        // Wards are public facts about places.
        NodeKind::Ward => loaders.wards.load_one(id).await?.map(|w| Node::Ward(Ward(w))),
        // Priorities are public, as their partnerships are.
        NodeKind::Priority => loaders.priorities.load_one(id).await?.map(|p| Node::Priority(Priority(p))),
        // Projects are public: what organisations do, and what public money funds.
        NodeKind::Project => loaders.projects.load_one(id).await?.map(|p| Node::Project(Project(p))),
        // Funds are public money; bids, as `bid(id)` shows them.
        NodeKind::Fund => loaders.funds.load_one(id).await?.map(|f| Node::Fund(Fund::new(f))),
        NodeKind::Bid => match loaders.bids.load_one(id).await? {
            Some(b) if domain::funding::bids::may_see(db, viewer, &b).await? => Some(Node::Bid(Bid(b))),
            _ => None,
        },
        // Campaigns, as `campaign(id)` shows them.
        NodeKind::Campaign => match domain::funding::campaigns::get(db, id).await {
            Ok(c) if domain::funding::campaigns::may_see(db, viewer, &c).await? => {
                Some(Node::Campaign(Campaign::new(c)))
            }
            Ok(_) | Err(AppError::NotFound(_)) => None,
            Err(other) => return Err(other),
        },
        NodeKind::Pledge
        | NodeKind::HoursEntry
        | NodeKind::VolunteeringStatement
        | NodeKind::ApiKey
        | NodeKind::AuditEvent
        | NodeKind::WebhookEndpoint
        | NodeKind::WebhookDelivery
        | NodeKind::PartnershipMember => None,
    })
}

// The objects that connections list, and a volunteer shown on each application: their fields resolve in one pass
// (`kit::eager`).
crate::kit::eager::eager_objects!(
    crate::applications::Application,
    crate::audit::AuditEvent,
    crate::funding::Bid,
    crate::funding::campaigns::Campaign,
    crate::funding::campaigns::Pledge,
    crate::matching::NeedMatch,
    crate::matching::OfferMatch,
    crate::matching::VolunteerMatch,
    crate::needs::Need,
    crate::offers::Offer,
    crate::organisations::Membership,
    crate::organisations::Organisation,
    crate::projects::Project,
    crate::volunteers::VolunteerProfile,
    crate::wards::Ward,
    crate::webhooks::WebhookDelivery,
);

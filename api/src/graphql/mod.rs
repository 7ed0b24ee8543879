//! The schema: limits, extensions, the merged query and mutation roots, the `Node` interface, shared
//! types (locations) and the per-request context (viewer, loaders).
pub mod batch;
pub mod eager;
pub mod enums;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod pagination;
pub mod shown;

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    Context, EmptySubscription, ID, InputObject, Interface, MergedObject, Object, Schema, SimpleObject,
};
use sea_orm::DatabaseConnection;

use self::ids::NodeKind;
use self::loaders::{ById, ChildCounts, ChildRelation, Children};
use self::pagination::PageRows;
use crate::api_keys::{ApiKeyMutation, ApiKeyQuery};
use crate::applications::{Application, ApplicationMutation};
use crate::audit::AuditQuery;
use crate::auth::Viewer;
use crate::auth::token::TokenKeys;
use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::http::RequestLimits;
use crate::matching::index::MatchingIndex;
use crate::matching::{MatchingMutation, MatchingQuery};
use crate::needs::{Need, NeedMutation, NeedQuery};
use crate::offers::{Offer, OfferMutation, OfferQuery};
use crate::organisations::{Organisation, OrganisationMutation, OrganisationQuery};
use crate::privacy::{PrivacyMutation, PrivacyQuery};
use crate::users::{User, UserMutation, UserQuery};
use crate::values::{Coordinates, RadiusKm};
use crate::volunteers::{VolunteerMutation, VolunteerProfile};
use domain::store::Reads;
use domain::store::rows::Shown;

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
);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

/// What the schema answers besides queries: introspection and "did you mean" suggestions (see `Settings`).
#[derive(Clone, Copy, Debug)]
pub struct SchemaOptions {
    pub introspection: bool,
    pub suggestions: bool,
}

pub fn build_schema(
    db: DatabaseConnection,
    reads: Reads,
    keys: Arc<TokenKeys>,
    matching: Arc<MatchingIndex>,
    limits: Arc<RequestLimits>,
    mail: Arc<crate::mail::Mail>,
    options: SchemaOptions,
) -> AppSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(db)
        .data(reads)
        .data(keys)
        .data(matching)
        .data(limits)
        .data(mail)
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
        Schema::build(Query::default(), Mutation::default(), EmptySubscription).extension(limits::CostMeasure);
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
    Schema::build(Query::default(), Mutation::default(), EmptySubscription).finish().sdl()
}

/// Per-request DataLoaders: every relation resolves through one of these, batched into one statement.
pub struct Loaders {
    pub users: DataLoader<ById<entity::user::Entity>>,
    /// Cached for the request. Hands out the organisations listings joined first, with only the columns the
    /// document shows (`rows::Shown`).
    pub organisations: DataLoader<ById<entity::organisation::Entity>, HashMapCache>,
    /// The organisations that listings joined (the organisation loader hands them out too). Like the volunteers
    /// below, they hold only the columns the document shows: whatever takes a row from either loader may read only
    /// its always-read columns or those its own fields name (`rows::READ_BY`).
    pub joined_organisations: Arc<loaders::Prefetched<entity::organisation::Model>>,
    pub needs: DataLoader<ById<entity::need::Entity>>,
    /// Hands out the volunteers pages of applications joined first, with only the columns the document
    /// shows (`rows::Shown`).
    pub volunteers: DataLoader<ById<entity::volunteer_profile::Entity>>,
    /// The volunteers that pages of applications joined (the volunteer loader hands them out too).
    pub joined_volunteers: Arc<loaders::Prefetched<entity::volunteer_profile::Model>>,
    pub offers: DataLoader<ById<entity::offer::Entity>>,
    pub applications: DataLoader<ById<entity::application::Entity>>,
    pub profiles_by_user: DataLoader<crate::volunteers::ProfileByUser>,
    pub contact_visible: DataLoader<crate::volunteers::ContactVisibility>,
    pub organisation_needs: DataLoader<Children<entity::need::Entity>>,
    pub organisation_offers: DataLoader<Children<entity::offer::Entity>>,
    pub organisation_members: DataLoader<Children<entity::membership::Entity>>,
    pub user_memberships: DataLoader<Children<entity::membership::Entity>>,
    pub need_applications: DataLoader<Children<entity::application::Entity>>,
    pub volunteer_applications: DataLoader<Children<entity::application::Entity>>,
    pub child_counts: DataLoader<ChildCounts>,
}

impl Loaders {
    /// Loaders whose batches run through `queue` (see `batch::drive`).
    /// `shown`: the columns the request's document shows (see `rows::Shown`).
    pub fn new(reads: &Reads, viewer: &Viewer, queue: &batch::LoadQueue, shown: Shown) -> Self {
        let db = reads.db();
        let volunteers = Arc::new(loaders::Prefetched::default());
        let organisations = Arc::new(loaders::Prefetched::default());
        Self {
            users: batched(ById::new(reads.clone()), queue),
            organisations: DataLoader::with_cache(
                ById::with_prefetched(reads.clone(), organisations.clone()),
                queue.spawner(),
                HashMapCache::default(),
            )
            .delay(std::time::Duration::ZERO),
            joined_organisations: organisations,
            needs: batched(ById::new(reads.clone()), queue),
            volunteers: batched(ById::with_prefetched(reads.clone(), volunteers.clone()), queue),
            joined_volunteers: volunteers.clone(),
            offers: batched(ById::new(reads.clone()), queue),
            applications: batched(ById::new(reads.clone()), queue),
            profiles_by_user: batched(crate::volunteers::ProfileByUser::new(db.clone()), queue),
            contact_visible: batched(crate::volunteers::ContactVisibility::new(db.clone(), viewer.user_id()), queue),
            organisation_needs: batched(Children::new(reads.clone(), ChildRelation::OrganisationNeeds, shown), queue),
            organisation_offers: batched(Children::new(reads.clone(), ChildRelation::OrganisationOffers, shown), queue),
            organisation_members: batched(
                Children::new(reads.clone(), ChildRelation::OrganisationMembers, shown),
                queue,
            ),
            user_memberships: batched(Children::new(reads.clone(), ChildRelation::UserMemberships, shown), queue),
            need_applications: batched(
                Children::with_volunteers(reads.clone(), ChildRelation::NeedApplications, shown, volunteers),
                queue,
            ),
            volunteer_applications: batched(
                Children::new(reads.clone(), ChildRelation::VolunteerApplications, shown),
                queue,
            ),
            child_counts: batched(ChildCounts::new(db.clone()), queue),
        }
    }
}

/// A loader whose batches run when the request is blocked (see `batch`), with no timer.
fn batched<T: Loader<K>, K>(loader: T, queue: &batch::LoadQueue) -> DataLoader<T>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    DataLoader::new(loader, queue.spawner()).delay(std::time::Duration::ZERO)
}

fn missing(what: &str) -> AppError {
    AppError::internal(format!("{what} missing from the GraphQL context"))
}

/// Awaits `work` from an allocation of its own. async-graphql makes every field future of a type as large as the
/// type's largest resolver, then allocates and copies one for each field it resolves: a resolver that awaits a
/// loader or a query inline would make every plain field of its type (an application's `id`, its `status`) carry
/// that resolver's kilobytes. Used where a resolver awaits such work.
pub fn boxed<'a, T>(work: impl std::future::Future<Output = T> + Send + 'a) -> futures::future::BoxFuture<'a, T> {
    Box::pin(work)
}

pub fn db<'a>(ctx: &Context<'a>) -> AppResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>().map_err(|_| missing("database"))
}

/// The read connections (see `reads`).
pub fn reads<'a>(ctx: &Context<'a>) -> AppResult<&'a Reads> {
    ctx.data::<Reads>().map_err(|_| missing("read connections"))
}

pub fn matching_index<'a>(ctx: &Context<'a>) -> AppResult<&'a MatchingIndex> {
    ctx.data::<Arc<MatchingIndex>>().map(Arc::as_ref).map_err(|_| missing("matching index"))
}

pub fn request_limits<'a>(ctx: &Context<'a>) -> AppResult<&'a RequestLimits> {
    ctx.data::<Arc<RequestLimits>>().map(Arc::as_ref).map_err(|_| missing("request limits"))
}

pub fn viewer<'a>(ctx: &Context<'a>) -> AppResult<&'a Viewer> {
    ctx.data::<Viewer>().map_err(|_| missing("viewer"))
}

pub fn loaders<'a>(ctx: &Context<'a>) -> AppResult<&'a Loaders> {
    ctx.data::<Loaders>().map_err(|_| missing("loaders"))
}

/// The columns the request's document shows; every column when the request did not come through the HTTP
/// handler, which works it out.
pub fn shown(ctx: &Context<'_>) -> Shown {
    ctx.data_opt::<Shown>().copied().unwrap_or(Shown::ALL)
}

pub fn mail<'a>(ctx: &Context<'a>) -> AppResult<&'a crate::mail::Mail> {
    ctx.data::<Arc<crate::mail::Mail>>().map(Arc::as_ref).map_err(|_| missing("mail"))
}

pub fn token_keys<'a>(ctx: &Context<'a>) -> AppResult<&'a TokenKeys> {
    ctx.data::<Arc<TokenKeys>>().map(|k| k.as_ref()).map_err(|_| missing("token keys"))
}

/// A loaded page, copied out of the loader's shared cache.
pub fn cloned_rows<M: Clone>(page: &PageRows<M>) -> PageRows<M> {
    PageRows { rows: page.rows.clone(), has_previous: page.has_previous, has_next: page.has_next }
}

/// The field names selected at the root of an operation, through fragments; `None` when fragments nest deeper
/// than async-graphql itself allows (32), so that a check made on these names cannot be slipped past by nesting.
pub fn root_fields<'a>(document: &'a ExecutableDocument, set: &'a SelectionSet) -> Option<Vec<&'a str>> {
    fn collect<'a>(
        document: &'a ExecutableDocument,
        set: &'a SelectionSet,
        out: &mut Vec<&'a str>,
        depth: usize,
    ) -> bool {
        if depth > 32 {
            return false;
        }
        set.items.iter().all(|item| match &item.node {
            Selection::Field(field) => {
                out.push(field.node.name.node.as_str());
                true
            }
            // An unknown fragment is refused by validation; it names no fields here.
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .is_none_or(|fragment| collect(document, &fragment.node.selection_set.node, out, depth + 1)),
            Selection::InlineFragment(inline) => collect(document, &inline.node.selection_set.node, out, depth + 1),
        })
    }
    let mut out = Vec::new();
    collect(document, set, &mut out, 0).then_some(out)
}

/// A point on the map (WGS84 degrees).
#[derive(SimpleObject, Clone, Copy)]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
}

impl Location {
    pub fn from_stored(lat: Option<f64>, lng: Option<f64>) -> Option<Self> {
        Some(Self { lat: lat?, lng: lng? })
    }
}

#[derive(InputObject, Clone, Copy)]
pub struct LocationInput {
    pub lat: f64,
    pub lng: f64,
}

impl LocationInput {
    pub fn parse(&self, field: &str) -> AppResult<Coordinates> {
        Coordinates::new(field, self.lat, self.lng)
    }
}

/// An input's optional `location`.
pub fn parse_location(raw: Option<&LocationInput>) -> AppResult<Option<Coordinates>> {
    raw.map(|l| l.parse("input.location")).transpose()
}

/// An update input's optional field as a domain patch: left out keeps it, `null` clears it.
pub fn patch<T>(value: async_graphql::MaybeUndefined<T>) -> domain::values::Patch<T> {
    match value {
        async_graphql::MaybeUndefined::Undefined => domain::values::Patch::Keep,
        async_graphql::MaybeUndefined::Null => domain::values::Patch::Clear,
        async_graphql::MaybeUndefined::Value(value) => domain::values::Patch::Set(value),
    }
}

/// "Within `radiusKm` of this point"; the radius is at most 200 km.
#[derive(InputObject, Clone, Copy)]
pub struct NearInput {
    pub lat: f64,
    pub lng: f64,
    pub radius_km: f64,
}

impl NearInput {
    pub fn parse(&self, field: &str) -> AppResult<(Coordinates, RadiusKm)> {
        Ok((Coordinates::new(field, self.lat, self.lng)?, RadiusKm::new(&format!("{field}.radiusKm"), self.radius_km)?))
    }
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
            user.filter(|u| viewer.user_id() == Some(u.id) || viewer.is_admin()).map(|u| Node::User(User::new(u)))
        }
        NodeKind::Organisation => {
            loaders.organisations.load_one(id).await?.map(|o| Node::Organisation(Organisation(o)))
        }
        NodeKind::Need => match loaders.needs.load_one(id).await? {
            Some(n) if crate::needs::can_see(db, viewer, &n).await? => Some(Node::Need(Need(n))),
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
        NodeKind::ApiKey | NodeKind::AuditEvent => None,
    })
}

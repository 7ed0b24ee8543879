//! The GraphQL kit: what every area's resolvers use and no area owns. Context accessors (the database, the read
//! connections, the viewer, the loaders), global ids, Relay connections over the store's pages, query limits,
//! batching, eager lists, the GraphQL faces of domain enums, and the shared location inputs. It imports no area:
//! the schema root (`crate::schema`) is the one place that names them all.
pub mod batch;
pub mod eager;
pub mod enums;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod pagination;
pub mod rates;

use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Context, InputObject, SimpleObject};
use sea_orm::DatabaseConnection;

use self::loaders::{ById, ChildCounts, ChildRelation, Children, ContactVisibility, ProfileByUser};
use self::pagination::PageRows;
use crate::auth::Viewer;
use crate::auth::token::TokenKeys;
use crate::error::{AppError, AppResult};
use crate::values::{Coordinates, RadiusKm};
use domain::matching::index::MatchingIndex;
use domain::store::Reads;
use domain::store::rows::{Read, Shown};

/// Per-request DataLoaders: every relation resolves through one of these, batched into one statement.
pub struct Loaders {
    pub users: DataLoader<ById<entity::user::Entity>>,
    /// Cached for the request. Hands out the organisations listings joined first, with only the columns the
    /// document shows (`rows::Shown`).
    pub organisations: DataLoader<ById<entity::organisation::Entity>, HashMapCache>,
    /// The organisations that listings joined (the organisation loader hands them out too). Like the volunteers
    /// below, they hold only the columns the document shows: whatever takes a row from either loader may read only
    /// its always-read columns or those its own fields name (`rows::READ_BY`).
    pub joined_organisations: Arc<loaders::Prefetched<Read<entity::organisation::Model>>>,
    pub needs: DataLoader<ById<entity::need::Entity>>,
    /// Hands out the volunteers pages of applications joined first, with only the columns the document
    /// shows (`rows::Shown`).
    pub volunteers: DataLoader<ById<entity::volunteer_profile::Entity>>,
    /// The volunteers that pages of applications joined (the volunteer loader hands them out too).
    pub joined_volunteers: Arc<loaders::Prefetched<Read<entity::volunteer_profile::Model>>>,
    pub offers: DataLoader<ById<entity::offer::Entity>>,
    pub applications: DataLoader<ById<entity::application::Entity>>,
    pub wards: DataLoader<ById<entity::ward::Entity>>,
    /// A partnership's seats, oldest first.
    pub partnership_members: DataLoader<loaders::Grouped<entity::partnership_member::Entity>>,
    /// A partnership's priorities, oldest first.
    pub partnership_priorities: DataLoader<loaders::Grouped<entity::priority::Entity>>,
    pub priorities: DataLoader<ById<entity::priority::Entity>>,
    /// A partnership's wards, by name.
    pub partnership_wards: DataLoader<loaders::Grouped<entity::ward::Entity>>,
    pub projects: DataLoader<ById<entity::project::Entity>>,
    pub funds: DataLoader<ById<entity::fund::Entity>>,
    pub bids: DataLoader<ById<entity::bid::Entity>>,
    /// A project's priorities, in the order they were tagged.
    pub project_priorities: DataLoader<loaders::Tied<entity::priority::Entity>>,
    /// A need's priorities, in the order they were tagged.
    pub need_priorities: DataLoader<loaders::Tied<entity::priority::Entity>>,
    /// A priority's projects, in the order they were tagged.
    pub priority_projects: DataLoader<loaders::Tied<entity::project::Entity>>,
    /// A priority's needs, in the order they were tagged (every status: callers keep to what the viewer may see).
    pub priority_needs: DataLoader<loaders::Tied<entity::need::Entity>>,
    pub organisation_projects: DataLoader<Children<entity::project::Entity>>,
    pub project_needs: DataLoader<Children<entity::need::Entity>>,
    pub profiles_by_user: DataLoader<ProfileByUser>,
    /// A need's cancelled sessions.
    pub cancelled_sessions: DataLoader<loaders::CancelledSessions>,
    pub waitlists: DataLoader<loaders::Waitlists>,
    pub session_signups: DataLoader<loaders::SessionSignups>,
    pub accepted_volunteers: DataLoader<loaders::AcceptedVolunteers>,
    pub dbs_verifications: DataLoader<loaders::DbsVerifications>,
    pub attendance: DataLoader<loaders::SessionAttendance>,
    pub contact_visible: DataLoader<ContactVisibility>,
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
            wards: batched(ById::new(reads.clone()), queue),
            partnership_members: batched(loaders::Grouped::new(reads.clone(), "partnership_id", "created_at"), queue),
            partnership_priorities: batched(
                loaders::Grouped::new(reads.clone(), "partnership_id", "created_at"),
                queue,
            ),
            priorities: batched(ById::new(reads.clone()), queue),
            partnership_wards: batched(loaders::Grouped::new(reads.clone(), "partnership_id", "name"), queue),
            projects: batched(ById::new(reads.clone()), queue),
            funds: batched(ById::new(reads.clone()), queue),
            bids: batched(ById::new(reads.clone()), queue),
            project_priorities: batched(
                loaders::Tied::new(reads.clone(), "project_priorities", "project_id", "priority_id"),
                queue,
            ),
            need_priorities: batched(
                loaders::Tied::new(reads.clone(), "need_priorities", "need_id", "priority_id"),
                queue,
            ),
            priority_projects: batched(
                loaders::Tied::new(reads.clone(), "project_priorities", "priority_id", "project_id"),
                queue,
            ),
            priority_needs: batched(
                loaders::Tied::new(reads.clone(), "need_priorities", "priority_id", "need_id"),
                queue,
            ),
            organisation_projects: batched(
                Children::new(reads.clone(), ChildRelation::OrganisationProjects, shown),
                queue,
            ),
            project_needs: batched(Children::new(reads.clone(), ChildRelation::ProjectNeeds, shown), queue),
            profiles_by_user: batched(ProfileByUser::new(db.clone()), queue),
            cancelled_sessions: batched(loaders::CancelledSessions::new(db.clone()), queue),
            waitlists: batched(loaders::Waitlists::new(db.clone()), queue),
            session_signups: batched(loaders::SessionSignups::new(db.clone()), queue),
            accepted_volunteers: batched(loaders::AcceptedVolunteers::new(db.clone()), queue),
            dbs_verifications: batched(loaders::DbsVerifications::new(db.clone()), queue),
            attendance: batched(loaders::SessionAttendance::new(db.clone()), queue),
            contact_visible: batched(ContactVisibility::new(db.clone(), viewer.user_id()), queue),
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

pub fn missing(what: &str) -> AppError {
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

/// This server's end of the live updates (`domain::live`).
pub fn live_hub<'a>(ctx: &Context<'a>) -> AppResult<&'a Arc<domain::live::Hub>> {
    ctx.data::<Arc<domain::live::Hub>>().map_err(|_| missing("live updates"))
}

/// The live events this server hears from now on, for one subscription. One that falls more than
/// `domain::live::BACKLOG` events behind skips the oldest (logged): a slow subscriber never holds the others up.
pub async fn live_events(
    ctx: &Context<'_>,
) -> AppResult<impl futures::Stream<Item = Arc<domain::live::Event>> + Send + 'static + use<>> {
    use tokio::sync::broadcast::error::RecvError;
    let hub = live_hub(ctx)?;
    let receiver = hub.subscribe().await;
    // Counted as open for as long as the stream lives.
    let open = (receiver, hub.track());
    Ok(futures::stream::unfold(open, |(mut receiver, tracked)| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, (receiver, tracked))),
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "a subscription fell behind: events skipped")
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }))
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

pub fn token_keys<'a>(ctx: &Context<'a>) -> AppResult<&'a TokenKeys> {
    ctx.data::<Arc<TokenKeys>>().map(|k| k.as_ref()).map_err(|_| missing("token keys"))
}

/// The address the public reaches Pitch In at (`Settings::public_url`), for absolute links in answers.
pub struct PublicUrl(pub Arc<str>);

pub fn public_url<'a>(ctx: &Context<'a>) -> AppResult<&'a str> {
    ctx.data::<PublicUrl>().map(|u| u.0.as_ref()).map_err(|_| missing("public url"))
}

/// How long an offer from a waitlist stays open.
pub struct WaitlistOffer(pub chrono::TimeDelta);

pub fn waitlist_offer(ctx: &Context<'_>) -> AppResult<chrono::TimeDelta> {
    ctx.data::<WaitlistOffer>().map(|w| w.0).map_err(|_| missing("waitlist offer"))
}

/// How long before a session check-in opens.
pub struct CheckInEarly(pub chrono::TimeDelta);

pub fn check_in_early(ctx: &Context<'_>) -> AppResult<chrono::TimeDelta> {
    ctx.data::<CheckInEarly>().map(|w| w.0).map_err(|_| missing("check-in window"))
}

/// Partners' counts not yet written (`domain::api_keys::stats`).
pub fn partner_tally<'a>(ctx: &Context<'a>) -> AppResult<&'a domain::api_keys::stats::Tally> {
    ctx.data::<Arc<domain::api_keys::stats::Tally>>().map(Arc::as_ref).map_err(|_| missing("partner tally"))
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

/// The currencies Pitch In counts in.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Currency {
    /// Pounds sterling.
    #[graphql(name = "GBP")]
    Gbp,
}

/// An exact amount of money: a decimal string with two places ("7500.00"), never a float.
#[derive(SimpleObject, Clone)]
pub struct Money {
    pub amount: String,
    pub currency: Currency,
}

impl From<domain::values::Pence> for Money {
    fn from(p: domain::values::Pence) -> Self {
        Self { amount: p.to_decimal(), currency: Currency::Gbp }
    }
}

/// An amount given as a decimal string ("7500.00"); fractions of a penny and negatives are BAD_USER_INPUT.
pub fn parse_money(field: &str, raw: &str) -> AppResult<domain::values::Pence> {
    domain::values::Pence::parse(field, raw)
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

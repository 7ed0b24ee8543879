//! Generic DataLoaders, created per request: rows by id, "first N children per parent" in one windowed
//! statement, and child counts in one grouped statement. Each batch is one `IN (...)` query.
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use entity::volunteer_profile;
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, Order, Query, SelectStatement, SimpleExpr, Value, WindowStatement,
};
use sea_orm::{Condition, DatabaseConnection, EntityTrait, FromQueryResult, Iterable, QueryFilter, QueryTrait};
use uuid::Uuid;

use super::pagination::{Page, PageRows, SortKey, SortKind, fetch_rows, read_rows};
use crate::error::{AppError, AppResult};
use domain::store::Reads;
use domain::store::rows::{
    ByPosition, HasId, Positional, Read, Shown, check, check_joined, checked_value, joined, position, value,
};

/// Rows that another statement of the same request already read (joined in), for a by-id loader to hand out
/// rather than read again. Shared, not copied: a dashboard hands out hundreds of its volunteers.
pub struct Prefetched<M>(std::sync::Mutex<HashMap<Uuid, Arc<M>>>);

impl<M> Default for Prefetched<M> {
    fn default() -> Self {
        Self(std::sync::Mutex::new(HashMap::new()))
    }
}

impl<M> Prefetched<M> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<M>>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets every kept row (a subscription's loaders, between its events).
    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn keep(&self, rows: impl IntoIterator<Item = (Uuid, M)>) {
        self.lock().extend(rows.into_iter().map(|(id, row)| (id, Arc::new(row))));
    }

    /// One kept row.
    pub fn get(&self, id: Uuid) -> Option<Arc<M>> {
        self.lock().get(&id).cloned()
    }
}

/// Loads rows of `E` by primary key, first from rows prefetched for the request, if it has any.
pub struct ById<E: EntityTrait>
where
    E::Model: ByPosition,
{
    reads: Reads,
    prefetched: Option<Arc<Prefetched<Row<E>>>>,
}

/// What reading `E` yields: its model, or a `Read` of it for a table whose listings read only what is shown.
pub type Row<E> = <<E as EntityTrait>::Model as ByPosition>::Row;

impl<E: EntityTrait> ById<E>
where
    E::Model: ByPosition,
{
    pub fn new(reads: Reads) -> Self {
        Self { reads, prefetched: None }
    }

    pub fn with_prefetched(reads: Reads, prefetched: Arc<Prefetched<Row<E>>>) -> Self {
        Self { reads, prefetched: Some(prefetched) }
    }
}

impl<E> Loader<Uuid> for ById<E>
where
    E: EntityTrait,
    E::Model: ByPosition + Send + Sync + 'static,
{
    type Value = Row<E>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Row<E>>, AppError> {
        let mut found = HashMap::with_capacity(keys.len());
        if let Some(prefetched) = &self.prefetched {
            let kept = prefetched.lock();
            found.extend(keys.iter().filter_map(|k| Some((*k, Row::<E>::clone(kept.get(k)?)))));
        }
        let missing: Vec<Uuid> = keys.iter().copied().filter(|k| !found.contains_key(k)).collect();
        if !missing.is_empty() {
            let select = E::find().filter(Expr::col((E::default(), Alias::new("id"))).is_in(missing)).into_query();
            let rows: Vec<Positional<E::Model>> = read_rows(&self.reads, &select).await?;
            found.extend(rows.into_iter().map(|Positional(m)| (HasId::id(&m), E::Model::whole(m))));
        }
        Ok(found)
    }
}

/// Every child of each of many parents, in one `IN (...)` statement, for relations small enough to show whole (a
/// partnership's seats, a dozen or two): `parent` names the children's column that points at the parent, `order`
/// the column they are listed by (then their id).
pub struct Grouped<E> {
    reads: Reads,
    parent: &'static str,
    order: &'static str,
    entity: PhantomData<fn() -> E>,
}

impl<E> Grouped<E> {
    pub fn new(reads: Reads, parent: &'static str, order: &'static str) -> Self {
        Self { reads, parent, order, entity: PhantomData }
    }
}

impl<E> Loader<Uuid> for Grouped<E>
where
    E: EntityTrait,
    E::Model: ByPosition + Send + Sync + 'static,
{
    type Value = Arc<Vec<Row<E>>>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, AppError> {
        use sea_orm::{ModelTrait, QueryOrder};
        let parent: E::Column =
            self.parent.parse().map_err(|_| AppError::internal(format!("no column {} to group by", self.parent)))?;
        let select = E::find()
            .filter(Expr::col((E::default(), Alias::new(self.parent))).is_in(keys.iter().copied()))
            .order_by(Expr::col((E::default(), Alias::new(self.order))), Order::Asc)
            .order_by(Expr::col((E::default(), Alias::new("id"))), Order::Asc)
            .into_query();
        let rows: Vec<Positional<E::Model>> = read_rows(&self.reads, &select).await?;
        let mut groups: HashMap<Uuid, Vec<Row<E>>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for Positional(model) in rows {
            let sea_orm::Value::Uuid(Some(key)) = model.get(parent) else {
                return Err(AppError::internal(format!("{} is not a uuid", self.parent)));
            };
            groups.entry(key).or_default().push(E::Model::whole(model));
        }
        Ok(groups.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

/// The rows of `E` tied to each of many parents through a tie table (`tie`: `parent` → `child`, the id of an `E`
/// row), in the order they were tied; one statement joining the tie to `E`, for relations small enough to show
/// whole (a project's priorities, a priority's projects in a year).
pub struct Tied<E> {
    reads: Reads,
    tie: &'static str,
    parent: &'static str,
    child: &'static str,
    entity: PhantomData<fn() -> E>,
}

impl<E> Tied<E> {
    pub fn new(reads: Reads, tie: &'static str, parent: &'static str, child: &'static str) -> Self {
        Self { reads, tie, parent, child, entity: PhantomData }
    }
}

/// A tied row: its parent's id, then the whole `E` row.
struct TiedRow<M>(Uuid, M);

impl<M: ByPosition> FromQueryResult for TiedRow<M> {
    fn from_query_result(row: &sea_orm::QueryResult, _pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(Self(checked_value::<Uuid>(row, 0)?, M::decode_checked_at(row, 1)?))
    }
}

impl<E> Loader<Uuid> for Tied<E>
where
    E: EntityTrait,
    E::Model: ByPosition + Send + Sync + 'static,
{
    type Value = Arc<Vec<Row<E>>>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, AppError> {
        let tie = Alias::new(self.tie);
        let mut select = Query::select();
        select.expr(Expr::col((tie.clone(), Alias::new(self.parent))));
        for column in E::Column::iter() {
            select.column((E::default(), column));
        }
        select
            .from(tie.clone())
            .inner_join(
                E::default(),
                Expr::col((E::default(), Alias::new("id"))).equals((tie.clone(), Alias::new(self.child))),
            )
            .and_where(Expr::col((tie.clone(), Alias::new(self.parent))).is_in(keys.iter().copied()))
            .order_by((tie.clone(), Alias::new("created_at")), Order::Asc)
            .order_by((E::default(), Alias::new("id")), Order::Asc);
        let rows: Vec<TiedRow<E::Model>> = read_rows(&self.reads, &select).await?;
        let mut groups: HashMap<Uuid, Vec<Row<E>>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for TiedRow(parent, model) in rows {
            groups.entry(parent).or_default().push(E::Model::whole(model));
        }
        Ok(groups.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

/// The one-to-many relations that are paged per parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChildRelation {
    OrganisationNeeds,
    OrganisationOffers,
    OrganisationMembers,
    UserMemberships,
    NeedApplications,
    VolunteerApplications,
    OrganisationProjects,
    ProjectNeeds,
}

impl ChildRelation {
    fn table(self) -> &'static str {
        match self {
            Self::OrganisationNeeds => "needs",
            Self::OrganisationOffers => "offers",
            Self::OrganisationMembers | Self::UserMemberships => "memberships",
            Self::NeedApplications | Self::VolunteerApplications => "applications",
            Self::OrganisationProjects => "projects",
            Self::ProjectNeeds => "needs",
        }
    }

    fn parent_column(self) -> &'static str {
        match self {
            Self::OrganisationNeeds
            | Self::OrganisationOffers
            | Self::OrganisationMembers
            | Self::OrganisationProjects => "organisation_id",
            Self::ProjectNeeds => "project_id",
            Self::UserMemberships => "user_id",
            Self::NeedApplications => "need_id",
            Self::VolunteerApplications => "volunteer_id",
        }
    }

    fn col(self, name: &str) -> SimpleExpr {
        Expr::col((Alias::new(self.table()), Alias::new(name)))
    }

    /// Children are listed newest first.
    pub fn sort(self) -> SortKey {
        let name = match self {
            Self::OrganisationNeeds => "organisation.needs",
            Self::OrganisationOffers => "organisation.offers",
            Self::OrganisationMembers => "organisation.members",
            Self::UserMemberships => "user.memberships",
            Self::NeedApplications => "need.applications",
            Self::VolunteerApplications => "volunteer.applications",
            Self::OrganisationProjects => "organisation.projects",
            Self::ProjectNeeds => "project.needs",
        };
        SortKey { name, kind: SortKind::Time, key: self.col("created_at"), id: self.col("id"), descending: true }
    }

    fn condition(self, parents: impl IntoIterator<Item = Uuid>, filter: &ChildFilter) -> Condition {
        self.condition_on(Expr::expr(self.col(self.parent_column())).is_in(parents), filter)
    }

    /// The children that `parent` (a condition on the parent column) and `filter` select.
    fn condition_on(self, parent: SimpleExpr, filter: &ChildFilter) -> Condition {
        let mut cond = Condition::all().add(parent);
        if let Some(statuses) = &filter.statuses {
            cond = cond.add(Expr::expr(self.col("status")).is_in(statuses.iter().map(String::as_str)));
        }
        cond
    }
}

/// Which children a caller may see: `None` means every status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ChildFilter {
    pub statuses: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildKey {
    pub parent: Uuid,
    pub filter: ChildFilter,
    pub page: Page,
    /// Read each child's volunteer in the same statement (for a loader made `with_volunteers`), because the
    /// query shows them.
    pub with_volunteers: bool,
}

/// Hashes the parent alone: the keys of one batch differ in their parents and share the rest, and the DataLoader
/// hashes each key many times over (matching every answer to every caller), so hashing the page and the filter
/// too was about 1% of a dashboard's instructions. Equal keys still hash alike.
impl std::hash::Hash for ChildKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parent.hash(state);
    }
}

pub type ChildPage<M> = Arc<PageRows<M>>;

/// Loads one page of children for many parents at once, in one statement: on PostgreSQL each parent's page by its
/// own index scan (`per_parent_pages`), on SQLite a window over the parents' children (`windowed_pages`).
pub struct Children<E> {
    reads: Reads,
    relation: ChildRelation,
    /// The columns the request's document shows (children and their volunteers alike).
    shown: Shown,
    /// Where the volunteers read with the children go, for children with a `volunteer_id` (applications).
    volunteers: Option<Arc<Prefetched<Read<volunteer_profile::Model>>>>,
    entity: PhantomData<fn() -> E>,
}

impl<E> Children<E> {
    pub fn new(reads: Reads, relation: ChildRelation, shown: Shown) -> Self {
        Self { reads, relation, shown, volunteers: None, entity: PhantomData }
    }

    /// Children that carry a `volunteer_id`: keys that ask for it read the volunteers too, into `volunteers`.
    pub fn with_volunteers(
        reads: Reads,
        relation: ChildRelation,
        shown: Shown,
        volunteers: Arc<Prefetched<Read<volunteer_profile::Model>>>,
    ) -> Self {
        Self { reads, relation, shown, volunteers: Some(volunteers), entity: PhantomData }
    }
}

/// The prefix of a joined volunteer's columns in a child row, and the first of them.
const VOLUNTEER_PREFIX: &str = "v_";
const VOLUNTEER_ID: &str = "v_id";

impl<E> Loader<ChildKey> for Children<E>
where
    E: EntityTrait,
    E::Model: ByPosition + Send + Sync + 'static,
{
    type Value = ChildPage<Row<E>>;
    type Error = AppError;

    async fn load(&self, keys: &[ChildKey]) -> Result<HashMap<ChildKey, Self::Value>, AppError> {
        let relation = self.relation;
        let mut groups: HashMap<(&ChildFilter, &Page, bool), Vec<&ChildKey>> = HashMap::new();
        for key in keys {
            let with_volunteers = key.with_volunteers && self.volunteers.is_some();
            groups.entry((&key.filter, &key.page, with_volunteers)).or_default().push(key);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for ((filter, page, with_volunteers), group) in groups {
            // Keys that differ only in asking for volunteers of a loader that has none share a group: one parent
            // listed twice would read its children twice.
            let mut parents: Vec<Uuid> = group.iter().map(|key| key.parent).collect();
            parents.sort_unstable();
            parents.dedup();
            let backend = self.reads.backend();
            let ranked = Alias::new("ranked");
            let mut outer = if backend == sea_orm::DatabaseBackend::Postgres {
                self.per_parent_pages(&parents, filter, page, ranked.clone())?
            } else {
                self.windowed_pages(&parents, filter, page, ranked.clone())?
            };
            if with_volunteers {
                join_volunteers(&mut outer, ranked, backend, &self.shown);
            }
            let read = (self.shown.columns::<E>(), self.shown.columns::<volunteer_profile::Entity>());
            let rows = self.reads.query_all(backend.build(&outer)).await?;
            let mut by_parent: HashMap<Uuid, Vec<Row<E>>> = HashMap::with_capacity(group.len());
            // Each parent's rows in a vector sized for its page up front: growing 50 of them was 1% of a dashboard.
            let per_parent = usize::try_from(page.limit + 1).unwrap_or(usize::MAX).min(rows.len());
            if let Some(first) = rows.first() {
                let at = ChildLayout::of(first)?;
                // Every row of a result has the first's column types: checked once (see `rows::check`).
                check::<E::Model>(first, 0, read.0)?;
                checked_value::<Uuid>(first, at.parent)?;
                if with_volunteers {
                    check_joined::<volunteer_profile::Model>(first, at.volunteer, read.1)?;
                }
                let mut kept = self.volunteers.as_ref().filter(|_| with_volunteers).map(|store| store.lock());
                // Each child and volunteer decoded where it is kept: moving them (a few hundred bytes each) through
                // a vector of whole rows first was 1% of a dashboard. A row that fails to decode fails the batch;
                // the volunteers kept before it are whole rows, and harmless to keep.
                for row in &rows {
                    let children = by_parent.entry(value(row, at.parent)?);
                    children.or_insert_with(|| Vec::with_capacity(per_parent)).push(E::Model::read_at(row, 0, read.0)?);
                    if let Some(kept) = kept.as_mut()
                        && let Some(volunteer) = joined::<volunteer_profile::Model>(row, at.volunteer, read.1)?
                    {
                        kept.insert(*volunteer.id(), Arc::new(volunteer));
                    }
                }
            }
            // The statements leave the order of their rows to the database; each parent's page is put in the
            // sort's order here (a pass over rows that usually arrive in it).
            let ascending = matches!(relation.sort().fetch_order(page), Order::Asc);
            for rows in by_parent.values_mut() {
                rows.sort_unstable_by(|a, b| {
                    let order = (a.created_at(), a.id()).cmp(&(b.created_at(), b.id()));
                    if ascending { order } else { order.reverse() }
                });
            }
            // Under the caller's own key, whatever it asked of a loader that cannot join volunteers.
            let mut pages: HashMap<Uuid, ChildPage<Row<E>>> = HashMap::with_capacity(group.len());
            for key in group {
                let rows = pages.entry(key.parent).or_insert_with(|| {
                    Arc::new(PageRows::from_fetched(by_parent.remove(&key.parent).unwrap_or_default(), page))
                });
                out.insert(key.clone(), rows.clone());
            }
        }
        Ok(out)
    }
}

impl<E> Children<E>
where
    E: EntityTrait,
{
    /// The parent's column, for a condition on it.
    fn parent(&self) -> Expr {
        Expr::expr(self.relation.col(self.relation.parent_column()))
    }

    /// The page of the children whose parent `parents` selects (a condition on the parent column): the columns the
    /// document shows, the parent's key as `parent_key`, the page's keyset bounds, its order and its limit.
    fn page_of(&self, parents: SimpleExpr, filter: &ChildFilter, page: &Page) -> AppResult<SelectStatement> {
        let relation = self.relation;
        let mut select = E::find().into_query();
        select.clear_selects();
        self.shown.select::<E>(&mut select, "");
        select.expr_as(relation.col(relation.parent_column()), Alias::new("parent_key"));
        select.cond_where(relation.condition_on(parents, filter));
        relation.sort().apply(&mut select, page)?;
        Ok(select)
    }

    /// PostgreSQL: each parent's page cut by its own index scan (in the page's order, stopping at its limit), for one parent
    /// directly and for many as a lateral subquery over the array of their keys (one statement text, and so one
    /// prepared plan, whatever the batch's size). A window over all the parents' children reads and sorts every
    /// child of every parent first: for an organisation with 450 needs, ten times the work of its first page.
    fn per_parent_pages(
        &self,
        parents: &[Uuid],
        filter: &ChildFilter,
        page: &Page,
        ranked: Alias,
    ) -> AppResult<SelectStatement> {
        let mut outer = Query::select();
        outer.column((ranked.clone(), sea_orm::sea_query::Asterisk));
        if let [parent] = parents {
            outer.from_subquery(self.page_of(self.parent().eq(*parent), filter, page)?, ranked);
        } else {
            let each = Alias::new("parent");
            let inner = self.page_of(self.parent().eq(Expr::col((each.clone(), each.clone()))), filter, page)?;
            outer.from_function(Func::cust("unnest").arg(Value::from(parents.to_vec())), each).join_lateral(
                sea_orm::JoinType::InnerJoin,
                inner,
                ranked,
                Expr::cust("TRUE"),
            );
        }
        Ok(outer)
    }

    /// SQLite, which has no lateral joins: `SELECT * FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY parent ORDER
    /// BY created_at DESC, id DESC) rn FROM t WHERE parent IN (...)) WHERE rn <= limit + 1`.
    fn windowed_pages(
        &self,
        parents: &[Uuid],
        filter: &ChildFilter,
        page: &Page,
        ranked: Alias,
    ) -> AppResult<SelectStatement> {
        let relation = self.relation;
        let sort = relation.sort();
        // The keyset logic's cursor bounds, with its ORDER BY/LIMIT swapped for a window.
        let mut inner = self.page_of(self.parent().is_in(parents.iter().copied()), filter, page)?;
        inner.clear_order_by();
        inner.reset_limit();
        let order = sort.fetch_order(page);
        let mut window = WindowStatement::partition_by(Alias::new(relation.parent_column()));
        window.order_by_expr(sort.key.clone(), order.clone()).order_by_expr(sort.id.clone(), order);
        inner.expr_window_as(Expr::cust("ROW_NUMBER()"), window, Alias::new("rn"));
        Ok(Query::select()
            .column((ranked.clone(), sea_orm::sea_query::Asterisk))
            .from_subquery(inner, ranked.clone())
            .and_where(Expr::col((ranked, Alias::new("rn"))).lte(page.limit + 1))
            .to_owned())
    }
}

/// Each child's volunteer, by key, from the same statement. On PostgreSQL a lateral lookup with a LIMIT, which it
/// does not flatten: as a plain join, a prepared plan (which knows neither how many parents nor how many children)
/// may hash the whole volunteers table for a page of a few hundred applications.
fn join_volunteers(
    outer: &mut sea_orm::sea_query::SelectStatement,
    ranked: Alias,
    backend: sea_orm::DatabaseBackend,
    shown: &Shown,
) {
    use volunteer_profile::{Column, Entity};
    let same = Expr::col((Entity, Column::Id)).equals((ranked, Alias::new("volunteer_id")));
    if backend == sea_orm::DatabaseBackend::Postgres {
        let one = Query::select()
            .column((Entity, sea_orm::sea_query::Asterisk))
            .from(Entity)
            .cond_where(same)
            .limit(1)
            .to_owned();
        outer.join_lateral(sea_orm::JoinType::LeftJoin, one, Entity, Expr::cust("TRUE"));
    } else {
        outer.left_join(Entity, same);
    }
    shown.select::<Entity>(outer, VOLUNTEER_PREFIX);
}

/// Where a child row's parent key and its volunteer's columns are: the same in every row of a result, so read off
/// the first. The child's own columns come first (`ranked.*`, those the document shows), then its parent's key,
/// then the volunteer's, when joined.
struct ChildLayout {
    parent: usize,
    volunteer: Option<usize>,
}

impl ChildLayout {
    fn of(row: &sea_orm::QueryResult) -> Result<Self, sea_orm::DbErr> {
        let parent = position(row, "parent_key")
            .ok_or_else(|| sea_orm::DbErr::Custom("a child page without its parent key".into()))?;
        Ok(Self { parent, volunteer: position(row, VOLUNTEER_ID) })
    }
}

/// Counts children for many parents in one `GROUP BY` statement.
pub struct ChildCounts {
    db: DatabaseConnection,
}

impl ChildCounts {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CountKey {
    pub relation: ChildRelation,
    pub parent: Uuid,
    pub filter: ChildFilter,
}

#[derive(FromQueryResult)]
struct ParentCount {
    parent: Uuid,
    n: i64,
}

impl Loader<CountKey> for ChildCounts {
    type Value = i64;
    type Error = AppError;

    async fn load(&self, keys: &[CountKey]) -> Result<HashMap<CountKey, i64>, AppError> {
        let mut groups: HashMap<(ChildRelation, &ChildFilter), Vec<Uuid>> = HashMap::new();
        for key in keys {
            groups.entry((key.relation, &key.filter)).or_default().push(key.parent);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for ((relation, filter), parents) in groups {
            let parent_col = relation.col(relation.parent_column());
            let select = Query::select()
                .expr_as(parent_col.clone(), Alias::new("parent"))
                .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                .from(Alias::new(relation.table()))
                .cond_where(relation.condition(parents.iter().copied(), filter))
                .add_group_by([parent_col])
                .to_owned();
            let counts: Vec<ParentCount> = fetch_rows(&self.db, &select).await?;
            let counts: HashMap<Uuid, i64> = counts.into_iter().map(|c| (c.parent, c.n)).collect();
            for parent in parents {
                let n = counts.get(&parent).copied().unwrap_or(0);
                out.insert(CountKey { relation, parent, filter: filter.clone() }, n);
            }
        }
        Ok(out)
    }
}

/// The connection of one page of a parent's children.
type ChildConnection<N, X> = super::pagination::ListConnection<N, X>;

/// One page of a parent's children as a connection, newest first, with a lazily counted total: what
/// every nested list (`Organisation.needs`, `Need.applications`, …) resolves to. Boxed (see `graphql::boxed`).
pub fn child_connection<'a, E, N, X>(
    loader: &'a async_graphql::dataloader::DataLoader<Children<E>>,
    relation: ChildRelation,
    parent: Uuid,
    filter: ChildFilter,
    page: Page,
    with_volunteers: bool,
    node: impl FnMut(Row<E>) -> (N, X) + Send + 'a,
) -> futures::future::BoxFuture<'a, Result<ChildConnection<N, X>, AppError>>
where
    E: EntityTrait,
    E::Model: ByPosition + Send + Sync + 'static,
    N: super::eager::EagerObject + Send + 'a,
    X: async_graphql::ObjectType + Send + 'a,
{
    super::boxed(page_connection(loader, relation, parent, filter, page, with_volunteers, node))
}

async fn page_connection<E, N, X>(
    loader: &async_graphql::dataloader::DataLoader<Children<E>>,
    relation: ChildRelation,
    parent: Uuid,
    filter: ChildFilter,
    page: Page,
    with_volunteers: bool,
    mut node: impl FnMut(Row<E>) -> (N, X),
) -> Result<ChildConnection<N, X>, AppError>
where
    E: EntityTrait,
    E::Model: ByPosition + Send + Sync + 'static,
    N: super::eager::EagerObject,
    X: async_graphql::ObjectType,
{
    let key = ChildKey { parent, filter, page, with_volunteers };
    let rows = loader.load_one(key.clone()).await?.unwrap_or_default();
    let sort = relation.sort();
    let total = super::pagination::TotalCount::children(CountKey { relation, parent, filter: key.filter });
    // The loader's own copy is usually gone by now: then the rows move rather than being copied.
    let rows = Arc::try_unwrap(rows).unwrap_or_else(|shared| super::cloned_rows(&shared));
    Ok(super::pagination::connection(rows, total, |m| {
        let cursor = sort.cursor(super::pagination::SortValue::Time(m.created_at()), m.id());
        let (n, x) = node(m);
        (cursor, n, x)
    }))
}

/// Each need's cancelled sessions (a handful each), in one statement for all the needs of a request.
pub struct CancelledSessions {
    db: DatabaseConnection,
}

impl CancelledSessions {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl Loader<Uuid> for CancelledSessions {
    type Value = Vec<entity::session_cancellation::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, AppError> {
        domain::needs::sessions::cancellations_of(&self.db, keys).await
    }
}

/// Each need's waitlist, first first (application ids), in one statement for all the needs of a request: what
/// `Application.waitlistPosition` counts in.
pub struct Waitlists {
    db: DatabaseConnection,
}

impl Waitlists {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl Loader<Uuid> for Waitlists {
    type Value = Vec<Uuid>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, AppError> {
        domain::applications::waitlist::lines(&self.db, keys).await
    }
}

/// The sign-ups of each session (need, start), in one statement for all the sessions of a request.
pub struct SessionSignups {
    db: DatabaseConnection,
}

impl SessionSignups {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl Loader<(Uuid, chrono::DateTime<chrono::Utc>)> for SessionSignups {
    type Value = Vec<entity::session_signup::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(Uuid, chrono::DateTime<chrono::Utc>)],
    ) -> Result<HashMap<(Uuid, chrono::DateTime<chrono::Utc>), Self::Value>, AppError> {
        domain::needs::signups::of_sessions(&self.db, keys).await
    }
}

/// The attendance of each session (need, start), in one statement for all the sessions of a request.
pub struct SessionAttendance {
    db: DatabaseConnection,
}

impl SessionAttendance {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl Loader<(Uuid, chrono::DateTime<chrono::Utc>)> for SessionAttendance {
    type Value = Vec<entity::attendance::Model>;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(Uuid, chrono::DateTime<chrono::Utc>)],
    ) -> Result<HashMap<(Uuid, chrono::DateTime<chrono::Utc>), Self::Value>, AppError> {
        domain::hours::attendance::of_sessions(&self.db, keys).await
    }
}

/// The volunteers accepted on each need (profile ids), in one statement: who comes to a need's sessions when its
/// volunteers come to all of them.
pub struct AcceptedVolunteers {
    db: DatabaseConnection,
}

impl AcceptedVolunteers {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl Loader<Uuid> for AcceptedVolunteers {
    type Value = Vec<Uuid>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, AppError> {
        domain::needs::signups::accepted_volunteers(&self.db, keys).await
    }
}

/// Each volunteer's DBS checks verified by organisations, newest first, in one statement.
pub struct DbsVerifications {
    db: DatabaseConnection,
}

impl DbsVerifications {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl Loader<Uuid> for DbsVerifications {
    type Value = Vec<entity::dbs_verification::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, AppError> {
        domain::volunteers::verification::of_volunteers(&self.db, keys).await
    }
}

/// Loads volunteer profiles by their user's id.
pub struct ProfileByUser {
    db: DatabaseConnection,
}

impl ProfileByUser {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl Loader<Uuid> for ProfileByUser {
    type Value = volunteer_profile::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, AppError> {
        let rows = volunteer_profile::Entity::find()
            .filter(sea_orm::ColumnTrait::is_in(&volunteer_profile::Column::UserId, keys.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|p| (p.user_id, p)).collect())
    }
}

/// For one caller: which volunteers have applied to a need of an organisation the caller belongs to
/// (`domain::access::applied_to_organisations_of`), batched across a request's profiles.
pub struct ContactVisibility {
    db: DatabaseConnection,
    viewer: Option<Uuid>,
}

impl ContactVisibility {
    pub fn new(db: DatabaseConnection, viewer: Option<Uuid>) -> Self {
        Self { db, viewer }
    }
}

impl Loader<Uuid> for ContactVisibility {
    type Value = bool;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, bool>, AppError> {
        let Some(viewer) = self.viewer else { return Ok(keys.iter().map(|k| (*k, false)).collect()) };
        let applied = domain::access::applied_to_organisations_of(&self.db, viewer, keys).await?;
        Ok(keys.iter().map(|k| (*k, applied.contains(k))).collect())
    }
}

//! Resolving an object's fields without async-graphql's per-field machinery, for the objects a page holds many of.
//!
//! async-graphql resolves every field of every object as a boxed future (1–2 KB, copied in) in a
//! `FuturesUnordered` made for that object, and builds the object's map hashing each key twice. On a coordinator's
//! dashboard (about 1,600 objects) that was a third of the server's instructions. Here a field without a selection
//! of its own (a scalar or an enum, which almost always answers at once) is awaited in place; only fields with
//! selections (objects and lists, which may wait on a loader) are boxed, all started before the first scalar is
//! awaited so that their loaders' keys go into the same batch as before. Fields come out in the order they were
//! selected. Anything unusual (custom directives, fragments on an interface, a response key given twice) goes the
//! standard way. Schema extensions are not consulted: the schema has none (see `build_schema`), and async-graphql
//! does not say whether a request has any.
//!
//! It reaches into async-graphql's context through the same `#[doc(hidden)]` items its derive macros expand to,
//! and so depends on the version pinned in `Cargo.toml`.
use std::borrow::Cow;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{
    ContainerType, ContextSelectionSet, Name, ObjectType, OutputType, Positioned, ServerResult, Value,
};

use super::pagination::{Cursor, TotalCount};

/// An object resolved field by field as described above; to GraphQL it is `T` itself.
pub struct Eager<T>(pub T);

/// An object that may be resolved as described above.
pub trait EagerObject: ContainerType {
    /// A field this object resolves itself rather than through `resolve_field`: a connection's edges.
    fn own_field<'a>(
        &'a self,
        _ctx: &'a ContextSelectionSet<'a>,
        _field: &'a Positioned<Field>,
    ) -> Option<FieldFuture<'a>> {
        None
    }
}

impl<T: EagerObject> OutputType for Eager<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, _field: &Positioned<Field>) -> ServerResult<Value> {
        // Boxed: the future of an object holds its fields' futures, which hold their objects' futures; without a box
        // between them, the compiler cannot tell whether an object that lists itself (a volunteer's applications,
        // each with its volunteer) is `Send`.
        let object: Pin<Box<dyn Future<Output = ServerResult<Value>> + Send + '_>> =
            Box::pin(resolve_object(ctx, &self.0));
        object.await
    }
}

pub type FieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<Option<Value>>> + Send + 'a>>;

/// One selected field, its place in the answer, and its value once known.
struct Selected<'a> {
    field: &'a Positioned<Field>,
    value: Option<ServerResult<Option<Value>>>,
    waiting: Option<FieldFuture<'a>>,
}

/// Resolves `root`'s selected fields into an object value, as `resolve_container` does.
pub async fn resolve_object<T: EagerObject>(ctx: &ContextSelectionSet<'_>, root: &T) -> ServerResult<Value> {
    let mut fields = Vec::with_capacity(ctx.item.node.items.len());
    if !plain_fields::<T>(ctx, &ctx.item.node, &mut None, &mut fields) {
        return resolve_container(ctx, root).await;
    }
    let mut selected: Vec<Selected<'_>> =
        fields.into_iter().map(|field| Selected { field, value: None, waiting: None }).collect();

    // Objects and lists first: boxed and polled once, so that what they ask of loaders is asked now.
    for entry in selected.iter_mut().filter(|s| !s.field.node.selection_set.node.items.is_empty()) {
        let field = entry.field;
        entry.waiting = Some(
            root.own_field(ctx, field)
                .unwrap_or_else(|| Box::pin(async move { root.resolve_field(&ctx.with_field(field)).await })),
        );
    }
    poll_waiting(&mut selected, true).await;
    // Scalars in place.
    for entry in selected.iter_mut().filter(|s| s.field.node.selection_set.node.items.is_empty()) {
        entry.value = Some(if entry.field.node.name.node == "__typename" {
            Ok(Some(Value::String(root.introspection_type_name().into_owned())))
        } else {
            root.resolve_field(&ctx.with_field(entry.field)).await
        });
    }
    // Then the rest of the objects and lists, together.
    while selected.iter().any(|s| s.waiting.is_some()) {
        poll_waiting(&mut selected, false).await;
    }

    let mut object = async_graphql::indexmap::IndexMap::with_capacity(selected.len());
    for entry in selected {
        match entry.value {
            Some(Ok(value)) => {
                object.insert(entry.field.node.response_key().node.clone(), value.unwrap_or_default());
            }
            Some(Err(error)) => ctx.add_error(error),
            None => {}
        }
    }
    Ok(if object.is_empty() { Value::Null } else { Value::Object(object) })
}

/// Polls each waiting field once; returns after that pass if `once` or if one finished, else waits to be woken.
async fn poll_waiting(selected: &mut [Selected<'_>], once: bool) {
    poll_fn(|cx| {
        let mut progressed = once;
        for entry in selected.iter_mut() {
            if let Some(future) = entry.waiting.as_mut()
                && let Poll::Ready(value) = future.as_mut().poll(cx)
            {
                entry.value = Some(value);
                entry.waiting = None;
                progressed = true;
            }
        }
        if progressed { Poll::Ready(()) } else { Poll::Pending }
    })
    .await
}

/// Collects the fields of a selection set, looking into fragments on `T` itself (or on no type).
/// False where this module does not resolve it as async-graphql would: custom directives, fragments on another
/// type (an interface), or a response key given twice (whose selections async-graphql merges).
fn plain_fields<'a, T: OutputType>(
    ctx: &ContextSelectionSet<'a>,
    set: &'a SelectionSet,
    type_name: &mut Option<Cow<'static, str>>,
    fields: &mut Vec<&'a Positioned<Field>>,
) -> bool {
    for selection in &set.items {
        let (condition, set): (Option<&Name>, &'a SelectionSet) = match &selection.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                if !field.node.directives.is_empty() || fields.iter().any(|f| &f.node.response_key().node == key) {
                    return false;
                }
                fields.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let Some(fragment) = ctx.query_env.fragments.get(&spread.node.fragment_name.node) else {
                    return false;
                };
                (Some(&fragment.node.type_condition.node.on.node), &fragment.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => {
                (fragment.node.type_condition.as_ref().map(|c| &c.node.on.node), &fragment.node.selection_set.node)
            }
        };
        // The type's name only when a fragment needs it: an edge's or a connection's name is made each time.
        if let Some(on) = condition
            && on.as_str() != type_name.get_or_insert_with(T::type_name).as_ref()
        {
            return false;
        }
        if !plain_fields::<T>(ctx, set, type_name, fields) {
            return false;
        }
    }
    true
}

/// A connection's edges are resolved here, each edge (and so its node) as above; the rest of it as async-graphql
/// does.
impl<N, E> EagerObject for Connection<Cursor, N, TotalCount, E>
where
    N: OutputType,
    E: ObjectType,
{
    fn own_field<'a>(
        &'a self,
        ctx: &'a ContextSelectionSet<'a>,
        field: &'a Positioned<Field>,
    ) -> Option<FieldFuture<'a>> {
        (field.node.name.node == "edges").then(|| -> FieldFuture<'a> {
            Box::pin(async move {
                let ctx_field = ctx.with_field(field);
                let ctx_edges = ctx_field.with_selection_set(&field.node.selection_set);
                let ctx_edges = &ctx_edges;
                // As async-graphql resolves a list: all items at once, the first error failing the list.
                let edges = self.edges.iter().enumerate().map(|(index, edge)| async move {
                    let ctx_edge = ctx_edges.with_index(index);
                    resolve_object(&ctx_edge, edge).await.map_err(|error| ctx_edge.set_error_path(error))
                });
                Ok(Some(Value::List(futures::future::try_join_all(edges).await?)))
            })
        })
    }
}

impl<C, N, E> EagerObject for Edge<C, N, E>
where
    C: CursorType + Send + Sync,
    N: OutputType,
    E: ObjectType,
{
}

/// The objects that connections list, and a volunteer shown on each application.
macro_rules! eager_objects {
    ($($object:ty),+ $(,)?) => {
        $(impl EagerObject for $object {})+
    };
}
eager_objects!(
    crate::applications::Application,
    crate::audit::AuditEvent,
    crate::matching::NeedMatch,
    crate::matching::OfferMatch,
    crate::matching::VolunteerMatch,
    crate::needs::Need,
    crate::offers::Offer,
    crate::organisations::Membership,
    crate::organisations::Organisation,
    crate::volunteers::VolunteerProfile,
);

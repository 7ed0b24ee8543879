//! Resolving an object's fields without async-graphql's per-field machinery, for the objects a page holds many of.
//!
//! async-graphql resolves every field of every object as a boxed future (1–2 KB, copied in) in a
//! `FuturesUnordered` made for that object, and builds the object's map hashing each key twice. On a coordinator's
//! dashboard (about 1,600 objects) that was a third of the server's instructions. Here fields with selections of
//! their own (objects and lists, which may wait on a loader) are boxed and started first; then each scalar or enum
//! is polled in place, and most answer at once. A scalar that waits (on a loader, or a privacy check) is awaited
//! with the objects polled beside it and the scalars after it boxed and started with it, so that, as with
//! async-graphql, every field is started before the request blocks and their loaders' keys go into one batch.
//! Fields come out in the order they were selected. Anything unusual (custom directives, fragments on an interface,
//! a response key given twice) goes the standard way. Schema extensions are not consulted: the schema has none
//! (see `build_schema`), and async-graphql does not say whether a request has any.
//!
//! It reaches into async-graphql's context through the same `#[doc(hidden)]` items its derive macros expand to,
//! and so depends on the version pinned in `Cargo.toml`.
use std::borrow::Cow;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{
    ContainerType, ContextSelectionSet, Name, ObjectType, OutputType, Positioned, ServerResult, Value,
};

use super::pagination::{PageCursor, TotalCount};

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

/// One selected field, in the order it was selected, and where its value is.
struct Selected<'a> {
    field: &'a Positioned<Field>,
    answer: Answer<'a>,
}

enum Answer<'a> {
    /// A scalar, until its turn.
    Unasked,
    Waiting(FieldFuture<'a>),
    Value(Value),
    /// Its error is reported, and the field left out (as async-graphql does).
    Failed,
}

impl Answer<'_> {
    fn of(ctx: &ContextSelectionSet<'_>, result: ServerResult<Option<Value>>) -> Self {
        match result {
            Ok(value) => Answer::Value(value.unwrap_or_default()),
            Err(error) => {
                ctx.add_error(error);
                Answer::Failed
            }
        }
    }
}

/// Resolves `root`'s selected fields into an object value, as `resolve_container` does.
pub async fn resolve_object<T: EagerObject>(ctx: &ContextSelectionSet<'_>, root: &T) -> ServerResult<Value> {
    let mut selected = Vec::with_capacity(ctx.item.node.items.len());
    if !collect_plain_fields(ctx, root, &ctx.item.node, &mut None, &mut selected) {
        return resolve_container(ctx, root).await;
    }

    // Objects and lists first: boxed and polled once, so that what they ask of loaders is asked now.
    let mut waiting = false;
    for entry in selected.iter_mut().filter(|s| !s.field.node.selection_set.node.items.is_empty()) {
        let field = entry.field;
        entry.answer = Answer::Waiting(root.own_field(ctx, field).unwrap_or_else(|| started(ctx, root, field)));
        waiting = true;
    }
    if waiting {
        waiting = poll_waiting(ctx, &mut selected, true).await;
    }
    // Scalars in place, each polled once: most answer at once. One that waits (on a loader, or on a privacy check
    // that another field has started) is awaited where it is, the objects polled beside it and the scalars after
    // it boxed and started with it: so nothing waits on a field that is not being polled, and the loaders' keys of
    // all of them go into the same batch, as with async-graphql.
    for index in 0..selected.len() {
        if !matches!(selected[index].answer, Answer::Unasked) {
            continue;
        }
        let ctx_field = ctx.with_field(selected[index].field);
        let mut scalar = pin!(root.resolve_field(&ctx_field));
        let result = match poll_fn(|cx| Poll::Ready(scalar.as_mut().poll(cx))).await {
            Poll::Ready(result) => result,
            Poll::Pending => {
                for entry in selected[index + 1..].iter_mut().filter(|s| matches!(s.answer, Answer::Unasked)) {
                    entry.answer = Answer::Waiting(started(ctx, root, entry.field));
                    waiting = true;
                }
                poll_fn(|cx| {
                    if waiting {
                        waiting = poll_answers(ctx, &mut selected, cx).1;
                    }
                    scalar.as_mut().poll(cx)
                })
                .await
            }
        };
        selected[index].answer = Answer::of(ctx, result);
    }
    // Then the rest, together.
    while waiting {
        waiting = poll_waiting(ctx, &mut selected, false).await;
    }

    let mut object = async_graphql::indexmap::IndexMap::with_capacity(selected.len());
    for entry in selected {
        if let Answer::Value(value) = entry.answer {
            object.insert(entry.field.node.response_key().node.clone(), value);
        }
    }
    Ok(if object.is_empty() { Value::Null } else { Value::Object(object) })
}

/// One field of `root`, boxed to be polled beside others.
fn started<'a, T: ContainerType>(
    ctx: &'a ContextSelectionSet<'a>,
    root: &'a T,
    field: &'a Positioned<Field>,
) -> FieldFuture<'a> {
    Box::pin(async move { root.resolve_field(&ctx.with_field(field)).await })
}

/// Polls each waiting field once; returns after that pass if `once` or if one finished, else waits to be woken.
/// True while some are still waiting.
async fn poll_waiting(ctx: &ContextSelectionSet<'_>, selected: &mut [Selected<'_>], once: bool) -> bool {
    poll_fn(|cx| {
        let (progressed, still_waiting) = poll_answers(ctx, selected, cx);
        if progressed || once { Poll::Ready(still_waiting) } else { Poll::Pending }
    })
    .await
}

/// One pass over the waiting fields: whether any finished, and whether any still wait.
fn poll_answers(ctx: &ContextSelectionSet<'_>, selected: &mut [Selected<'_>], cx: &mut Context<'_>) -> (bool, bool) {
    let (mut progressed, mut still_waiting) = (false, false);
    for entry in selected.iter_mut() {
        if let Answer::Waiting(future) = &mut entry.answer {
            match future.as_mut().poll(cx) {
                Poll::Ready(result) => {
                    entry.answer = Answer::of(ctx, result);
                    progressed = true;
                }
                Poll::Pending => still_waiting = true,
            }
        }
    }
    (progressed, still_waiting)
}

/// Collects the fields of a selection set, looking into fragments on `T` itself (or on no type).
/// False where this module does not resolve it as async-graphql would: custom directives, fragments on another
/// type (an interface), or a response key given twice (whose selections async-graphql merges).
fn collect_plain_fields<'a, T: OutputType>(
    ctx: &ContextSelectionSet<'a>,
    root: &T,
    set: &'a SelectionSet,
    type_name: &mut Option<Cow<'static, str>>,
    fields: &mut Vec<Selected<'a>>,
) -> bool {
    for selection in &set.items {
        let (condition, set): (Option<&Name>, &'a SelectionSet) = match &selection.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                if !field.node.directives.is_empty() || fields.iter().any(|f| &f.field.node.response_key().node == key)
                {
                    return false;
                }
                // `__typename` is not one of the type's fields: async-graphql answers it itself, as here.
                let answer = if field.node.name.node == "__typename" {
                    Answer::Value(Value::String(root.introspection_type_name().into_owned()))
                } else {
                    Answer::Unasked
                };
                fields.push(Selected { field, answer });
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
        if !collect_plain_fields(ctx, root, set, type_name, fields) {
            return false;
        }
    }
    true
}

/// A connection's edges are resolved here, each edge (and so its node) as above; the rest of it as async-graphql
/// does.
impl<N, E> EagerObject for Connection<PageCursor, N, TotalCount, E>
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

/// Marks types as eager objects (the schema root lists them).
macro_rules! eager_objects {
    ($($object:ty),+ $(,)?) => {
        $(impl $crate::kit::eager::EagerObject for $object {})+
    };
}
pub(crate) use eager_objects;

//! Limits on the shape of a query, checked before anything runs: depth, cost, fields, aliases and root fields.
//!
//! Cost: every field costs 1 plus what it selects, and a connection costs its page size (`first` or `last`, 20
//! when neither is given) times what each of its items selects (`page_cost`). Refusals state the measure and the
//! limit, with `extensions.code` `QUERY_TOO_COMPLEX` and `extensions.limit` naming which limit was passed.
//!
//! Fields and aliases are counted here rather than left to the cost: async-graphql gives `__typename` no cost, so
//! thousands of aliased `__typename`s would otherwise pass (alias overloading).
use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, Name, ServerError, ValidationResult};

/// Deepest legitimate query (organisation → needs → edges → node → applications → edges → node →
/// volunteer → field) is 9 levels; 12 leaves room without allowing pathological nesting.
pub const MAX_DEPTH: usize = 12;
/// The coordinator dashboard (50 needs × 10 applications × a few fields) costs about 3,500.
pub const MAX_COST: usize = 20_000;
/// Fields in one document, counting each use of a fragment.
pub const MAX_FIELDS: usize = 1_000;
pub const MAX_ALIASES: usize = 50;
pub const MAX_ROOT_FIELDS: usize = 20;
/// Depth inside `__schema` and `__type`: the standard introspection query (GraphiQL's, code generators') is 15 deep
/// through its `ofType` chains; 20 allows it and stops circular-introspection nesting.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;
/// Selection sets, fragment spreads and inline fragments inside one another, counted while measuring: the parser
/// bounds nesting within a selection but not chains of fragments, and measuring recurses along them (on the
/// request's stack). Far past `MAX_DEPTH`, so only a document refused anyway meets it.
const MAX_NESTING: usize = 64;

/// The cost of a connection field: its page size times the cost of what each item selects.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first
        .or(last)
        .unwrap_or(crate::kit::pagination::DEFAULT_PAGE_SIZE)
        .clamp(1, crate::kit::pagination::MAX_PAGE_SIZE);
    usize::try_from(size).unwrap_or(100).saturating_mul(child_complexity).saturating_add(1)
}

/// Refuses a document whose shape passes a limit. Run on the parsed document before the schema sees it, so that no
/// extension is needed for it: with any extension installed, async-graphql routes every field through the
/// extension chain, which cost the coordinator dashboard a quarter of its rate.
pub fn check_shape(document: &ExecutableDocument) -> Result<(), ServerError> {
    let shape = Shape::of(document);
    if shape.aliases > MAX_ALIASES {
        return Err(refuse("aliases", shape.aliases, MAX_ALIASES, "has aliases:"));
    }
    if shape.root_fields > MAX_ROOT_FIELDS {
        return Err(refuse("rootFields", shape.root_fields, MAX_ROOT_FIELDS, "asks for root fields:"));
    }
    if shape.fields > MAX_FIELDS {
        return Err(refuse("fields", shape.fields, MAX_FIELDS, "selects fields:"));
    }
    if shape.too_deep {
        return Err(refuse("depth", MAX_NESTING, MAX_DEPTH, "is nested more than"));
    }
    if shape.depth > MAX_DEPTH {
        return Err(refuse("depth", shape.depth, MAX_DEPTH, "is nested"));
    }
    if shape.introspection_depth > MAX_INTROSPECTION_DEPTH {
        return Err(refuse("introspectionDepth", shape.introspection_depth, MAX_INTROSPECTION_DEPTH, "is nested"));
    }
    Ok(())
}

/// What async-graphql answers when a document costs more than the schema's `limit_complexity`.
const TOO_COMPLEX: &str = "Query is too complex.";

/// Whether a response is async-graphql's bare cost refusal (which says neither the cost nor the limit).
pub fn is_cost_refusal(response: &async_graphql::Response) -> bool {
    matches!(response.errors.as_slice(), [only] if only.message == TOO_COMPLEX)
}

/// The extension of the schema that states a refused document's cost (`graphql::cost_schema`): it measures and
/// refuses every document at validation, so nothing it is given ever runs.
pub struct CostMeasure;

impl ExtensionFactory for CostMeasure {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(CostMeasure)
    }
}

fn refuse(limit: &str, measured: usize, max: usize, what: &str) -> ServerError {
    let mut error = ServerError::new(format!("this query {what} {measured}, over the limit of {max}"), None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", "QUERY_TOO_COMPLEX");
    extensions.set("limit", limit);
    extensions.set("measured", measured as u64);
    extensions.set("max", max as u64);
    error.extensions = Some(extensions);
    error
}

#[async_trait::async_trait]
impl Extension for CostMeasure {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        Err(vec![refuse("cost", result.complexity, MAX_COST, "costs")])
    }
}

/// What a document selects, with every use of a fragment counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Shape {
    fields: usize,
    aliases: usize,
    root_fields: usize,
    /// Deepest path of fields, outside introspection.
    depth: usize,
    /// Deepest path inside `__schema` or `__type`.
    introspection_depth: usize,
    /// Nested (through fragments) past `MAX_NESTING`: measuring stopped there.
    too_deep: bool,
}

impl Shape {
    fn of(document: &ExecutableDocument) -> Self {
        let mut counter = Counter { document, memo: HashMap::new(), visiting: Vec::new(), nesting: 0, too_deep: false };
        let mut total = Shape::default();
        for (_, operation) in document.operations.iter() {
            let m = counter.measure(&operation.node.selection_set.node);
            total.fields = total.fields.saturating_add(m.fields);
            total.aliases = total.aliases.saturating_add(m.aliases);
            total.root_fields = total.root_fields.saturating_add(m.top_fields);
            total.depth = total.depth.max(m.depth);
            total.introspection_depth = total.introspection_depth.max(m.introspection_depth);
        }
        total.too_deep = counter.too_deep;
        total
    }
}

/// The measures of one selection set.
#[derive(Clone, Copy, Default)]
struct Measures {
    fields: usize,
    aliases: usize,
    /// Fields at this level, looking through fragments (the root fields, for an operation).
    top_fields: usize,
    depth: usize,
    introspection_depth: usize,
}

impl Measures {
    fn add(&mut self, other: Measures) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.top_fields = self.top_fields.saturating_add(other.top_fields);
        self.depth = self.depth.max(other.depth);
        self.introspection_depth = self.introspection_depth.max(other.introspection_depth);
    }
}

struct Counter<'a> {
    document: &'a ExecutableDocument,
    /// Measures per fragment, so a fragment used many times (or nested fragments that each use the next twice) is
    /// measured in linear time.
    memo: HashMap<&'a Name, Measures>,
    /// Fragments being measured: a cycle counts as nothing here (validation refuses it afterwards).
    visiting: Vec<&'a Name>,
    /// How deep the measuring is, and whether it went past `MAX_NESTING`.
    nesting: usize,
    too_deep: bool,
}

impl<'a> Counter<'a> {
    fn measure(&mut self, set: &'a SelectionSet) -> Measures {
        if self.nesting >= MAX_NESTING {
            self.too_deep = true;
            return Measures::default();
        }
        self.nesting += 1;
        let measured = self.measure_within(set);
        self.nesting -= 1;
        measured
    }

    fn measure_within(&mut self, set: &'a SelectionSet) -> Measures {
        let mut total = Measures::default();
        for item in &set.items {
            total.add(match &item.node {
                Selection::Field(field) => {
                    let below = self.measure(&field.node.selection_set.node);
                    let introspection = matches!(field.node.name.node.as_str(), "__schema" | "__type");
                    Measures {
                        fields: below.fields.saturating_add(1),
                        aliases: below.aliases.saturating_add(usize::from(field.node.alias.is_some())),
                        top_fields: 1,
                        depth: if introspection { 0 } else { below.depth + 1 },
                        introspection_depth: if introspection {
                            below.depth.max(below.introspection_depth) + 1
                        } else {
                            below.introspection_depth
                        },
                    }
                }
                Selection::InlineFragment(fragment) => self.measure(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            });
        }
        total
    }

    fn fragment(&mut self, name: &'a Name) -> Measures {
        if let Some(measured) = self.memo.get(name) {
            return *measured;
        }
        let Some(definition) = self.document.fragments.get(name) else { return Measures::default() };
        if self.visiting.contains(&name) {
            return Measures::default();
        }
        self.visiting.push(name);
        let measured = self.measure(&definition.node.selection_set.node);
        self.visiting.pop();
        self.memo.insert(name, measured);
        measured
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(query: &str) -> Shape {
        match async_graphql::parser::parse_query(query) {
            Ok(document) => Shape::of(&document),
            Err(e) => panic!("test query does not parse: {e}"),
        }
    }

    #[test]
    fn fields_aliases_and_root_fields_are_counted_through_fragments() {
        let s = shape("{ a b { c d } }");
        assert_eq!((s.fields, s.aliases, s.root_fields, s.depth), (4, 0, 2, 2));
        let s = shape("{ x: a y: a ...F } fragment F on Q { z: b { c } }");
        assert_eq!((s.fields, s.aliases, s.root_fields, s.depth), (4, 3, 3, 2));
        let typenames: String = (0..2001).map(|i| format!("t{i}: __typename ")).collect();
        assert_eq!(shape(&format!("{{ {typenames} }}")).aliases, 2001, "__typename counts too");
    }

    #[test]
    fn fragments_used_many_times_are_counted_each_time_in_linear_time() {
        // Each fragment uses the next twice: 2^30 fields when expanded, counted without expanding.
        let mut query = String::from("{ ...F0 }");
        for i in 0..30 {
            query.push_str(&format!(" fragment F{i} on Q {{ ...F{} ...F{} }}", i + 1, i + 1));
        }
        query.push_str(" fragment F30 on Q { a }");
        let s = shape(&query);
        assert_eq!((s.fields, s.root_fields, s.depth), (1 << 30, 1 << 30, 1));
        // A cycle neither loops nor counts (validation refuses it later).
        assert_eq!(shape("{ ...A } fragment A on Q { a ...B } fragment B on Q { b ...A }").fields, 2);
    }

    #[test]
    fn a_long_chain_of_fragments_is_refused_without_following_it_to_the_end() {
        // 20,000 fragments, each spreading the next: nested far past what the parser bounds.
        let mut query = String::from("{ ...F0 }");
        for i in 0..20_000 {
            query.push_str(&format!(" fragment F{i} on Q {{ ...F{} }}", i + 1));
        }
        query.push_str(" fragment F20000 on Q { a }");
        let document = async_graphql::parser::parse_query(&query).expect("parses");
        let refusal = check_shape(&document).expect_err("refused");
        assert!(refusal.message.contains("nested more than 64"), "{}", refusal.message);
        assert!(check_shape(&async_graphql::parser::parse_query("{ a { b } }").expect("parses")).is_ok());
    }

    #[test]
    fn introspection_depth_is_measured_apart() {
        let of_type = |n: usize| "ofType { ".repeat(n) + "name" + &" }".repeat(n);
        let standard = format!("{{ __schema {{ types {{ fields {{ type {{ {} }} }} }} }} a {{ b }} }}", of_type(10));
        let s = shape(&standard);
        assert_eq!((s.depth, s.introspection_depth), (2, 15));
        let circular = format!("{{ __type(name: \"Q\") {{ {} }} }}", of_type(25));
        assert_eq!(shape(&circular).introspection_depth, 27);
    }

    #[test]
    fn a_connection_costs_its_page_times_its_items() {
        assert_eq!(page_cost(Some(50), None, 10), 501);
        assert_eq!(page_cost(None, Some(5), 10), 51);
        assert_eq!(page_cost(None, None, 10), 201, "the default page of 20");
        assert_eq!(page_cost(Some(0), None, 10), 11, "an empty page still costs its selection once");
        assert_eq!(page_cost(Some(10_000), None, 10), 1001, "page sizes are capped at 100");
    }
}

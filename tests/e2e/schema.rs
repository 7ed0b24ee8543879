//! The contract is a file: `schema.graphql` must match the schema in code.
#[test]
fn schema_graphql_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    let current = api::schema::sdl();
    assert!(checked_in == current, "schema.graphql is stale: run `cargo run -- schema > schema.graphql` and commit it");
}

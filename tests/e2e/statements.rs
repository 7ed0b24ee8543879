//! No N+1: the number of SQL statements a request runs does not grow with page sizes.
use serde_json::json;

use crate::helpers::{TestApp, data};

#[tokio::test]
async fn listing_with_organisations_runs_the_same_statements_for_5_or_50() {
    let app = TestApp::spawn().await;
    // Needs spread over several organisations, so the organisation loader has real batching to do.
    let mut members = Vec::new();
    for o in 0..6 {
        let owner = app.register(&format!("owner{o}@org.example"), "Owner").await;
        let org_id = app.organisation(&owner, &format!("Organisation {o}")).await;
        members.push((owner, org_id));
    }
    for n in 0..60 {
        let (owner, org_id) = &members[n % members.len()];
        app.open_need(owner, org_id, &format!("Need {n}"), json!({})).await;
    }

    let query = "query($n: Int!) { needs(first: $n) { edges { node { title organisation { name } } } } }";
    let mut counts = Vec::new();
    for n in [5, 50] {
        app.reset_statements();
        let resp = app.gql(query, json!({ "n": n })).await;
        assert_eq!(data(&resp)["needs"]["edges"].as_array().map(Vec::len), Some(n));
        counts.push(app.statements());
    }
    assert_eq!(counts[0], counts[1], "statements for first: 5 and first: 50");
    assert_eq!(counts[1], 1, "the page and its organisations in one statement");
}

#[tokio::test]
async fn dashboard_nesting_runs_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@dash.example", "Owner").await;
    let org_id = app.organisation(&owner, "Dashboard Org").await;
    let mut needs = Vec::new();
    for n in 0..8 {
        needs.push(app.open_need(&owner, &org_id, &format!("Need {n}"), json!({"volunteersNeeded": 5})).await);
    }
    for v in 0..6 {
        let (volunteer, _) =
            app.volunteer(&format!("v{v}@volunteer.example"), &format!("Volunteer {v}"), json!({})).await;
        for need in &needs {
            app.apply(&volunteer, need).await;
        }
    }
    let query = "query($org: ID!, $n: Int!, $a: Int!) { organisation(id: $org) { name needs(first: $n) { totalCount edges { node { title applications(first: $a) { totalCount edges { node { status volunteer { displayName email } } } } } } } } }";
    let mut counts = Vec::new();
    for (n, a) in [(2, 1), (8, 6)] {
        app.reset_statements();
        let resp = app.gql_as(Some(&owner.token), query, json!({ "org": org_id, "n": n, "a": a })).await;
        let edges = data(&resp)["organisation"]["needs"]["edges"].as_array().cloned().unwrap_or_default();
        assert_eq!(edges.len(), n);
        assert_eq!(edges[0]["node"]["applications"]["edges"].as_array().map(Vec::len), Some(a));
        assert_eq!(edges[0]["node"]["applications"]["totalCount"], 6);
        counts.push(app.statements());
    }
    assert_eq!(counts[0], counts[1], "statements must not grow with page sizes: {counts:?}");

    // The coordinator dashboard of issue 5 (Q2): the account with its memberships, the organisation, its page of
    // needs, and their pages of applications with their volunteers.
    let q2 = "query($org: ID!) { organisation(id: $org) { name needs(first: 50) { edges { node { title applications(first: 10) { edges { node { status volunteer { displayName } } } } } } } } }";
    app.reset_statements();
    let resp = app.gql_as(Some(&owner.token), q2, json!({ "org": org_id })).await;
    let edges = data(&resp)["organisation"]["needs"]["edges"].as_array().cloned().unwrap_or_default();
    assert_eq!(edges.len(), 8);
    let names = edges[0]["node"]["applications"]["edges"].as_array().cloned().unwrap_or_default();
    assert_eq!(names.len(), 6);
    assert!(
        names
            .iter()
            .all(|a| a["node"]["volunteer"]["displayName"].as_str().is_some_and(|n| n.starts_with("Volunteer ")))
    );
    assert_eq!(app.statements(), 4, "{resp}");
}

#[tokio::test]
async fn near_me_runs_the_same_statements_for_any_page_size() {
    let app = TestApp::spawn().await;
    let mut members = Vec::new();
    for o in 0..4 {
        let owner = app.register(&format!("owner{o}@near.example"), "Owner").await;
        let org_id = app.organisation(&owner, &format!("Near Organisation {o}")).await;
        members.push((owner, org_id));
    }
    for n in 0..24 {
        let (owner, org_id) = &members[n % members.len()];
        // Spread within a few km of Roehampton.
        let location = json!({ "lat": 51.4566 + (n as f64) * 0.002, "lng": -0.2426 - (n as f64) * 0.001 });
        app.open_need(owner, org_id, &format!("Need {n}"), json!({ "location": location })).await;
    }
    let query = "query($n: Int!) { needs(first: $n, filter: {near: {lat: 51.46, lng: -0.24, radiusKm: 10}, status: OPEN}, orderBy: NEAREST) { edges { distanceKm node { title organisation { name } } } } }";
    let mut counts = Vec::new();
    for n in [3, 20] {
        app.reset_statements();
        let resp = app.gql(query, json!({ "n": n })).await;
        assert_eq!(data(&resp)["needs"]["edges"].as_array().map(Vec::len), Some(n));
        counts.push(app.statements());
    }
    assert_eq!(counts[0], counts[1], "statements for first: 3 and first: 20");
    assert_eq!(counts[1], 1, "the page and its organisations in one statement");
}

/// Prepared statements are planned once per connection on PostgreSQL (see `PITCHIN_DB_GENERIC_PLANS`): PostgreSQL's
/// own rule re-planned the listing on every request. SQLite has no such setting.
#[tokio::test]
async fn postgres_sessions_plan_prepared_statements_once_unless_switched_off() {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    async fn mode(app: &TestApp) -> Option<String> {
        let row = app
            .db
            .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, "SHOW plan_cache_mode"))
            .await
            .expect("SHOW");
        row.and_then(|r| r.try_get::<String>("", "plan_cache_mode").ok())
    }
    let app = TestApp::spawn().await;
    if app.db.get_database_backend() != DatabaseBackend::Postgres {
        return;
    }
    assert_eq!(mode(&app).await.as_deref(), Some("force_generic_plan"));
    let app = TestApp::spawn_with(|s| s.db_generic_plans = false).await;
    assert_eq!(mode(&app).await.as_deref(), Some("auto"));
}

//! Listings and child pages read only the columns that the document can show: whatever a document does show
//! comes back whole, however it reaches the row.
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data};

struct Dashboard {
    owner: Session,
    org_id: String,
    need_id: String,
    application_id: String,
    profile_id: String,
}

/// An organisation with one open need (the helper's description, skills, languages and schedule), and one
/// volunteer (the helper's bio, skills, languages and availability) who applied to it with a message.
async fn dashboard(app: &TestApp) -> Dashboard {
    let owner = app.register("owner@columns.example", "Owner").await;
    let org_id = app.organisation(&owner, "Columns Org").await;
    let need_id = app.open_need(&owner, &org_id, "English conversation", json!({})).await;
    let (volunteer, profile_id) = app.volunteer("v@columns.example", "Vera", json!({})).await;
    let application_id = app.apply(&volunteer, &need_id).await;
    Dashboard { owner, org_id, need_id, application_id, profile_id }
}

fn first_application(resp: &Value) -> (&Value, &Value) {
    let need = &data(resp)["organisation"]["needs"]["edges"][0]["node"];
    (need, &need["applications"]["edges"][0]["node"])
}

#[tokio::test]
async fn a_dashboard_shows_every_bulky_field_it_asks_for() {
    let app = TestApp::spawn().await;
    let d = dashboard(&app).await;
    let lean = "query($org: ID!) { organisation(id: $org) { needs(first: 5) { edges { node { title applications(first: 5) { edges { node { status volunteer { displayName } } } } } } } } }";
    app.reset_statements();
    let resp = app.gql_as(Some(&d.owner.token), lean, json!({ "org": d.org_id })).await;
    let (need, application) = first_application(&resp);
    assert_eq!(need["title"], "English conversation");
    assert_eq!(application["volunteer"]["displayName"], "Vera");
    // What makes the lean dashboard cheap: its pages do not read the texts and lists it does not show.
    let sql = app.statement_texts().join("\n");
    // (The organisation itself is read whole, by id.)
    let left_out = [
        ("needs", "description"),
        ("needs", "weekly_schedule"),
        ("applications", "message"),
        ("volunteer_profiles", "bio"),
        ("volunteer_profiles", "skills"),
    ];
    for (table, column) in left_out {
        let read = format!("\"{table}\".\"{column}\"");
        assert!(!sql.contains(&read), "the lean dashboard read {read}:\n{sql}");
    }

    let full = "query($org: ID!) { organisation(id: $org) { description needs(first: 5) { edges { node { description requiredSkills languages schedule { weekly { day start } } applications(first: 5) { edges { node { message volunteer { displayName bio skills interests languages availability { day end } } } } } } } } } }";
    app.reset_statements();
    let resp = app.gql_as(Some(&d.owner.token), full, json!({ "org": d.org_id })).await;
    let sql = app.statement_texts().join("\n");
    for (table, column) in left_out {
        let read = format!("\"{table}\".\"{column}\"");
        assert!(sql.contains(&read), "the full dashboard reads {read}:\n{sql}");
    }
    assert_eq!(data(&resp)["organisation"]["description"], "Test organisation");
    let (need, application) = first_application(&resp);
    assert_eq!(need["description"], "Help wanted");
    assert_eq!(need["requiredSkills"], json!(["teaching english"]));
    assert_eq!(need["languages"], json!(["arabic"]));
    assert_eq!(need["schedule"]["weekly"], json!([{ "day": "TUESDAY", "start": "19:00" }]));
    assert_eq!(application["message"], "I can help");
    let volunteer = &application["volunteer"];
    assert_eq!(volunteer["bio"], "Happy to help");
    assert_eq!(volunteer["skills"], json!(["it support", "teaching english"]));
    assert_eq!(volunteer["interests"], json!(["ENGLISH_CLASSES"]));
    assert_eq!(volunteer["languages"], json!(["arabic", "english"]));
    assert_eq!(volunteer["availability"], json!([{ "day": "TUESDAY", "end": "22:00" }]));
}

/// The dashboard's page carries the volunteers it joined to the volunteer loader: a second field of the same
/// document that shows their bio and skills through that loader must get them whole.
#[tokio::test]
async fn a_volunteer_joined_for_a_page_is_whole_for_another_field_that_shows_more() {
    let app = TestApp::spawn().await;
    let d = dashboard(&app).await;
    let query = "query($org: ID!, $profile: ID!) { organisation(id: $org) { needs(first: 5) { edges { node { applications(first: 5) { edges { node { volunteer { displayName } } } } } } } } node(id: $profile) { ... on VolunteerProfile { bio skills } } }";
    let resp = app.gql_as(Some(&d.owner.token), query, json!({ "org": d.org_id, "profile": d.profile_id })).await;
    let (_, application) = first_application(&resp);
    assert_eq!(application["volunteer"]["displayName"], "Vera");
    assert_eq!(data(&resp)["node"]["bio"], "Happy to help");
    assert_eq!(data(&resp)["node"]["skills"], json!(["it support", "teaching english"]));
}

#[tokio::test]
async fn a_listing_shows_descriptions_only_when_asked_and_then_whole() {
    let app = TestApp::spawn().await;
    dashboard(&app).await;
    let resp = app.gql("{ needs(first: 5) { edges { node { title organisation { name } } } } }", json!({})).await;
    let node = &data(&resp)["needs"]["edges"][0]["node"];
    assert_eq!(node["title"], "English conversation");
    assert_eq!(node["organisation"]["name"], "Columns Org");

    // Near a place too, which reads distances beside the columns.
    let query = "{ needs(first: 5, filter: {near: {lat: 51.46, lng: -0.24, radiusKm: 10}}, orderBy: NEAREST) { edges { distanceKm node { description requiredSkills schedule { weekly { day } } organisation { name description } } } } }";
    let resp = app.gql(query, json!({})).await;
    let edge = &data(&resp)["needs"]["edges"][0];
    assert!(edge["distanceKm"].as_f64().is_some_and(|km| km < 1.0), "{edge}");
    assert_eq!(edge["node"]["description"], "Help wanted");
    assert_eq!(edge["node"]["requiredSkills"], json!(["teaching english"]));
    assert_eq!(edge["node"]["schedule"]["weekly"], json!([{ "day": "TUESDAY" }]));
    assert_eq!(edge["node"]["organisation"]["description"], "Test organisation");
}

/// Each field of `type_name` that takes no arguments, as a selection: scalars and enums by name, and the value
/// objects that read columns with their own fields. Relations (other nodes, pages) are left to their own types.
async fn fields_of(app: &TestApp, type_name: &str) -> Vec<String> {
    let query = "query($name: String!) { __type(name: $name) { fields { name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }";
    let resp = app.gql(query, json!({ "name": type_name })).await;
    let objects = [
        ("schedule", "schedule { weekly { day start end } startDate endDate }"),
        ("location", "location { lat lng }"),
        ("dbsCheck", "dbsCheck { level issuedOn recheckBy onUpdateService }"),
        ("availability", "availability { day start end }"),
    ];
    let mut selections = Vec::new();
    for field in data(&resp)["__type"]["fields"].as_array().expect("fields") {
        let name = field["name"].as_str().expect("name");
        if !field["args"].as_array().is_none_or(|a| a.is_empty()) {
            continue;
        }
        let mut ty = &field["type"];
        while ty["kind"] == "NON_NULL" || ty["kind"] == "LIST" {
            ty = &ty["ofType"];
        }
        match ty["kind"].as_str() {
            Some("SCALAR" | "ENUM") => selections.push(name.to_owned()),
            _ => selections.extend(objects.iter().find(|(n, _)| *n == name).map(|(_, s)| (*s).to_owned())),
        }
    }
    assert!(selections.len() > 5, "{type_name} has fields: {resp}");
    selections
}

/// A page reads only the columns its document names; a field must answer the same alone in a page as it does
/// read by id (whole rows). This walks every field of the four types pages read, so a new field that computes
/// from a column it does not name in `rows::READ_BY` fails here rather than showing a default value.
#[tokio::test]
async fn every_field_alone_in_a_page_answers_as_it_does_by_id() {
    let app = TestApp::spawn().await;
    let d = dashboard(&app).await;
    let token = Some(d.owner.token.as_str());
    let update =
        "mutation($input: UpdateOrganisationInput!) { updateOrganisation(input: $input) { organisation { id } } }";
    let input = json!({ "organisationId": d.org_id, "website": "https://columns.example", "contactEmail": "hello@columns.example" });
    let resp = app.gql_as(token, update, json!({ "input": input })).await;
    assert!(resp.get("errors").is_none(), "{resp}");

    // A page for each type, and the path to its first node in the answer.
    let page_of = |type_name: &str, selection: &str| -> (String, Vec<&'static str>) {
        let listing = ["needs", "edges", "0", "node"];
        let dashboard = ["organisation", "needs", "edges", "0", "node", "applications", "edges", "0", "node"];
        let in_dashboard = |inner: &str| {
            format!(
                "query($org: ID!) {{ organisation(id: $org) {{ needs(first: 5) {{ edges {{ node {{ applications(first: 5) {{ edges {{ node {{ {inner} }} }} }} }} }} }} }} }}"
            )
        };
        match type_name {
            "Need" => (format!("{{ needs(first: 5) {{ edges {{ node {{ {selection} }} }} }} }}"), listing.to_vec()),
            "Organisation" => (
                format!("{{ needs(first: 5) {{ edges {{ node {{ organisation {{ {selection} }} }} }} }} }}"),
                [&listing[..], &["organisation"]].concat(),
            ),
            "Application" => (in_dashboard(selection), dashboard.to_vec()),
            _ => (in_dashboard(&format!("volunteer {{ {selection} }}")), [&dashboard[..], &["volunteer"]].concat()),
        }
    };
    let cases = [
        ("Need", &d.need_id),
        ("Organisation", &d.org_id),
        ("Application", &d.application_id),
        ("VolunteerProfile", &d.profile_id),
    ];
    for (type_name, id) in cases {
        for selection in fields_of(&app, type_name).await {
            let name = selection.split_whitespace().next().expect("a field name").to_owned();
            let (page, path) = page_of(type_name, &selection);
            let in_page = app.gql_as(token, &page, json!({ "org": d.org_id })).await;
            let mut value = &in_page["data"];
            for step in &path {
                value = match step.parse::<usize>() {
                    Ok(i) => &value[i],
                    Err(_) => &value[*step],
                };
            }
            let by_id = format!("query($id: ID!) {{ node(id: $id) {{ ... on {type_name} {{ {selection} }} }} }}");
            let whole = app.gql_as(token, &by_id, json!({ "id": id })).await;
            assert_eq!(
                value[&name], whole["data"]["node"][&name],
                "{type_name}.{name}: in a page {in_page}, by id {whole}"
            );
            assert_eq!(
                in_page.get("errors").is_some(),
                whole.get("errors").is_some(),
                "{type_name}.{name}: in a page {in_page}, by id {whole}"
            );
        }
    }
}

/// Decoding by position (with PostgreSQL's timestamps read from their binary form) gives the same models as
/// sea-orm's own reads of the same rows: every column, including timestamps before both epochs, fractions of a
/// second and NULLs.
#[tokio::test]
async fn rows_read_by_position_match_sea_orm_reads() {
    use chrono::{TimeZone, Utc};
    use domain::store::rows::ByPosition;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, QueryTrait};

    let app = TestApp::spawn().await;
    let d = dashboard(&app).await;
    let offer = app
        .gql_as(
            Some(&d.owner.token),
            r#"mutation($org: ID!) { createOffer(input: {organisationId: $org, kind: TIME, title: "Saturday mornings", remote: true}) { offer { id } } }"#,
            json!({ "org": d.org_id }),
        )
        .await;
    assert!(data(&offer)["createOffer"]["offer"]["id"].is_string(), "{offer}");
    let moon = Utc.with_ymd_and_hms(1969, 7, 20, 20, 17, 40).single().expect("a valid time")
        + chrono::Duration::microseconds(123_456);
    entity::need::Entity::update_many()
        .col_expr(entity::need::Column::PublishedAt, Expr::value(moon))
        .exec(&app.db)
        .await
        .expect("update");

    async fn same<E>(db: &sea_orm::DatabaseConnection) -> usize
    where
        E: EntityTrait,
        E::Model: ByPosition + FromQueryResult + PartialEq + std::fmt::Debug,
    {
        let select = E::find().into_query();
        let rows = db.query_all_raw(db.get_database_backend().build(&select)).await.expect("rows");
        for row in &rows {
            let by_position = E::Model::decode_at(row, 0).expect("decoded by position");
            let by_name = E::Model::from_query_result(row, "").expect("decoded by sea-orm");
            assert_eq!(by_position, by_name);
        }
        rows.len()
    }
    let needs = same::<entity::need::Entity>(&app.db).await;
    assert!(needs > 0);
    assert!(same::<entity::application::Entity>(&app.db).await > 0);
    assert!(same::<entity::volunteer_profile::Entity>(&app.db).await > 0);
    assert!(same::<entity::organisation::Entity>(&app.db).await > 0);
    assert!(same::<entity::offer::Entity>(&app.db).await > 0);
    assert!(same::<entity::user::Entity>(&app.db).await > 0);
    assert!(same::<entity::membership::Entity>(&app.db).await > 0);
    let published: Vec<_> = entity::need::Entity::find().all(&app.db).await.expect("needs");
    assert!(published.iter().all(|n| n.published_at == Some(moon)), "the update reached every need");
}

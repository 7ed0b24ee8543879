//! The newcomer's journey: an organisation posts a need, a volunteer applies, the organisation accepts.
use serde_json::json;

use crate::helpers::{TestApp, data, error_code};

#[tokio::test]
async fn organisation_posts_a_need_and_accepts_a_volunteer() {
    let app = TestApp::spawn().await;

    // An organiser registers, signs in again, and creates an organisation (becoming its owner).
    app.register("jayne@jobsclub.example", "Jayne").await;
    let login = app
        .gql(
            "mutation { login(input: {email: \"JAYNE@jobsclub.example\", password: \"a long enough passphrase\"}) { accessToken tokenType expiresAt user { displayName email } } }",
            json!({}),
        )
        .await;
    let login = &data(&login)["login"];
    assert_eq!(login["tokenType"], "Bearer");
    assert_eq!(login["user"]["email"], "jayne@jobsclub.example");
    let organiser =
        crate::helpers::Session { token: login["accessToken"].as_str().expect("token").into(), user_id: String::new() };

    let org = app
        .gql_as(
            Some(&organiser.token),
            "mutation { createOrganisation(input: {name: \"Roehampton Jobs Club\", kind: COMMUNITY_GROUP, description: \"Weekly jobs club\", contactEmail: \"hello@jobsclub.example\", postcode: \"sw15 4hr\", location: {lat: 51.4566, lng: -0.2426}}) { organisation { id slug postcode viewerRole } } }",
            json!({}),
        )
        .await;
    let org = &data(&org)["createOrganisation"]["organisation"];
    assert_eq!(org["slug"], "roehampton-jobs-club");
    assert_eq!(org["postcode"], "SW15 4HR");
    assert_eq!(org["viewerRole"], "OWNER");
    let org_id = org["id"].as_str().expect("id").to_owned();

    // The need is a draft until published, and the public cannot see a draft.
    let need_id = app
        .draft_need(&organiser, &org_id, "CV writing mentor", json!({"category": "JOBS_CLUB", "volunteersNeeded": 1}))
        .await;
    let public = app.gql("query($id: ID!) { need(id: $id) { title } }", json!({ "id": need_id })).await;
    assert!(data(&public)["need"].is_null(), "drafts are hidden from the public");
    let published = app
        .gql_as(
            Some(&organiser.token),
            "mutation($id: ID!) { publishNeed(input: {needId: $id}) { need { status publishedAt } } }",
            json!({ "id": need_id }),
        )
        .await;
    assert_eq!(data(&published)["publishNeed"]["need"]["status"], "OPEN");
    assert!(data(&published)["publishNeed"]["need"]["publishedAt"].is_string());

    // A volunteer registers, fills a profile, finds the need, and applies.
    let (volunteer, profile_id) = app.volunteer("sam@volunteer.example", "Sam", json!({})).await;
    let me = app
        .gql_as(
            Some(&volunteer.token),
            "{ me { displayName volunteerProfile { id skills languages location { lat } } } }",
            json!({}),
        )
        .await;
    let me = &data(&me)["me"];
    assert_eq!(me["volunteerProfile"]["id"], profile_id.as_str());
    assert_eq!(me["volunteerProfile"]["skills"], json!(["it support", "teaching english"]));
    assert_eq!(me["volunteerProfile"]["location"]["lat"], 51.4613);
    let listed = app
        .gql(
            "{ needs(filter: {status: OPEN}) { totalCount edges { node { id title organisation { name } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&listed)["needs"]["totalCount"], 1);
    assert_eq!(data(&listed)["needs"]["edges"][0]["node"]["organisation"]["name"], "Roehampton Jobs Club");
    let application_id = app.apply(&volunteer, &need_id).await;

    // The organisation sees the application, with the volunteer's contact details now they have applied.
    let applications = app
        .gql_as(
            Some(&organiser.token),
            "query($id: ID!) { need(id: $id) { applications { totalCount edges { node { id status message volunteer { displayName email dbsCheck { level } } } } } } }",
            json!({ "id": need_id }),
        )
        .await;
    let edge = &data(&applications)["need"]["applications"]["edges"][0]["node"];
    assert_eq!(edge["id"], application_id.as_str());
    assert_eq!(edge["volunteer"]["email"], "sam@volunteer.example");
    assert_eq!(edge["volunteer"]["dbsCheck"]["level"], "ENHANCED");

    // Accepting takes the only place: the need is FILLED.
    let accepted = app
        .gql_as(
            Some(&organiser.token),
            "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status acceptedAt } need { status placesTaken placesLeft } } }",
            json!({ "id": application_id }),
        )
        .await;
    let accepted = &data(&accepted)["acceptApplication"];
    assert_eq!(accepted["application"]["status"], "ACCEPTED");
    assert!(accepted["application"]["acceptedAt"].is_string());
    assert_eq!(accepted["need"], json!({ "status": "FILLED", "placesTaken": 1, "placesLeft": 0 }));

    // The volunteer sees their own application; withdrawing frees the place and reopens the need.
    let mine = app
        .gql_as(
            Some(&volunteer.token),
            "{ me { volunteerProfile { applications { edges { node { status need { title } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&mine)["me"]["volunteerProfile"]["applications"]["edges"][0]["node"]["status"], "ACCEPTED");
    let withdrawn = app
        .gql_as(
            Some(&volunteer.token),
            "mutation($id: ID!) { withdrawApplication(input: {applicationId: $id}) { application { status withdrawnAt } need { status placesTaken } } }",
            json!({ "id": application_id }),
        )
        .await;
    let withdrawn = &data(&withdrawn)["withdrawApplication"];
    assert_eq!(withdrawn["application"]["status"], "WITHDRAWN");
    assert_eq!(withdrawn["need"], json!({ "status": "OPEN", "placesTaken": 0 }));

    // They may apply again; the organisation accepts and later marks the work complete.
    let again = app.apply(&volunteer, &need_id).await;
    assert_eq!(again, application_id, "re-applying reuses the application");
    for (mutation, status) in [("acceptApplication", "ACCEPTED"), ("completeApplication", "COMPLETED")] {
        let resp = app
            .gql_as(
                Some(&organiser.token),
                &format!(
                    "mutation($id: ID!) {{ {mutation}(input: {{applicationId: $id}}) {{ application {{ status }} }} }}"
                ),
                json!({ "id": application_id }),
            )
            .await;
        assert_eq!(data(&resp)[mutation]["application"]["status"], status);
    }
    // A completed application cannot be declined.
    let resp = app
        .gql_as(
            Some(&organiser.token),
            "mutation($id: ID!) { declineApplication(input: {applicationId: $id}) { application { status } } }",
            json!({ "id": application_id }),
        )
        .await;
    assert_eq!(error_code(&resp), "CONFLICT");
}

#[tokio::test]
async fn organisations_manage_members_and_offers() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@assoc.example", "Owner").await;
    let helper = app.register("helper@assoc.example", "Helper").await;
    let org_id = app.organisation(&owner, "Putney Association").await;

    let added = app
        .gql_as(
            Some(&owner.token),
            "mutation($org: ID!) { addOrganisationMember(input: {organisationId: $org, email: \"Helper@assoc.example\", role: COORDINATOR}) { membership { role user { displayName } } } }",
            json!({ "org": org_id }),
        )
        .await;
    assert_eq!(data(&added)["addOrganisationMember"]["membership"]["role"], "COORDINATOR");
    let again = app
        .gql_as(
            Some(&owner.token),
            "mutation($org: ID!) { addOrganisationMember(input: {organisationId: $org, email: \"helper@assoc.example\", role: ADMIN}) { membership { role } } }",
            json!({ "org": org_id }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");

    // The helper sees their membership; a fellow member cannot list the helper's other memberships.
    let mine = app
        .gql_as(
            Some(&helper.token),
            "{ me { memberships { totalCount edges { node { role organisation { name } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&mine)["me"]["memberships"]["edges"][0]["node"]["organisation"]["name"], "Putney Association");
    let theirs = app
        .gql_as(Some(&owner.token), "query($org: ID!) { organisation(id: $org) { members { edges { node { user { displayName memberships { totalCount } } } } } } }", json!({ "org": org_id }))
        .await;
    assert_eq!(error_code(&theirs), "FORBIDDEN");

    // The coordinator can post an offer of spare office space for the organisation.
    let offer = app
        .gql_as(
            Some(&helper.token),
            "mutation($org: ID!) { createOffer(input: {organisationId: $org, kind: SPACE, title: \"Spare office, weekday evenings\", postcode: \"SW15 1AA\", location: {lat: 51.4613, lng: -0.2166}, availability: [{day: MONDAY, start: \"18:00\", end: \"21:00\"}]}) { offer { id kind status organisation { name } } } }",
            json!({ "org": org_id }),
        )
        .await;
    let offer = &data(&offer)["createOffer"]["offer"];
    assert_eq!(offer["organisation"]["name"], "Putney Association");
    let offer_id = offer["id"].as_str().expect("offer id").to_owned();

    let members = app
        .gql_as(Some(&helper.token), "query($org: ID!) { organisation(id: $org) { members { totalCount edges { node { role user { displayName } } } } offers { totalCount } } }", json!({ "org": org_id }))
        .await;
    assert_eq!(data(&members)["organisation"]["members"]["totalCount"], 2);
    assert_eq!(data(&members)["organisation"]["offers"]["totalCount"], 1);

    // Pausing hides it from the public listing but not from its owners.
    let paused = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { updateOffer(input: {offerId: $id, status: PAUSED}) { offer { status } } }",
            json!({ "id": offer_id }),
        )
        .await;
    assert_eq!(data(&paused)["updateOffer"]["offer"]["status"], "PAUSED");
    let public = app.gql("{ offers { totalCount } }", json!({})).await;
    assert_eq!(data(&public)["offers"]["totalCount"], 0);
    let own = app.gql_as(Some(&owner.token), "{ offers(filter: {status: PAUSED}) { totalCount } }", json!({})).await;
    assert_eq!(data(&own)["offers"]["totalCount"], 1);
    let stranger = app.register("stranger@example.org", "Stranger").await;
    let theirs =
        app.gql_as(Some(&stranger.token), "{ offers(filter: {status: PAUSED}) { totalCount } }", json!({})).await;
    assert_eq!(data(&theirs)["offers"]["totalCount"], 0);

    // Lookup by slug, and the organisation's edit by its owner.
    let updated = app
        .gql_as(
            Some(&owner.token),
            "mutation($org: ID!) { updateOrganisation(input: {organisationId: $org, description: \"Free English classes\", website: \"https://putney.example\"}) { organisation { description website slug } } }",
            json!({ "org": org_id }),
        )
        .await;
    assert_eq!(data(&updated)["updateOrganisation"]["organisation"]["website"], "https://putney.example");
    let by_slug = app.gql("{ organisation(slug: \"putney-association\") { name description } }", json!({})).await;
    assert_eq!(data(&by_slug)["organisation"]["description"], "Free English classes");
}

#[tokio::test]
async fn health_and_graphiql_are_served() {
    use axum::body::Body;
    use axum::http::Request;
    let app = TestApp::spawn().await;
    let (status, body) = app.raw(Request::get("/healthz").body(Body::empty()).expect("request")).await;
    assert_eq!((status, body.contains("ok")), (200, true));
    let (status, body) = app.raw(Request::get("/readyz").body(Body::empty()).expect("request")).await;
    assert_eq!((status, body.contains("ready")), (200, true));
    let (status, body) = app.raw(Request::get("/graphql").body(Body::empty()).expect("request")).await;
    assert_eq!(status, 200);
    assert!(body.to_lowercase().contains("graphiql"));
}

#[tokio::test]
async fn demo_data_loads_and_is_browsable() {
    let app = TestApp::spawn().await;
    assert!(fixtures::is_empty(&app.db).await.expect("count"));
    fixtures::demo(&app.db).await.expect("demo data");
    assert!(!fixtures::is_empty(&app.db).await.expect("count"));

    let resp = app
        .gql("{ needs(first: 100, filter: {status: OPEN}) { totalCount edges { node { organisation { name } } } } organisations { totalCount } offers { totalCount } }", json!({}))
        .await;
    let data = data(&resp);
    assert!(data["needs"]["totalCount"].as_i64().unwrap_or(0) >= 10, "{resp}");
    assert!(data["organisations"]["totalCount"].as_i64().unwrap_or(0) >= 8);
    assert!(data["offers"]["totalCount"].as_i64().unwrap_or(0) >= 5);
    // Suffolk needs are found near Woodbridge, with distances.
    let near = app
        .gql("{ needs(filter: {status: OPEN, near: {lat: 52.0936, lng: 1.3197, radiusKm: 20}}, orderBy: NEAREST) { edges { distanceKm } } }", json!({}))
        .await;
    assert!(!crate::helpers::data(&near)["needs"]["edges"].as_array().is_none_or(|e| e.is_empty()));
    // The demo admin signs in with the documented password.
    let login = app
        .gql("mutation { login(input: {email: \"admin@pitchin.example\", password: \"pitch-in-demo-2026\"}) { user { role } } }", json!({}))
        .await;
    assert_eq!(crate::helpers::data(&login)["login"]["user"]["role"], "ADMIN");

    // East Suffolk: eight partnerships, 29 wards, and the article's projects as published grants.
    let council = app
        .gql("{ organisations(filter: {kinds: [COUNCIL]}) { nodes { id slug localAuthorityCode } } }", json!({}))
        .await;
    let council = crate::helpers::data(&council)["organisations"]["nodes"][0].clone();
    assert_eq!(council["localAuthorityCode"], "ESK");
    let places = app
        .gql("query($c: ID!) { communityPartnerships(councilId: $c) { name } wards(filter: {councilId: $c}, first: 50) { totalCount } }", json!({ "c": council["id"] }))
        .await;
    let places = crate::helpers::data(&places);
    assert_eq!(places["communityPartnerships"].as_array().map(Vec::len), Some(8));
    assert_eq!(places["wards"]["totalCount"], 29);
    let slug = council["slug"].as_str().expect("a slug");
    let got = crate::helpers::get(&app, &format!("/open-data/360giving.json?publisher={slug}"), None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    let package: serde_json::Value = serde_json::from_str(&got.body).expect("JSON");
    let titles: Vec<&str> =
        package["grants"].as_array().expect("grants").iter().map(|g| g["title"].as_str().expect("a title")).collect();
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(titles.iter().any(|t| t.contains("defibrillator")), "{titles:?}");
    assert_eq!(package["grants"][0]["fundingOrganization"][0]["id"], "GB-LAE-ESK");
}

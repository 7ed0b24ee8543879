//! Every access rule, tested from the side that must be refused.
use serde_json::json;

use crate::helpers::{TestApp, data, error_code, error_codes};

#[tokio::test]
async fn anonymous_and_bad_tokens_cannot_change_anything() {
    let app = TestApp::spawn().await;
    let resp = app
        .gql(
            "mutation { createOrganisation(input: {name: \"Sneaky\", kind: OTHER}) { organisation { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&resp), "UNAUTHENTICATED");
    let resp = app
        .gql("mutation { upsertVolunteerProfile(input: {displayName: \"X\"}) { volunteerProfile { id } } }", json!({}))
        .await;
    assert_eq!(error_code(&resp), "UNAUTHENTICATED");

    let resp = app.gql_as(Some("not-a-jwt"), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&resp), "UNAUTHENTICATED");
    assert!(resp["data"].is_null(), "a request with a bad token is not executed");

    let me = app.gql("{ me { id } }", json!({})).await;
    assert!(data(&me)["me"].is_null(), "anonymous callers have no `me`");
}

#[tokio::test]
async fn only_members_run_an_organisation() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@charity.example", "Owner").await;
    let outsider = app.register("outsider@example.org", "Outsider").await;
    let coordinator = app.register("coord@charity.example", "Coordinator").await;
    let org_id = app.organisation(&owner, "Clean Sheet Works").await;
    let resp = app
        .gql_as(
            Some(&owner.token),
            "mutation($org: ID!) { addOrganisationMember(input: {organisationId: $org, email: \"coord@charity.example\", role: COORDINATOR}) { membership { role } } }",
            json!({ "org": org_id }),
        )
        .await;
    data(&resp);
    let need_id = app.open_need(&owner, &org_id, "Mock interviews", json!({})).await;

    // Outsiders may not post, edit, publish, close or see applications.
    let create = app
        .gql_as(
            Some(&outsider.token),
            "mutation($org: ID!) { createNeed(input: {organisationId: $org, title: \"Hijack\", category: OTHER, remote: true}) { need { id } } }",
            json!({ "org": org_id }),
        )
        .await;
    assert_eq!(error_code(&create), "FORBIDDEN");
    for mutation in [
        "mutation($id: ID!) { updateNeed(input: {needId: $id, title: \"Changed\"}) { need { id } } }",
        "mutation($id: ID!) { publishNeed(input: {needId: $id}) { need { id } } }",
        "mutation($id: ID!) { closeNeed(input: {needId: $id}) { need { id } } }",
    ] {
        let resp = app.gql_as(Some(&outsider.token), mutation, json!({ "id": need_id })).await;
        assert_eq!(error_code(&resp), "FORBIDDEN", "{mutation}");
    }
    let resp = app
        .gql_as(
            Some(&outsider.token),
            "query($id: ID!) { need(id: $id) { title applications { totalCount } } }",
            json!({ "id": need_id }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    assert_eq!(resp["data"]["need"]["title"], "Mock interviews", "the public part of the need is still there");
    let resp = app
        .gql_as(
            Some(&outsider.token),
            "query($org: ID!) { organisation(id: $org) { members { totalCount } } }",
            json!({ "org": org_id }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");

    // Coordinators run needs but may not edit the organisation or add members.
    let resp = app.gql_as(Some(&coordinator.token), "mutation($id: ID!) { updateNeed(input: {needId: $id, title: \"Mock interviews (evenings)\"}) { need { title } } }", json!({ "id": need_id })).await;
    assert_eq!(data(&resp)["updateNeed"]["need"]["title"], "Mock interviews (evenings)");
    let resp = app.gql_as(Some(&coordinator.token), "mutation($org: ID!) { updateOrganisation(input: {organisationId: $org, name: \"Renamed\"}) { organisation { name } } }", json!({ "org": org_id })).await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    let resp = app
        .gql_as(
            Some(&coordinator.token),
            "mutation($org: ID!) { addOrganisationMember(input: {organisationId: $org, email: \"outsider@example.org\", role: OWNER}) { membership { role } } }",
            json!({ "org": org_id }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");

    // Only platform admins verify organisations; admins may do everything.
    let resp = app.gql_as(Some(&owner.token), "mutation($org: ID!) { updateOrganisation(input: {organisationId: $org, verified: true}) { organisation { verified } } }", json!({ "org": org_id })).await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    let admin = app.admin().await;
    let resp = app.gql_as(Some(&admin.token), "mutation($org: ID!) { updateOrganisation(input: {organisationId: $org, verified: true}) { organisation { verified } } }", json!({ "org": org_id })).await;
    assert_eq!(data(&resp)["updateOrganisation"]["organisation"]["verified"], true);
    let resp = app
        .gql_as(
            Some(&admin.token),
            "mutation($id: ID!) { closeNeed(input: {needId: $id}) { need { status } } }",
            json!({ "id": need_id }),
        )
        .await;
    assert_eq!(data(&resp)["closeNeed"]["need"]["status"], "CLOSED");
}

#[tokio::test]
async fn drafts_are_visible_only_to_their_organisation() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@youth.example", "Owner").await;
    let other = app.register("other@else.example", "Other").await;
    let org_id = app.organisation(&owner, "Southfields Youth Club").await;
    let draft = app.draft_need(&owner, &org_id, "Youth worker (draft)", json!({})).await;
    app.open_need(&owner, &org_id, "Youth worker", json!({})).await;

    for token in [None, Some(other.token.as_str())] {
        let resp = app
            .gql_as(token, "query($id: ID!) { need(id: $id) { id } node(id: $id) { id } }", json!({ "id": draft }))
            .await;
        assert!(data(&resp)["need"].is_null() && data(&resp)["node"].is_null());
        let resp = app
            .gql_as(token, "{ needs { totalCount } drafts: needs(filter: {status: DRAFT}) { totalCount } }", json!({}))
            .await;
        assert_eq!(data(&resp)["needs"]["totalCount"], 1);
        assert_eq!(data(&resp)["drafts"]["totalCount"], 0);
        let resp = app
            .gql_as(
                token,
                "query($org: ID!) { organisation(id: $org) { needs { totalCount } } }",
                json!({ "org": org_id }),
            )
            .await;
        assert_eq!(data(&resp)["organisation"]["needs"]["totalCount"], 1);
    }
    let resp = app
        .gql_as(
            Some(&owner.token),
            "{ needs { totalCount } drafts: needs(filter: {status: DRAFT}) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&resp)["needs"]["totalCount"], 2);
    assert_eq!(data(&resp)["drafts"]["totalCount"], 1);

    // Closing a draft would make it public as CLOSED: refused.
    let resp = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { closeNeed(input: {needId: $id}) { need { status } } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(error_code(&resp), "CONFLICT");
    let resp = app.gql("{ needs(filter: {status: CLOSED}) { totalCount } }", json!({})).await;
    assert_eq!(data(&resp)["needs"]["totalCount"], 0);

    // Nobody can apply to a draft: it does not exist for them.
    let (volunteer, _) = app.volunteer("v@volunteer.example", "Vee", json!({})).await;
    let resp = app
        .gql_as(
            Some(&volunteer.token),
            "mutation($id: ID!) { applyToNeed(input: {needId: $id}) { application { id } } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(error_code(&resp), "NOT_FOUND");
}

#[tokio::test]
async fn volunteers_personal_data_is_shown_only_to_whom_it_must_be() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@bakery.example", "Owner").await;
    let org_id = app.organisation(&owner, "Feel Good Bakery").await;
    let need_id = app.open_need(&owner, &org_id, "Bakery mentor", json!({})).await;
    let (volunteer, profile_id) = app.volunteer("amira@volunteer.example", "Amira", json!({})).await;
    let (other_volunteer, _) = app.volunteer("ben@volunteer.example", "Ben", json!({})).await;

    let sensitive = "query($id: ID!) { node(id: $id) { ... on VolunteerProfile { displayName email availability { day } dbsCheck { level } postcode location { lat } applications { totalCount } } } }";

    // Before applying, the organisation cannot reach the profile at all; nor can strangers.
    for token in [None, Some(owner.token.as_str()), Some(other_volunteer.token.as_str())] {
        let resp = app.gql_as(token, sensitive, json!({ "id": profile_id })).await;
        assert!(data(&resp)["node"].is_null(), "profile must be hidden: {resp}");
    }

    // After applying: contact, availability and DBS status are visible to the organisation; location is not.
    let application_id = app.apply(&volunteer, &need_id).await;
    let resp = app.gql_as(Some(&owner.token), sensitive, json!({ "id": profile_id })).await;
    let node = &resp["data"]["node"];
    assert_eq!(node["displayName"], "Amira");
    assert_eq!(node["email"], "amira@volunteer.example");
    assert_eq!(node["dbsCheck"]["level"], "ENHANCED");
    assert_eq!(node["availability"][0]["day"], "TUESDAY");
    assert!(node["postcode"].is_null() && node["location"].is_null() && node["applications"].is_null());
    let codes = error_codes(&resp);
    assert_eq!(codes, vec!["FORBIDDEN", "FORBIDDEN", "FORBIDDEN"], "postcode, location, applications: {resp}");

    // The volunteer sees everything of their own.
    let resp = app.gql_as(Some(&volunteer.token), sensitive, json!({ "id": profile_id })).await;
    assert_eq!(data(&resp)["node"]["postcode"], "SW15 5PU");
    assert_eq!(data(&resp)["node"]["applications"]["totalCount"], 1);

    // Another volunteer can neither see nor withdraw the application.
    let resp = app
        .gql_as(
            Some(&other_volunteer.token),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": application_id }),
        )
        .await;
    assert!(data(&resp)["node"].is_null());
    let resp = app
        .gql_as(
            Some(&other_volunteer.token),
            "mutation($id: ID!) { withdrawApplication(input: {applicationId: $id}) { application { status } } }",
            json!({ "id": application_id }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    // Nor may a volunteer accept their own application.
    let resp = app
        .gql_as(
            Some(&volunteer.token),
            "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }",
            json!({ "id": application_id }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");

    // Users' emails are for themselves only, even to fellow members.
    let resp = app
        .gql_as(Some(&owner.token), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": volunteer.user_id }))
        .await;
    assert!(data(&resp)["node"].is_null());
    let resp = app
        .gql_as(
            Some(&owner.token),
            "query($org: ID!) { organisation(id: $org) { members { edges { node { user { displayName email } } } } } }",
            json!({ "org": org_id }),
        )
        .await;
    assert_eq!(resp["data"]["organisation"]["members"]["edges"][0]["node"]["user"]["email"], "owner@bakery.example");
    let resp = app
        .gql_as(Some(&volunteer.token), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": owner.user_id }))
        .await;
    assert!(data(&resp)["node"].is_null());

    // A volunteer's offer shows only an approximate place to others.
    let resp = app
        .gql_as(
            Some(&volunteer.token),
            "mutation { createOffer(input: {kind: SKILLS, title: \"Bread-making lessons\", postcode: \"SW15 5PU\", location: {lat: 51.46134, lng: -0.23917}}) { offer { id postcode location { lat lng } } } }",
            json!({}),
        )
        .await;
    let offer = &data(&resp)["createOffer"]["offer"];
    assert_eq!(offer["postcode"], "SW15 5PU");
    let resp = app.gql("query($id: ID!) { node(id: $id) { ... on Offer { postcode location { lat lng } volunteer { displayName } } } }", json!({ "id": offer["id"] })).await;
    let public = &data(&resp)["node"];
    assert_eq!(public["postcode"], "SW15");
    assert_eq!(public["location"], json!({ "lat": 51.46, "lng": -0.24 }));
    assert_eq!(public["volunteer"]["displayName"], "Amira");
    let resp = app
        .gql("query($id: ID!) { node(id: $id) { ... on Offer { volunteer { email } } } }", json!({ "id": offer["id"] }))
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    // The place is stored only to ~1 km, so even a very narrow search at the exact point finds nothing.
    let resp = app.gql("{ exact: offers(filter: {near: {lat: 51.46134, lng: -0.23917, radiusKm: 0.05}}) { totalCount } area: offers(filter: {near: {lat: 51.46134, lng: -0.23917, radiusKm: 2}}) { totalCount } }", json!({})).await;
    assert_eq!(data(&resp)["exact"]["totalCount"], 0);
    assert_eq!(data(&resp)["area"]["totalCount"], 1);
}

//! DBS checks verified by an organisation: recorded by its members for people who applied to it (who, when, how;
//! never the certificate), shown where DBS status is, and enforced by matching and acceptance on needs that
//! require one.
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};

const VERIFY: &str = "mutation($input: VerifyDbsCheckInput!) { verifyDbsCheck(input: $input) {
    verification { level checkedOn method verifiedBy validUntil organisation { name } } } }";
const MATCHES: &str =
    "query($id: ID!) { matchesForNeed(needId: $id, first: 10) { edges { node { volunteer { displayName } } } } }";
const RECOMMENDED: &str = "{ recommendedNeeds(first: 20) { edges { node { need { title } } } } }";
const ACCEPT: &str = "mutation($id: ID!) { acceptApplication(input: {applicationId: $id}) { application { status } } }";

fn listed(resp: &Value, field: &str, path: &[&str]) -> Vec<String> {
    data(resp)[field]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| path.iter().fold(&e["node"], |v, k| &v[*k]).as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::TimeDelta::days(offset)).to_string()
}

#[tokio::test]
async fn a_need_requiring_a_verified_check_matches_and_accepts_only_volunteers_its_organisation_verified() {
    let app = TestApp::spawn().await;
    let owner = app.register("lead@youthclub.example", "Lead Coordinator").await;
    let org = app.organisation(&owner, "Kirton Youth Club").await;
    let club = app.open_need(&owner, &org, "Homework club", json!({"volunteersNeeded": 5})).await;
    let youth = app
        .open_need(
            &owner,
            &org,
            "Youth mentoring",
            json!({"safeguarding": "ENHANCED", "safeguardingVerified": true, "volunteersNeeded": 5}),
        )
        .await;
    let spare = app.open_need(&owner, &org, "Conversation club", json!({})).await;
    let (amira, amira_id) = app.volunteer("amira@volunteer.example", "Amira", json!({})).await;
    let (dan, dan_id) = app.volunteer("dan@volunteer.example", "Dan", json!({})).await;
    // Both applied to the club: the organisation knows them.
    app.apply(&amira, &club).await;
    app.apply(&dan, &club).await;
    let need = app.gql("query($id: ID!) { need(id: $id) { safeguardingVerified } }", json!({"id": youth})).await;
    assert_eq!(data(&need)["need"]["safeguardingVerified"], true);

    // Nobody verified yet: nobody matches, and the need is not recommended to either.
    let matches = app.gql_as(Some(&owner.token), MATCHES, json!({"id": youth})).await;
    assert!(listed(&matches, "matchesForNeed", &["volunteer", "displayName"]).is_empty(), "{matches}");
    let recommended =
        listed(&app.gql_as(Some(&dan.token), RECOMMENDED, json!({})).await, "recommendedNeeds", &["need", "title"]);
    assert!(
        recommended.contains(&"Conversation club".to_owned()) && !recommended.contains(&"Youth mentoring".to_owned()),
        "{recommended:?}"
    );
    let _ = spare;

    // The lead saw Amira's enhanced certificate; Dan's only at basic level.
    let resp = app
        .gql_as(Some(&owner.token), VERIFY, json!({"input": {"volunteerId": amira_id, "level": "ENHANCED", "checkedOn": day(-3), "method": "CERTIFICATE_SEEN"}}))
        .await;
    let verification = &data(&resp)["verifyDbsCheck"]["verification"];
    assert_eq!(
        (verification["level"].as_str(), verification["method"].as_str(), verification["verifiedBy"].as_str()),
        (Some("ENHANCED"), Some("CERTIFICATE_SEEN"), Some("Lead Coordinator"))
    );
    assert_eq!(verification["organisation"]["name"], "Kirton Youth Club");
    let resp = app
        .gql_as(Some(&owner.token), VERIFY, json!({"input": {"volunteerId": dan_id, "level": "BASIC", "checkedOn": day(0), "method": "UPDATE_SERVICE"}}))
        .await;
    assert!(resp.get("errors").is_none(), "{resp}");

    let matches = app.gql_as(Some(&owner.token), MATCHES, json!({"id": youth})).await;
    assert_eq!(listed(&matches, "matchesForNeed", &["volunteer", "displayName"]), ["Amira"]);
    let recommended =
        listed(&app.gql_as(Some(&amira.token), RECOMMENDED, json!({})).await, "recommendedNeeds", &["need", "title"]);
    assert!(recommended.contains(&"Youth mentoring".to_owned()), "{recommended:?}");

    // Acceptance enforces it too: Dan (basic only) is refused, Amira is accepted.
    let dans = app.apply(&dan, &youth).await;
    let amiras = app.apply(&amira, &youth).await;
    let refused = app.gql_as(Some(&owner.token), ACCEPT, json!({"id": dans})).await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    assert!(refused["errors"][0]["message"].as_str().unwrap_or_default().contains("verifyDbsCheck"));
    let accepted = app.gql_as(Some(&owner.token), ACCEPT, json!({"id": amiras})).await;
    assert_eq!(data(&accepted)["acceptApplication"]["application"]["status"], "ACCEPTED");

    // The volunteer sees their verifications where their DBS status is; a stranger does not.
    let mine = "query($id: ID!) { node(id: $id) { ... on VolunteerProfile { dbsVerifications { level validUntil verifiedBy } } } }";
    let resp = app.gql_as(Some(&amira.token), mine, json!({"id": amira_id})).await;
    let rows = data(&resp)["node"]["dbsVerifications"].clone();
    assert_eq!(rows[0]["level"], "ENHANCED");
    let three_years = (chrono::Utc::now().date_naive() - chrono::TimeDelta::days(3))
        .checked_add_months(chrono::Months::new(36))
        .map(|d| d.to_string());
    assert_eq!(rows[0]["validUntil"].as_str().map(str::to_owned), three_years);
    let stranger = app.register("nosy@example.org", "Nosy").await;
    let resp = app.gql_as(Some(&stranger.token), mine, json!({"id": amira_id})).await;
    assert!(resp.get("errors").is_some() || data(&resp)["node"].is_null(), "{resp}");
}

#[tokio::test]
async fn only_an_organisation_the_volunteer_applied_to_may_verify_and_only_what_is_plausible() {
    let app = TestApp::spawn().await;
    let owner = app.register("lead@youthclub.example", "Lead").await;
    let org = app.organisation(&owner, "Kirton Youth Club").await;
    let need = app.open_need(&owner, &org, "Homework club", json!({})).await;
    let (amira, amira_id) = app.volunteer("amira@volunteer.example", "Amira", json!({})).await;
    app.apply(&amira, &need).await;
    let other = app.register("lead@elsewhere.example", "Elsewhere").await;
    app.organisation(&other, "Somewhere Else").await;
    let input = |extra: Value| {
        let mut input =
            json!({"volunteerId": amira_id, "level": "ENHANCED", "checkedOn": day(-1), "method": "CERTIFICATE_SEEN"});
        crate::helpers::merge(&mut input, &extra);
        json!({ "input": input })
    };

    // Another organisation cannot vouch for someone who never applied to it, nor in this one's name.
    assert_eq!(error_code(&app.gql_as(Some(&other.token), VERIFY, input(json!({}))).await), "NOT_FOUND");
    assert_eq!(
        error_code(&app.gql_as(Some(&other.token), VERIFY, input(json!({"organisationId": org}))).await),
        "FORBIDDEN"
    );
    // The volunteer cannot verify themselves; nor can someone signed out.
    assert_eq!(error_code(&app.gql_as(Some(&amira.token), VERIFY, input(json!({}))).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql(VERIFY, input(json!({}))).await), "UNAUTHENTICATED");
    // A check in the future, older than three years, or at no level: refused, the field named.
    for (extra, field) in [
        (json!({"checkedOn": day(2)}), "input.checkedOn"),
        (json!({"checkedOn": day(-3 * 366)}), "input.checkedOn"),
        (json!({"level": "NONE"}), "input.level"),
    ] {
        let resp = app.gql_as(Some(&owner.token), VERIFY, input(extra)).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], field);
    }
    assert!(app.gql_as(Some(&owner.token), VERIFY, input(json!({}))).await.get("errors").is_none());
}

#[tokio::test]
async fn each_organisation_sees_only_its_own_records_and_its_waitlist_offers_go_to_the_verified() {
    let app = TestApp::spawn().await;
    let owner = app.register("lead@youthclub.example", "Lead").await;
    let org = app.organisation(&owner, "Kirton Youth Club").await;
    let club = app.open_need(&owner, &org, "Homework club", json!({"volunteersNeeded": 5})).await;
    let mentoring = app
        .open_need(
            &owner,
            &org,
            "Youth mentoring",
            json!({"safeguardingVerified": true, "volunteersNeeded": 1, "waitlistCap": 3}),
        )
        .await;
    let other = app.register("lead@library.example", "Librarian").await;
    let library = app.organisation(&other, "Kirton Library").await;
    let reading = app.open_need(&other, &library, "Reading buddies", json!({})).await;
    let mut people = Vec::new();
    for name in ["Amira", "Dan", "Eve"] {
        let (session, id) = app.volunteer(&format!("{}@volunteer.example", name.to_lowercase()), name, json!({})).await;
        app.apply(&session, &club).await;
        people.push((session, id));
    }
    let verify = |id: &str| json!({"input": {"volunteerId": id, "level": "BASIC", "checkedOn": day(-1), "method": "UPDATE_SERVICE"}});
    for (_, id) in [&people[0], &people[2]] {
        assert!(app.gql_as(Some(&owner.token), VERIFY, verify(id)).await.get("errors").is_none());
    }

    // Amira takes the one place; Dan (not verified) and Eve (verified) wait, in that order.
    let amiras = app.apply(&people[0].0, &mentoring).await;
    data(&app.gql_as(Some(&owner.token), ACCEPT, json!({"id": amiras})).await);
    let apply =
        "mutation($id: ID!) { applyToNeed(input: {needId: $id}) { application { id status waitlistPosition } } }";
    let dans = app.gql_as(Some(&people[1].0.token), apply, json!({"id": mentoring})).await;
    let eves = app.gql_as(Some(&people[2].0.token), apply, json!({"id": mentoring})).await;
    assert_eq!(data(&dans)["applyToNeed"]["application"]["waitlistPosition"], 1);
    // Amira leaves: the place is offered to Eve, whom the organisation verified, not to Dan, who could not accept it.
    let withdraw = "mutation($id: ID!) { withdrawApplication(input: {applicationId: $id}) { application { status } } }";
    data(&app.gql_as(Some(&people[0].0.token), withdraw, json!({"id": amiras})).await);
    let status = "query($id: ID!) { node(id: $id) { ... on Application { status waitlistPosition } } }";
    let eve_id = data(&eves)["applyToNeed"]["application"]["id"].clone();
    let dan_id = data(&dans)["applyToNeed"]["application"]["id"].clone();
    assert_eq!(
        data(&app.gql_as(Some(&people[2].0.token), status, json!({"id": eve_id})).await)["node"]["status"],
        "INVITED"
    );
    let dan = data(&app.gql_as(Some(&people[1].0.token), status, json!({"id": dan_id})).await)["node"].clone();
    assert_eq!((dan["status"].as_str(), dan["waitlistPosition"].as_i64()), (Some("WAITLISTED"), Some(1)));

    // Eve applies to the library too, which verifies her as well: each organisation sees only its own record.
    app.apply(&people[2].0, &reading).await;
    assert!(app.gql_as(Some(&other.token), VERIFY, verify(&people[2].1)).await.get("errors").is_none());
    let records = "query($id: ID!) { node(id: $id) { ... on VolunteerProfile { dbsVerifications { organisation { name } verifiedBy } } } }";
    let names = |resp: &Value| -> Vec<String> {
        data(resp)["node"]["dbsVerifications"]
            .as_array()
            .map(|rows| rows.iter().filter_map(|r| r["organisation"]["name"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let mut own = names(&app.gql_as(Some(&people[2].0.token), records, json!({"id": people[2].1})).await);
    own.sort();
    assert_eq!(own, ["Kirton Library", "Kirton Youth Club"], "the volunteer sees all of hers");
    assert_eq!(
        names(&app.gql_as(Some(&owner.token), records, json!({"id": people[2].1})).await),
        ["Kirton Youth Club"]
    );
    assert_eq!(names(&app.gql_as(Some(&other.token), records, json!({"id": people[2].1})).await), ["Kirton Library"]);
}

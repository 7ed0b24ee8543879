//! Matching through GraphQL: ranked volunteers and needs, explanations, offers, plans and invitations.
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data, error_code};

/// A Putney English class (BASIC DBS, Tuesdays 19:00–21:00) and four volunteers around it:
/// Amira (eligible, strong), Dan (eligible, no matching skills), Beth (no DBS check), Carl (in Manchester).
struct World {
    owner: Session,
    org_id: String,
    need_id: String,
    amira: (Session, String),
    dan: (Session, String),
    beth: (Session, String),
}

async fn world(app: &TestApp) -> World {
    let owner = app.register("owner@class.example", "Owner").await;
    let org_id = app.organisation(&owner, "Putney English Club").await;
    let need_id = app
        .open_need(&owner, &org_id, "ESOL helper", json!({"safeguarding": "BASIC", "requiredSkills": ["teaching english", "it support"], "volunteersNeeded": 2}))
        .await;
    let amira = app.volunteer("amira@v.example", "Amira", json!({"skills": ["ESOL", "IT support"]})).await;
    let dan = app
        .volunteer("dan@v.example", "Dan", json!({"skills": ["driving"], "interests": [], "languages": ["english"], "location": {"lat": 51.4700, "lng": -0.2300}}))
        .await;
    let beth = app.volunteer("beth@v.example", "Beth", json!({"dbsCheck": {"level": "NONE"}})).await;
    app.volunteer(
        "carl@v.example",
        "Carl",
        json!({"postcode": "M14 5AA", "location": {"lat": 53.4440, "lng": -2.2200}}),
    )
    .await;
    World { owner, org_id, need_id, amira, dan, beth }
}

const MATCHES: &str = "query($id: ID!, $first: Int, $after: String) { matchesForNeed(needId: $id, first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { score distanceKm matchedSkills missingSkills overlapHoursPerWeek volunteer { id displayName } reasons { factor weight contribution explanation } } }
} }";

fn names(resp: &Value, field: &str) -> Vec<String> {
    data(resp)[field]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .map(|e| {
                    let node = &e["node"];
                    node["volunteer"]["displayName"]
                        .as_str()
                        .or(node["need"]["title"].as_str())
                        .unwrap_or_default()
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn coordinators_see_ranked_eligible_volunteers_with_reasons() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;

    let resp = app.gql_as(Some(&w.owner.token), MATCHES, json!({ "id": w.need_id })).await;
    assert_eq!(names(&resp, "matchesForNeed"), vec!["Amira", "Dan"], "Beth lacks a DBS check, Carl is too far");
    let top = &data(&resp)["matchesForNeed"]["edges"][0]["node"];
    assert_eq!(top["matchedSkills"], json!(["it support", "teaching english"]));
    assert_eq!(top["overlapHoursPerWeek"], 2.0);
    let sum: f64 =
        top["reasons"].as_array().map(|r| r.iter().filter_map(|x| x["contribution"].as_f64()).sum()).unwrap_or(0.0);
    assert!((sum - top["score"].as_f64().unwrap_or(-1.0)).abs() < 1e-9, "reasons add up to the score");
    let d = top["distanceKm"].as_f64().unwrap_or(-1.0);
    assert!((d * 10.0 - (d * 10.0).round()).abs() < 1e-9 && d < 2.0, "rounded to 0.1 km: {d}");

    // Paging through the ranking.
    let first = app.gql_as(Some(&w.owner.token), MATCHES, json!({ "id": w.need_id, "first": 1 })).await;
    assert_eq!(names(&first, "matchesForNeed"), vec!["Amira"]);
    let cursor = data(&first)["matchesForNeed"]["pageInfo"]["endCursor"].clone();
    let next = app.gql_as(Some(&w.owner.token), MATCHES, json!({ "id": w.need_id, "first": 1, "after": cursor })).await;
    assert_eq!(names(&next, "matchesForNeed"), vec!["Dan"]);
    assert_eq!(data(&next)["matchesForNeed"]["pageInfo"]["hasNextPage"], false);

    // Contact details stay hidden in matches until the volunteer applies.
    let resp = app
        .gql_as(
            Some(&w.owner.token),
            "query($id: ID!) { matchesForNeed(needId: $id) { edges { node { volunteer { displayName email } } } } }",
            json!({ "id": w.need_id }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");

    // Rows written before week masks existed (mask 0) still match: the mask only ever narrows.
    use sea_orm::ConnectionTrait;
    app.db.execute_unprepared("UPDATE volunteer_profiles SET availability_mask = 0").await.expect("reset masks");
    app.db.execute_unprepared("UPDATE needs SET schedule_mask = 0").await.expect("reset masks");
    let resp = app.gql_as(Some(&w.owner.token), MATCHES, json!({ "id": w.need_id })).await;
    assert_eq!(names(&resp, "matchesForNeed"), vec!["Amira", "Dan"]);

    // Applying removes Amira from the matches (she is already an applicant).
    app.apply(&w.amira.0, &w.need_id).await;
    let resp = app.gql_as(Some(&w.owner.token), MATCHES, json!({ "id": w.need_id })).await;
    assert_eq!(names(&resp, "matchesForNeed"), vec!["Dan"]);

    // Only the organisation's members may ask.
    let outsider = app.register("out@example.org", "Out").await;
    for token in [Some(outsider.token.as_str()), Some(w.dan.0.token.as_str())] {
        let resp = app.gql_as(token, MATCHES, json!({ "id": w.need_id })).await;
        assert_eq!(error_code(&resp), "FORBIDDEN");
    }
    let resp = app.gql(MATCHES, json!({ "id": w.need_id })).await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
}

#[tokio::test]
async fn volunteers_get_recommendations_and_explanations() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    app.open_need(&w.owner, &w.org_id, "Weekend youth club", json!({"category": "YOUTH_CLUB", "safeguarding": "ENHANCED_BARRED_LISTS", "schedule": {"weekly": [{"day": "SATURDAY", "start": "10:00", "end": "12:00"}]}})).await;
    let remote = app.open_need(&w.owner, &w.org_id, "Phone befriending", json!({"category": "BEFRIENDING", "remote": true, "location": null, "schedule": null, "requiredSkills": [], "languages": []})).await;

    let query = "{ recommendedNeeds { totalCount edges { node { score need { title } reasons { factor } } } } }";
    let resp = app.gql_as(Some(&w.amira.0.token), query, json!({})).await;
    let titles = names(&resp, "recommendedNeeds");
    assert!(
        titles.contains(&"ESOL helper".to_owned()) && titles.contains(&"Phone befriending".to_owned()),
        "{titles:?}"
    );
    assert!(!titles.contains(&"Weekend youth club".to_owned()), "needs barred lists and Saturday mornings");
    assert_eq!(titles[0], "ESOL helper", "the class suits her best");

    // Another applicant makes the class less of a priority for her (FEW_APPLICANTS: 2 places, 1 applicant).
    let few = |resp: &Value| {
        data(resp)["recommendedNeeds"]["edges"]
            .as_array()
            .and_then(|edges| edges.iter().find(|e| e["node"]["need"]["title"] == "ESOL helper"))
            .and_then(|e| e["node"]["reasons"].as_array().cloned())
            .and_then(|r| r.into_iter().find(|x| x["factor"] == "FEW_APPLICANTS"))
            .and_then(|x| x["contribution"].as_f64())
            .unwrap_or(-1.0)
    };
    let reasons = "{ recommendedNeeds { edges { node { need { title } reasons { factor contribution } } } } }";
    let before = few(&app.gql_as(Some(&w.amira.0.token), reasons, json!({})).await);
    app.apply(&w.dan.0, &w.need_id).await;
    let after = few(&app.gql_as(Some(&w.amira.0.token), reasons, json!({})).await);
    assert!((before - 0.10).abs() < 1e-9 && (after - 0.10 * 2.0 / 3.0).abs() < 1e-9, "{before} then {after}");

    let resp = app.gql(query, json!({})).await;
    assert_eq!(error_code(&resp), "UNAUTHENTICATED");
    let no_profile = app.register("np@example.org", "No Profile").await;
    let resp = app.gql_as(Some(&no_profile.token), query, json!({})).await;
    assert_eq!(error_code(&resp), "FORBIDDEN");

    // Beth is excluded by safeguarding, and is told why; so is the coordinator.
    let explain = "query($n: ID!, $v: ID!) { explainMatch(needId: $n, volunteerId: $v) { eligible failedConstraints { constraint explanation } score reasons { factor contribution } volunteer { displayName } } }";
    for token in [&w.beth.0.token, &w.owner.token] {
        let resp = app.gql_as(Some(token), explain, json!({ "n": w.need_id, "v": w.beth.1 })).await;
        let e = &data(&resp)["explainMatch"];
        assert_eq!(e["eligible"], false);
        assert_eq!(e["failedConstraints"][0]["constraint"], "SAFEGUARDING");
        assert!(e["failedConstraints"][0]["explanation"].as_str().unwrap_or_default().contains("basic"));
    }
    let resp = app.gql_as(Some(&w.dan.0.token), explain, json!({ "n": w.need_id, "v": w.beth.1 })).await;
    assert_eq!(error_code(&resp), "FORBIDDEN", "another volunteer may not see Beth's breakdown");
    let resp = app.gql_as(Some(&w.owner.token), explain, json!({ "n": remote, "v": w.amira.1 })).await;
    assert_eq!(data(&resp)["explainMatch"]["eligible"], true);
}

#[tokio::test]
async fn offers_that_fit_a_need_are_found() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let premises = app
        .open_need(
            &w.owner,
            &w.org_id,
            "Room for the class",
            json!({"category": "PREMISES", "requiredSkills": [], "safeguarding": "NONE"}),
        )
        .await;
    let assoc = app.register("assoc@example.org", "Association").await;
    let assoc_org = app.organisation(&assoc, "Putney Association").await;
    for (kind, title, lat) in [
        ("SPACE", "Spare office, weekday evenings", 51.4600),
        ("EQUIPMENT", "Old laptops", 51.4600),
        ("SPACE", "Hall in Leeds", 53.8008),
    ] {
        let resp = app
            .gql_as(
                Some(&assoc.token),
                "mutation($input: CreateOfferInput!) { createOffer(input: $input) { offer { id } } }",
                json!({ "input": { "organisationId": assoc_org, "kind": kind, "title": title, "location": { "lat": lat, "lng": -0.23 }, "availability": [{ "day": "TUESDAY", "start": "18:00", "end": "22:00" }] } }),
            )
            .await;
        data(&resp);
    }
    let resp = app
        .gql("query($id: ID!) { matchingOffers(needId: $id) { totalCount edges { node { score distanceKm offer { title } reasons { factor contribution } } } } }", json!({ "id": premises }))
        .await;
    let offers = &data(&resp)["matchingOffers"];
    assert_eq!(offers["totalCount"], 1, "laptops do not house a class, and Leeds is too far: {resp}");
    assert_eq!(offers["edges"][0]["node"]["offer"]["title"], "Spare office, weekday evenings");
}

const PROPOSE: &str = "query($input: ProposeAssignmentsInput!) { proposeAssignments(input: $input) {
  totalScore needsCovered proposals { score need { id title } volunteer { id displayName } } unmet { need { title } places reason } } }";

#[tokio::test]
async fn plans_cover_every_need_first_and_confirm_into_invitations() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@plan.example", "Owner").await;
    let org_id = app.organisation(&owner, "Planning Org").await;
    // Two one-place needs; Ann is the best for both, Bob only fits the first.
    let english = app
        .open_need(
            &owner,
            &org_id,
            "English",
            json!({"volunteersNeeded": 1, "requiredSkills": ["teaching english"], "safeguarding": "NONE"}),
        )
        .await;
    let it = app
        .open_need(&owner, &org_id, "IT help", json!({"category": "IT_SKILLS", "volunteersNeeded": 1, "requiredSkills": ["it support"], "safeguarding": "NONE", "languages": []}))
        .await;
    let (ann, ann_id) = app
        .volunteer(
            "ann@v.example",
            "Ann",
            json!({"skills": ["teaching english", "it support"], "interests": ["ENGLISH_CLASSES", "IT_SKILLS"]}),
        )
        .await;
    let (bob, bob_id) = app
        .volunteer(
            "bob@v.example",
            "Bob",
            json!({"skills": ["teaching english"], "interests": ["ENGLISH_CLASSES"], "travelRadiusKm": 3.0}),
        )
        .await;
    let _ = bob;

    let resp = app.gql_as(Some(&owner.token), PROPOSE, json!({ "input": { "organisationId": org_id } })).await;
    let plan = &data(&resp)["proposeAssignments"];
    assert_eq!(plan["needsCovered"], 2, "{resp}");
    let pairs: Vec<(String, String)> = plan["proposals"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|x| {
                    (
                        x["need"]["title"].as_str().unwrap_or_default().to_owned(),
                        x["volunteer"]["displayName"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        pairs.contains(&("IT help".into(), "Ann".into())) && pairs.contains(&("English".into(), "Bob".into())),
        "coverage first: {pairs:?}"
    );
    assert_eq!(plan["unmet"], json!([]));

    // Outsiders may not plan for the organisation, and the input must say what to plan.
    let outsider = app.register("x@example.org", "X").await;
    let resp = app.gql_as(Some(&outsider.token), PROPOSE, json!({ "input": { "organisationId": org_id } })).await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    let resp = app.gql_as(Some(&owner.token), PROPOSE, json!({ "input": {} })).await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");

    // Confirming turns the plan into invitations that hold the places.
    let confirm = "mutation($p: [ProposedAssignmentInput!]!) { confirmAssignments(proposals: $p) { applications { id status volunteer { displayName } need { title placesTaken status } } } }";
    let resp = app
        .gql_as(
            Some(&owner.token),
            confirm,
            json!({ "p": [{ "needId": it, "volunteerId": ann_id }, { "needId": english, "volunteerId": bob_id }] }),
        )
        .await;
    let invited = data(&resp)["confirmAssignments"]["applications"].as_array().cloned().unwrap_or_default();
    assert_eq!(invited.len(), 2);
    assert!(invited.iter().all(|a| a["status"] == "INVITED" && a["need"]["status"] == "FILLED"));
    // Confirming the same again is refused whole: they are already invited.
    let resp = app.gql_as(Some(&owner.token), confirm, json!({ "p": [{ "needId": it, "volunteerId": ann_id }] })).await;
    assert_eq!(error_code(&resp), "CONFLICT");

    // Ann accepts; Bob's invitation is not Ann's to answer.
    let ann_app =
        invited.iter().find(|a| a["volunteer"]["displayName"] == "Ann").map(|a| a["id"].clone()).unwrap_or_default();
    let bob_app =
        invited.iter().find(|a| a["volunteer"]["displayName"] == "Bob").map(|a| a["id"].clone()).unwrap_or_default();
    let respond = "mutation($id: ID!, $accept: Boolean!) { respondToInvitation(applicationId: $id, accept: $accept) { application { status } need { placesTaken status } } }";
    let resp = app.gql_as(Some(&ann.token), respond, json!({ "id": bob_app, "accept": true })).await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    let resp = app.gql_as(Some(&ann.token), respond, json!({ "id": ann_app, "accept": true })).await;
    assert_eq!(
        data(&resp)["respondToInvitation"],
        json!({"application": {"status": "ACCEPTED"}, "need": {"placesTaken": 1, "status": "FILLED"}})
    );
    let resp = app.gql_as(Some(&ann.token), respond, json!({ "id": ann_app, "accept": false })).await;
    assert_eq!(error_code(&resp), "CONFLICT", "already answered");
    // Bob declines: his place is freed and the need reopens.
    let resp = app.gql_as(Some(&bob.token), respond, json!({ "id": bob_app, "accept": false })).await;
    assert_eq!(
        data(&resp)["respondToInvitation"],
        json!({"application": {"status": "DECLINED"}, "need": {"placesTaken": 0, "status": "OPEN"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_confirmations_never_exceed_places() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@race.example", "Owner").await;
    let org_id = app.organisation(&owner, "Race Org").await;
    let need =
        app.open_need(&owner, &org_id, "Two places", json!({"volunteersNeeded": 2, "safeguarding": "NONE"})).await;
    let mut volunteers = Vec::new();
    for i in 0..6 {
        volunteers.push(app.volunteer(&format!("r{i}@v.example"), &format!("R{i}"), json!({})).await.1);
    }
    let confirm =
        "mutation($p: [ProposedAssignmentInput!]!) { confirmAssignments(proposals: $p) { applications { id } } }";
    let results =
        futures::future::join_all(
            volunteers.iter().map(|v| {
                let (app, token, need) = (&app, owner.token.clone(), need.clone());
                async move {
                    app.gql_as(Some(&token), confirm, json!({ "p": [{ "needId": need, "volunteerId": v }] })).await
                }
            }),
        )
        .await;
    let ok = results.iter().filter(|r| r.get("errors").is_none()).count();
    assert_eq!(ok, 2, "{results:?}");
    assert!(results.iter().filter(|r| r.get("errors").is_some()).all(|r| error_code(r) == "CONFLICT"));
    let resp = app
        .gql_as(
            Some(&owner.token),
            "query($id: ID!) { need(id: $id) { placesTaken status applications(status: INVITED) { totalCount } } }",
            json!({ "id": need }),
        )
        .await;
    assert_eq!(data(&resp)["need"], json!({"placesTaken": 2, "status": "FILLED", "applications": {"totalCount": 2}}));
}

/// The matching index loads with the first match query; every write after that must show in the next one,
/// also writes this server did not make (another instance on the same database, here a direct UPDATE).
#[tokio::test]
async fn matches_follow_writes_made_after_the_index_loaded() {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resp = app.gql_as(Some(&w.owner.token), MATCHES, json!({ "id": w.need_id })).await;
    assert_eq!(names(&resp, "matchesForNeed"), vec!["Amira", "Dan"]);

    // Dan moves to Manchester through the API.
    let moved = app
        .gql_as(
            Some(&w.dan.0.token),
            "mutation($input: UpsertVolunteerProfileInput!) { upsertVolunteerProfile(input: $input) { volunteerProfile { id } } }",
            json!({ "input": {
                "displayName": "Dan", "skills": ["driving"], "interests": [], "languages": ["english"],
                "postcode": "M14 5AA", "location": {"lat": 53.4440, "lng": -2.2200}, "travelRadiusKm": 5.0,
                "availability": [{ "day": "TUESDAY", "start": "18:00", "end": "22:00" }],
                "dbsCheck": { "level": "ENHANCED", "issuedOn": "2025-03-01", "onUpdateService": true }
            } }),
        )
        .await;
    assert!(moved.get("errors").is_none(), "{moved}");
    // Another server records Beth's new DBS check.
    use entity::volunteer_profile::{Column, Entity};
    let updated = Entity::update_many()
        .col_expr(Column::DbsLevel, Expr::value("ENHANCED"))
        .col_expr(Column::DbsUpdateService, Expr::value(true))
        .col_expr(Column::UpdatedAt, Expr::value(api::now()))
        .filter(Column::DisplayName.eq("Beth"))
        .exec(&app.db)
        .await
        .expect("update Beth");
    assert_eq!(updated.rows_affected, 1);
    let resp = app.gql_as(Some(&w.owner.token), MATCHES, json!({ "id": w.need_id })).await;
    let mut found = names(&resp, "matchesForNeed");
    found.sort();
    assert_eq!(found, vec!["Amira", "Beth"], "Dan moved away, Beth is cleared now");

    // The coordinator closes the need: it drops out of Amira's recommendations and has no matches.
    let recommended = "{ recommendedNeeds { edges { node { need { title } } } } }";
    let before = names(&app.gql_as(Some(&w.amira.0.token), recommended, json!({})).await, "recommendedNeeds");
    assert!(before.contains(&"ESOL helper".to_owned()), "{before:?}");
    let closed = app
        .gql_as(
            Some(&w.owner.token),
            "mutation($id: ID!) { closeNeed(input: {needId: $id}) { need { status } } }",
            json!({ "id": w.need_id }),
        )
        .await;
    assert_eq!(data(&closed)["closeNeed"]["need"]["status"], "CLOSED");
    let after = names(&app.gql_as(Some(&w.amira.0.token), recommended, json!({})).await, "recommendedNeeds");
    assert!(!after.contains(&"ESOL helper".to_owned()), "{after:?}");
    let resp = app.gql_as(Some(&w.owner.token), MATCHES, json!({ "id": w.need_id })).await;
    assert_eq!(names(&resp, "matchesForNeed"), Vec::<String>::new());
}

/// No N+1 in matching: the statements a ranked list runs do not grow with its candidates or its page size.
#[tokio::test]
async fn match_queries_run_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let recommended = "query($n: Int!) { recommendedNeeds(first: $n) { edges { node { score need { title organisation { name } } reasons { factor } } } } }";
    let matches = "query($id: ID!, $n: Int!) { matchesForNeed(needId: $id, first: $n) { totalCount edges { node { score volunteer { displayName } } } } }";
    let measure = |token: String, query: &'static str, vars: Value, field: &'static str| {
        let app = &app;
        async move {
            // The first call may load or update the index; the second shows the steady state.
            app.gql_as(Some(&token), query, vars.clone()).await;
            app.reset_statements();
            let resp = app.gql_as(Some(&token), query, vars).await;
            (app.statements(), data(&resp)[field]["edges"].as_array().map_or(0, Vec::len))
        }
    };
    let small_matches =
        measure(w.owner.token.clone(), matches, json!({ "id": w.need_id, "n": 1 }), "matchesForNeed").await;
    let small_recommended = measure(w.amira.0.token.clone(), recommended, json!({ "n": 1 }), "recommendedNeeds").await;
    assert_eq!((small_matches.1, small_recommended.1), (1, 1));

    for i in 0..10 {
        app.volunteer(&format!("extra{i}@v.example"), &format!("Extra {i}"), json!({})).await;
        app.open_need(&w.owner, &w.org_id, &format!("Class {i}"), json!({})).await;
    }
    let large_matches =
        measure(w.owner.token.clone(), matches, json!({ "id": w.need_id, "n": 10 }), "matchesForNeed").await;
    let large_recommended = measure(w.amira.0.token.clone(), recommended, json!({ "n": 10 }), "recommendedNeeds").await;
    assert_eq!((large_matches.1, large_recommended.1), (10, 10));
    assert_eq!(small_matches.0, large_matches.0, "matchesForNeed statements");
    assert_eq!(small_recommended.0, large_recommended.0, "recommendedNeeds statements");
    assert!(large_matches.0 <= 7 && large_recommended.0 <= 6, "{large_matches:?} {large_recommended:?}");
}

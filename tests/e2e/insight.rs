//! Insight: a partnership's wards with their money per head and what is still needed, its priorities, a deprived
//! ward funded below the median flagged, the three best-funded organisations' share; a council's funding gaps across
//! its partnerships; the same statements however many wards, projects and bids.
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data};
use crate::projects::{CREATE as CREATE_PROJECT, project_input};
use crate::wards::import;

const CREATE_ORG: &str =
    "mutation($input: CreateOrganisationInput!) { createOrganisation(input: $input) { organisation { id slug } } }";
const INSIGHTS: &str = "query($p: ID!, $y: String!) { partnershipInsights(partnershipId: $p, financialYear: $y) { awarded { amount } medianPerHead { amount } wards { ward { name } population deprivationDecile awarded { amount } awardedPerHead { amount } bidsSubmitted bidsApproved projects openNeeds unfilledPlaces underfunded } priorities { priority { title } projects bids awarded { amount } unmetNeeds } flags { underfundedWards { name } topOrganisations { organisation { name } awarded { amount } } topThreeShare } } }";
const GAPS: &str = "query($c: ID!, $y: String!) { fundingGaps(councilId: $c, financialYear: $y) { awarded { amount } partnerships { partnership { name } awarded { amount } wards { ward { name } } } flags { underfundedWards { name } } } }";

fn year() -> String {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let start = if today.month() >= 4 { today.year() } else { today.year() - 1 };
    format!("{start}-{:02}", (start + 1) % 100)
}

async fn org(app: &TestApp, who: &Session, name: &str, kind: &str) -> (String, String) {
    let resp = app.gql_as(Some(&who.token), CREATE_ORG, json!({ "input": { "name": name, "kind": kind } })).await;
    let made = &data(&resp)["createOrganisation"]["organisation"];
    (made["id"].as_str().expect("an id").to_owned(), made["slug"].as_str().expect("a slug").to_owned())
}

struct World {
    officer: Session,
    council: String,
    partnership: String,
    fund: String,
    priority: String,
    wards: std::collections::HashMap<String, String>,
}

async fn world(app: &TestApp, wards: &[(&str, &str, i64, i64)]) -> World {
    let officer = app.register("officer@insight.example", "Officer").await;
    let (council, council_slug) = org(app, &officer, "Waveney Council", "COUNCIL").await;
    let (partnership, partnership_slug) = org(app, &officer, "Lowestoft Partnership", "COMMUNITY_PARTNERSHIP").await;
    let tie =
        "mutation($p: ID!, $c: ID!) { setPartnershipCouncil(input: {partnershipId: $p, councilId: $c}) { name } }";
    data(&app.gql_as(Some(&officer.token), tie, json!({ "p": partnership, "c": council })).await);
    let mut csv = String::from("gss_code,name,council,partnership,population,imd_decile\n");
    for (code, name, population, decile) in wards {
        csv.push_str(&format!("{code},{name},{council_slug},{partnership_slug},{population},{decile}\n"));
    }
    let (ok, out) = import(app, &csv);
    assert!(ok, "{out}");
    let listed = app
        .gql(
            "query($c: ID!) { wards(filter: {councilId: $c}, first: 100) { nodes { id name } } }",
            json!({ "c": council }),
        )
        .await;
    let wards = data(&listed)["wards"]["nodes"]
        .as_array()
        .expect("wards")
        .iter()
        .map(|w| (w["name"].as_str().expect("name").to_owned(), w["id"].as_str().expect("id").to_owned()))
        .collect();
    let fund = app
        .gql_as(Some(&officer.token), "mutation($input: CreateFundInput!) { createFund(input: $input) { fund { id } } }", json!({ "input": { "ownerId": council, "kind": "STRATEGIC_FUND", "name": "Strategic", "financialYear": year() } }))
        .await;
    let fund = data(&fund)["createFund"]["fund"]["id"].as_str().expect("a fund").to_owned();
    let priority = app
        .gql_as(Some(&officer.token), "mutation($input: CreatePriorityInput!) { createPriority(input: $input) { id } }", json!({ "input": { "partnershipId": partnership, "financialYear": year(), "title": "Food poverty", "agreedOn": "2026-04-01", "workshop": "Annual workshop" } }))
        .await;
    let priority = data(&priority)["createPriority"]["id"].as_str().expect("a priority").to_owned();
    World { officer, council, partnership, fund, priority, wards }
}

/// A group's project in `ward`, with an open need of `places`, and a bid for `pounds`, approved.
async fn funded(app: &TestApp, w: &World, group: &str, ward: &str, pounds: &str) {
    funded_for(app, w, group, ward, pounds, json!([])).await;
}

/// The same, its project, need and bid addressing `priorities`.
async fn funded_for(app: &TestApp, w: &World, group: &str, ward: &str, pounds: &str, priorities: Value) {
    let lead = app.register(&format!("lead@{}.example", group.to_lowercase().replace(' ', "-")), group).await;
    let organisation = app.organisation(&lead, group).await;
    let made = app
        .gql_as(
            Some(&lead.token),
            CREATE_PROJECT,
            project_input(
                &organisation,
                &format!("{group} project"),
                json!({ "wardId": w.wards[ward], "priorityIds": priorities }),
            ),
        )
        .await;
    let project = data(&made)["createProject"]["project"]["id"].as_str().expect("a project").to_owned();
    app.open_need(
        &lead,
        &organisation,
        &format!("{group} helpers"),
        json!({ "projectId": project, "volunteersNeeded": 3, "priorityIds": priorities }),
    )
    .await;
    let bid = app
        .gql_as(Some(&lead.token), "mutation($input: CreateBidInput!) { createBid(input: $input) { bid { id } } }", json!({ "input": { "fundId": w.fund, "projectId": project, "title": format!("{group} bid"), "purpose": "Running costs", "amountRequested": pounds, "priorityIds": priorities } }))
        .await;
    let bid = data(&bid)["createBid"]["bid"]["id"].as_str().expect("a bid").to_owned();
    let by_id = json!({ "input": { "bidId": bid } });
    data(
        &app.gql_as(
            Some(&lead.token),
            "mutation($input: BidInput!) { submitBid(input: $input) { bid { id } } }",
            by_id.clone(),
        )
        .await,
    );
    data(
        &app.gql_as(
            Some(&w.officer.token),
            "mutation($input: ApproveBidInput!) { approveBid(input: $input) { bid { id } } }",
            by_id,
        )
        .await,
    );
}

fn ward<'a>(insights: &'a Value, name: &str) -> &'a Value {
    insights["wards"].as_array().expect("wards").iter().find(|w| w["ward"]["name"] == name).expect("the ward")
}

#[tokio::test]
async fn insight_shows_where_the_money_went_and_flags_deprived_wards_left_behind() {
    let app = TestApp::spawn().await;
    let w = world(
        &app,
        &[("E05099911", "Harbour", 1000, 2), ("E05099912", "Gunton", 1000, 8), ("E05099913", "Oulton", 2000, 5)],
    )
    .await;
    funded(&app, &w, "Gunton Bowls", "Gunton", "500").await;
    funded(&app, &w, "Oulton Scouts", "Oulton", "400").await;
    funded_for(&app, &w, "Harbour Pantry", "Harbour", "50", json!([w.priority])).await;
    funded(&app, &w, "Gunton Choir", "Gunton", "30").await;

    app.reset_statements();
    let resp = app.gql(INSIGHTS, json!({ "p": w.partnership, "y": year() })).await;
    let few = app.statements();
    let insights = &data(&resp)["partnershipInsights"];
    assert_eq!(insights["awarded"]["amount"], "980.00");
    // Per head: Gunton 53p, Oulton 20p, Harbour 5p; the median is 20p.
    assert_eq!(insights["medianPerHead"]["amount"], "0.20");
    let harbour = ward(insights, "Harbour");
    assert_eq!(
        (
            &harbour["awardedPerHead"]["amount"],
            &harbour["underfunded"],
            &harbour["openNeeds"],
            &harbour["unfilledPlaces"]
        ),
        (&json!("0.05"), &json!(true), &json!(1), &json!(3))
    );
    let gunton = ward(insights, "Gunton");
    assert_eq!(
        (&gunton["bidsApproved"], &gunton["projects"], &gunton["underfunded"]),
        (&json!(2), &json!(2), &json!(false))
    );
    assert_eq!(insights["flags"]["underfundedWards"], json!([{ "name": "Harbour" }]));
    assert_eq!(
        insights["priorities"],
        json!([{ "priority": { "title": "Food poverty" }, "projects": 1, "bids": 1, "awarded": { "amount": "50.00" }, "unmetNeeds": 1 }])
    );
    let top = &insights["flags"]["topOrganisations"];
    assert_eq!(top[0]["organisation"]["name"], "Gunton Bowls");
    assert_eq!(top.as_array().map(Vec::len), Some(3));
    // The top three had 500 + 400 + 50 of 980.
    let share = insights["flags"]["topThreeShare"].as_f64().expect("a share");
    assert!((share - 950.0 / 980.0).abs() < 1e-9, "{share}");

    // A council's gaps, across its partnerships.
    let gaps = app.gql(GAPS, json!({ "c": w.council, "y": year() })).await;
    let gaps = &data(&gaps)["fundingGaps"];
    assert_eq!(gaps["partnerships"][0]["awarded"]["amount"], "980.00");
    assert_eq!(gaps["flags"]["underfundedWards"], json!([{ "name": "Harbour" }]));
    let bad = app.gql(INSIGHTS, json!({ "p": w.partnership, "y": "2026-28" })).await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "financialYear");

    // Twice the wards, projects and bids: the same statements.
    for (code, name) in [("E05099914", "Kirkley"), ("E05099915", "Pakefield")] {
        let csv = format!(
            "gss_code,name,council,partnership,population\n{code},{name},waveney-council,lowestoft-partnership,1500\n"
        );
        let (ok, out) = import(&app, &csv);
        assert!(ok, "{out}");
    }
    let listed = app
        .gql(
            "query($c: ID!) { wards(filter: {councilId: $c}, first: 100) { nodes { id name } } }",
            json!({ "c": w.council }),
        )
        .await;
    let mut w = w;
    for node in data(&listed)["wards"]["nodes"].as_array().expect("wards") {
        w.wards.insert(node["name"].as_str().expect("name").to_owned(), node["id"].as_str().expect("id").to_owned());
    }
    for (group, ward_name) in [
        ("Kirkley Club", "Kirkley"),
        ("Pakefield Friends", "Pakefield"),
        ("Kirkley Garden", "Kirkley"),
        ("Oulton Cafe", "Oulton"),
    ] {
        funded(&app, &w, group, ward_name, "10").await;
    }
    app.reset_statements();
    let resp = app.gql(INSIGHTS, json!({ "p": w.partnership, "y": year() })).await;
    assert_eq!(data(&resp)["partnershipInsights"]["wards"].as_array().map(Vec::len), Some(5));
    assert_eq!(app.statements(), few, "{:#?}", app.statement_texts());
}

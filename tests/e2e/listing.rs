//! The public listing: filters, orderings, distances and cursor pagination.
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};

const PAGE: &str =
    "query($first: Int, $after: String, $last: Int, $before: String, $filter: NeedFilter, $order: NeedOrder) {
  needs(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $order) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor distanceKm node { title organisation { id } } }
  }
}";

fn titles(resp: &Value) -> Vec<String> {
    data(resp)["needs"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["title"].as_str().expect("title").to_owned())
        .collect()
}

#[tokio::test]
async fn needs_filter_by_category_skill_text_place_and_remote() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@partnership.example", "Owner").await;
    let org_id = app.organisation(&owner, "Felixstowe Peninsula Partnership").await;
    // Felixstowe, Woodbridge (≈ 14 km away), Lowestoft (≈ 55 km), and a remote need.
    app.open_need(&owner, &org_id, "Speed gun volunteers", json!({"category": "COMMUNITY_SAFETY", "requiredSkills": ["driving"], "location": {"lat": 51.9639, "lng": 1.3515}})).await;
    app.open_need(
        &owner,
        &org_id,
        "Pavilion repaint",
        json!({"category": "ENVIRONMENT", "requiredSkills": ["painting"], "location": {"lat": 52.0936, "lng": 1.3197}}),
    )
    .await;
    app.open_need(&owner, &org_id, "Defibrillator fundraising", json!({"category": "FUNDRAISING", "requiredSkills": ["fundraising", "event planning"], "location": {"lat": 52.4811, "lng": 1.7534}})).await;
    app.open_need(&owner, &org_id, "Phone befriending", json!({"category": "BEFRIENDING", "requiredSkills": ["befriending"], "remote": true, "location": null, "postcode": null})).await;

    let run = |filter: Value, order: &str| {
        let app = &app;
        let order = order.to_owned();
        async move { app.gql(PAGE, json!({ "filter": filter, "order": order })).await }
    };
    assert_eq!(
        titles(&run(json!({"categories": ["ENVIRONMENT", "FUNDRAISING"]}), "NEWEST").await),
        vec!["Defibrillator fundraising", "Pavilion repaint"]
    );
    assert_eq!(
        titles(&run(json!({"skills": ["Event_Planning", "driving"]}), "NEWEST").await),
        vec!["Defibrillator fundraising", "Speed gun volunteers"]
    );
    assert_eq!(titles(&run(json!({"text": "REPAINT"}), "NEWEST").await), vec!["Pavilion repaint"]);
    assert_eq!(titles(&run(json!({"text": "100%"}), "NEWEST").await), Vec::<String>::new(), "% is matched literally");
    assert_eq!(titles(&run(json!({"remote": true}), "NEWEST").await), vec!["Phone befriending"]);
    assert_eq!(titles(&run(json!({"organisationId": org_id, "status": "OPEN"}), "NEWEST").await).len(), 4);

    // Near Felixstowe within 20 km, nearest first, with distances.
    let near = run(json!({"near": {"lat": 51.9610, "lng": 1.3510, "radiusKm": 20}}), "NEAREST").await;
    assert_eq!(titles(&near), vec!["Speed gun volunteers", "Pavilion repaint"]);
    let edges = data(&near)["needs"]["edges"].as_array().expect("edges").clone();
    let d0 = edges[0]["distanceKm"].as_f64().expect("distance");
    let d1 = edges[1]["distanceKm"].as_f64().expect("distance");
    assert!(d0 < 1.0, "Speed gun is ~0.3 km away, got {d0}");
    assert!((d1 - 14.8).abs() < 0.5, "Woodbridge is ~14.8 km away, got {d1}");
    assert_eq!(data(&near)["needs"]["totalCount"], 2);
    // Without `near`, there is no distance; NEAREST needs a place.
    assert!(data(&run(json!({}), "NEWEST").await)["needs"]["edges"][0]["distanceKm"].is_null());
    let resp = run(json!({}), "NEAREST").await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
}

#[tokio::test]
async fn pages_are_complete_stable_and_bounded() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@council.example", "Owner").await;
    let org_id = app.organisation(&owner, "East Suffolk Council").await;
    for i in 0..7 {
        let start = format!("2027-0{}-01", 7 - i); // later needs start sooner
        app.open_need(&owner, &org_id, &format!("Need {i}"), json!({"schedule": {"startDate": start}})).await;
    }

    // Forward through every page of 3: all seven, newest first, no repeats.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let resp = app.gql(PAGE, json!({ "first": 3, "after": after })).await;
        if seen.is_empty() {
            assert_eq!(data(&resp)["needs"]["totalCount"], 7);
        }
        seen.extend(titles(&resp));
        let info = &data(&resp)["needs"]["pageInfo"];
        if !info["hasNextPage"].as_bool().expect("bool") {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
        // A need posted while paging does not shift the pages already handed out.
        if seen.len() == 3 {
            app.open_need(&owner, &org_id, "Posted meanwhile", json!({})).await;
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("Need {i}")).collect();
    assert_eq!(seen, expected);

    // Backward: the last two, and the two before them.
    let resp = app.gql(PAGE, json!({ "last": 2 })).await;
    assert_eq!(titles(&resp), vec!["Need 1", "Need 0"]);
    assert_eq!(data(&resp)["needs"]["pageInfo"]["hasPreviousPage"], true);
    let start = data(&resp)["needs"]["pageInfo"]["startCursor"].as_str().expect("cursor").to_owned();
    let resp = app.gql(PAGE, json!({ "last": 2, "before": start })).await;
    assert_eq!(titles(&resp), vec!["Need 3", "Need 2"]);

    // SOONEST: by start date, undated last.
    let resp = app.gql(PAGE, json!({ "first": 3, "order": "SOONEST" })).await;
    assert_eq!(titles(&resp), vec!["Need 6", "Need 5", "Need 4"]);
    let cursor = data(&resp)["needs"]["pageInfo"]["endCursor"].as_str().expect("cursor").to_owned();
    let resp = app.gql(PAGE, json!({ "first": 10, "after": cursor, "order": "SOONEST" })).await;
    assert_eq!(titles(&resp), vec!["Need 3", "Need 2", "Need 1", "Need 0", "Posted meanwhile"]);

    // Bounds and bad cursors.
    for vars in [
        json!({ "first": 101 }),
        json!({ "first": -1 }),
        json!({ "first": 2, "last": 2 }),
        json!({ "after": "bm90IGEgY3Vyc29y" }),
        json!({ "first": 2, "after": cursor, "order": "NEWEST" }),
    ] {
        let resp = app.gql(PAGE, vars.clone()).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{vars}");
    }
    let resp = app.gql(PAGE, json!({ "first": 100 })).await;
    assert_eq!(titles(&resp).len(), 8);
}

#[tokio::test]
async fn organisations_list_by_name_and_kind() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@many.example", "Owner").await;
    for name in ["Youth Club Southfields", "Archway Jobs Club", "Mentoring Together"] {
        app.organisation(&owner, name).await;
    }
    let resp = app.gql("{ organisations(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { node { name kind } } } }", json!({})).await;
    let orgs = &data(&resp)["organisations"];
    assert_eq!(orgs["totalCount"], 3);
    assert_eq!(orgs["edges"][0]["node"]["name"], "Archway Jobs Club");
    assert_eq!(orgs["edges"][1]["node"]["name"], "Mentoring Together");
    let cursor = orgs["pageInfo"]["endCursor"].as_str().expect("cursor");
    let resp = app
        .gql(
            "query($c: String) { organisations(first: 2, after: $c) { edges { node { name } } } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(data(&resp)["organisations"]["edges"][0]["node"]["name"], "Youth Club Southfields");
    let resp = app.gql("{ organisations(filter: {kinds: [COUNCIL]}) { totalCount } }", json!({})).await;
    assert_eq!(data(&resp)["organisations"]["totalCount"], 0);
    let resp = app.gql("{ organisations(filter: {text: \"jobs\"}) { edges { node { name } } } }", json!({})).await;
    assert_eq!(data(&resp)["organisations"]["edges"][0]["node"]["name"], "Archway Jobs Club");
}

#[tokio::test]
async fn nearest_pages_are_complete_and_in_order_inside_and_outside_the_inner_ring() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@ring.example", "Owner").await;
    let org_id = app.organisation(&owner, "Southwark Neighbours").await;
    // Due north of the search point: twelve within 1 km (the inner ring of a 10 km search), ten between 2 and
    // 9.5 km, and one beyond 10 km. Titles sort as the distances do.
    let mut distances: Vec<f64> = (0..12).map(|i| 0.05 + 0.05 * f64::from(i)).collect();
    distances.extend((0..10).map(|i| 2.0 + 0.75 * f64::from(i)));
    distances.push(12.0);
    for (i, km) in distances.iter().enumerate() {
        let location = json!({"lat": 51.5 + km / 111.195, "lng": -0.1});
        app.open_need(&owner, &org_id, &format!("N{i:02}"), json!({ "location": location })).await;
    }
    let expected: Vec<String> = (0..22).map(|i| format!("N{i:02}")).collect();
    let filter = json!({"near": {"lat": 51.5, "lng": -0.1, "radiusKm": 10}});
    let nearest = |first: Option<i64>, last: Option<i64>, after: Option<String>| {
        let (app, filter) = (&app, filter.clone());
        async move {
            let vars = json!({ "first": first, "last": last, "after": after, "filter": filter, "order": "NEAREST" });
            app.gql(PAGE, vars).await
        }
    };

    // Pages of 5: the first two come from the inner ring, the rest from the whole radius.
    let (mut seen, mut after, mut distances_seen) = (Vec::new(), None, Vec::new());
    loop {
        let resp = nearest(Some(5), None, after.clone()).await;
        seen.extend(titles(&resp));
        for edge in data(&resp)["needs"]["edges"].as_array().expect("edges") {
            distances_seen.push(edge["distanceKm"].as_f64().expect("distance"));
        }
        let info = &data(&resp)["needs"]["pageInfo"];
        if !info["hasNextPage"].as_bool().expect("bool") {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, expected, "every need within 10 km, nearest first, once each");
    assert!(distances_seen.windows(2).all(|w| w[0] <= w[1]), "{distances_seen:?}");
    assert!((distances_seen[0] - 0.05).abs() < 0.02 && (distances_seen[21] - 8.75).abs() < 0.02, "{distances_seen:?}");

    // A page larger than the inner ring holds, and the farthest three paging backward.
    assert_eq!(titles(&nearest(Some(20), None, None).await), expected[..20].to_vec());
    assert_eq!(titles(&nearest(None, Some(3), None).await), expected[19..].to_vec());
}

const NESTED: &str = "query($org: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  organisation(id: $org) { needs(first: 10) { edges { node { id
    applications(first: $first, after: $after, last: $last, before: $before) {
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id volunteer { displayName } } }
    } } } } } }";

/// Each need's application ids in a nested page, by need id, with the page's info.
fn nested_pages(resp: &Value) -> Vec<(String, Vec<String>, Value)> {
    data(resp)["organisation"]["needs"]["edges"]
        .as_array()
        .expect("needs")
        .iter()
        .map(|edge| {
            let need = &edge["node"];
            let page = &need["applications"];
            let ids = page["edges"].as_array().expect("edges").iter();
            let ids = ids.map(|e| e["node"]["id"].as_str().expect("id").to_owned()).collect();
            (need["id"].as_str().expect("need id").to_owned(), ids, page["pageInfo"].clone())
        })
        .collect()
}

/// Nested pages are cut per parent, whatever else is in the batch: every need of a dashboard gets its own newest
/// applications, and a cursor, forward or backward, bounds each need's page by the same sort key.
#[tokio::test]
async fn nested_pages_are_cut_per_parent_forward_and_backward() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@nested.example", "Owner").await;
    let org = app.organisation(&owner, "Nested Org").await;
    let mut needs = Vec::new();
    for title in ["Jobs club", "Youth club", "IT class"] {
        needs.push(app.open_need(&owner, &org, title, json!({})).await);
    }
    // Four volunteers apply to every need, one need after another, so each need's applications interleave in time
    // with the others'. Each need's applications, newest first, are the order of applying reversed.
    let mut applied: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    for v in 0..4 {
        let (volunteer, _) = app.volunteer(&format!("v{v}@nested.example"), &format!("Volunteer {v}"), json!({})).await;
        for need in &needs {
            let application = app.apply(&volunteer, need).await;
            applied.entry(need.clone()).or_default().insert(0, application);
        }
    }
    let full = |need: &str| applied[need].clone();
    let ask = |vars: Value| app.gql_as(Some(&owner.token), NESTED, vars);

    let all = nested_pages(&ask(json!({ "org": org, "first": 10 })).await);
    assert_eq!(all.len(), 3);
    for (need, ids, info) in &all {
        assert_eq!(ids, &full(need), "every need's four applications, newest first");
        assert_eq!(info["hasNextPage"], false);
    }

    // The first two of every need, newest first.
    let first = nested_pages(&ask(json!({ "org": org, "first": 2 })).await);
    for (need, ids, info) in &first {
        assert_eq!(ids[..], full(need)[..2], "the newest two of {need}");
        assert_eq!(info["hasNextPage"], true);
    }
    // Forward from the first need's second newest application (the third volunteer's): every need's page holds
    // its own applications older than that one, which are the first two volunteers' (applied before it, to any
    // need), and nothing more.
    let cursor_info = &first.iter().find(|(n, _, _)| *n == needs[0]).expect("first need").2;
    let cursor = cursor_info["endCursor"].as_str().expect("end cursor");
    let next = nested_pages(&ask(json!({ "org": org, "first": 10, "after": cursor })).await);
    assert_eq!(next.len(), 3);
    for (need, ids, info) in &next {
        assert_eq!(ids[..], full(need)[2..], "{need}: its own two oldest, newest first");
        assert_eq!(info["hasNextPage"], false);
        assert_eq!(info["hasPreviousPage"], true, "{need}: a page after a cursor has one before it");
    }

    // Backward: the last two of every need are its oldest two, in display order.
    let last = nested_pages(&ask(json!({ "org": org, "last": 2 })).await);
    for (need, ids, info) in &last {
        assert_eq!(ids[..], full(need)[2..], "the oldest two of {need}");
        assert_eq!(info["hasPreviousPage"], true);
        // And the two before them, from their first cursor.
        let before = info["startCursor"].as_str().expect("start cursor");
        let earlier = nested_pages(&ask(json!({ "org": org, "last": 2, "before": before })).await);
        let (_, ids, _) = earlier.iter().find(|(n, _, _)| n == need).expect("need");
        assert_eq!(ids[..], full(need)[..2], "the newest two of {need}, paging backward");
    }
}

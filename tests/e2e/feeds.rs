//! The open data feeds (OpenActive RPDE): order, tombstones, the last page, what they never show, pages of 500
//! walked on from their last item, a change that commits late, and OpenActive's own validator walking both feeds
//! over HTTP.
use axum::http::header;
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, data, get, header_of};
use crate::standards;

const PUBLIC: &str = "https://pitchin.example";

async fn app(settle_ms: u64) -> TestApp {
    TestApp::spawn_with(|s| {
        s.public_url = PUBLIC.to_owned();
        s.feed_settle_ms = Some(settle_ms);
    })
    .await
}

/// A page of a feed, by its address (absolute, under `PUBLIC`, or a path).
async fn page(app: &TestApp, url: &str) -> (Value, String) {
    let path = url.strip_prefix(PUBLIC).unwrap_or(url);
    let got = get(app, path, None).await;
    assert_eq!(got.status, 200, "{path}: {}", got.body);
    assert_eq!(header_of(&got, header::CONTENT_TYPE), "application/json; charset=utf-8");
    let cache = header_of(&got, header::CACHE_CONTROL).to_owned();
    (serde_json::from_str(&got.body).expect("a JSON page"), cache)
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

fn uuid_of(global_id: &str) -> Uuid {
    api::kit::ids::decode_any(global_id).expect("a global id").1
}

async fn close(app: &TestApp, owner: &Session, need: &str) {
    let resp = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { closeNeed(input: {needId: $id}) { need { status } } }",
            json!({"id": need}),
        )
        .await;
    assert_eq!(data(&resp)["closeNeed"]["need"]["status"], "CLOSED");
}

#[tokio::test]
async fn the_needs_feed_lists_published_needs_in_order_tombstones_closed_ones_and_ends_on_a_page_naming_itself() {
    let app = app(0).await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    let first = app.open_need(&owner, &org, "Tuesday conversation club", json!({})).await;
    let hostile = app.open_need(&owner, &org, "<script>alert(1)</script>", json!({})).await;
    let closed = app.open_need(&owner, &org, "Summer fair", json!({})).await;
    app.draft_need(&owner, &org, "Not yet", json!({})).await;
    close(&app, &owner, &closed).await;

    app.reset_statements();
    let got = get(&app, "/feeds/needs", None).await;
    // The needs, then their organisations, however many items.
    assert_eq!(app.statements(), 2, "{:#?}", app.statement_texts());
    assert_eq!(header_of(&got, header::CACHE_CONTROL), "public, max-age=3600");
    assert!(!got.body.contains("<script>") && got.body.contains("\\u003cscript\\u003e"), "user text is inert");
    assert!(!got.body.contains("SW15 4HR"), "a need's place is its postcode district only");
    let feed: Value = serde_json::from_str(&got.body).expect("JSON");
    assert_eq!(feed["license"], "https://creativecommons.org/licenses/by/4.0/");
    let listed = items(&feed);
    let ids: Vec<&str> = listed.iter().filter_map(|i| i["id"].as_str()).collect();
    let expected: Vec<String> = [&first, &hostile, &closed].iter().map(|g| uuid_of(g).to_string()).collect();
    assert_eq!(ids, expected, "published needs in (modified, id) order; the draft is not there");
    let modified: Vec<i64> = listed.iter().filter_map(|i| i["modified"].as_i64()).collect();
    assert!(modified.windows(2).all(|w| w[0] <= w[1]), "{modified:?}");
    assert_eq!((listed[0]["state"].clone(), listed[0]["kind"].clone()), (json!("updated"), json!("JobPosting")));
    let posting = &listed[0]["data"]["@graph"][0];
    assert_eq!(posting["@type"], "JobPosting");
    assert_eq!(posting["title"], "Tuesday conversation club");
    assert_eq!(posting["hiringOrganization"]["name"], "Roehampton English Club");
    assert_eq!(posting["url"], format!("{PUBLIC}/needs/{first}"));
    assert_eq!(listed[2]["state"], "deleted");
    assert!(listed[2].get("data").is_none(), "a tombstone has no data: {}", listed[2]);

    // `next` names the last item; the page after it is the last: no items, `next` its own address.
    let next = feed["next"].as_str().expect("next");
    assert_eq!(next, format!("{PUBLIC}/feeds/needs?afterTimestamp={}&afterId={}", modified[2], ids[2]));
    let (last, cache) = page(&app, next).await;
    assert_eq!((items(&last).len(), last["next"].as_str()), (0, Some(next)));
    assert_eq!(cache, "public, max-age=8");

    // A change moves a need to the end: the consumer at the last page reads it next.
    let renamed = app
        .gql_as(
            Some(&owner.token),
            "mutation($id: ID!) { updateNeed(input: {needId: $id, title: \"Conversation club\"}) { need { title } } }",
            json!({"id": first}),
        )
        .await;
    assert_eq!(data(&renamed)["updateNeed"]["need"]["title"], "Conversation club");
    let (after, _) = page(&app, next).await;
    let changed = items(&after);
    assert_eq!(changed.len(), 1);
    assert_eq!(
        (changed[0]["id"].as_str(), &changed[0]["data"]["@graph"][0]["title"]),
        (Some(ids[0]), &json!("Conversation club"))
    );

    // The organisations' feed: the organisation, as schema.org describes it.
    let (organisations, _) = page(&app, "/feeds/organisations").await;
    let organisations = items(&organisations);
    assert_eq!(organisations.len(), 1);
    assert_eq!(organisations[0]["id"], uuid_of(&org).to_string());
    assert_eq!(organisations[0]["kind"], "Organization");
    assert_eq!(organisations[0]["data"]["name"], "Roehampton English Club");
}

#[tokio::test]
async fn bad_cursors_are_refused_with_the_parameter_named() {
    let app = app(0).await;
    let id = Uuid::new_v4();
    // Cursors before 1970 or past 9999 are the feed's start and its end, on both databases (not errors).
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    app.open_need(&owner, &org, "Tuesday conversation club", json!({})).await;
    let (start, _) = page(&app, &format!("/feeds/needs?afterTimestamp=-9223372036854775808&afterId={id}")).await;
    assert_eq!(items(&start).len(), 1);
    let end_url = format!("/feeds/needs?afterTimestamp=9223372036854775807&afterId={id}");
    let (end, cache) = page(&app, &end_url).await;
    assert_eq!(
        (items(&end).len(), end["next"].as_str(), cache.as_str()),
        (0, Some(format!("{PUBLIC}{end_url}").as_str()), "public, max-age=8")
    );
    for (query, field) in [
        (format!("afterId={id}"), "afterTimestamp"),
        ("afterTimestamp=1".to_owned(), "afterId"),
        (format!("afterTimestamp=yesterday&afterId={id}"), "afterTimestamp"),
        ("afterTimestamp=1&afterId=not-an-id".to_owned(), "afterId"),
        (format!("afterTimestamp=1&afterId={id}&limit=5"), "limit"),
        (format!("afterTimestamp=1&afterTimestamp=2&afterId={id}"), "afterTimestamp"),
    ] {
        for feed in ["needs", "organisations"] {
            let got = get(&app, &format!("/feeds/{feed}?{query}"), None).await;
            assert_eq!(got.status, 400, "{feed}?{query}");
            let error: Value = serde_json::from_str(&got.body).expect("a JSON error");
            assert_eq!(error["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{query}");
            assert_eq!(error["errors"][0]["extensions"]["field"], field, "{query}");
        }
    }
}

/// An open, published, remote need of `organisation` as a row, modified at `at`: written straight to the table.
fn need_row(organisation: Uuid, title: String, at: chrono::DateTime<Utc>) -> entity::need::ActiveModel {
    entity::need::ActiveModel {
        id: Set(Uuid::new_v4()),
        organisation_id: Set(organisation),
        title: Set(title),
        description: Set(String::new()),
        category: Set("OTHER".into()),
        required_skills: Set(json!([])),
        languages: Set(json!([])),
        safeguarding: Set("NONE".into()),
        weekly_schedule: Set(json!([])),
        schedule_mask: Set(0),
        start_date: Set(None),
        end_date: Set(None),
        postcode: Set(None),
        lat: Set(None),
        lng: Set(None),
        remote: Set(true),
        volunteers_needed: Set(1),
        places_taken: Set(0),
        status: Set("OPEN".into()),
        published_at: Set(Some(at)),
        created_at: Set(at),
        updated_at: Set(at),
        project_id: Set(None),
        waitlist_cap: Set(None),
        signup_mode: Set("ONGOING".into()),
        session_capacity: Set(None),
        safeguarding_verified: Set(false),
    }
}

/// Writes `count` open, published needs of `organisation` straight to the table, modified one millisecond apart
/// from `from` (with `tied` of them sharing one time, to cross a page boundary).
async fn needs_written(app: &TestApp, organisation: Uuid, count: usize, tied: std::ops::Range<usize>) -> Vec<Uuid> {
    // As the app writes times: to the microsecond, which is what `modified` carries.
    let from = domain::now() - Duration::hours(1);
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let at = from + Duration::milliseconds(if tied.contains(&n) { tied.start as i64 } else { n as i64 });
        let need = need_row(organisation, format!("Need {n}"), at).insert(&app.db).await.expect("a need");
        ids.push(need.id);
    }
    ids
}

#[tokio::test]
async fn pages_of_500_walk_on_from_their_last_item_through_ties_without_losing_or_repeating_one() {
    let app = app(0).await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = uuid_of(&app.organisation(&owner, "Roehampton English Club").await);
    // Needs 495 to 504 share one time: the first page ends among them, and the second must start after its last.
    let written = needs_written(&app, org, 520, 495..505).await;
    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut url = "/feeds/needs".to_owned();
    let mut sizes = Vec::new();
    // Bounded: a cursor that failed to move on would otherwise read the same page for ever.
    for _ in 0..10 {
        let (feed, _) = page(&app, &url).await;
        let listed = items(&feed);
        sizes.push(listed.len());
        seen.extend(
            listed.iter().map(|i| (i["modified"].as_i64().unwrap_or(0), i["id"].as_str().unwrap_or("").to_owned())),
        );
        let next = feed["next"].as_str().expect("next").to_owned();
        if listed.is_empty() {
            assert_eq!(next, format!("{PUBLIC}{url}"), "the last page names itself");
            break;
        }
        url = next.strip_prefix(PUBLIC).expect("under the public address").to_owned();
    }
    assert_eq!(sizes, [500, 20, 0], "the walk ends on its third page");
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "in (modified, id) order across pages");
    let mut ids: Vec<String> = seen.into_iter().map(|(_, id)| id).collect();
    ids.sort();
    let mut expected: Vec<String> = written.iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(ids, expected, "every need once");
}

/// Two writes: one that commits at once, and one that took its timestamp a second earlier and commits after the
/// consumer has read (a slow transaction). Returns what the consumer sees of them, in order, having read between
/// the two commits and again once the settle time has passed.
async fn late_commit(settle_ms: u64) -> (Vec<String>, [String; 2]) {
    let app = app(settle_ms).await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org = uuid_of(&app.organisation(&owner, "Roehampton English Club").await);
    let [slow, quick] = [0, 1].map(|_| Uuid::new_v4());
    let now = domain::now();
    let write = |id: Uuid, at: chrono::DateTime<Utc>| {
        let mut row = need_row(org, "A need".into(), at);
        row.id = Set(id);
        row
    };
    entity::need::Entity::insert(write(quick, now)).exec(&app.db).await.expect("the quick write");
    let (first, _) = page(&app, "/feeds/needs").await;
    let mut seen: Vec<String> = items(&first).iter().filter_map(|i| i["id"].as_str().map(str::to_owned)).collect();
    entity::need::Entity::insert(write(slow, now - Duration::seconds(1))).exec(&app.db).await.expect("the slow write");
    tokio::time::sleep(std::time::Duration::from_millis(settle_ms + 200)).await;
    let next = first["next"].as_str().expect("next").to_owned();
    let (second, _) = page(&app, &next).await;
    seen.extend(items(&second).iter().filter_map(|i| i["id"].as_str().map(str::to_owned)));
    (seen, [slow.to_string(), quick.to_string()])
}

#[tokio::test]
async fn a_change_that_commits_after_a_later_one_is_never_paged_past() {
    // With the settle time, the first read stops short of both; the second reads both, in order.
    let (seen, [slow, quick]) = late_commit(1_500).await;
    assert_eq!(seen, [slow, quick]);
    // Without it the consumer pages past the quick write and never sees the slow one: what the settle time is for.
    let (seen, [_, quick]) = late_commit(0).await;
    assert_eq!(seen, [quick], "without a settle time the slow write is lost");
}

#[tokio::test]
async fn openactives_validator_walks_both_feeds_without_an_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let public = base.clone();
    let app = TestApp::spawn_with(move |s| {
        s.public_url = public;
        s.feed_settle_ms = Some(0);
    })
    .await;
    app.serve(listener);
    let owner = app.register("owner@example.org", "Owner").await;
    let org = app.organisation(&owner, "Roehampton English Club").await;
    for title in ["Tuesday conversation club", "Homework club", "<script>alert(1)</script>"] {
        app.open_need(&owner, &org, title, json!({})).await;
    }
    let closed = app.open_need(&owner, &org, "Summer fair", json!({})).await;
    close(&app, &owner, &closed).await;
    for feed in ["needs", "organisations"] {
        let url = format!("{base}/feeds/{feed}");
        let report =
            tokio::task::spawn_blocking(move || standards::node("rpde.js", &[&url])).await.expect("the validator");
        let findings = report["findings"].as_array().cloned().unwrap_or_default();
        let failures: Vec<&Value> = findings.iter().filter(|f| f["severity"] == "failure").collect();
        assert!(failures.is_empty(), "{feed}: {failures:#?}");
        assert!(report["pages"].as_array().is_some_and(|p| p.len() >= 2), "{feed}: {report}");
        // Its warnings are two known ones: it judges the last page it walks to as a middle page (so expects
        // max-age=3600 there), and the organisations' feed has no tombstones because nothing removes one.
        for finding in findings.iter().filter(|f| f["severity"] == "warning") {
            let rule = finding["rule"].as_str().unwrap_or("");
            assert!(
                rule == "HttpCacheHeaderRule" || (feed == "organisations" && rule == "DeletedItemsRule"),
                "{feed}: {finding}"
            );
        }
    }
}

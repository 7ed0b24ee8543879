//! The public pages and the embeddable widget: what they show, what they never show, how they escape what users
//! wrote, and the headers that make them safe to embed and cheap to cache.
use axum::http::header;
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, get, header_of};

const PUBLIC: &str = "https://pitchin.example";

async fn app() -> TestApp {
    TestApp::spawn_with(|s| s.public_url = format!("{PUBLIC}/")).await
}

/// The page's JSON-LD, as PyPI's extruct (a real HTML and JSON-LD parser, as search engines use) reads it.
fn json_ld(body: &str) -> Value {
    structured_data(body)["json-ld"][0].clone()
}

/// What extruct finds in a page: its JSON-LD and Open Graph.
fn structured_data(body: &str) -> Value {
    let path = crate::standards::file("page.html", body);
    crate::standards::python("structured_data.py", &[path.to_str().expect("a path"), PUBLIC])
}

const HOSTILE: &str = "<script>alert(1)</script>";
/// `HOSTILE` as the pages' templates escape it (askama writes numeric character references).
const ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

struct World {
    app: TestApp,
    owner: crate::helpers::Session,
    org_id: String,
    slug: String,
    need_id: String,
}

async fn world() -> World {
    let app = app().await;
    let owner = app.register("owner@example.org", "Owner").await;
    let org_id = app.organisation(&owner, "Roehampton English Club").await;
    let slug = data(
        &app.gql(r#"query($id: ID!) { node(id: $id) { ... on Organisation { slug } } }"#, json!({"id": org_id})).await,
    )["node"]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();
    let need_id = app
        .open_need(
            &owner,
            &org_id,
            HOSTILE,
            json!({"description": "Tea & chat.\n\n</script><img src=x onerror=alert(2)>", "safeguarding": "ENHANCED",
                "schedule": {"weekly": [{"day": "TUESDAY", "start": "19:00", "end": "21:00"}], "startDate": "2027-01-06"}}),
        )
        .await;
    World { app, owner, org_id, slug, need_id }
}

#[tokio::test]
async fn a_need_page_shows_its_public_fields_previews_well_and_escapes_what_users_wrote() {
    let w = world().await;
    let page = get(&w.app, &format!("/needs/{}", w.need_id), None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains(HOSTILE) && !page.body.contains("<img src=x"), "user text is inert: {}", page.body);
    assert!(page.body.contains(ESCAPED), "and still shown: {}", page.body);
    for shown in [
        "Roehampton English Club",
        "English classes",
        "Tuesdays 19:00–21:00, from 6 January 2027",
        "SW15",
        "2 places left",
        "Enhanced DBS check needed — free for volunteers",
        "Tea &#38; chat.",
    ] {
        assert!(page.body.contains(shown), "{shown} in {}", page.body);
    }
    assert!(!page.body.contains("SW15 4HR"), "no street-level postcode");
    let canonical = format!("{PUBLIC}/needs/{}", w.need_id);
    assert!(page.body.contains(&format!("<link rel=\"canonical\" href=\"{canonical}\">")), "{}", page.body);
    assert!(page.body.contains(&format!("<meta property=\"og:url\" content=\"{canonical}\">")));
    assert!(page.body.contains(
        "<meta property=\"og:title\" content=\"&#60;script&#62;alert(1)&#60;/script&#62; — Roehampton English Club\">"
    ));
    assert!(page.body.contains("<meta name=\"twitter:card\" content=\"summary\">"));

    let found = structured_data(&page.body);
    let og = &found["opengraph"][0];
    assert_eq!(
        og["og:title"],
        format!("{HOSTILE} — Roehampton English Club"),
        "a preview shows the text as text: {og}"
    );
    assert_eq!(og["og:url"], canonical);
    let ld = found["json-ld"][0].clone();
    let graph = ld["@graph"].as_array().expect("a graph");
    let posting = &graph[0];
    assert_eq!(posting["@type"], "JobPosting");
    assert_eq!(posting["title"], HOSTILE, "JSON-LD holds the text itself, escaped as JSON");
    assert_eq!(posting["employmentType"], "VOLUNTEER");
    assert_eq!(posting["hiringOrganization"]["name"], "Roehampton English Club");
    assert_eq!(posting["hiringOrganization"]["@type"], "NGO");
    assert_eq!(posting["jobLocation"]["address"]["postalCode"], "SW15");
    assert_eq!(posting["url"], canonical);
    assert!(posting["datePosted"].is_string());
    let event = &graph[1];
    assert_eq!(event["@type"], "Event");
    let schedule = &event["eventSchedule"][0];
    assert_eq!(schedule["byDay"], "https://schema.org/Tuesday");
    assert_eq!((schedule["startTime"].as_str(), schedule["endTime"].as_str()), (Some("19:00:00"), Some("21:00:00")));
    assert_eq!(schedule["repeatFrequency"], "P1W");
    assert_eq!(schedule["scheduleTimezone"], "Europe/London");
    assert_eq!(event["startDate"], "2027-01-06");

    // Headers: framed only by Pitch In, no cookies, cacheable for a minute, revalidated by its ETag.
    let policy = header_of(&page, header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("frame-ancestors 'self'") && policy.contains("script-src 'none'"), "{policy}");
    assert_eq!(header_of(&page, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header_of(&page, header::REFERRER_POLICY), "strict-origin-when-cross-origin");
    assert_eq!(header_of(&page, header::CACHE_CONTROL), "public, max-age=60");
    assert!(page.headers.get(header::SET_COOKIE).is_none());
    let etag = header_of(&page, header::ETAG).to_owned();
    let again = get(&w.app, &format!("/needs/{}", w.need_id), Some(&etag)).await;
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    assert_eq!(header_of(&again, header::ETAG), etag);
}

#[tokio::test]
async fn drafts_unknown_ids_and_closed_needs() {
    let w = world().await;
    let draft = w.app.draft_need(&w.owner, &w.org_id, "Secret plans", json!({})).await;
    for path in [format!("/needs/{draft}"), "/needs/not-an-id".to_owned(), format!("/needs/{}", w.org_id)] {
        let page = get(&w.app, &path, None).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains("data-code=\"NOT_FOUND\""), "{}", page.body);
        assert!(!page.body.contains("Secret plans"));
        assert_eq!(header_of(&page, header::CACHE_CONTROL), "no-store");
    }
    let closed = w
        .app
        .gql_as(
            Some(&w.owner.token),
            "mutation($id: ID!) { closeNeed(input: {needId: $id}) { need { status } } }",
            json!({"id": w.need_id}),
        )
        .await;
    assert_eq!(data(&closed)["closeNeed"]["need"]["status"], "CLOSED");
    let page = get(&w.app, &format!("/needs/{}", w.need_id), None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("it no longer needs volunteers"), "{}", page.body);
    assert!(json_ld(&page.body)["@graph"][0]["validThrough"].is_string(), "a closed posting has expired");
}

#[tokio::test]
async fn an_organisation_page_lists_its_open_needs_only() {
    let w = world().await;
    w.app.draft_need(&w.owner, &w.org_id, "Secret plans", json!({})).await;
    let page = get(&w.app, &format!("/organisations/{}", w.slug), None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<h1>Roehampton English Club</h1>"));
    assert!(page.body.contains(&format!("href=\"{PUBLIC}/needs/{}\"", w.need_id)));
    assert!(!page.body.contains(HOSTILE) && page.body.contains(ESCAPED));
    assert!(!page.body.contains("Secret plans"), "drafts are not public");
    let ld = json_ld(&page.body);
    assert_eq!((ld["@type"].as_str(), ld["name"].as_str()), (Some("NGO"), Some("Roehampton English Club")));
    assert_eq!(ld["address"]["postalCode"], "SW15");
    assert_eq!(get(&w.app, "/organisations/nobody-at-all", None).await.status, 404);
}

#[tokio::test]
async fn the_widget_lists_open_needs_in_words_and_pages() {
    let w = world().await;
    w.app.draft_need(&w.owner, &w.org_id, "Secret plans", json!({})).await;
    w.app.open_need(&w.owner, &w.org_id, "Jobs club helper", json!({"category": "JOBS_CLUB", "schedule": null})).await;
    let all = get(&w.app, "/embed/needs", None).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(!all.body.contains(HOSTILE) && all.body.contains(ESCAPED));
    assert!(!all.body.contains("Secret plans"));
    for shown in [
        "Jobs club helper",
        "Roehampton English Club",
        "Tuesdays 19:00–21:00, from 6 January 2027",
        "Enhanced DBS check needed — free for volunteers",
        "2 places left",
        "Flexible",
    ] {
        assert!(all.body.contains(shown), "{shown} in {}", all.body);
    }
    assert!(all.body.contains(&format!("href=\"{PUBLIC}/needs/{}\"", w.need_id)), "I can help leads to the page");
    let policy = header_of(&all, header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("frame-ancestors *") && policy.contains("script-src 'sha256-"), "{policy}");
    assert!(all.headers.get(header::SET_COOKIE).is_none());

    // Filters as query parameters; a centre shows distances.
    let jobs = get(&w.app, &format!("/embed/needs?categories=JOBS_CLUB&organisation={}", w.slug), None).await;
    assert!(jobs.body.contains("Jobs club helper") && !jobs.body.contains(ESCAPED), "{}", jobs.body);
    let near = get(&w.app, "/embed/needs?lat=51.45&lng=-0.24&radiusKm=5&order=NEAREST", None).await;
    assert!(near.body.contains("km away"), "{}", near.body);

    // One a page: "Show more" carries the filters and the cursor to the next.
    let first = get(&w.app, "/embed/needs?limit=1&density=COMPACT", None).await;
    let start = first.body.find("class=\"more\" href=\"").expect("a Show more link") + "class=\"more\" href=\"".len();
    let more =
        first.body[start..first.body[start..].find('"').map(|e| start + e).expect("its end")].replace("&#38;", "&");
    assert!(more.starts_with(&format!("{PUBLIC}/embed/needs?")) && more.contains("density=COMPACT"), "{more}");
    let second = get(&w.app, more.trim_start_matches(PUBLIC), None).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(second.body.contains("Jobs club helper") != first.body.contains("Jobs club helper"), "the next need");
    assert!(!second.body.contains("class=\"more\""), "and no more after it");

    // Accents that would not read on white are darkened; theming values never reach the page unchecked.
    let yellow = get(&w.app, "/embed/needs?accent=ffff00", None).await;
    assert!(!yellow.body.contains("--accent:#ffff00"), "darkened");
    assert!(yellow.body.contains("--accent:#"));
}

#[tokio::test]
async fn bad_widget_parameters_get_a_page_that_names_them() {
    let app = app().await;
    for (query, parameter) in [
        ("limit=0", "limit"),
        ("categories=KNITTING", "categories"),
        ("lat=51.4", "lng"),
        ("order=NEAREST", "order"),
        ("accent=%3Cscript%3E", "accent"),
        ("font=Papyrus", "font"),
        ("organisation=nobody", "organisation"),
        ("colour=red", "colour"),
    ] {
        let page = get(&app, &format!("/embed/needs?{query}"), None).await;
        assert_eq!(page.status, 400, "{query}: {}", page.body);
        assert!(page.body.contains("data-code=\"BAD_USER_INPUT\""), "{}", page.body);
        assert!(
            page.body.contains(&format!("<code>{parameter}</code>")) || page.body.contains(&format!("`{parameter}`")),
            "{query}: {}",
            page.body
        );
        assert!(!page.body.contains("<script>"), "{}", page.body);
    }
}

#[tokio::test]
async fn embed_js_is_small_and_cacheable() {
    let app = app().await;
    let script = get(&app, "/embed.js", None).await;
    assert_eq!(script.status, 200);
    assert!(script.body.len() < 3 * 1024, "{} bytes", script.body.len());
    assert!(header_of(&script, header::CONTENT_TYPE).starts_with("text/javascript"));
    assert_eq!(header_of(&script, header::CACHE_CONTROL), "public, max-age=3600");
    let etag = header_of(&script, header::ETAG).to_owned();
    assert_eq!(get(&app, "/embed.js", Some(&etag)).await.status, 304);
}

#[tokio::test]
async fn a_partners_widget_is_framed_only_by_its_sites_and_sends_people_to_its_page() {
    let w = world().await;
    let admin = w.app.admin().await;
    let issued = w
        .app
        .gql_as(
            Some(&admin.token),
            r#"mutation { issueApiKey(input: {name: "Roehampton Library", scopes: [READ_PUBLIC_LISTINGS],
                allowedOrigins: ["https://library.example", "http://localhost:8301"],
                applyUrl: "https://library.example/volunteer?need={needId}&x=\"1\""}) { apiKey { id allowedOrigins applyUrl } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(crate::helpers::error_code(&issued), "BAD_USER_INPUT", "quotes are refused in an apply URL: {issued}");
    let issued = w
        .app
        .gql_as(
            Some(&admin.token),
            r#"mutation { issueApiKey(input: {name: "Roehampton Library", scopes: [READ_PUBLIC_LISTINGS],
                allowedOrigins: ["https://library.example", "http://localhost:8301"],
                applyUrl: "https://library.example/volunteer?need={needId}"}) { apiKey { id allowedOrigins applyUrl } } }"#,
            json!({}),
        )
        .await;
    let key = &data(&issued)["issueApiKey"]["apiKey"];
    assert_eq!(key["allowedOrigins"], json!(["http://localhost:8301", "https://library.example"]));
    let partner = key["id"].as_str().expect("an id").to_owned();

    let widget = get(&w.app, &format!("/embed/needs?partner={partner}"), None).await;
    assert_eq!(widget.status, 200, "{}", widget.body);
    let policy = header_of(&widget, header::CONTENT_SECURITY_POLICY);
    assert!(policy.contains("frame-ancestors http://localhost:8301 https://library.example"), "{policy}");
    // "I can help" goes through Pitch In, which counts the click, to the partner's page.
    let click = format!("/embed/click?partner={partner}&need={}", w.need_id);
    assert!(widget.body.contains(&format!("href=\"{PUBLIC}{}\"", click.replace('&', "&#38;"))), "{}", widget.body);
    let sent = get(&w.app, &click, None).await;
    assert_eq!(sent.status, 303);
    assert_eq!(header_of(&sent, header::LOCATION), format!("https://library.example/volunteer?need={}", w.need_id));

    // Without an apply page, the need's page, with the partner as the referrer; any site may frame it again.
    let updated = w
        .app
        .gql_as(
            Some(&admin.token),
            "mutation($id: ID!) { updateApiKey(input: {id: $id}) { allowedOrigins applyUrl } }",
            json!({"id": partner}),
        )
        .await;
    assert_eq!(data(&updated)["updateApiKey"], json!({"allowedOrigins": [], "applyUrl": null}));
    let widget = get(&w.app, &format!("/embed/needs?partner={partner}"), None).await;
    assert!(header_of(&widget, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors *"));
    let sent = get(&w.app, &click, None).await;
    assert_eq!(header_of(&sent, header::LOCATION), format!("{PUBLIC}/needs/{}?ref={partner}", w.need_id));
    // The destination is the key's, whatever else the request says.
    assert_eq!(get(&w.app, &format!("{click}&to=https://evil.example"), None).await.status, 400);
    // Only ids reach the Location header, made from what they decode to: a line break sent with one goes nowhere.
    let sent = get(&w.app, &format!("{click}%0D%0ASet-Cookie:%20x=1"), None).await;
    assert_eq!(sent.status, 400, "an id followed by anything else is no id");
    let sent = get(&w.app, &format!("{click}%0D%0A"), None).await;
    assert_eq!((sent.status, header_of(&sent, header::LOCATION).contains('\r')), (303, false));

    // Only platform admins set these; a revoked key is no partner.
    let stranger = w
        .app
        .gql_as(
            Some(&w.owner.token),
            "mutation($id: ID!) { updateApiKey(input: {id: $id}) { id } }",
            json!({"id": partner}),
        )
        .await;
    assert_eq!(crate::helpers::error_code(&stranger), "FORBIDDEN");
    w.app
        .gql_as(
            Some(&admin.token),
            "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { id } }",
            json!({"id": partner}),
        )
        .await;
    let revoked = get(&w.app, &format!("/embed/needs?partner={partner}"), None).await;
    assert_eq!(revoked.status, 400);
    assert!(revoked.body.contains("<code>partner</code>"), "{}", revoked.body);
    assert_eq!(get(&w.app, &format!("/embed/needs?partner={}", w.need_id), None).await.status, 400);
}

#[tokio::test]
async fn a_partner_sees_its_views_clicks_and_applications_by_day_and_nobody_else_does() {
    let w = world().await;
    let admin = w.app.admin().await;
    let issued = w
        .app
        .gql_as(
            Some(&admin.token),
            "mutation($org: ID!) { issueApiKey(input: {name: \"Roehampton Library\", scopes: [READ_PUBLIC_LISTINGS, READ_ORGANISATION_MATCHES], organisationId: $org}) { apiKey { id } } }",
            json!({"org": w.org_id}),
        )
        .await;
    let partner = data(&issued)["issueApiKey"]["apiKey"]["id"].as_str().expect("an id").to_owned();
    // Three views (a revalidated one counts: someone saw it), two clicks, one application through the link.
    let widget = format!("/embed/needs?partner={partner}");
    let first = get(&w.app, &widget, None).await;
    get(&w.app, &widget, None).await;
    assert_eq!(get(&w.app, &widget, Some(header_of(&first, header::ETAG))).await.status, 304);
    let click = format!("/embed/click?partner={partner}&need={}", w.need_id);
    for _ in 0..2 {
        assert_eq!(get(&w.app, &click, None).await.status, 303);
    }
    let apply =
        "mutation($need: ID!, $ref: ID) { applyToNeed(input: {needId: $need, ref: $ref}) { application { status } } }";
    let (amira, _) = w.app.volunteer("amira@example.org", "Amira", json!({})).await;
    let bad = w.app.gql_as(Some(&amira.token), apply, json!({"need": w.need_id, "ref": "not-a-key"})).await;
    assert_eq!(crate::helpers::error_code(&bad), "BAD_USER_INPUT", "a malformed ref is refused before applying");
    let applied = w.app.gql_as(Some(&amira.token), apply, json!({"need": w.need_id, "ref": partner})).await;
    assert_eq!(data(&applied)["applyToNeed"]["application"]["status"], "APPLIED");
    let (kwame, _) = w.app.volunteer("kwame@example.org", "Kwame", json!({})).await;
    let direct = w.app.gql_as(Some(&kwame.token), apply, json!({"need": w.need_id, "ref": null})).await;
    assert_eq!(
        data(&direct)["applyToNeed"]["application"]["status"],
        "APPLIED",
        "applying without a ref counts for nobody"
    );

    let today = domain::api_keys::stats::today();
    let (from, to) = (today - chrono::Days::new(2), today + chrono::Days::new(1));
    let stats = "query($key: ID!, $from: NaiveDate!, $to: NaiveDate!) { partnerStats(apiKeyId: $key, from: $from, to: $to) { day widgetViews clicks applications } }";
    let range = json!({"key": partner, "from": from.to_string(), "to": to.to_string()});
    // Platform admins and the key's organisation see the counts, every day of the range.
    for who in [&admin, &w.owner] {
        let resp = w.app.gql_as(Some(&who.token), stats, range.clone()).await;
        let days = data(&resp)["partnerStats"].as_array().cloned().unwrap_or_default();
        assert_eq!(days.len(), 4, "{resp}");
        assert_eq!(days[0], json!({"day": from.to_string(), "widgetViews": 0, "clicks": 0, "applications": 0}));
        let total = |field: &str| days.iter().filter_map(|d| d[field].as_i64()).sum::<i64>();
        assert_eq!((total("widgetViews"), total("clicks"), total("applications")), (3, 2, 1), "{resp}");
    }
    // Nobody else: not a volunteer, not anonymous callers; and the range must make sense.
    assert_eq!(crate::helpers::error_code(&w.app.gql_as(Some(&amira.token), stats, range.clone()).await), "FORBIDDEN");
    assert_eq!(crate::helpers::error_code(&w.app.gql(stats, range).await), "UNAUTHENTICATED");
    let backwards = json!({"key": partner, "from": to.to_string(), "to": from.to_string()});
    assert_eq!(crate::helpers::error_code(&w.app.gql_as(Some(&admin.token), stats, backwards).await), "BAD_USER_INPUT");
}

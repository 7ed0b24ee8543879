//! Open data out, checked by the standards' own schemas (PyPI jsonschema, draft 2020-12, formats checked):
//! 360Giving 1.4 grants (JSON and CSV) of a publisher's approved bids and nothing else, with register identifiers,
//! the council's GB-LAE funder and the ward's GSS code; Open Referral UK 3.0 services of the projects people attend,
//! paged and filtered, and Pitch In's categories as a taxonomy.
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data, get, header_of};
use crate::projects::{CREATE as CREATE_PROJECT, place, project_input};
use crate::standards;

fn shared_standard(folder: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/standards").join(folder);
    assert!(path.is_dir(), "the standards' schemas are in {}", path.display());
    path
}

/// Every schema error in `documents`, validated against `schema` of the standard's `folder`.
fn schema_errors(folder: &str, schema: &str, documents: Vec<Value>) -> Vec<Value> {
    let file = standards::file("documents.json", &json!({ "documents": documents }).to_string());
    let dir = shared_standard(folder);
    let out =
        standards::python("json_schema.py", &[dir.to_str().expect("a path"), schema, file.to_str().expect("a path")]);
    out["errors"].as_array().expect("errors").clone()
}

fn body(got: &crate::helpers::Got) -> Value {
    serde_json::from_str(&got.body).expect("JSON")
}

const CREATE_FUND: &str = "mutation($input: CreateFundInput!) { createFund(input: $input) { fund { id } } }";
const CREATE_BID: &str = "mutation($input: CreateBidInput!) { createBid(input: $input) { bid { id } } }";

fn year() -> String {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let start = if today.month() >= 4 { today.year() } else { today.year() - 1 };
    format!("{start}-{:02}", (start + 1) % 100)
}

async fn run(app: &TestApp, who: &Session, mutation: &str, input: Value) -> Value {
    data(&app.gql_as(Some(&who.token), mutation, json!({ "input": input })).await).clone()
}

#[tokio::test]
async fn grants_are_published_as_valid_360giving() {
    let app = TestApp::spawn().await;
    let place = place(&app).await;
    // The council's register code names it as the funder.
    let code = "mutation($id: ID!) { updateOrganisation(input: {organisationId: $id, localAuthorityCode: \"esk\"}) { organisation { localAuthorityCode } } }";
    let resp = app.gql_as(Some(&place.officer.token), code, json!({ "id": place.council })).await;
    assert_eq!(data(&resp)["updateOrganisation"]["organisation"]["localAuthorityCode"], "ESK");
    let wrong = app.gql_as(Some(&place.officer.token), "mutation($id: ID!) { updateOrganisation(input: {organisationId: $id, localAuthorityCode: \"ESK\"}) { organisation { id } } }", json!({ "id": place.partnership })).await;
    assert_eq!(wrong["errors"][0]["extensions"]["field"], "input.localAuthorityCode");

    let fund = run(&app, &place.officer, CREATE_FUND, json!({ "ownerId": place.council, "kind": "STRATEGIC_FUND", "name": "Strategic fund", "financialYear": year() })).await;
    let fund = fund["createFund"]["fund"]["id"].as_str().expect("a fund").to_owned();
    let lead = app.register("lead@pavilion.example", "Lead").await;
    let club = app.organisation(&lead, "Trimley Sports Club").await;
    let registered = "mutation($id: ID!) { updateOrganisation(input: {organisationId: $id, charityNumber: \"1123456\"}) { organisation { id } } }";
    data(&app.gql_as(Some(&lead.token), registered, json!({ "id": club })).await);
    let pavilion = app
        .gql_as(
            Some(&lead.token),
            CREATE_PROJECT,
            project_input(
                &club,
                "Pavilion repaint",
                json!({ "wardId": place.wards[0], "schedule": { "startDate": "2027-05-01", "endDate": "2027-06-30" } }),
            ),
        )
        .await;
    let pavilion = data(&pavilion)["createProject"]["project"]["id"].as_str().expect("a project").to_owned();
    let bid = |title: &str, amount: &str| json!({ "fundId": fund, "projectId": pavilion, "title": title, "purpose": "Paint <and> brushes & rollers", "amountRequested": amount });
    let mut ids = Vec::new();
    for (title, amount) in [("Pavilion paint", "1250.50"), ("Draft bid", "10"), ("Rejected bid", "20")] {
        let made = run(&app, &lead, CREATE_BID, bid(title, amount)).await;
        ids.push(made["createBid"]["bid"]["id"].as_str().expect("a bid").to_owned());
    }
    let act = |name: &str, input: &str| {
        format!("mutation($input: {input}!) {{ {name}(input: $input) {{ bid {{ status }} }} }}")
    };
    for id in [&ids[0], &ids[2]] {
        run(&app, &lead, &act("submitBid", "BidInput"), json!({ "bidId": id })).await;
    }
    run(&app, &place.officer, &act("approveBid", "ApproveBidInput"), json!({ "bidId": ids[0] })).await;
    run(
        &app,
        &place.officer,
        &act("recordPayment", "RecordPaymentInput"),
        json!({ "bidId": ids[0], "amount": "1000" }),
    )
    .await;
    run(
        &app,
        &place.officer,
        &act("rejectBid", "RejectBidInput"),
        json!({ "bidId": ids[2], "reason": "Not this year" }),
    )
    .await;

    let slug = data(
        &app.gql("query($id: ID!) { organisation(id: $id) { slug } }", json!({ "id": place.council })).await,
    )["organisation"]["slug"]
        .as_str()
        .expect("a slug")
        .to_owned();
    let got = get(&app, &format!("/open-data/360giving.json?publisher={slug}"), None).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(header_of(&got, axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    assert!(!got.body.contains("<and>"), "user-written text is escaped in JSON");
    let package = body(&got);
    assert_eq!(
        schema_errors("360giving", "360-giving-package-schema.json", vec![package.clone()]),
        Vec::<Value>::new()
    );
    let grants = package["grants"].as_array().expect("grants");
    assert_eq!(grants.len(), 1, "only approved grants: {grants:?}");
    let grant = &grants[0];
    assert_eq!(grant["id"], format!("360G-pitchin-{slug}-{}", uuid_of(&ids[0])));
    assert_eq!(
        (&grant["amountAwarded"], &grant["amountDisbursed"], &grant["currency"]),
        (&json!(1250.5), &json!(1000.0), &json!("GBP"))
    );
    assert_eq!(grant["recipientOrganization"][0]["id"], "GB-CHC-1123456");
    assert_eq!(grant["fundingOrganization"][0]["id"], "GB-LAE-ESK");
    assert_eq!(
        grant["beneficiaryLocation"][0],
        json!({ "name": "Eastern Felixstowe", "geoCode": "E05099901", "geoCodeType": "WD", "countryCode": "GB" })
    );
    assert_eq!(grant["plannedDates"][0], json!({ "startDate": "2027-05-01", "endDate": "2027-06-30" }));

    // The same grants as CSV, with the standard's column titles.
    let csv = get(&app, &format!("/open-data/360giving.csv?publisher={slug}"), None).await;
    assert_eq!(csv.status, 200);
    assert!(header_of(&csv, axum::http::header::CONTENT_TYPE).starts_with("text/csv"));
    let mut reader = ::csv::Reader::from_reader(csv.body.as_bytes());
    let headers: Vec<String> = reader.headers().expect("headers").iter().map(str::to_owned).collect();
    assert_eq!(&headers[..5], ["Identifier", "Title", "Description", "Currency", "Amount Awarded"]);
    let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    assert_eq!(rows.len(), 1);
    let column = |name: &str| headers.iter().position(|h| h == name).expect("a column");
    assert_eq!(&rows[0][column("Amount Awarded")], "1250.50");
    assert_eq!(&rows[0][column("Beneficiary Location:Geographic Code")], "E05099901");
    assert_eq!(&rows[0][column("Description")], "Paint <and> brushes & rollers");

    // Bad requests are refused with a code; a publisher with nothing approved has no package.
    for (path, status, code) in [
        ("/open-data/360giving.json", 400, "BAD_USER_INPUT"),
        ("/open-data/360giving.json?publisher=nobody-at-all", 404, "NOT_FOUND"),
        ("/open-data/360giving.json?publisher=x&format=xml", 400, "BAD_USER_INPUT"),
    ] {
        let got = get(&app, path, None).await;
        assert_eq!(got.status, status, "{path}: {}", got.body);
        assert_eq!(body(&got)["errors"][0]["extensions"]["code"], code, "{path}");
    }
    let partnership_slug =
        data(&app.gql("query($id: ID!) { organisation(id: $id) { slug } }", json!({ "id": place.partnership })).await)
            ["organisation"]["slug"]
            .as_str()
            .expect("a slug")
            .to_owned();
    let none = get(&app, &format!("/open-data/360giving.json?publisher={partnership_slug}"), None).await;
    assert_eq!(none.status, 404);
}

fn uuid_of(id: &str) -> String {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id).expect("a global id");
    String::from_utf8(raw).expect("text").split(':').nth(1).expect("kind:uuid").to_owned()
}

#[tokio::test]
async fn projects_people_attend_are_open_referral_services() {
    let app = TestApp::spawn().await;
    let lead = app.register("lead@english.example", "Lead").await;
    let org = app.organisation(&lead, "Putney English Circle").await;
    let weekly = json!({ "weekly": [{ "day": "TUESDAY", "start": "19:00", "end": "21:00" }, { "day": "SATURDAY", "start": "10:00", "end": "12:00" }], "startDate": "2026-09-01" });
    for (title, extra) in [
        (
            "Tuesday English classes",
            json!({ "category": "ENGLISH_CLASSES", "status": "ACTIVE", "schedule": weekly, "languages": ["arabic", "dari"], "ageRange": { "min": 16 }, "summary": "Conversation practice" }),
        ),
        (
            "Jobs club",
            json!({ "category": "JOBS_CLUB", "status": "ACTIVE", "schedule": { "weekly": [{ "day": "MONDAY", "start": "10:00", "end": "12:00" }] }, "areaWide": true, "location": null }),
        ),
        ("Planned youth club", json!({ "category": "YOUTH_CLUB", "status": "PROPOSED", "schedule": weekly })),
        ("Pavilion repaint", json!({ "category": "ENVIRONMENT", "status": "ACTIVE" })),
    ] {
        data(&app.gql_as(Some(&lead.token), CREATE_PROJECT, project_input(&org, title, extra)).await);
    }

    let meta = get(&app, "/openreferral/", None).await;
    assert_eq!((meta.status, body(&meta)["version"].clone()), (200, json!("3.0")));
    let page = get(&app, "/openreferral/services?per_page=1&page=1", None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(header_of(&page, axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
    let first = body(&page);
    assert_eq!(
        [
            &first["total_items"],
            &first["total_pages"],
            &first["page_number"],
            &first["size"],
            &first["first_page"],
            &first["last_page"],
            &first["empty"]
        ],
        [&json!(2), &json!(2), &json!(1), &json!(1), &json!(true), &json!(false), &json!(false)]
    );
    let all = body(&get(&app, "/openreferral/services", None).await);
    let names: Vec<&str> =
        all["contents"].as_array().expect("contents").iter().map(|s| s["name"].as_str().expect("a name")).collect();
    assert_eq!(names, ["Jobs club", "Tuesday English classes"], "only active projects with a schedule");
    let contents = all["contents"].as_array().expect("contents").clone();
    assert_eq!(schema_errors("openreferral-uk-3.0/schemata", "service.json", contents.clone()), Vec::<Value>::new());
    let english = &contents[1];
    assert_eq!(english["schedules"][0]["byday"], "TU");
    assert_eq!((&english["schedules"][0]["opens_at"], &english["minimum_age"]), (&json!("19:00"), &json!(16)));
    assert_eq!(english["languages"].as_array().map(Vec::len), Some(2));
    assert!(english["service_at_locations"][0]["location"]["latitude"].is_number());

    // One service, whole; a project that is not a service is not found.
    let id = english["id"].as_str().expect("an id");
    let one = get(&app, &format!("/openreferral/services/{id}"), None).await;
    assert_eq!(one.status, 200);
    assert_eq!(schema_errors("openreferral-uk-3.0/schemata", "service.json", vec![body(&one)]), Vec::<Value>::new());
    assert_eq!(get(&app, &format!("/openreferral/services/{}", uuid::Uuid::new_v4()), None).await.status, 404);
    assert_eq!(get(&app, "/openreferral/services/not-a-uuid", None).await.status, 404);

    // Pitch In's categories as a taxonomy; filtering by a term and searching.
    let terms = body(&get(&app, "/openreferral/taxonomy_terms?per_page=100", None).await);
    let terms_list = terms["contents"].as_array().expect("terms").clone();
    assert_eq!(terms["total_items"], json!(terms_list.len()));
    assert_eq!(
        schema_errors("openreferral-uk-3.0/schemata", "taxonomy_term.json", terms_list.clone()),
        Vec::<Value>::new()
    );
    let taxonomies = body(&get(&app, "/openreferral/taxonomies", None).await);
    let taxonomy_id = taxonomies["contents"][0]["id"].as_str().expect("an id").to_owned();
    let taxonomy = body(&get(&app, &format!("/openreferral/taxonomies/{taxonomy_id}"), None).await);
    assert_eq!(
        schema_errors("openreferral-uk-3.0/schemata", "taxonomy.json", vec![taxonomy.clone()]),
        Vec::<Value>::new()
    );
    let jobs = terms_list.iter().find(|t| t["term"] == "JOBS_CLUB").expect("a term");
    let term =
        body(&get(&app, &format!("/openreferral/taxonomy_terms/{}", jobs["id"].as_str().expect("an id")), None).await);
    assert_eq!(term["name"], "Jobs club");
    let filtered = body(
        &get(&app, &format!("/openreferral/services?taxonomy_term_id={}", jobs["id"].as_str().expect("an id")), None)
            .await,
    );
    assert_eq!(filtered["total_items"], 1);
    let searched = body(&get(&app, "/openreferral/services?search=conversation", None).await);
    assert_eq!(searched["contents"][0]["name"], "Tuesday English classes");
    for path in [
        "/openreferral/services?per_page=0",
        "/openreferral/services?page=x",
        "/openreferral/services?taxonomy_term_id=nope",
        "/openreferral/services?colour=red",
    ] {
        let got = get(&app, path, None).await;
        assert_eq!(got.status, 400, "{path}");
        assert_eq!(body(&got)["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{path}");
    }
}

//! Crowdfunding with match funding: a campaign on a project, pledges from anyone signed in, a match fund adding its
//! matching pledges up to its cap (also when pledges race), pledges cancelled before the deadline, the close at the
//! deadline (an all-or-nothing campaign short of its target releasing everything), and the payment provider's signed
//! webhook, played here by a loopback provider that signs as Standard Webhooks do, with its replays refused.
use serde_json::{Value, json};

use crate::funding::year;
use crate::helpers::{Session, TestApp, data, error_code};
use crate::projects::{CREATE as CREATE_PROJECT, Place, place, project_input};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const CREATE_FUND: &str = "mutation($input: CreateFundInput!) { createFund(input: $input) { fund { id } } }";
const CREATE: &str =
    "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id status } } }";
const LAUNCH: &str =
    "mutation($input: CampaignInput!) { launchCampaign(input: $input) { campaign { id status launchedAt } } }";
const MATCH: &str = "mutation($input: MatchCampaignInput!) { matchCampaign(input: $input) { campaignMatch { ratio cap { amount } matched { amount } fund { name } } } }";
const PLEDGE: &str = "mutation($input: PledgeInput!) { pledge(input: $input) { pledge { id status amount { amount } displayName paymentReference mine } campaign { raised { amount } matched { amount } backers } } }";
const CANCEL_PLEDGE: &str = "mutation($input: CancelPledgeInput!) { cancelPledge(input: $input) { pledge { status } campaign { raised { amount } matched { amount } backers } } }";
const CAMPAIGN: &str = "query($id: ID!) { campaign(id: $id) { title status model target { amount } raised { amount } matched { amount } paid { amount } backers
    matches { ratio cap { amount } matched { amount } }
    pledges(first: 20) { totalCount nodes { displayName anonymous message amount { amount } status isMatch mine paymentReference } }
    myPledges { status paymentReference amount { amount } } } }";
const BALANCE: &str =
    "query($id: ID!) { fund(id: $id) { balance { committed { amount } paid { amount } available { amount } } } }";

fn in_days(days: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::TimeDelta::days(days)
}

async fn balance(app: &TestApp, fund: &str) -> Value {
    let resp = app.gql(BALANCE, json!({ "id": fund })).await;
    let b = &data(&resp)["fund"]["balance"];
    json!([b["committed"]["amount"], b["paid"]["amount"], b["available"]["amount"]])
}

/// A project by a village group, and its lead.
async fn project(app: &TestApp, place: &Place) -> (Session, String) {
    let lead = app.register("lead@pavilion.example", "Pavilion Lead").await;
    let club = app.organisation(&lead, "Kirkley Cricket Club").await;
    let input = project_input(&club, "Pavilion repaint", json!({ "wardId": place.wards[1] }));
    let made = app.gql_as(Some(&lead.token), CREATE_PROJECT, input).await;
    (lead, data(&made)["createProject"]["project"]["id"].as_str().expect("a project").to_owned())
}

/// A live campaign on the project.
async fn live(app: &TestApp, lead: &Session, project: &str, target: &str, model: &str) -> (String, String) {
    let deadline = in_days(14).to_rfc3339();
    let input = json!({ "input": { "projectId": project, "title": "Paint the pavilion", "summary": "Forty years of weather",
        "target": target, "deadline": deadline, "model": model } });
    let made = app.gql_as(Some(&lead.token), CREATE, input).await;
    let id = data(&made)["createCampaign"]["campaign"]["id"].as_str().expect("a campaign").to_owned();
    let launched = app.gql_as(Some(&lead.token), LAUNCH, json!({ "input": { "campaignId": id } })).await;
    assert_eq!(data(&launched)["launchCampaign"]["campaign"]["status"], "LIVE");
    (id, deadline)
}

/// The council's match fund holding `amount`.
async fn match_fund(app: &TestApp, place: &Place, amount: &str) -> String {
    let input = json!({ "input": { "ownerId": place.council, "kind": "MATCH_FUND", "name": "Crowdfund East Suffolk",
        "financialYear": year(), "amount": amount } });
    let made = app.gql_as(Some(&place.officer.token), CREATE_FUND, input).await;
    data(&made)["createFund"]["fund"]["id"].as_str().expect("a fund").to_owned()
}

async fn pledge(app: &TestApp, who: &Session, campaign: &str, amount: &str, extra: Value) -> Value {
    let mut input = json!({ "campaignId": campaign, "amount": amount });
    crate::helpers::merge(&mut input, &extra);
    app.gql_as(Some(&who.token), PLEDGE, json!({ "input": input })).await
}

/// The payment provider's part, over loopback HTTP: it collects a pledge's money and tells Pitch In in a webhook
/// signed with the shared secret as Standard Webhooks sign (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
struct LoopbackProvider {
    address: std::net::SocketAddr,
    secret: &'static str,
}

impl LoopbackProvider {
    async fn serve(app: &TestApp) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("an address");
        app.serve(listener);
        Self { address, secret: SECRET }
    }

    fn event(reference: &str, pence: i64) -> String {
        json!({ "type": "payment.succeeded", "data": { "reference": reference, "amount": pence, "currency": "GBP",
            "paymentId": "pi_loopback" } })
        .to_string()
    }

    /// Sends `body` as message `id`, signed at `timestamp` with `secret`; the status and the JSON answer.
    async fn send_signed(&self, id: &str, timestamp: i64, secret: &str, body: &str) -> (u16, Value) {
        let signature = domain::webhooks::signing::sign(secret, id, timestamp, body).expect("a signature");
        self.send(id, &timestamp.to_string(), &signature, body).await
    }

    async fn send(&self, id: &str, timestamp: &str, signature: &str, body: &str) -> (u16, Value) {
        let stream = tokio::net::TcpStream::connect(self.address).await.expect("the server listens");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.expect("HTTP/1.1");
        tokio::spawn(connection);
        let request = axum::http::Request::post("/payments/webhook")
            .header("host", self.address.to_string())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .body(http_body_util::Full::new(axum::body::Bytes::from(body.to_owned())))
            .expect("a request");
        let resp = sender.send_request(request).await.expect("the webhook is delivered");
        let status = resp.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.expect("an answer").to_bytes();
        let text = String::from_utf8_lossy(&bytes);
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Collects a pledge: one signed message, now.
    async fn collect(&self, id: &str, reference: &str, pence: i64) -> (u16, Value) {
        let now = chrono::Utc::now().timestamp();
        self.send_signed(id, now, self.secret, &Self::event(reference, pence)).await
    }
}

/// The backer's own pledge's status.
async fn my_status(app: &TestApp, backer: &Session, campaign: &str) -> String {
    let resp = app.gql_as(Some(&backer.token), CAMPAIGN, json!({ "id": campaign })).await;
    data(&resp)["campaign"]["myPledges"][0]["status"].as_str().unwrap_or("").to_owned()
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_match_fund_matches_pledges_and_a_missed_target_releases_everything() {
    let app = TestApp::spawn_with(|s| s.payment_webhook_secret = Some(SECRET.to_owned())).await;
    let provider = LoopbackProvider::serve(&app).await;
    let place = place(&app).await;
    let (lead, project) = project(&app, &place).await;
    let stranger = app.register("stranger@example.org", "Stranger").await;

    // Drafting: only the project's organisation, with a sensible target and deadline.
    let input = |extra: Value| {
        let mut input = json!({ "projectId": project, "title": "Paint the pavilion", "target": "1000.00",
            "deadline": in_days(14).to_rfc3339(), "model": "ALL_OR_NOTHING" });
        crate::helpers::merge(&mut input, &extra);
        json!({ "input": input })
    };
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), CREATE, input(json!({}))).await), "FORBIDDEN");
    for (extra, field) in [
        (json!({ "target": "0" }), "input.target"),
        (json!({ "target": "1000.001" }), "input.target"),
        (json!({ "deadline": in_days(-1).to_rfc3339() }), "input.deadline"),
        (json!({ "deadline": in_days(400).to_rfc3339() }), "input.deadline"),
        (json!({ "title": "" }), "input.title"),
    ] {
        let resp = app.gql_as(Some(&lead.token), CREATE, input(extra)).await;
        assert_eq!(resp["errors"][0]["extensions"]["field"], field, "{resp}");
    }
    let made = app.gql_as(Some(&lead.token), CREATE, input(json!({}))).await;
    let campaign = data(&made)["createCampaign"]["campaign"]["id"].as_str().expect("a campaign").to_owned();
    // A draft is its organisation's.
    assert_eq!(data(&app.gql(CAMPAIGN, json!({ "id": campaign })).await)["campaign"], Value::Null);
    let backer = app.register("ada@example.org", "Ada Lovelace").await;
    assert_eq!(code(&pledge(&app, &backer, &campaign, "10", json!({})).await), "CONFLICT", "not live yet");
    let by_id = json!({ "input": { "campaignId": campaign } });
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), LAUNCH, by_id.clone()).await), "FORBIDDEN");
    data(&app.gql_as(Some(&lead.token), LAUNCH, by_id.clone()).await);
    assert_eq!(data(&app.gql(CAMPAIGN, json!({ "id": campaign })).await)["campaign"]["status"], "LIVE");
    let change = "mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) { campaign { id } } }";
    let changed =
        app.gql_as(Some(&lead.token), change, json!({ "input": { "campaignId": campaign, "target": "10" } })).await;
    assert_eq!(error_code(&changed), "CONFLICT", "backers pledged to the terms of a live campaign");

    // The council's match fund backs it pound for pound up to £250.
    let fund = match_fund(&app, &place, "300.00").await;
    let matching = |extra: Value| {
        let mut input = json!({ "fundId": fund, "campaignId": campaign, "ratio": 1, "cap": "250.00" });
        crate::helpers::merge(&mut input, &extra);
        json!({ "input": input })
    };
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), MATCH, matching(json!({}))).await), "FORBIDDEN");
    for (extra, field) in [
        (json!({ "ratio": 0.005 }), "input.ratio"),
        (json!({ "ratio": 11 }), "input.ratio"),
        (json!({ "cap": "-5" }), "input.cap"),
    ] {
        let resp = app.gql_as(Some(&place.officer.token), MATCH, matching(extra)).await;
        assert_eq!(resp["errors"][0]["extensions"]["field"], field, "{resp}");
    }
    let ward_budget = app
        .gql_as(
            Some(&place.officer.token),
            CREATE_FUND,
            json!({ "input": { "ownerId": place.council, "kind": "STRATEGIC_FUND",
            "name": "Strategic", "financialYear": year(), "amount": "1000.00" } }),
        )
        .await;
    let strategic = data(&ward_budget)["createFund"]["fund"]["id"].as_str().expect("a fund").to_owned();
    let resp = app.gql_as(Some(&place.officer.token), MATCH, matching(json!({ "fundId": strategic }))).await;
    assert_eq!(resp["errors"][0]["extensions"]["field"], "input.fundId", "only a MATCH_FUND matches");
    let matched = app.gql_as(Some(&place.officer.token), MATCH, matching(json!({}))).await;
    assert_eq!(
        data(&matched)["matchCampaign"]["campaignMatch"],
        json!({ "ratio": 1.0, "cap": { "amount": "250.00" }, "matched": { "amount": "0.00" }, "fund": { "name": "Crowdfund East Suffolk" } })
    );
    assert_eq!(error_code(&app.gql_as(Some(&place.officer.token), MATCH, matching(json!({}))).await), "CONFLICT");

    // Pledges: signed in, £1 to £100,000 in whole pence.
    let anonymous = app.gql(PLEDGE, json!({ "input": { "campaignId": campaign, "amount": "10" } })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    for amount in ["0.50", "10.001", "abc", "100000.01"] {
        let resp = pledge(&app, &backer, &campaign, amount, json!({})).await;
        assert_eq!(resp["errors"][0]["extensions"]["field"], "input.amount", "{amount}: {resp}");
    }
    let ada = pledge(&app, &backer, &campaign, "200", json!({ "message": "Good luck!" })).await;
    let ada_pledge = &data(&ada)["pledge"]["pledge"];
    assert_eq!(ada_pledge["displayName"], "Ada Lovelace", "the backer's own name when none is given");
    assert_eq!(ada_pledge["mine"], true);
    let reference = ada_pledge["paymentReference"].as_str().expect("the backer's reference").to_owned();
    assert_eq!(
        data(&ada)["pledge"]["campaign"],
        json!({ "raised": { "amount": "400.00" }, "matched": { "amount": "200.00" }, "backers": 1 })
    );
    let quiet = app.register("quiet@example.org", "Quiet Neighbour").await;
    let second =
        pledge(&app, &quiet, &campaign, "100", json!({ "anonymous": true, "message": "<b>for the club</b>" })).await;
    let second_id = data(&second)["pledge"]["pledge"]["id"].as_str().expect("a pledge").to_owned();
    // Only £50 of the cap was left.
    assert_eq!(
        data(&second)["pledge"]["campaign"],
        json!({ "raised": { "amount": "550.00" }, "matched": { "amount": "250.00" }, "backers": 2 })
    );
    assert_eq!(balance(&app, &fund).await, json!(["250.00", "0.00", "50.00"]));

    // What everyone sees: the anonymous backer's name withheld, nobody's payment reference.
    let seen = app.gql(CAMPAIGN, json!({ "id": campaign })).await;
    let seen = &data(&seen)["campaign"];
    assert_eq!(seen["pledges"]["totalCount"], 4);
    let shown: Vec<(String, bool, String)> = seen["pledges"]["nodes"]
        .as_array()
        .expect("pledges")
        .iter()
        .map(|p| {
            assert_eq!(p["paymentReference"], Value::Null);
            (
                p["displayName"].as_str().unwrap_or("").to_owned(),
                p["isMatch"] == true,
                p["amount"]["amount"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("Crowdfund East Suffolk".to_owned(), true, "50.00".to_owned()),
            ("Anonymous".to_owned(), false, "100.00".to_owned()),
            ("Crowdfund East Suffolk".to_owned(), true, "200.00".to_owned()),
            ("Ada Lovelace".to_owned(), false, "200.00".to_owned()),
        ]
    );
    assert_eq!(seen["myPledges"], json!([]));
    assert!(!seen.to_string().contains("Quiet Neighbour"), "{seen}");
    // The anonymous backer sees their own name and reference.
    let own = app.gql_as(Some(&quiet.token), CAMPAIGN, json!({ "id": campaign })).await;
    let own = &data(&own)["campaign"];
    assert_eq!(own["pledges"]["nodes"][1]["displayName"], "Quiet Neighbour");
    assert!(own["myPledges"][0]["paymentReference"].as_str().is_some_and(|r| r.starts_with("pl_")));

    // Cancelled before the deadline: only by its backer; its match goes back to the fund.
    let cancel = json!({ "input": { "pledgeId": second_id } });
    assert_eq!(error_code(&app.gql_as(Some(&backer.token), CANCEL_PLEDGE, cancel.clone()).await), "NOT_FOUND");
    let cancelled = app.gql_as(Some(&quiet.token), CANCEL_PLEDGE, cancel.clone()).await;
    assert_eq!(
        data(&cancelled)["cancelPledge"],
        json!({ "pledge": { "status": "CANCELLED" }, "campaign": { "raised": { "amount": "400.00" }, "matched": { "amount": "200.00" }, "backers": 1 } })
    );
    assert_eq!(error_code(&app.gql_as(Some(&quiet.token), CANCEL_PLEDGE, cancel).await), "CONFLICT", "once");
    assert_eq!(balance(&app, &fund).await, json!(["200.00", "0.00", "100.00"]));

    // The provider collects Ada's pledge: PAID, and no longer hers to cancel.
    let (status, answer) = provider.collect("msg_ada_1", &reference, 20_000).await;
    assert_eq!((status, &answer["outcome"]), (200, &json!("PAID")), "{answer}");
    let paid = app.gql_as(Some(&backer.token), CAMPAIGN, json!({ "id": campaign })).await;
    assert_eq!(data(&paid)["campaign"]["paid"]["amount"], "200.00");
    assert_eq!(data(&paid)["campaign"]["myPledges"][0]["status"], "PAID");
    let ada_id = ada_pledge["id"].as_str().expect("an id");
    let refused = app.gql_as(Some(&backer.token), CANCEL_PLEDGE, json!({ "input": { "pledgeId": ada_id } })).await;
    assert_eq!(error_code(&refused), "CONFLICT", "a paid pledge is the provider's to refund");

    // The deadline passes £600 short of an all-or-nothing target: FAILED, every pledge released, the match fund whole.
    let deadline = chrono::Utc::now() + chrono::TimeDelta::days(15);
    assert_eq!(domain::funding::campaigns::close_due(&app.db, deadline).await.expect("closing"), 1);
    assert_eq!(domain::funding::campaigns::close_due(&app.db, deadline).await.expect("closing"), 0, "once");
    let closed = app.gql_as(Some(&backer.token), CAMPAIGN, json!({ "id": campaign })).await;
    let closed = &data(&closed)["campaign"];
    assert_eq!((&closed["status"], &closed["raised"]["amount"]), (&json!("FAILED"), &json!("0.00")));
    // Collected before the campaign failed: the provider is to refund it.
    assert_eq!((&closed["myPledges"][0]["status"], &closed["paid"]["amount"]), (&json!("REFUND_DUE"), &json!("0.00")));
    assert_eq!(balance(&app, &fund).await, json!(["0.00", "0.00", "300.00"]));
    let ledger = app
        .gql_as(
            Some(&place.officer.token),
            "query($id: ID!) { fund(id: $id) { ledger { kind amount { amount } } } }",
            json!({ "id": fund }),
        )
        .await;
    let kinds: Vec<String> = data(&ledger)["fund"]["ledger"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| format!("{} {}", e["kind"].as_str().unwrap_or(""), e["amount"]["amount"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        kinds,
        ["ALLOCATION 300.00", "COMMITMENT 200.00", "COMMITMENT 50.00", "RELEASE 50.00", "RELEASE 200.00"]
    );
    assert_eq!(code(&pledge(&app, &backer, &campaign, "10", json!({})).await), "CONFLICT", "closed");
}

#[tokio::test]
async fn a_campaign_that_keeps_what_it_raises_succeeds_and_its_match_is_paid() {
    let app = TestApp::spawn_with(|s| s.payment_webhook_secret = Some(SECRET.to_owned())).await;
    let provider = LoopbackProvider::serve(&app).await;
    let place = place(&app).await;
    let (lead, project) = project(&app, &place).await;
    let fund = match_fund(&app, &place, "1000.00").await;
    let (campaign, _) = live(&app, &lead, &project, "5000.00", "KEEP_WHAT_YOU_RAISE").await;
    let input = json!({ "input": { "fundId": fund, "campaignId": campaign, "ratio": 0.5, "cap": "1000.00" } });
    data(&app.gql_as(Some(&place.officer.token), MATCH, input).await);
    let backer = app.register("ada@example.org", "Ada Lovelace").await;
    let pledged = pledge(&app, &backer, &campaign, "120.01", json!({ "displayName": "The Lovelace family" })).await;
    // 50p in the pound, to the penny below.
    assert_eq!(data(&pledged)["pledge"]["campaign"]["matched"]["amount"], "60.00");
    assert_eq!(data(&pledged)["pledge"]["pledge"]["displayName"], "The Lovelace family");
    let reference = data(&pledged)["pledge"]["pledge"]["paymentReference"].as_str().expect("a reference").to_owned();
    assert_eq!(provider.collect("msg_ada", &reference, 12_001).await.0, 200);
    // Another backer promises and never pays.
    let promiser = app.register("promiser@example.org", "Empty Promise").await;
    data(&pledge(&app, &promiser, &campaign, "40", json!({})).await);
    assert_eq!(balance(&app, &fund).await, json!(["80.00", "0.00", "920.00"]));

    // Paying the match waits for success; then the fund pays for what was collected, once, and takes back the
    // match of the pledge never paid.
    let pay = "mutation($input: PayCampaignMatchInput!) { payCampaignMatch(input: $input) { campaign { status matched { amount } paid { amount } } } }";
    let by = json!({ "input": { "campaignId": campaign, "fundId": fund } });
    assert_eq!(error_code(&app.gql_as(Some(&place.officer.token), pay, by.clone()).await), "CONFLICT");
    assert_eq!(error_code(&app.gql_as(Some(&lead.token), pay, by.clone()).await), "FORBIDDEN");
    domain::funding::campaigns::close_due(&app.db, in_days(15)).await.expect("closing");
    let paid = app.gql_as(Some(&place.officer.token), pay, by.clone()).await;
    assert_eq!(
        data(&paid)["payCampaignMatch"]["campaign"],
        json!({ "status": "SUCCEEDED", "matched": { "amount": "60.00" }, "paid": { "amount": "180.01" } })
    );
    assert_eq!(error_code(&app.gql_as(Some(&place.officer.token), pay, by).await), "CONFLICT", "once");
    assert_eq!(balance(&app, &fund).await, json!(["0.00", "60.00", "940.00"]));

    // Called off: another campaign's pledges are released and its match given back.
    let (other, _) = live(&app, &lead, &project, "300.00", "ALL_OR_NOTHING").await;
    let input = json!({ "input": { "fundId": fund, "campaignId": other, "ratio": 2, "cap": "100.00" } });
    data(&app.gql_as(Some(&place.officer.token), MATCH, input).await);
    data(&pledge(&app, &backer, &other, "25", json!({})).await);
    assert_eq!(balance(&app, &fund).await, json!(["50.00", "60.00", "890.00"]));
    let cancel =
        "mutation($input: CampaignInput!) { cancelCampaign(input: $input) { campaign { status raised { amount } } } }";
    let by = json!({ "input": { "campaignId": other } });
    assert_eq!(error_code(&app.gql_as(Some(&backer.token), cancel, by.clone()).await), "FORBIDDEN");
    let cancelled = app.gql_as(Some(&lead.token), cancel, by).await;
    assert_eq!(
        data(&cancelled)["cancelCampaign"]["campaign"],
        json!({ "status": "CANCELLED", "raised": { "amount": "0.00" } })
    );
    assert_eq!(balance(&app, &fund).await, json!(["0.00", "60.00", "940.00"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_match_never_passes_its_cap_or_its_fund_however_many_pledge_at_once() {
    let app = TestApp::spawn().await;
    let place = place(&app).await;
    let (lead, project) = project(&app, &place).await;
    // £500 in the fund; this campaign may take up to £400 of it, the next only what is then left.
    let fund = match_fund(&app, &place, "500.00").await;
    let (first, _) = live(&app, &lead, &project, "2000.00", "KEEP_WHAT_YOU_RAISE").await;
    let (second, _) = live(&app, &lead, &project, "2000.00", "KEEP_WHAT_YOU_RAISE").await;
    for (campaign, cap) in [(&first, "400.00"), (&second, "400.00")] {
        let input = json!({ "input": { "fundId": fund, "campaignId": campaign, "ratio": 1, "cap": cap } });
        data(&app.gql_as(Some(&place.officer.token), MATCH, input).await);
    }
    let mut backers = Vec::new();
    for i in 0..3 {
        backers.push(app.register(&format!("backer{i}@example.org"), &format!("Backer {i}")).await);
    }
    // 40 pledges of £30 at once, across both campaigns: £1,200 asking to be matched from £500.
    let results = futures::future::join_all((0..40).map(|i| {
        let (app, who) = (&app, &backers[i % 3]);
        let campaign = if i % 2 == 0 { &first } else { &second };
        async move { pledge(app, who, campaign, "30.00", json!({})).await }
    }))
    .await;
    let refused: Vec<&Value> = results.iter().filter(|r| r.get("errors").is_some()).collect();
    assert!(refused.is_empty(), "every pledge is taken, matched or not: {refused:?}");
    let totals = |campaign: &str| {
        let (app, campaign) = (&app, campaign.to_owned());
        async move {
            let resp = app.gql(CAMPAIGN, json!({ "id": campaign })).await;
            let c = &data(&resp)["campaign"];
            let matched: f64 = c["matched"]["amount"].as_str().and_then(|a| a.parse().ok()).unwrap_or(-1.0);
            (matched, c["matches"][0]["matched"]["amount"].as_str().unwrap_or("").to_owned())
        }
    };
    let (first_matched, first_row) = totals(&first).await;
    let (second_matched, second_row) = totals(&second).await;
    assert!(first_matched <= 400.0 && second_matched <= 400.0, "{first_matched} {second_matched}");
    assert_eq!(first_matched + second_matched, 500.0, "the fund's £500, all of it and no more");
    // The match's own running total agrees with its pledges.
    assert_eq!(first_row.parse::<f64>().ok(), Some(first_matched));
    assert_eq!(second_row.parse::<f64>().ok(), Some(second_matched));
    assert_eq!(balance(&app, &fund).await, json!(["500.00", "0.00", "0.00"]));
}

#[tokio::test]
async fn the_payment_webhook_refuses_bad_signatures_stale_messages_and_replays() {
    let app = TestApp::spawn_with(|s| s.payment_webhook_secret = Some(SECRET.to_owned())).await;
    let provider = LoopbackProvider::serve(&app).await;
    let place = place(&app).await;
    let (lead, project) = project(&app, &place).await;
    let (campaign, _) = live(&app, &lead, &project, "100.00", "ALL_OR_NOTHING").await;
    let backer = app.register("ada@example.org", "Ada Lovelace").await;
    let made = pledge(&app, &backer, &campaign, "25", json!({ "message": "Good luck!" })).await;
    let reference = data(&made)["pledge"]["pledge"]["paymentReference"].as_str().expect("a reference").to_owned();
    let body = LoopbackProvider::event(&reference, 2_500);
    let now = chrono::Utc::now().timestamp();

    // Unsigned, signed with another secret, signed over another body, or signed too long ago: 401, nothing paid.
    let other_secret = "whsec_dGhpcyBpcyBub3QgdGhlIHNoYXJlZCBzZWNyZXQ=";
    let tampered = LoopbackProvider::event(&reference, 1);
    let good_for_tampered = domain::webhooks::signing::sign(SECRET, "msg_2", now, &body).expect("a signature");
    for (status, answer) in [
        provider.send("msg_1", &now.to_string(), "", &body).await,
        provider.send_signed("msg_1", now, other_secret, &body).await,
        provider.send("msg_2", &now.to_string(), &good_for_tampered, &tampered).await,
        provider.send_signed("msg_3", now - 600, SECRET, &body).await,
        provider.send_signed("msg_3", now + 600, SECRET, &body).await,
        provider.send_signed("", now, SECRET, &body).await,
        provider.send("msg_4", "yesterday", "v1,AAAA", &body).await,
    ] {
        assert_eq!((status, code(&answer)), (401, "UNAUTHENTICATED"), "{answer}");
    }
    assert_eq!(my_status(&app, &backer, &campaign).await, "PROMISED");

    // Signed and fresh, but wrong: another amount or currency, or a reference that is no pledge of ours.
    let wrong = |data: Value| json!({ "type": "payment.succeeded", "data": data }).to_string();
    for (id, body, status, code_wanted) in [
        ("msg_5", wrong(json!({ "reference": reference, "amount": 2_499, "currency": "GBP" })), 400, "BAD_USER_INPUT"),
        ("msg_6", wrong(json!({ "reference": reference, "amount": 2_500, "currency": "EUR" })), 400, "BAD_USER_INPUT"),
        ("msg_7", wrong(json!({ "reference": "pl_nothing", "amount": 2_500, "currency": "GBP" })), 404, "NOT_FOUND"),
        ("msg_8", "not json".to_owned(), 400, "BAD_USER_INPUT"),
    ] {
        let (got, answer) = provider.send_signed(id, now, SECRET, &body).await;
        assert_eq!((got, code(&answer)), (status, code_wanted), "{id}: {answer}");
    }
    assert_eq!(my_status(&app, &backer, &campaign).await, "PROMISED");

    // The real message pays the pledge; the same message again is a replay, refused, and changes nothing.
    let (status, answer) = provider.collect("msg_9", &reference, 2_500).await;
    assert_eq!((status, &answer["outcome"]), (200, &json!("PAID")), "{answer}");
    let (status, answer) = provider.collect("msg_9", &reference, 2_500).await;
    assert_eq!((status, code(&answer)), (409, "CONFLICT"), "{answer}");
    // A new message about the same payment is acknowledged, and pays nothing twice.
    let (status, answer) = provider.collect("msg_10", &reference, 2_500).await;
    assert_eq!((status, &answer["outcome"]), (200, &json!("IGNORED")), "{answer}");
    // Events Pitch In does not act on are acknowledged (providers send many kinds).
    let refund = json!({ "type": "charge.dispute.created", "data": null }).to_string();
    let (status, answer) = provider.send_signed("msg_11", now, SECRET, &refund).await;
    assert_eq!((status, &answer["outcome"]), (200, &json!("IGNORED")), "{answer}");
    assert_eq!(my_status(&app, &backer, &campaign).await, "PAID");
    let resp = app.gql(CAMPAIGN, json!({ "id": campaign })).await;
    assert_eq!(data(&resp)["campaign"]["paid"]["amount"], "25.00");
    let shown = data(&resp)["campaign"]["pledges"].to_string();
    assert!(shown.contains("Ada Lovelace") && shown.contains("Good luck!"), "{shown}");

    // Ada's export holds her pledge; once she erases her account, it no longer names her or carries her words.
    let export = app.gql_as(Some(&backer.token), "{ exportMyData }", json!({})).await;
    assert_eq!(data(&export)["exportMyData"]["pledges"][0]["message"], "Good luck!");
    let erase = "mutation { deleteMyAccount(input: {password: \"a long enough passphrase\"}) { erasedAt } }";
    data(&app.gql_as(Some(&backer.token), erase, json!({})).await);
    let after = app.gql_as(Some(&lead.token), CAMPAIGN, json!({ "id": campaign })).await;
    let text = data(&after)["campaign"].to_string();
    assert!(!text.contains("Ada Lovelace") && !text.contains("Good luck!"), "{text}");

    // A server with no secret configured takes no payment messages at all.
    let unconfigured = TestApp::spawn().await;
    let elsewhere = LoopbackProvider::serve(&unconfigured).await;
    let (status, answer) = elsewhere.collect("msg_12", &reference, 2_500).await;
    assert_eq!((status, code(&answer)), (503, "SERVICE_UNAVAILABLE"), "{answer}");
}

#[tokio::test]
async fn listing_campaigns_with_their_totals_takes_the_same_statements_for_two_as_for_six() {
    let app = TestApp::spawn().await;
    let place = place(&app).await;
    let (lead, project) = project(&app, &place).await;
    let backer = app.register("ada@example.org", "Ada Lovelace").await;
    let query = "query($p: ID!) { campaigns(filter: {projectId: $p}, first: 20) { totalCount nodes { title status raised { amount } backers project { title } organisation { name } } } }";
    let mut counts = Vec::new();
    for n in [2, 6] {
        while data(&app.gql(query, json!({ "p": project })).await)["campaigns"]["totalCount"].as_i64().unwrap_or(0) < n
        {
            let (campaign, _) = live(&app, &lead, &project, "500.00", "ALL_OR_NOTHING").await;
            data(&pledge(&app, &backer, &campaign, "5", json!({})).await);
        }
        app.reset_statements();
        let listed = app.gql(query, json!({ "p": project })).await;
        assert_eq!(data(&listed)["campaigns"]["nodes"][0]["raised"]["amount"], "5.00");
        assert_eq!(data(&listed)["campaigns"]["nodes"][0]["backers"], 1);
        counts.push(app.statements());
    }
    assert_eq!(counts[0], counts[1], "no statement per campaign");
}

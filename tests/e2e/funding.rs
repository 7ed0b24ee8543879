//! Funds, bids and the ledger: a ward member funding a project from their budget (approve, pay, complete, the
//! unpaid rest released); a panel scoring and deciding, a conflicted member refused; money moved only through
//! ledger entries; what strangers see; bad amounts; and a fund that never commits more than it holds, however many
//! approvals race.
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, data, error_code};
use crate::projects::{CREATE as CREATE_PROJECT, Place, place, project_input};

const SEAT: &str =
    "mutation($input: AddPartnershipMemberInput!) { addPartnershipMember(input: $input) { member { id } } }";
const CREATE_FUND: &str = "mutation($input: CreateFundInput!) { createFund(input: $input) { fund { id kind name financialYear wardMemberName decisionMode quorum balance { allocated { amount currency } available { amount } } } } }";
const CREATE_BID: &str =
    "mutation($input: CreateBidInput!) { createBid(input: $input) { bid { id status amountRequested { amount } } } }";
const BALANCE: &str = "query($id: ID!) { fund(id: $id) { balance { allocated { amount } committed { amount } paid { amount } available { amount } } } }";
const BID: &str =
    "query($id: ID!) { bid(id: $id) { status amountAwarded { amount } amountPaid { amount } decidedByName } }";

fn act(name: &str, input: &str) -> String {
    format!(
        "mutation($input: {input}!) {{ {name}(input: $input) {{ bid {{ id status amountAwarded {{ amount }} amountPaid {{ amount }} }} }} }}"
    )
}

async fn seat(app: &TestApp, place: &Place, email: &str, ward: &str) -> String {
    let input = json!({ "input": { "partnershipId": place.partnership, "email": email, "role": "WARD_MEMBER", "wardId": ward } });
    let resp = app.gql_as(Some(&place.officer.token), SEAT, input).await;
    data(&resp)["addPartnershipMember"]["member"]["id"].as_str().expect("a seat").to_owned()
}

async fn project(app: &TestApp, lead: &Session, organisation: &str, title: &str, extra: Value) -> String {
    let resp = app.gql_as(Some(&lead.token), CREATE_PROJECT, project_input(organisation, title, extra)).await;
    data(&resp)["createProject"]["project"]["id"].as_str().expect("a project").to_owned()
}

pub fn year() -> String {
    let today = chrono::Utc::now().date_naive();
    let start = if chrono::Datelike::month(&today) >= 4 {
        chrono::Datelike::year(&today)
    } else {
        chrono::Datelike::year(&today) - 1
    };
    format!("{start}-{:02}", (start + 1) % 100)
}

async fn balance(app: &TestApp, fund: &str) -> Value {
    let resp = app.gql(BALANCE, json!({ "id": fund })).await;
    let b = &data(&resp)["fund"]["balance"];
    json!([b["allocated"]["amount"], b["committed"]["amount"], b["paid"]["amount"], b["available"]["amount"]])
}

#[tokio::test]
async fn a_ward_member_funds_a_defibrillator_from_their_budget() {
    let app = TestApp::spawn().await;
    let place = place(&app).await;
    let councillor = app.register("cllr.smith@eastsuffolk.example", "Cllr Smith").await;
    let other_councillor = app.register("cllr.jones@eastsuffolk.example", "Cllr Jones").await;
    let smith_seat = seat(&app, &place, "cllr.smith@eastsuffolk.example", &place.wards[0]).await;
    seat(&app, &place, "cllr.jones@eastsuffolk.example", &place.wards[0]).await;
    let stranger = app.register("stranger@example.org", "Stranger").await;

    // The council's officer opens the ward member's budget: £7,500 unless it says otherwise.
    let input = |extra: Value| {
        let mut input = json!({ "ownerId": place.council, "kind": "WARD_BUDGET", "name": "Cllr Smith's enabling communities budget",
            "financialYear": year(), "wardMemberId": smith_seat });
        crate::helpers::merge(&mut input, &extra);
        json!({ "input": input })
    };
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), CREATE_FUND, input(json!({}))).await), "FORBIDDEN");
    for (extra, field) in [
        (json!({ "amount": "7500.001" }), "input.amount"),
        (json!({ "amount": "-7500" }), "input.amount"),
        (json!({ "amount": "£7,500" }), "input.amount"),
        (json!({ "financialYear": "2026-28" }), "input.financialYear"),
        (json!({ "wardMemberId": null }), "input.wardMemberId"),
        (json!({ "ownerId": place.partnership }), "input.ownerId"),
    ] {
        let resp = app.gql_as(Some(&place.officer.token), CREATE_FUND, input(extra)).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
        assert_eq!(resp["errors"][0]["extensions"]["field"], field, "{resp}");
    }
    let made = app.gql_as(Some(&place.officer.token), CREATE_FUND, input(json!({}))).await;
    let fund = &data(&made)["createFund"]["fund"];
    assert_eq!(
        fund["balance"],
        json!({ "allocated": { "amount": "7500.00", "currency": "GBP" }, "available": { "amount": "7500.00" } })
    );
    assert_eq!((&fund["wardMemberName"], &fund["decisionMode"]), (&json!("Cllr Smith"), &json!("SOLE")));
    let fund = fund["id"].as_str().expect("a fund").to_owned();
    let twice = app.gql_as(Some(&place.officer.token), CREATE_FUND, input(json!({}))).await;
    assert_eq!(error_code(&twice), "CONFLICT", "one budget a ward member a year");

    // A village group bids for a defibrillator.
    let lead = app.register("lead@trimley.example", "Village Lead").await;
    let village = app.organisation(&lead, "Trimley Village Hall").await;
    let defib = project(&app, &lead, &village, "Village defibrillator", json!({ "wardId": place.wards[0] })).await;
    let bid_input = |extra: Value| {
        let mut input = json!({ "fundId": fund, "projectId": defib, "title": "A defibrillator for the village hall",
            "purpose": "A public-access defibrillator and heated cabinet", "amountRequested": "1250.00",
            "budgetLines": [{ "item": "Defibrillator", "amount": "950" }, { "item": "Cabinet and fitting", "amount": "300.00" }] });
        crate::helpers::merge(&mut input, &extra);
        json!({ "input": input })
    };
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), CREATE_BID, bid_input(json!({}))).await), "FORBIDDEN");
    for (extra, field) in [
        (json!({ "amountRequested": "1250.005" }), "input.amountRequested"),
        (json!({ "amountRequested": "0" }), "input.amountRequested"),
        (json!({ "amountRequested": "1300.00" }), "input.budgetLines"),
    ] {
        let resp = app.gql_as(Some(&lead.token), CREATE_BID, bid_input(extra)).await;
        assert_eq!(resp["errors"][0]["extensions"]["field"], field, "{resp}");
    }
    let made = app.gql_as(Some(&lead.token), CREATE_BID, bid_input(json!({}))).await;
    let bid = data(&made)["createBid"]["bid"]["id"].as_str().expect("a bid").to_owned();
    // A draft is the bidder's.
    assert_eq!(data(&app.gql(BID, json!({ "id": bid })).await)["bid"], Value::Null);
    assert_eq!(data(&app.gql_as(Some(&stranger.token), BID, json!({ "id": bid })).await)["bid"], Value::Null);
    let by_id = json!({ "input": { "bidId": bid } });
    let submitted = app.gql_as(Some(&lead.token), &act("submitBid", "BidInput"), by_id.clone()).await;
    assert_eq!(data(&submitted)["submitBid"]["bid"]["status"], "SUBMITTED");

    // Only the ward member decides their budget: not another ward member, not the council's officer.
    let approve = act("approveBid", "ApproveBidInput");
    for who in [&other_councillor, &place.officer, &lead] {
        assert_eq!(error_code(&app.gql_as(Some(&who.token), &approve, by_id.clone()).await), "FORBIDDEN");
    }
    let over = json!({ "input": { "bidId": bid, "amount": "1300.00" } });
    assert_eq!(error_code(&app.gql_as(Some(&councillor.token), &approve, over).await), "BAD_USER_INPUT");
    let approved = app
        .gql_as(
            Some(&councillor.token),
            &approve,
            json!({ "input": { "bidId": bid, "conditions": "Register it on The Circuit" } }),
        )
        .await;
    assert_eq!(data(&approved)["approveBid"]["bid"]["status"], "APPROVED");
    assert_eq!(balance(&app, &fund).await, json!(["7500.00", "1250.00", "0.00", "6250.00"]));
    let again = app.gql_as(Some(&councillor.token), &approve, by_id.clone()).await;
    assert_eq!(error_code(&again), "CONFLICT", "decided once");
    // Approved: public money, public to everyone, with who decided.
    let public = app.gql(BID, json!({ "id": bid })).await;
    assert_eq!(
        data(&public)["bid"],
        json!({ "status": "APPROVED", "amountAwarded": { "amount": "1250.00" }, "amountPaid": { "amount": "0.00" }, "decidedByName": "Cllr Smith" })
    );

    // The council pays, never past the award; the group completes, and the unpaid rest goes back.
    let pay = act("recordPayment", "RecordPaymentInput");
    let payment = |amount: &str| json!({ "input": { "bidId": bid, "amount": amount } });
    assert_eq!(error_code(&app.gql_as(Some(&councillor.token), &pay, payment("1000")).await), "FORBIDDEN");
    let paid = app.gql_as(Some(&place.officer.token), &pay, payment("1000")).await;
    assert_eq!(data(&paid)["recordPayment"]["bid"]["status"], "PAID");
    assert_eq!(error_code(&app.gql_as(Some(&place.officer.token), &pay, payment("250.01")).await), "CONFLICT");
    // Paid money is accounted for with a report, never withdrawn out of sight.
    assert_eq!(
        error_code(&app.gql_as(Some(&lead.token), &act("withdrawBid", "BidInput"), by_id.clone()).await),
        "CONFLICT"
    );
    assert_eq!(balance(&app, &fund).await, json!(["7500.00", "250.00", "1000.00", "6250.00"]));
    let complete = json!({ "input": { "bidId": bid, "report": { "outcomes": "Installed and registered; used once in its first month", "volunteersInvolved": 4, "photoUrls": ["https://example.org/defib.jpg"] } } });
    let done = app.gql_as(Some(&lead.token), &act("completeBid", "CompleteBidInput"), complete).await;
    assert_eq!(data(&done)["completeBid"]["bid"]["status"], "COMPLETED");
    assert_eq!(balance(&app, &fund).await, json!(["7500.00", "0.00", "1000.00", "6500.00"]));

    // East Suffolk moved £1,000 of each ward budget to a Covid fund: ADJUSTMENTs on both, and never more than is there.
    let covid = app
        .gql_as(Some(&place.officer.token), CREATE_FUND, json!({ "input": { "ownerId": place.council, "kind": "STRATEGIC_FUND", "name": "Covid response fund", "financialYear": year(), "amount": "0" } }))
        .await;
    let covid = data(&covid)["createFund"]["fund"]["id"].as_str().expect("a fund").to_owned();
    let transfer = "mutation($input: TransferBetweenFundsInput!) { transferBetweenFunds(input: $input) { from { balance { available { amount } } } to { balance { available { amount } } } } }";
    let moved = app
        .gql_as(Some(&place.officer.token), transfer, json!({ "input": { "fromFundId": fund, "toFundId": covid, "amount": "1000.00", "reason": "Covid-19 response, April 2020" } }))
        .await;
    assert_eq!(
        data(&moved)["transferBetweenFunds"],
        json!({ "from": { "balance": { "available": { "amount": "5500.00" } } }, "to": { "balance": { "available": { "amount": "1000.00" } } } })
    );
    let too_much = app
        .gql_as(
            Some(&place.officer.token),
            transfer,
            json!({ "input": { "fromFundId": fund, "toFundId": covid, "amount": "5500.01", "reason": "Too much" } }),
        )
        .await;
    assert_eq!(error_code(&too_much), "CONFLICT");
    let adjust = "mutation($input: AdjustFundInput!) { adjustFund(input: $input) { fund { balance { allocated { amount } available { amount } } } } }";
    let adjusted = app
        .gql_as(
            Some(&place.officer.token),
            adjust,
            json!({ "input": { "fundId": covid, "amount": "-250.50", "reason": "Correction: double-counted grant" } }),
        )
        .await;
    assert_eq!(
        data(&adjusted)["adjustFund"]["fund"]["balance"],
        json!({ "allocated": { "amount": "749.50" }, "available": { "amount": "749.50" } })
    );
    assert_eq!(
        error_code(
            &app.gql_as(
                Some(&stranger.token),
                adjust,
                json!({ "input": { "fundId": covid, "amount": "5", "reason": "Mine now" } })
            )
            .await
        ),
        "FORBIDDEN"
    );

    // The ledger: every movement, for the fund's administrators and its decider; strangers are refused.
    let ledger = "query($id: ID!) { fund(id: $id) { ledger { kind amount { amount } memo } } }";
    assert_eq!(error_code(&app.gql_as(Some(&stranger.token), ledger, json!({ "id": fund })).await), "FORBIDDEN");
    let entries = app.gql_as(Some(&councillor.token), ledger, json!({ "id": fund })).await;
    let kinds: Vec<(String, String)> = data(&entries)["fund"]["ledger"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (e["kind"].as_str().expect("kind").to_owned(), e["amount"]["amount"].as_str().expect("amount").to_owned())
        })
        .collect();
    let expected = [
        ("ALLOCATION", "7500.00"),
        ("COMMITMENT", "1250.00"),
        ("PAYMENT", "1000.00"),
        ("RELEASE", "250.00"),
        ("ADJUSTMENT", "-1000.00"),
    ];
    assert_eq!(kinds, expected.map(|(k, a)| (k.to_owned(), a.to_owned())));

    // Every decision and payment is in the audit log.
    let admin = app.admin().await;
    let log = app
        .gql_as(
            Some(&admin.token),
            "{ auditEvents(first: 50, filter: {action: BID_DECIDED}) { edges { node { detail } } } }",
            json!({}),
        )
        .await;
    let details: Vec<&str> = data(&log)["auditEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["detail"].as_str().expect("detail"))
        .collect();
    assert_eq!(details.len(), 3, "{details:?}");
    assert!(details.iter().any(|d| d.contains("approved A defibrillator")), "{details:?}");
}

#[tokio::test]
async fn a_panel_scores_and_decides_and_a_conflicted_member_is_refused() {
    let app = TestApp::spawn().await;
    let place = place(&app).await;
    let mut deciders = Vec::new();
    for name in ["police", "health", "youth", "business"] {
        deciders.push(app.register(&format!("{name}@panel.example"), &format!("Panel {name}")).await);
    }
    let fund = app
        .gql_as(
            Some(&place.officer.token),
            CREATE_FUND,
            json!({ "input": { "ownerId": place.partnership, "kind": "PARTNERSHIP_FUND", "name": "Felixstowe Peninsula fund", "financialYear": year(),
                "decisionMode": "PANEL", "panel": { "deciders": ["police@panel.example", "health@panel.example", "youth@panel.example", "business@panel.example"], "quorum": 2 },
                "rules": { "criteria": ["Need", "Value for money"], "maxAward": "5000", "eligibleKinds": ["CHARITY", "COMMUNITY_GROUP"] } } }),
        )
        .await;
    let fund_data = &data(&fund)["createFund"]["fund"];
    assert_eq!(fund_data["balance"]["allocated"]["amount"], "25000.00");
    let fund = fund_data["id"].as_str().expect("a fund").to_owned();

    // The youth representative is a member of the bidding organisation.
    let lead = app.register("lead@youthclub.example", "Club Lead").await;
    let club = app.organisation(&lead, "Felixstowe Youth Club").await;
    data(
        &app.gql_as(
            Some(&lead.token),
            "mutation($input: AddOrganisationMemberInput!) { addOrganisationMember(input: $input) { __typename } }",
            json!({ "input": { "organisationId": club, "email": "youth@panel.example", "role": "COORDINATOR" } }),
        )
        .await,
    );
    let club_project =
        project(&app, &lead, &club, "Friday youth club", json!({ "wardId": place.wards[0], "category": "YOUTH_CLUB" }))
            .await;
    let made = app
        .gql_as(Some(&lead.token), CREATE_BID, json!({ "input": { "fundId": fund, "projectId": club_project, "title": "Youth club sessions", "purpose": "Sessions for 11-16s", "amountRequested": "6000" } }))
        .await;
    let bid = data(&made)["createBid"]["bid"]["id"].as_str().expect("a bid").to_owned();

    // Eligibility names every rule it fails, before it can be submitted.
    let eligibility = "query($id: ID!) { bid(id: $id) { eligibility { eligible failedRules { rule explanation } } } }";
    let resp = app.gql_as(Some(&lead.token), eligibility, json!({ "id": bid })).await;
    let rules: Vec<&str> = data(&resp)["bid"]["eligibility"]["failedRules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["rule"].as_str().expect("rule"))
        .collect();
    assert_eq!(rules, ["MAXIMUM_AWARD", "PRIORITY"]);
    let by_id = json!({ "input": { "bidId": bid } });
    let refused = app.gql_as(Some(&lead.token), &act("submitBid", "BidInput"), by_id.clone()).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    let update =
        json!({ "input": { "bidId": bid, "amountRequested": "4800.00", "priorityIds": [place.priorities[0]] } });
    data(&app.gql_as(Some(&lead.token), &act("updateBid", "UpdateBidInput"), update).await);
    data(&app.gql_as(Some(&lead.token), &act("submitBid", "BidInput"), by_id.clone()).await);
    let late_edit = json!({ "input": { "bidId": bid, "title": "Changed after submission" } });
    assert_eq!(
        error_code(&app.gql_as(Some(&lead.token), &act("updateBid", "UpdateBidInput"), late_edit).await),
        "CONFLICT"
    );

    let [police, health, youth, business] = [&deciders[0], &deciders[1], &deciders[2], &deciders[3]];
    assert_eq!(
        error_code(&app.gql_as(Some(&place.officer.token), &act("startBidReview", "BidInput"), by_id.clone()).await),
        "FORBIDDEN"
    );
    data(&app.gql_as(Some(&police.token), &act("startBidReview", "BidInput"), by_id.clone()).await);
    let score = |need: i32, value: i32| json!({ "input": { "bidId": bid, "scores": [{ "criterion": "Need", "score": need }, { "criterion": "Value for money", "score": value }] } });
    let score_bid = act("scoreBid", "ScoreBidInput");
    assert_eq!(
        error_code(&app.gql_as(Some(&youth.token), &score_bid, score(5, 5)).await),
        "FORBIDDEN",
        "a member of the bidder"
    );
    assert_eq!(error_code(&app.gql_as(Some(&police.token), &score_bid, score(6, 3)).await), "BAD_USER_INPUT");
    data(&app.gql_as(Some(&police.token), &score_bid, score(4, 3)).await);
    // Health declares an interest: no score, no decision.
    let declare =
        "mutation($id: ID!) { declareInterest(bidId: $id, reason: \"My partner runs the club\") { bid { id } } }";
    data(&app.gql_as(Some(&health.token), declare, json!({ "id": bid })).await);
    assert_eq!(error_code(&app.gql_as(Some(&health.token), &score_bid, score(5, 5)).await), "FORBIDDEN");
    // One score is short of the quorum of two.
    let approve = act("approveBid", "ApproveBidInput");
    assert_eq!(error_code(&app.gql_as(Some(&police.token), &approve, by_id.clone()).await), "CONFLICT");

    // Deciders weigh its fit; strangers do not see it, nor the scores.
    let fit = "query($id: ID!) { explainBidFit(bidId: $id) { prioritiesMet { title } wardName wardDeprivationDecile awardedLastThreeYears { amount } eligibility { eligible } } }";
    let resp = app.gql_as(Some(&police.token), fit, json!({ "id": bid })).await;
    assert_eq!(
        data(&resp)["explainBidFit"],
        json!({ "prioritiesMet": [{ "title": "Loneliness among older residents" }], "wardName": "Eastern Felixstowe", "wardDeprivationDecile": 3, "awardedLastThreeYears": { "amount": "0.00" }, "eligibility": { "eligible": true } })
    );
    assert_eq!(error_code(&app.gql_as(Some(&lead.token), fit, json!({ "id": bid })).await), "FORBIDDEN");
    let scores = "query($id: ID!) { bid(id: $id) { scores { deciderName scores { criterion score } } } }";
    assert_eq!(error_code(&app.gql_as(Some(&lead.token), scores, json!({ "id": bid })).await), "FORBIDDEN");

    // A second unconflicted score makes the quorum; the decision records who made it.
    data(&app.gql_as(Some(&business.token), &score_bid, score(3, 4)).await);
    let approved =
        app.gql_as(Some(&business.token), &approve, json!({ "input": { "bidId": bid, "amount": "4000.00" } })).await;
    assert_eq!(data(&approved)["approveBid"]["bid"]["amountAwarded"]["amount"], "4000.00");
    assert_eq!(balance(&app, &fund).await, json!(["25000.00", "4000.00", "0.00", "21000.00"]));
    let resp = app.gql_as(Some(&police.token), scores, json!({ "id": bid })).await;
    assert_eq!(data(&resp)["bid"]["scores"].as_array().map(Vec::len), Some(2));
    // A panel member with an interest does not read the others' deliberations.
    assert_eq!(error_code(&app.gql_as(Some(&youth.token), scores, json!({ "id": bid })).await), "FORBIDDEN");
    assert_eq!(error_code(&app.gql_as(Some(&health.token), fit, json!({ "id": bid })).await), "FORBIDDEN");
    assert_eq!(data(&app.gql(BID, json!({ "id": bid })).await)["bid"]["decidedByName"], "Panel business");

    // A rejected bid stays with the bidder and the panel.
    let made = app
        .gql_as(Some(&lead.token), CREATE_BID, json!({ "input": { "fundId": fund, "projectId": club_project, "title": "Summer trip", "purpose": "A trip", "amountRequested": "900", "priorityIds": [place.priorities[0]] } }))
        .await;
    let second = data(&made)["createBid"]["bid"]["id"].as_str().expect("a bid").to_owned();
    let second_id = json!({ "input": { "bidId": second } });
    data(&app.gql_as(Some(&lead.token), &act("submitBid", "BidInput"), second_id.clone()).await);
    let reject =
        json!({ "input": { "bidId": second, "reason": "Oversubscribed this round; please bid again in the autumn" } });
    // A panel decides after review and a quorum of scores, rejections too.
    let reject_bid = act("rejectBid", "RejectBidInput");
    assert_eq!(error_code(&app.gql_as(Some(&police.token), &reject_bid, reject.clone()).await), "CONFLICT");
    data(&app.gql_as(Some(&police.token), &act("startBidReview", "BidInput"), second_id.clone()).await);
    let second_score = |need: i32| json!({ "input": { "bidId": second, "scores": [{ "criterion": "Need", "score": need }, { "criterion": "Value for money", "score": 2 }] } });
    data(&app.gql_as(Some(&police.token), &score_bid, second_score(1)).await);
    data(&app.gql_as(Some(&business.token), &score_bid, second_score(2)).await);
    assert_eq!(
        error_code(&app.gql_as(Some(&youth.token), &act("rejectBid", "RejectBidInput"), reject.clone()).await),
        "FORBIDDEN"
    );
    let rejected = app.gql_as(Some(&police.token), &act("rejectBid", "RejectBidInput"), reject).await;
    assert_eq!(data(&rejected)["rejectBid"]["bid"]["status"], "REJECTED");
    assert_eq!(data(&app.gql(BID, json!({ "id": second })).await)["bid"], Value::Null);
    let listed = app
        .gql("query($f: ID!) { bids(filter: {fundId: $f}) { totalCount nodes { title } } }", json!({ "f": fund }))
        .await;
    assert_eq!(data(&listed)["bids"], json!({ "totalCount": 1, "nodes": [{ "title": "Youth club sessions" }] }));
    let mine = app
        .gql_as(Some(&lead.token), "query($f: ID!) { bids(filter: {fundId: $f}) { totalCount } }", json!({ "f": fund }))
        .await;
    assert_eq!(data(&mine)["bids"]["totalCount"], 2);
    let visible = app
        .gql_as(Some(&lead.token), "query($id: ID!) { bid(id: $id) { rejectionReason } }", json!({ "id": second }))
        .await;
    assert_eq!(data(&visible)["bid"]["rejectionReason"], "Oversubscribed this round; please bid again in the autumn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fund_never_commits_more_than_it_holds() {
    let app = TestApp::spawn().await;
    let place = place(&app).await;
    let fund = app
        .gql_as(Some(&place.officer.token), CREATE_FUND, json!({ "input": { "ownerId": place.council, "kind": "STRATEGIC_FUND", "name": "Strategic fund", "financialYear": year(), "amount": "700.00" } }))
        .await;
    let fund = data(&fund)["createFund"]["fund"]["id"].as_str().expect("a fund").to_owned();
    let lead = app.register("lead@many.example", "Lead").await;
    let group = app.organisation(&lead, "Many Projects").await;
    let target = project(&app, &lead, &group, "Pavilion repaint", json!({ "wardId": place.wards[1] })).await;
    let mut bids = Vec::new();
    for i in 0..100 {
        let made = app
            .gql_as(Some(&lead.token), CREATE_BID, json!({ "input": { "fundId": fund, "projectId": target, "title": format!("Bid {i}"), "purpose": "Paint", "amountRequested": "100.00" } }))
            .await;
        let bid = data(&made)["createBid"]["bid"]["id"].as_str().expect("a bid").to_owned();
        data(&app.gql_as(Some(&lead.token), &act("submitBid", "BidInput"), json!({ "input": { "bidId": bid } })).await);
        bids.push(bid);
    }
    let approve = act("approveBid", "ApproveBidInput");
    let results = futures::future::join_all(bids.iter().map(|id| {
        let (app, token, approve) = (&app, place.officer.token.clone(), &approve);
        async move { app.gql_as(Some(&token), approve, json!({ "input": { "bidId": id } })).await }
    }))
    .await;
    let approved = results.iter().filter(|r| r.get("errors").is_none()).count();
    let conflicts = results.iter().filter(|r| r.get("errors").is_some() && error_code(r) == "CONFLICT").count();
    assert_eq!(
        (approved, conflicts),
        (7, 93),
        "{:?}",
        results.iter().find(|r| r.get("errors").is_some() && error_code(r) != "CONFLICT")
    );
    assert_eq!(balance(&app, &fund).await, json!(["700.00", "700.00", "0.00", "0.00"]));
    // The refused approvals left nothing behind: their bids are still submitted.
    let still = app
        .gql_as(
            Some(&lead.token),
            "query($f: ID!) { bids(filter: {fundId: $f, status: SUBMITTED}, first: 100) { totalCount } }",
            json!({ "f": fund }),
        )
        .await;
    assert_eq!(data(&still)["bids"]["totalCount"], 93);
}

#[tokio::test]
async fn a_pooled_award_commits_on_every_budget_or_on_none() {
    let app = TestApp::spawn().await;
    let place = place(&app).await;
    let smith = app.register("cllr.smith@pooled.example", "Cllr Smith").await;
    let jones = app.register("cllr.jones@pooled.example", "Cllr Jones").await;
    let mut budgets = Vec::new();
    for email in ["cllr.smith@pooled.example", "cllr.jones@pooled.example"] {
        let seat = seat(&app, &place, email, &place.wards[0]).await;
        let made = app
            .gql_as(Some(&place.officer.token), CREATE_FUND, json!({ "input": { "ownerId": place.council, "kind": "WARD_BUDGET", "name": format!("{email} budget"), "financialYear": year(), "wardMemberId": seat } }))
            .await;
        budgets.push(data(&made)["createFund"]["fund"]["id"].as_str().expect("a fund").to_owned());
    }
    let lead = app.register("lead@hall.example", "Hall Lead").await;
    let hall = app.organisation(&lead, "Trimley Village Hall").await;
    let roof = project(&app, &lead, &hall, "Village hall roof", json!({ "wardId": place.wards[0] })).await;
    let made = app
        .gql_as(Some(&lead.token), CREATE_BID, json!({ "input": { "fundId": budgets[0], "projectId": roof, "title": "Roof repairs", "purpose": "Slates and labour", "amountRequested": "3000" } }))
        .await;
    let bid = data(&made)["createBid"]["bid"]["id"].as_str().expect("a bid").to_owned();
    data(&app.gql_as(Some(&lead.token), &act("submitBid", "BidInput"), json!({ "input": { "bidId": bid } })).await);

    // Cllr Jones pledges £2,000 from their budget; only a fund's decider may, and not into the bid's own fund.
    let pledge = |fund: &str, amount: &str| json!({ "input": { "bidId": bid, "fundId": fund, "amount": amount } });
    let pledge_to = act("pledgeToBid", "PledgeToBidInput");
    assert_eq!(error_code(&app.gql_as(Some(&smith.token), &pledge_to, pledge(&budgets[1], "2000")).await), "FORBIDDEN");
    assert_eq!(
        error_code(&app.gql_as(Some(&smith.token), &pledge_to, pledge(&budgets[0], "2000")).await),
        "BAD_USER_INPUT"
    );
    // A pledge must leave the bid's own fund a part; a pledge of nothing takes it back.
    assert_eq!(
        error_code(&app.gql_as(Some(&jones.token), &pledge_to, pledge(&budgets[1], "3000")).await),
        "BAD_USER_INPUT"
    );
    data(&app.gql_as(Some(&jones.token), &pledge_to, pledge(&budgets[1], "500")).await);
    data(&app.gql_as(Some(&jones.token), &pledge_to, pledge(&budgets[1], "0")).await);
    let parts = "query($id: ID!) { bid(id: $id) { contributions { amount { amount } committed } } }";
    assert_eq!(
        data(&app.gql_as(Some(&lead.token), parts, json!({ "id": bid })).await)["bid"]["contributions"],
        json!([])
    );
    data(&app.gql_as(Some(&jones.token), &pledge_to, pledge(&budgets[1], "2000")).await);
    // Having pledged, Cllr Jones sees the bid; a stranger does not.
    assert_eq!(
        data(&app.gql_as(Some(&jones.token), BID, json!({ "id": bid })).await)["bid"]["amountAwarded"],
        Value::Null
    );
    let stranger = app.register("stranger@pooled.example", "Stranger").await;
    assert_eq!(data(&app.gql_as(Some(&stranger.token), BID, json!({ "id": bid })).await)["bid"], Value::Null);

    // Jones's budget is cut below the pledge: the award commits on neither budget.
    let adjust = "mutation($input: AdjustFundInput!) { adjustFund(input: $input) { fund { id } } }";
    data(
        &app.gql_as(
            Some(&place.officer.token),
            adjust,
            json!({ "input": { "fundId": budgets[1], "amount": "-6000", "reason": "Moved to the Covid fund" } }),
        )
        .await,
    );
    let approve = act("approveBid", "ApproveBidInput");
    let by_id = json!({ "input": { "bidId": bid } });
    assert_eq!(error_code(&app.gql_as(Some(&smith.token), &approve, by_id.clone()).await), "CONFLICT");
    assert_eq!(balance(&app, &budgets[0]).await, json!(["7500.00", "0.00", "0.00", "7500.00"]));
    assert_eq!(balance(&app, &budgets[1]).await, json!(["1500.00", "0.00", "0.00", "1500.00"]));
    assert_eq!(
        data(&app.gql_as(Some(&lead.token), BID, json!({ "id": bid })).await)["bid"]["amountAwarded"],
        Value::Null
    );

    // Restored: both parts commit together; Smith's budget gives the rest of what was asked.
    data(
        &app.gql_as(
            Some(&place.officer.token),
            adjust,
            json!({ "input": { "fundId": budgets[1], "amount": "6000", "reason": "Returned" } }),
        )
        .await,
    );
    let approved = app.gql_as(Some(&smith.token), &approve, by_id.clone()).await;
    assert_eq!(data(&approved)["approveBid"]["bid"]["amountAwarded"]["amount"], "3000.00");
    assert_eq!(balance(&app, &budgets[0]).await, json!(["7500.00", "1000.00", "0.00", "6500.00"]));
    assert_eq!(balance(&app, &budgets[1]).await, json!(["7500.00", "2000.00", "0.00", "5500.00"]));
    let parts = app
        .gql(
            "query($id: ID!) { bid(id: $id) { contributions { fund { name } amount { amount } committed } } }",
            json!({ "id": bid }),
        )
        .await;
    assert_eq!(data(&parts)["bid"]["contributions"].as_array().map(Vec::len), Some(2));

    // Each fund pays its own part, never more; completing gives back what was not paid, to the fund it came from.
    let pay = act("recordPayment", "RecordPaymentInput");
    data(
        &app.gql_as(
            Some(&place.officer.token),
            &pay,
            json!({ "input": { "bidId": bid, "amount": "2000", "fundId": budgets[1] } }),
        )
        .await,
    );
    assert_eq!(
        error_code(
            &app.gql_as(
                Some(&place.officer.token),
                &pay,
                json!({ "input": { "bidId": bid, "amount": "1", "fundId": budgets[1] } })
            )
            .await
        ),
        "CONFLICT"
    );
    let report = json!({ "input": { "bidId": bid, "report": { "outcomes": "Roof repaired before winter" } } });
    data(&app.gql_as(Some(&lead.token), &act("completeBid", "CompleteBidInput"), report).await);
    assert_eq!(balance(&app, &budgets[0]).await, json!(["7500.00", "0.00", "0.00", "7500.00"]));
    assert_eq!(balance(&app, &budgets[1]).await, json!(["7500.00", "0.00", "2000.00", "5500.00"]));
}

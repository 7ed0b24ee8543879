//! Funds and bids as services: the ledger's sums always agree with the fund's guard column; money lapses at the
//! year's end unless the fund rolls over; a withdrawn approval gives its commitment back; only a fund's
//! administrators move its money.
use domain::error::AppError;
use domain::funding::bids::{self, NewBid};
use domain::funding::funds::{self, NewFund};
use domain::funding::{DecisionMode, FundKind, FundRule, Rules};
use domain::needs::NeedCategory;
use domain::organisations::OrganisationKind;
use domain::organisations::service as organisations;
use domain::projects::ProjectStatus;
use domain::projects::service::{self as projects, NewProject, Place};
use domain::values::{FinancialYear, Pence};
use sea_orm::EntityTrait;

use crate::helpers::{TestDb, new_organisation};

fn strategic(owner_id: uuid::Uuid, year: FinancialYear, amount: i64, rolls_over: bool) -> NewFund {
    NewFund {
        owner_id,
        kind: FundKind::StrategicFund,
        name: "Strategic fund".into(),
        financial_year: year,
        amount: Some(Pence(amount)),
        ward_member_id: None,
        rules: Rules::default(),
        decision_mode: DecisionMode::Sole,
        panel: None,
        rolls_over,
    }
}

fn bid(fund_id: uuid::Uuid, project_id: uuid::Uuid, pence: i64) -> NewBid {
    NewBid {
        fund_id,
        project_id,
        title: "Pavilion repaint".into(),
        purpose: "Paint and brushes".into(),
        amount_requested: Pence(pence),
        budget_lines: vec![],
        priority_ids: vec![],
        expected_outcomes: String::new(),
        match_funding: vec![],
        event_date: None,
    }
}

async fn ledger_agrees(t: &TestDb, fund_id: uuid::Uuid) {
    let fund = entity::fund::Entity::find_by_id(fund_id).one(&t.db).await.expect("read").expect("a fund");
    let balance = funds::balances(&t.db, &[fund_id]).await.expect("balances")[&fund_id];
    assert_eq!(balance.available, Pence(fund.available_pence), "the ledger and the guard agree");
}

#[tokio::test]
async fn money_moves_only_through_the_ledger_and_lapses_at_the_years_end() {
    let t = TestDb::new().await;
    let officer = t.person("Officer").await;
    let council =
        organisations::create(&t.db, &officer, new_organisation("Suffolk Coastal", OrganisationKind::Council))
            .await
            .expect("a council");
    let this_year = FinancialYear::containing(domain::now().date_naive());
    let fund = funds::create(&t.db, &officer, strategic(council.id, this_year, 100_000, false)).await.expect("a fund");
    let lead = t.person("Lead").await;
    let group = t.organisation(&lead).await;
    let project = projects::create(
        &t.db,
        &lead,
        NewProject {
            organisation_id: group.0,
            title: "Pavilion".into(),
            summary: String::new(),
            description: String::new(),
            category: NeedCategory::Environment,
            place: Place { area_wide: true, ..Place::default() },
            beneficiaries: String::new(),
            ages: Default::default(),
            languages: vec![],
            schedule: Default::default(),
            status: ProjectStatus::Proposed,
            priority_ids: vec![],
        },
    )
    .await
    .expect("a project");

    // Approved, then withdrawn by the bidder before any payment: the commitment comes back.
    let made = bids::create(&t.db, &lead, bid(fund.id, project.id, 60_000)).await.expect("a bid");
    bids::submit(&t.db, &lead, made.id).await.expect("submitted");
    bids::approve(&t.db, &officer, made.id, Some(Pence(50_000)), "").await.expect("approved");
    ledger_agrees(&t, fund.id).await;
    let stranger = t.person("Stranger").await;
    assert!(matches!(funds::adjust(&t.db, &stranger, fund.id, 5, "mine").await, Err(AppError::Forbidden(_))));
    let too_much = funds::adjust(&t.db, &officer, fund.id, -50_001, "more than is free").await;
    assert!(matches!(too_much, Err(AppError::Conflict(_))), "{too_much:?}");
    bids::withdraw(&t.db, &lead, made.id).await.expect("withdrawn");
    let balance = funds::balances(&t.db, &[fund.id]).await.expect("balances")[&fund.id];
    assert_eq!((balance.committed, balance.available), (Pence(0), Pence(100_000)));
    ledger_agrees(&t, fund.id).await;

    // Last year's fund: its money lapsed, so it takes no bids; one that rolls over still does.
    let last_year = FinancialYear::containing(domain::now().date_naive() - chrono::Days::new(366));
    let lapsed =
        funds::create(&t.db, &officer, strategic(council.id, last_year, 100_000, false)).await.expect("a fund");
    let old = bids::create(&t.db, &lead, bid(lapsed.id, project.id, 10_000)).await.expect("a bid");
    let failed: Vec<FundRule> =
        bids::eligibility(&t.db, &old).await.expect("checked").into_iter().map(|(r, _)| r).collect();
    assert_eq!(failed, [FundRule::FundOpen]);
    assert!(matches!(bids::submit(&t.db, &lead, old.id).await, Err(AppError::BadInput { .. })));
    let kept = funds::create(
        &t.db,
        &officer,
        NewFund { name: "Rolled over".into(), ..strategic(council.id, last_year, 100_000, true) },
    )
    .await
    .expect("a fund");
    let rolled = bids::create(&t.db, &lead, bid(kept.id, project.id, 10_000)).await.expect("a bid");
    assert!(bids::eligibility(&t.db, &rolled).await.expect("checked").is_empty());
}

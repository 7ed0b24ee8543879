//! Crowdfunding: a project's campaign takes pledges from anyone signed in, towards a target by a deadline; match
//! funds add a matching pledge as people pledge, never past their cap or what the fund has available. Pitch In holds
//! no money: the payment provider collects it and says so in a signed webhook (`payments`), which marks a pledge PAID.
//!
//! Whatever changes a live campaign's money first holds the campaign's row (one conditional UPDATE), so pledges,
//! cancellations and the close at the deadline never interleave; a match fund's row is held before its available
//! money is read, funds in id order, so two campaigns matched by the same funds queue rather than deadlock.
use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::SelectStatement;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::funds::{self, Entry, give_available, in_year, take_available};
use super::{FundKind, LedgerKind};
use crate::access::{self, AuthUser, Viewer};
use crate::audit::{self, Actor, AuditAction};
use crate::error::{AppError, AppResult};
use crate::now;
use crate::store::page::{Cursor, Page, PageRows, SortKey};
use crate::values::{Pence, bounded_text};
use entity::{campaign, campaign_match, fund, pledge, user};

crate::db_enum! {
    pub enum CampaignModel {
        /// Pledges are collected only if the target is reached by the deadline; otherwise all are released.
        AllOrNothing => "ALL_OR_NOTHING",
        /// The project keeps whatever is pledged by the deadline.
        KeepWhatYouRaise => "KEEP_WHAT_YOU_RAISE",
    }
}

crate::db_enum! {
    pub enum CampaignStatus {
        /// Being written by the project's organisation; only its members see it.
        Draft => "DRAFT",
        /// Taking pledges until its deadline.
        Live => "LIVE",
        /// Closed at its deadline with its money: the target met, or anything raised when it keeps what it raises.
        Succeeded => "SUCCEEDED",
        /// Closed at its deadline short of an all-or-nothing target (or with nothing raised); its pledges released.
        Failed => "FAILED",
        /// Called off by its organisation; its pledges released.
        Cancelled => "CANCELLED",
    }
}

crate::db_enum! {
    pub enum PledgeStatus {
        /// Promised, not yet collected.
        Promised => "PROMISED",
        /// Collected: the payment provider's webhook said so (or, for a matching pledge, the fund paid it).
        Paid => "PAID",
        /// Taken back by its backer before the deadline.
        Cancelled => "CANCELLED",
        /// Let go because the campaign failed or was cancelled.
        Released => "RELEASED",
        /// Collected, but the campaign then failed or was cancelled: the payment provider is to refund it.
        RefundDue => "REFUND_DUE",
    }
}

impl PledgeStatus {
    /// Whether it counts towards what the campaign has raised.
    pub fn counts(self) -> bool {
        matches!(self, Self::Promised | Self::Paid)
    }
}

fn counting() -> [&'static str; 2] {
    [PledgeStatus::Promised.as_db(), PledgeStatus::Paid.as_db()]
}

pub struct NewCampaign {
    pub project_id: Uuid,
    pub title: String,
    pub summary: String,
    pub target: Pence,
    pub deadline: DateTime<Utc>,
    pub model: CampaignModel,
}

/// A change to a draft; `None` keeps a field.
#[derive(Default)]
pub struct CampaignPatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub target: Option<Pence>,
    pub deadline: Option<DateTime<Utc>>,
    pub model: Option<CampaignModel>,
}

pub struct NewPledge {
    pub campaign_id: Uuid,
    pub amount: Pence,
    /// The name shown with the pledge; the backer's own name when left out.
    pub display_name: Option<String>,
    pub anonymous: bool,
    pub message: String,
}

pub struct NewMatch {
    pub fund_id: Uuid,
    pub campaign_id: Uuid,
    /// Hundredths: 100 matches £1 for every £1 pledged, 50 gives 50p.
    pub ratio_percent: i32,
    pub cap: Pence,
}

/// Crowdfunding campaigns run for weeks, not years: Crowdfunder's longest is 56 days; a year leaves room.
const MAX_RUN: TimeDelta = TimeDelta::days(366);
/// £1: the smallest pledge worth a card payment's fee; £100,000, the largest one person is asked to promise here.
const MIN_PLEDGE: Pence = Pence(100);
const MAX_PLEDGE: Pence = Pence(10_000_000);
/// £10m: far past any community project's target.
const MAX_TARGET: Pence = Pence(1_000_000_000);

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<campaign::Model> {
    campaign::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("campaign"))
}

pub fn status(campaign: &campaign::Model) -> CampaignStatus {
    CampaignStatus::from_db(&campaign.status).unwrap_or(CampaignStatus::Draft)
}

pub fn model(campaign: &campaign::Model) -> CampaignModel {
    CampaignModel::from_db(&campaign.model).unwrap_or(CampaignModel::AllOrNothing)
}

pub fn pledge_status(pledge: &pledge::Model) -> PledgeStatus {
    PledgeStatus::from_db(&pledge.status).unwrap_or(PledgeStatus::Promised)
}

fn check_target(field: &str, target: Pence) -> AppResult<()> {
    if target < MIN_PLEDGE || target > MAX_TARGET {
        return Err(AppError::bad_input(field, "must be between £1 and £10,000,000"));
    }
    Ok(())
}

fn check_deadline(field: &str, deadline: DateTime<Utc>, now: DateTime<Utc>) -> AppResult<()> {
    if deadline <= now {
        return Err(AppError::bad_input(field, "must be in the future"));
    }
    if deadline > now + MAX_RUN {
        return Err(AppError::bad_input(field, "must be within a year"));
    }
    Ok(())
}

/// The project's organisation's coordinators draft a campaign.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(db: &impl ConnectionTrait, actor: &AuthUser, new: NewCampaign) -> AppResult<campaign::Model> {
    let project = crate::projects::service::get(db, new.project_id).await?;
    access::require_coordinator(db, actor, project.organisation_id).await?;
    let title = bounded_text("input.title", &new.title, 3, 140)?;
    let summary = bounded_text("input.summary", &new.summary, 0, 5000)?;
    check_target("input.target", new.target)?;
    let now = now();
    check_deadline("input.deadline", new.deadline, now)?;
    Ok(campaign::ActiveModel {
        id: Set(Uuid::now_v7()),
        project_id: Set(project.id),
        organisation_id: Set(project.organisation_id),
        title: Set(title),
        summary: Set(summary),
        target_pence: Set(new.target.0),
        deadline: Set(new.deadline),
        model: Set(new.model.as_db().to_owned()),
        status: Set(CampaignStatus::Draft.as_db().to_owned()),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
        updated_at: Set(now),
        launched_at: Set(None),
        closed_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// Changes a draft; a live campaign's terms are what its backers pledged to.
#[tracing::instrument(skip_all, fields(actor = %actor.id, campaign = %id))]
pub async fn update(
    db: &impl ConnectionTrait,
    actor: &AuthUser,
    id: Uuid,
    patch: CampaignPatch,
) -> AppResult<campaign::Model> {
    let campaign = get(db, id).await?;
    access::require_coordinator(db, actor, campaign.organisation_id).await?;
    let mut update = campaign::Entity::update_many()
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now()))
        .filter(campaign::Column::Id.eq(id))
        .filter(campaign::Column::Status.eq(CampaignStatus::Draft.as_db()));
    if let Some(title) = patch.title {
        update = update.col_expr(campaign::Column::Title, Expr::value(bounded_text("input.title", &title, 3, 140)?));
    }
    if let Some(summary) = patch.summary {
        let summary = bounded_text("input.summary", &summary, 0, 5000)?;
        update = update.col_expr(campaign::Column::Summary, Expr::value(summary));
    }
    if let Some(target) = patch.target {
        check_target("input.target", target)?;
        update = update.col_expr(campaign::Column::TargetPence, Expr::value(target.0));
    }
    if let Some(deadline) = patch.deadline {
        check_deadline("input.deadline", deadline, now())?;
        update = update.col_expr(campaign::Column::Deadline, Expr::value(deadline));
    }
    if let Some(model) = patch.model {
        update = update.col_expr(campaign::Column::Model, Expr::value(model.as_db()));
    }
    update.exec_with_returning(db).await?.into_iter().next().ok_or_else(|| {
        AppError::conflict("only a draft campaign may be changed: backers pledged to the terms of a live one")
    })
}

/// Opens a draft to pledges, until its deadline.
#[tracing::instrument(skip_all, fields(actor = %actor.id, campaign = %id))]
pub async fn launch(db: &impl ConnectionTrait, actor: &AuthUser, id: Uuid) -> AppResult<campaign::Model> {
    let campaign = get(db, id).await?;
    access::require_coordinator(db, actor, campaign.organisation_id).await?;
    let now = now();
    if campaign.deadline <= now && status(&campaign) == CampaignStatus::Draft {
        return Err(AppError::bad_input("input.deadline", "has passed: move the deadline before launching"));
    }
    campaign::Entity::update_many()
        .col_expr(campaign::Column::Status, Expr::value(CampaignStatus::Live.as_db()))
        .col_expr(campaign::Column::LaunchedAt, Expr::value(now))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now))
        .filter(campaign::Column::Id.eq(id))
        .filter(campaign::Column::Status.eq(CampaignStatus::Draft.as_db()))
        .filter(campaign::Column::Deadline.gt(now))
        .exec_with_returning(db)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::conflict("only a draft campaign may be launched"))
}

/// Its organisation calls it off before its deadline; every pledge is released and matched money goes back.
#[tracing::instrument(skip_all, fields(actor = %actor.id, campaign = %id))]
pub async fn cancel(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
) -> AppResult<campaign::Model> {
    let campaign = get(db, id).await?;
    access::require_coordinator(db, actor, campaign.organisation_id).await?;
    let now = now();
    let txn = db.begin().await?;
    let cancelled = campaign::Entity::update_many()
        .col_expr(campaign::Column::Status, Expr::value(CampaignStatus::Cancelled.as_db()))
        .col_expr(campaign::Column::ClosedAt, Expr::value(now))
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now))
        .filter(campaign::Column::Id.eq(id))
        .filter(open_at(now))
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::conflict("this campaign has closed, or reached its deadline and is closing"))?;
    release_all(&txn, &cancelled, Some(actor.id), "campaign cancelled").await?;
    txn.commit().await?;
    Ok(cancelled)
}

/// A draft, or a live campaign before its deadline: one that may still be cancelled or matched. Past its deadline a
/// live campaign is the close's to decide (`close_due`), so that one that met its target cannot be called off.
fn open_at(at: DateTime<Utc>) -> Condition {
    Condition::any().add(campaign::Column::Status.eq(CampaignStatus::Draft.as_db())).add(
        Condition::all()
            .add(campaign::Column::Status.eq(CampaignStatus::Live.as_db()))
            .add(campaign::Column::Deadline.gt(at)),
    )
}

/// A live campaign that still takes pledges at `at`.
fn taking_pledges(at: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(campaign::Column::Status.eq(CampaignStatus::Live.as_db()))
        .add(campaign::Column::Deadline.gt(at))
}

/// Holds a live campaign's row for the rest of the transaction, if it still takes pledges at `at`.
async fn hold_live(db: &impl ConnectionTrait, id: Uuid, at: DateTime<Utc>) -> AppResult<()> {
    if !hold(db, id, taking_pledges(at)).await? {
        return Err(AppError::conflict("this campaign is not taking pledges (not live, or past its deadline)"));
    }
    Ok(())
}

/// Holds the campaign's row for the rest of the transaction if it meets `condition` (a conditional UPDATE: the row
/// lock on PostgreSQL, the write lock on SQLite); false if it does not.
async fn hold(db: &impl ConnectionTrait, id: Uuid, condition: Condition) -> AppResult<bool> {
    let held = campaign::Entity::update_many()
        .col_expr(campaign::Column::UpdatedAt, Expr::value(now()))
        .filter(campaign::Column::Id.eq(id))
        .filter(condition)
        .exec(db)
        .await?;
    Ok(held.rows_affected > 0)
}

/// Holds a fund's row and reads what it has available now.
async fn hold_fund(db: &impl ConnectionTrait, fund_id: Uuid) -> AppResult<fund::Model> {
    fund::Entity::update_many()
        .col_expr(fund::Column::UpdatedAt, Expr::value(now()))
        .filter(fund::Column::Id.eq(fund_id))
        .exec(db)
        .await?;
    funds::get(db, fund_id).await
}

/// A campaign's matches, in their funds' id order (the order their rows are held in).
pub async fn matches(db: &impl ConnectionTrait, campaign_id: Uuid) -> AppResult<Vec<campaign_match::Model>> {
    Ok(campaign_match::Entity::find()
        .filter(campaign_match::Column::CampaignId.eq(campaign_id))
        .order_by_asc(campaign_match::Column::FundId)
        .all(db)
        .await?)
}

/// The signed-in user pledges to a live campaign; each match fund adds its matching pledge in the same transaction.
#[tracing::instrument(skip_all, fields(actor = %actor.id, campaign = %new.campaign_id))]
pub async fn pledge(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    new: NewPledge,
) -> AppResult<pledge::Model> {
    if new.amount < MIN_PLEDGE || new.amount > MAX_PLEDGE {
        return Err(AppError::bad_input("input.amount", "must be between £1 and £100,000"));
    }
    let message = bounded_text("input.message", &new.message, 0, 500)?;
    let display_name = match &new.display_name {
        Some(name) => bounded_text("input.displayName", name, 1, 80)?,
        None => {
            let backer = user::Entity::find_by_id(actor.id).one(db).await?.ok_or_else(AppError::unauthenticated)?;
            backer.display_name
        }
    };
    let campaign = get(db, new.campaign_id).await?;
    let now = now();
    let txn = db.begin().await?;
    hold_live(&txn, campaign.id, now).await?;
    let pledged = pledge::ActiveModel {
        backer_id: Set(Some(actor.id)),
        anonymous: Set(new.anonymous),
        message: Set(message),
        ..promised(campaign.id, new.amount.0, display_name, "pl", now)
    }
    .insert(&txn)
    .await?;
    for matched in matches(&txn, campaign.id).await? {
        add_match(&txn, &campaign, &matched, &pledged).await?;
    }
    txn.commit().await?;
    Ok(pledged)
}

/// What a match adds to a pledge: the ratio's share, never past the cap or what the fund has available.
pub fn match_for(amount: Pence, ratio_percent: i32, cap_left: Pence, fund_available: Pence) -> Pence {
    let share = i128::from(amount.0) * i128::from(ratio_percent) / 100;
    let share = i64::try_from(share).unwrap_or(i64::MAX);
    Pence(Ord::max(Ord::min(Ord::min(share, cap_left.0), fund_available.0), 0))
}

async fn add_match(
    txn: &impl ConnectionTrait,
    campaign: &campaign::Model,
    matched: &campaign_match::Model,
    backer: &pledge::Model,
) -> AppResult<()> {
    let fund = hold_fund(txn, matched.fund_id).await?;
    if !in_year(&fund, now().date_naive()) {
        return Ok(());
    }
    // Read again with the campaign's row held: another pledge may have matched since `matches` was read.
    let current = campaign_match::Entity::find_by_id(matched.id).one(txn).await?;
    let Some(current) = current else { return Ok(()) };
    let amount = match_for(
        Pence(backer.amount_pence),
        current.ratio_percent,
        Pence(current.cap_pence - current.matched_pence),
        Pence(fund.available_pence),
    );
    if amount.0 == 0 {
        return Ok(());
    }
    let grown = campaign_match::Entity::update_many()
        .col_expr(campaign_match::Column::MatchedPence, Expr::col(campaign_match::Column::MatchedPence).add(amount.0))
        .filter(campaign_match::Column::Id.eq(current.id))
        .filter(campaign_match::Column::MatchedPence.lte(current.cap_pence - amount.0))
        .exec(txn)
        .await?;
    if grown.rows_affected == 0 {
        return Err(AppError::conflict("the match's cap was reached meanwhile: try again"));
    }
    take_available(txn, fund.id, amount).await?;
    let memo = format!("matched a pledge to {}", campaign.title);
    Entry {
        fund_id: fund.id,
        kind: LedgerKind::Commitment,
        amount,
        bid_id: None,
        campaign_id: Some(campaign.id),
        // Not the backer: an anonymous pledge stays anonymous on the fund's ledger too.
        actor: None,
        memo: &memo,
    }
    .append(txn)
    .await?;
    let now = now();
    pledge::ActiveModel {
        match_id: Set(Some(current.id)),
        matches_pledge_id: Set(Some(backer.id)),
        ..promised(campaign.id, amount.0, fund.name, "pm", now)
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// A new PROMISED pledge of `pence` to the campaign under `name`, with a payment reference starting `prefix`
/// (`pl` a backer's, `pm` a match fund's); nobody's, matching nothing, without words until the caller says.
fn promised(campaign_id: Uuid, pence: i64, name: String, prefix: &str, now: DateTime<Utc>) -> pledge::ActiveModel {
    pledge::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(campaign_id),
        backer_id: Set(None),
        match_id: Set(None),
        matches_pledge_id: Set(None),
        amount_pence: Set(pence),
        display_name: Set(name),
        anonymous: Set(false),
        message: Set(String::new()),
        status: Set(PledgeStatus::Promised.as_db().to_owned()),
        reference: Set(format!("{prefix}_{}", Uuid::new_v4().simple())),
        provider_payment_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        paid_at: Set(None),
    }
}

/// Gives a match fund back what its matching pledges held (cancelled or released).
async fn give_back(
    txn: &impl ConnectionTrait,
    match_id: Uuid,
    campaign: &campaign::Model,
    amount: Pence,
    actor: Option<Uuid>,
    why: &str,
) -> AppResult<()> {
    let matched = campaign_match::Entity::find_by_id(match_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal("a matching pledge without its match"))?;
    hold_fund(txn, matched.fund_id).await?;
    campaign_match::Entity::update_many()
        .col_expr(campaign_match::Column::MatchedPence, Expr::col(campaign_match::Column::MatchedPence).sub(amount.0))
        .filter(campaign_match::Column::Id.eq(match_id))
        .exec(txn)
        .await?;
    give_available(txn, matched.fund_id, amount).await?;
    let memo = format!("{why}: {}", campaign.title);
    Entry {
        fund_id: matched.fund_id,
        kind: LedgerKind::Release,
        amount,
        bid_id: None,
        campaign_id: Some(campaign.id),
        actor,
        memo: &memo,
    }
    .append(txn)
    .await
}

/// Releases every promised pledge and gives each match fund back what it had matched, funds in id order; a backer's
/// pledge already collected becomes REFUND_DUE, for the payment provider to refund.
async fn release_all(
    txn: &impl ConnectionTrait,
    campaign: &campaign::Model,
    actor: Option<Uuid>,
    why: &str,
) -> AppResult<()> {
    let now = now();
    pledge::Entity::update_many()
        .col_expr(pledge::Column::Status, Expr::value(PledgeStatus::RefundDue.as_db()))
        .col_expr(pledge::Column::UpdatedAt, Expr::value(now))
        .filter(pledge::Column::CampaignId.eq(campaign.id))
        .filter(pledge::Column::MatchId.is_null())
        .filter(pledge::Column::Status.eq(PledgeStatus::Paid.as_db()))
        .exec(txn)
        .await?;
    let released = pledge::Entity::update_many()
        .col_expr(pledge::Column::Status, Expr::value(PledgeStatus::Released.as_db()))
        .col_expr(pledge::Column::UpdatedAt, Expr::value(now))
        .filter(pledge::Column::CampaignId.eq(campaign.id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Promised.as_db()))
        .exec_with_returning(txn)
        .await?;
    let mut per_match: HashMap<Uuid, i64> = HashMap::new();
    for p in released.iter() {
        if let Some(m) = p.match_id {
            *per_match.entry(m).or_default() += p.amount_pence;
        }
    }
    for matched in matches(txn, campaign.id).await? {
        if let Some(amount) = per_match.get(&matched.id).filter(|a| **a > 0) {
            give_back(txn, matched.id, campaign, Pence(*amount), actor, why).await?;
        }
    }
    Ok(())
}

/// The backer takes back a promised pledge before the deadline; its matching pledges go back to their funds.
#[tracing::instrument(skip_all, fields(actor = %actor.id, pledge = %id))]
pub async fn cancel_pledge(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
) -> AppResult<pledge::Model> {
    let found = pledge::Entity::find_by_id(id).one(db).await?;
    let Some(found) = found.filter(|p| p.backer_id == Some(actor.id)) else {
        // Someone else's pledge is not theirs to know of.
        return Err(AppError::not_found("pledge"));
    };
    let campaign = get(db, found.campaign_id).await?;
    let now = now();
    let txn = db.begin().await?;
    hold_live(&txn, campaign.id, now).await?;
    let cancelled = pledge::Entity::update_many()
        .col_expr(pledge::Column::Status, Expr::value(PledgeStatus::Cancelled.as_db()))
        .col_expr(pledge::Column::UpdatedAt, Expr::value(now))
        .filter(pledge::Column::Id.eq(id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Promised.as_db()))
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::conflict(
                "only a promised pledge may be cancelled: a paid one is the payment provider's to refund",
            )
        })?;
    let matching = pledge::Entity::update_many()
        .col_expr(pledge::Column::Status, Expr::value(PledgeStatus::Cancelled.as_db()))
        .col_expr(pledge::Column::UpdatedAt, Expr::value(now))
        .filter(pledge::Column::MatchesPledgeId.eq(id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Promised.as_db()))
        .exec_with_returning(&txn)
        .await?;
    let mut matching: Vec<(Uuid, i64)> =
        matching.into_iter().filter_map(|p| p.match_id.map(|m| (m, p.amount_pence))).collect();
    // Funds in id order, as pledges hold them.
    let fund_of: HashMap<Uuid, Uuid> =
        matches(&txn, campaign.id).await?.into_iter().map(|m| (m.id, m.fund_id)).collect();
    matching.sort_by_key(|(m, _)| fund_of.get(m).copied());
    for (match_id, amount) in matching {
        give_back(&txn, match_id, &campaign, Pence(amount), Some(actor.id), "pledge cancelled").await?;
    }
    txn.commit().await?;
    Ok(cancelled)
}

/// A match fund's administrators back a campaign: `ratio` hundredths of every pound pledged from now on, up to
/// `cap` in all.
#[tracing::instrument(skip_all, fields(actor = %actor.id, campaign = %new.campaign_id))]
pub async fn match_campaign(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    new: NewMatch,
) -> AppResult<campaign_match::Model> {
    let fund = funds::get(db, new.fund_id).await?;
    funds::require_administrator(db, actor, &fund).await?;
    if fund.kind != FundKind::MatchFund.as_db() {
        return Err(AppError::bad_input("input.fundId", "must be a MATCH_FUND"));
    }
    if !(1..=1000).contains(&new.ratio_percent) {
        return Err(AppError::bad_input("input.ratio", "must be between 0.01 and 10"));
    }
    if new.cap.0 <= 0 || new.cap > MAX_TARGET {
        return Err(AppError::bad_input("input.cap", "must be between £0.01 and £10,000,000"));
    }
    if !in_year(&fund, now().date_naive()) {
        return Err(AppError::conflict("the fund's financial year is over (or not yet begun)"));
    }
    let campaign = get(db, new.campaign_id).await?;
    let txn = db.begin().await?;
    // Held, so that no close or cancellation crosses the match being set up.
    if !hold(&txn, campaign.id, open_at(now())).await? {
        return Err(AppError::conflict("this campaign has closed, or reached its deadline"));
    }
    let matched = campaign_match::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(campaign.id),
        fund_id: Set(fund.id),
        ratio_percent: Set(new.ratio_percent),
        cap_pence: Set(new.cap.0),
        matched_pence: Set(0),
        created_by: Set(Some(actor.id)),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await
    .map_err(|err| match AppError::from(err) {
        AppError::Conflict(_) => AppError::conflict("this fund already matches this campaign"),
        other => other,
    })?;
    let detail =
        format!("{} matches {} at {}% up to £{}", fund.name, campaign.title, new.ratio_percent, new.cap.to_decimal());
    audit::record(&txn, Actor::user(actor.id), AuditAction::FundChanged, None, &["fund.matches"], detail).await?;
    txn.commit().await?;
    Ok(matched)
}

/// The match fund pays what it matched on a campaign that succeeded: its matching pledges PAID, one PAYMENT entry.
#[tracing::instrument(skip_all, fields(actor = %actor.id, campaign = %campaign_id))]
pub async fn pay_match(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    campaign_id: Uuid,
    fund_id: Uuid,
) -> AppResult<campaign_match::Model> {
    let fund = funds::get(db, fund_id).await?;
    funds::require_administrator(db, actor, &fund).await?;
    let campaign = get(db, campaign_id).await?;
    if status(&campaign) != CampaignStatus::Succeeded {
        return Err(AppError::conflict("a match is paid once its campaign has succeeded"));
    }
    let matched = campaign_match::Entity::find()
        .filter(campaign_match::Column::CampaignId.eq(campaign_id))
        .filter(campaign_match::Column::FundId.eq(fund_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("match"))?;
    let now = now();
    let txn = db.begin().await?;
    let matching = pledge::Entity::find()
        .filter(pledge::Column::MatchId.eq(matched.id))
        .filter(pledge::Column::Status.eq(PledgeStatus::Promised.as_db()))
        .all(&txn)
        .await?;
    let collected: std::collections::HashSet<Uuid> = pledge::Entity::find()
        .filter(pledge::Column::Id.is_in(matching.iter().filter_map(|p| p.matches_pledge_id)))
        .filter(pledge::Column::Status.eq(PledgeStatus::Paid.as_db()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    // The fund pays for money people actually gave: matches of pledges never collected go back to it.
    let (to_pay, to_release): (Vec<_>, Vec<_>) =
        matching.iter().partition(|p| p.matches_pledge_id.is_some_and(|b| collected.contains(&b)));
    let settle = |ids: Vec<Uuid>, to: PledgeStatus| {
        let mut update = pledge::Entity::update_many()
            .col_expr(pledge::Column::Status, Expr::value(to.as_db()))
            .col_expr(pledge::Column::UpdatedAt, Expr::value(now));
        if to == PledgeStatus::Paid {
            update = update.col_expr(pledge::Column::PaidAt, Expr::value(now));
        }
        update.filter(pledge::Column::Id.is_in(ids)).filter(pledge::Column::Status.eq(PledgeStatus::Promised.as_db()))
    };
    let paid = settle(to_pay.iter().map(|p| p.id).collect(), PledgeStatus::Paid).exec_with_returning(&txn).await?;
    let released =
        settle(to_release.iter().map(|p| p.id).collect(), PledgeStatus::Released).exec_with_returning(&txn).await?;
    let amount = Pence(paid.iter().map(|p| p.amount_pence).sum());
    let unpaid = Pence(released.iter().map(|p| p.amount_pence).sum());
    if amount.0 == 0 && unpaid.0 == 0 {
        return Err(AppError::conflict("nothing matched on this campaign is left to pay"));
    }
    if unpaid.0 > 0 {
        give_back(&txn, matched.id, &campaign, unpaid, Some(actor.id), "matched pledges never collected").await?;
    }
    if amount.0 > 0 {
        let memo = format!("paid the match on {}", campaign.title);
        Entry {
            fund_id,
            kind: LedgerKind::Payment,
            amount,
            bid_id: None,
            campaign_id: Some(campaign_id),
            actor: Some(actor.id),
            memo: &memo,
        }
        .append(&txn)
        .await?;
    }
    let detail = format!(
        "paid £{} matched on {} (£{} of pledges never collected released)",
        amount.to_decimal(),
        campaign.title,
        unpaid.to_decimal()
    );
    audit::record(&txn, Actor::user(actor.id), AuditAction::FundChanged, None, &["fund.ledger"], detail).await?;
    txn.commit().await?;
    Ok(campaign_match::Entity::find_by_id(matched.id).one(db).await?.unwrap_or(matched))
}

/// Closes every live campaign whose deadline is at or before `at`: SUCCEEDED with its money, or FAILED (an
/// all-or-nothing target missed, or nothing raised) with every pledge released. Each campaign in a transaction of
/// its own, and only once however many servers sweep. Returns how many closed.
pub async fn close_due(db: &(impl ConnectionTrait + TransactionTrait), at: DateTime<Utc>) -> AppResult<usize> {
    let due = campaign::Entity::find()
        .filter(campaign::Column::Status.eq(CampaignStatus::Live.as_db()))
        .filter(campaign::Column::Deadline.lte(at))
        .order_by_asc(campaign::Column::Deadline)
        .limit(100)
        .all(db)
        .await?;
    let mut closed = 0;
    for campaign in due {
        // One campaign that cannot close (its fund's row busy, a fault) must not keep the others open.
        match close_one(db, &campaign, at).await {
            Ok(true) => closed += 1,
            Ok(false) => {}
            Err(err) => tracing::warn!(campaign = %campaign.id, error = ?err, "could not close a campaign; next sweep"),
        }
    }
    Ok(closed)
}

/// Closes one campaign past its deadline; false if another sweep closed it first.
async fn close_one(
    db: &(impl ConnectionTrait + TransactionTrait),
    campaign: &campaign::Model,
    at: DateTime<Utc>,
) -> AppResult<bool> {
    let txn = db.begin().await?;
    // Held first, so that no pledge lands between the sum and the close.
    if !hold(&txn, campaign.id, Condition::all().add(campaign::Column::Status.eq(CampaignStatus::Live.as_db()))).await?
    {
        return Ok(false);
    }
    let raised = totals(&txn, &[campaign.id]).await?.remove(&campaign.id).unwrap_or_default().raised;
    let met = raised.0 >= campaign.target_pence;
    let outcome = match model(campaign) {
        _ if raised.0 == 0 => CampaignStatus::Failed,
        CampaignModel::AllOrNothing if !met => CampaignStatus::Failed,
        _ => CampaignStatus::Succeeded,
    };
    let closing = campaign::Entity::update_many()
        .col_expr(campaign::Column::Status, Expr::value(outcome.as_db()))
        .col_expr(campaign::Column::ClosedAt, Expr::value(at))
        .filter(campaign::Column::Id.eq(campaign.id))
        .exec_with_returning(&txn)
        .await?;
    if outcome == CampaignStatus::Failed
        && let Some(failed) = closing.first()
    {
        release_all(&txn, failed, None, "campaign missed its target").await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// What a campaign has raised: pledges that count (promised or paid), matched ones among them, what has been
/// collected, and how many people back it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub raised: Pence,
    pub matched: Pence,
    pub paid: Pence,
    pub backers: i64,
}

/// Each campaign's totals, in two grouped statements however many campaigns.
pub async fn totals(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<HashMap<Uuid, Totals>> {
    use pledge::Column as C;
    let sums: Vec<(Uuid, String, Option<Uuid>, i64)> = pledge::Entity::find()
        .select_only()
        .column(C::CampaignId)
        .column(C::Status)
        .column(C::MatchId)
        .column_as(Expr::col(C::AmountPence).sum().cast_as("BIGINT"), "total")
        .filter(C::CampaignId.is_in(ids.iter().copied()))
        .filter(C::Status.is_in(counting()))
        .group_by(C::CampaignId)
        .group_by(C::Status)
        .group_by(C::MatchId)
        .into_tuple()
        .all(db)
        .await?;
    let people: Vec<(Uuid, i64)> = pledge::Entity::find()
        .select_only()
        .column(C::CampaignId)
        .column_as(Expr::col(C::BackerId).count_distinct().cast_as("BIGINT"), "backers")
        .filter(C::CampaignId.is_in(ids.iter().copied()))
        .filter(C::Status.is_in(counting()))
        .filter(C::BackerId.is_not_null())
        .group_by(C::CampaignId)
        .into_tuple()
        .all(db)
        .await?;
    let mut totals: HashMap<Uuid, Totals> = ids.iter().map(|id| (*id, Totals::default())).collect();
    for (campaign, status, match_id, total) in sums {
        let t = totals.entry(campaign).or_default();
        t.raised.0 = t.raised.0.saturating_add(total);
        if match_id.is_some() {
            t.matched.0 = t.matched.0.saturating_add(total);
        }
        if status == PledgeStatus::Paid.as_db() {
            t.paid.0 = t.paid.0.saturating_add(total);
        }
    }
    for (campaign, backers) in people {
        totals.entry(campaign).or_default().backers = backers;
    }
    Ok(totals)
}

/// Launched campaigns are public (their pledges are public giving); drafts, and drafts called off, are for the
/// project's organisation's members.
pub async fn may_see(db: &impl ConnectionTrait, viewer: &Viewer, campaign: &campaign::Model) -> AppResult<bool> {
    if access::may_see_campaign(campaign.launched_at.is_some(), false) {
        return Ok(true);
    }
    let member = viewer.is_admin() || viewer.is_member_of(db, campaign.organisation_id).await?;
    Ok(access::may_see_campaign(false, member))
}

#[derive(Clone, Debug, Default)]
pub struct CampaignFilter {
    pub project_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub status: Option<CampaignStatus>,
}

/// A page of campaigns, newest first, with the statement that counts them: launched ones for everyone, drafts for
/// their organisations' members.
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &CampaignFilter,
    page: &Page,
) -> AppResult<(PageRows<(Cursor, campaign::Model)>, SelectStatement)> {
    use campaign::Column as C;
    let mut visible = Condition::any().add(C::LaunchedAt.is_not_null());
    if viewer.is_admin() {
        visible = Condition::all();
    } else if viewer.user_id().is_some() {
        let mine: Vec<Uuid> = viewer.memberships(db).await?.keys().copied().collect();
        visible = visible.add(C::OrganisationId.is_in(mine));
    }
    let mut cond = Condition::all().add(visible);
    if let Some(project) = filter.project_id {
        cond = cond.add(C::ProjectId.eq(project));
    }
    if let Some(org) = filter.organisation_id {
        cond = cond.add(C::OrganisationId.eq(org));
    }
    if let Some(status) = filter.status {
        cond = cond.add(C::Status.eq(status.as_db()));
    }
    let select = campaign::Entity::find().filter(cond).into_query();
    let count = select.clone();
    let sort = SortKey::newest("campaigns:NEWEST", (campaign::Entity, C::CreatedAt), (campaign::Entity, C::Id));
    let rows = sort.page(db, select, page, |c: &campaign::Model| (c.created_at, c.id)).await?;
    Ok((rows, count))
}

/// A page of a campaign's pledges that count, newest first, with the statement that counts them.
pub async fn pledges(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    page: &Page,
) -> AppResult<(PageRows<(Cursor, pledge::Model)>, SelectStatement)> {
    use pledge::Column as C;
    let select =
        pledge::Entity::find().filter(C::CampaignId.eq(campaign_id)).filter(C::Status.is_in(counting())).into_query();
    let count = select.clone();
    let sort = SortKey::newest("pledges:NEWEST", (pledge::Entity, C::CreatedAt), (pledge::Entity, C::Id));
    let rows = sort.page(db, select, page, |p: &pledge::Model| (p.created_at, p.id)).await?;
    Ok((rows, count))
}

/// The user's own pledges to a campaign, every status, newest first (a handful).
pub async fn pledges_of(db: &impl ConnectionTrait, user_id: Uuid, campaign_id: Uuid) -> AppResult<Vec<pledge::Model>> {
    Ok(pledge::Entity::find()
        .filter(pledge::Column::CampaignId.eq(campaign_id))
        .filter(pledge::Column::BackerId.eq(user_id))
        .order_by_desc(pledge::Column::CreatedAt)
        .limit(100)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_match_never_passes_its_cap_or_the_fund() {
        // £1 for £1.
        assert_eq!(match_for(Pence(2_500), 100, Pence(100_000), Pence(100_000)), Pence(2_500));
        // 50p in the pound, rounded down to the penny.
        assert_eq!(match_for(Pence(1_001), 50, Pence(100_000), Pence(100_000)), Pence(500));
        // Two for one, up to what is left of the cap, then of the fund.
        assert_eq!(match_for(Pence(5_000), 200, Pence(7_000), Pence(100_000)), Pence(7_000));
        assert_eq!(match_for(Pence(5_000), 200, Pence(70_000), Pence(3_000)), Pence(3_000));
        assert_eq!(match_for(Pence(5_000), 100, Pence(0), Pence(3_000)), Pence(0));
        assert_eq!(match_for(Pence(i64::MAX), 1_000, Pence(i64::MAX), Pence(i64::MAX)), Pence(i64::MAX));
    }
}

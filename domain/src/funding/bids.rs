//! Bids: a project asks a fund for money. The organisation's members write and submit them; the fund's deciders
//! review, score (a panel), approve or reject them, never for an organisation they belong to or a bid they declared
//! an interest in; its administrators record payments; the bidder completes it with a monitoring report. Each step
//! is one conditional UPDATE on the bid's status, so two deciders racing cannot both decide it.
use chrono::{Months, NaiveDate};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set, TransactionSession, TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::funds::{self, administers, append, decides, give_available, in_year, take_available};
use super::{BidStatus, DecisionMode, FundKind, FundRule, LedgerKind, Rules};
use crate::access::{self, AuthUser, Viewer};
use crate::audit::{self, Actor, AuditAction};
use crate::error::{AppError, AppResult};
use crate::now;
use crate::partnerships::priorities::PriorityStatus;
use crate::store::page::{Cursor, Page, PageRows, SortKey};
use crate::values::{FinancialYear, Patch, Pence, bounded_text};
use entity::{
    bid, bid_contribution, bid_interest, bid_score, community_partnership, fund, fund_decider, priority, project, ward,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// What the money is for ("Defibrillator and cabinet"), or where match funding comes from.
    pub label: String,
    pub amount: Pence,
}

#[derive(Clone, Debug)]
pub struct NewBid {
    pub fund_id: Uuid,
    pub project_id: Uuid,
    pub title: String,
    pub purpose: String,
    pub amount_requested: Pence,
    pub budget_lines: Vec<Line>,
    pub priority_ids: Vec<Uuid>,
    pub expected_outcomes: String,
    pub match_funding: Vec<Line>,
    pub event_date: Option<NaiveDate>,
}

/// A change to a draft bid; `None` and `Patch::Keep` keep a field.
#[derive(Clone, Debug, Default)]
pub struct BidPatch {
    pub title: Option<String>,
    pub purpose: Option<String>,
    pub amount_requested: Option<Pence>,
    pub budget_lines: Option<Vec<Line>>,
    pub priority_ids: Option<Vec<Uuid>>,
    pub expected_outcomes: Option<String>,
    pub match_funding: Option<Vec<Line>>,
    pub event_date: Patch<NaiveDate>,
}

/// A panel member's score on one criterion.
#[derive(Clone, Debug)]
pub struct Score {
    pub criterion: String,
    pub score: i32,
}

/// A completed bid's monitoring report.
#[derive(Clone, Debug)]
pub struct Report {
    pub outcomes: String,
    pub volunteers_involved: i32,
    pub photo_urls: Vec<String>,
}

const MAX_LINES: usize = 30;

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<bid::Model> {
    bid::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("bid"))
}

pub fn status(bid: &bid::Model) -> BidStatus {
    BidStatus::from_db(&bid.status).unwrap_or(BidStatus::Withdrawn)
}

fn lines_json(field: &str, lines: &[Line]) -> AppResult<Value> {
    if lines.len() > MAX_LINES {
        return Err(AppError::bad_input(field, format!("at most {MAX_LINES} lines")));
    }
    let items = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let label = bounded_text(&format!("{field}[{i}].item"), &l.label, 1, 200)?;
            Ok(json!({ "item": label, "amount": l.amount.0 }))
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Value::Array(items))
}

/// Lines as stored: `[{item, amount}]`.
pub fn lines_of(value: &Value) -> Vec<Line> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| {
                    Some(Line { label: i.get("item")?.as_str()?.to_owned(), amount: Pence(i.get("amount")?.as_i64()?) })
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn priority_ids_of(bid: &bid::Model) -> Vec<Uuid> {
    bid.priority_ids
        .as_array()
        .map(|ids| ids.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

fn check_amount(field: &str, amount: Pence) -> AppResult<()> {
    if amount.0 <= 0 {
        return Err(AppError::bad_input(field, "must be more than zero"));
    }
    Ok(())
}

/// Budget lines, when given, add up to the amount asked for.
fn check_budget(amount: Pence, lines: &[Line]) -> AppResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let total = lines.iter().try_fold(Pence(0), |t, l| t.checked_add(l.amount));
    if total != Some(amount) {
        return Err(AppError::bad_input(
            "input.budgetLines",
            format!(
                "add up to £{}, not the £{} asked for",
                total.unwrap_or_default().to_decimal(),
                amount.to_decimal()
            ),
        ));
    }
    Ok(())
}

async fn check_priorities(db: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Value> {
    let ids = crate::partnerships::priorities::check_tags(db, "input.priorityIds", ids, &[]).await?;
    Ok(Value::Array(ids.iter().map(|id| Value::String(id.to_string())).collect()))
}

/// Whether the actor may write the organisation's bids: any member (or platform admins).
async fn require_bidder(db: &impl ConnectionTrait, actor: &AuthUser, bid_org: Uuid) -> AppResult<()> {
    access::require_coordinator(db, actor, bid_org).await
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(db: &impl ConnectionTrait, actor: &AuthUser, new: NewBid) -> AppResult<bid::Model> {
    let project = crate::projects::service::get(db, new.project_id).await?;
    require_bidder(db, actor, project.organisation_id).await?;
    funds::get(db, new.fund_id).await?;
    let title = bounded_text("input.title", &new.title, 3, 140)?;
    let purpose = bounded_text("input.purpose", &new.purpose, 1, 5000)?;
    let outcomes = bounded_text("input.expectedOutcomes", &new.expected_outcomes, 0, 5000)?;
    check_amount("input.amountRequested", new.amount_requested)?;
    check_budget(new.amount_requested, &new.budget_lines)?;
    let now = now();
    Ok(bid::ActiveModel {
        id: Set(Uuid::now_v7()),
        fund_id: Set(new.fund_id),
        project_id: Set(project.id),
        organisation_id: Set(project.organisation_id),
        title: Set(title),
        purpose: Set(purpose),
        amount_requested: Set(new.amount_requested.0),
        budget_lines: Set(lines_json("input.budgetLines", &new.budget_lines)?),
        priority_ids: Set(check_priorities(db, &new.priority_ids).await?),
        expected_outcomes: Set(outcomes),
        match_funding: Set(lines_json("input.matchFunding", &new.match_funding)?),
        event_date: Set(new.event_date),
        status: Set(BidStatus::Draft.as_db().to_owned()),
        amount_awarded: Set(None),
        amount_paid: Set(0),
        conditions: Set(String::new()),
        rejection_reason: Set(String::new()),
        decided_by: Set(None),
        decided_at: Set(None),
        submitted_at: Set(None),
        report: Set(None),
        created_by: Set(Some(actor.id)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Changes a draft (a submitted bid is the deciders' to read as it was sent).
#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn update(db: &impl ConnectionTrait, actor: &AuthUser, id: Uuid, patch: BidPatch) -> AppResult<bid::Model> {
    let current = get(db, id).await?;
    require_bidder(db, actor, current.organisation_id).await?;
    if status(&current) != BidStatus::Draft {
        return Err(AppError::conflict("only a draft bid can be changed; withdraw it and start another"));
    }
    let amount = patch.amount_requested.unwrap_or(Pence(current.amount_requested));
    check_amount("input.amountRequested", amount)?;
    let lines = patch.budget_lines.clone().unwrap_or_else(|| lines_of(&current.budget_lines));
    check_budget(amount, &lines)?;
    let mut active = current.clone().into_active_model();
    if let Some(title) = &patch.title {
        active.title = Set(bounded_text("input.title", title, 3, 140)?);
    }
    if let Some(purpose) = &patch.purpose {
        active.purpose = Set(bounded_text("input.purpose", purpose, 1, 5000)?);
    }
    if let Some(outcomes) = &patch.expected_outcomes {
        active.expected_outcomes = Set(bounded_text("input.expectedOutcomes", outcomes, 0, 5000)?);
    }
    active.amount_requested = Set(amount.0);
    active.budget_lines = Set(lines_json("input.budgetLines", &lines)?);
    if let Some(lines) = &patch.match_funding {
        active.match_funding = Set(lines_json("input.matchFunding", lines)?);
    }
    if let Some(ids) = &patch.priority_ids {
        active.priority_ids = Set(check_priorities(db, ids).await?);
    }
    active.event_date = Set(patch.event_date.apply(current.event_date));
    active.updated_at = Set(now());
    // Only while it is still a draft: a submission racing this edit wins, and the edit is refused.
    let updated = bid::Entity::update_many()
        .set(active)
        .filter(bid::Column::Id.eq(id))
        .filter(bid::Column::Status.eq(BidStatus::Draft.as_db()))
        .exec_with_returning(db)
        .await?;
    updated.into_iter().next().ok_or_else(|| AppError::conflict("this bid is no longer a draft"))
}

/// The priorities a bid may address for its fund: those of the fund's year of the partnership that owns it, or of
/// the partnerships tied to the council that owns it.
async fn eligible_priorities(db: &impl ConnectionTrait, fund: &fund::Model) -> AppResult<Vec<priority::Model>> {
    let tied = Query::select()
        .column(community_partnership::Column::OrganisationId)
        .from(community_partnership::Entity)
        .and_where(community_partnership::Column::CouncilId.eq(fund.owner_id))
        .to_owned();
    Ok(priority::Entity::find()
        .filter(priority::Column::FinancialYear.eq(&fund.financial_year))
        .filter(priority::Column::Status.eq(PriorityStatus::Active.as_db()))
        .filter(
            Condition::any()
                .add(priority::Column::PartnershipId.eq(fund.owner_id))
                .add(priority::Column::PartnershipId.in_subquery(tied)),
        )
        .all(db)
        .await?)
}

/// Which of the fund's rules the bid fails, each with why; none when it may be submitted.
pub async fn eligibility(db: &impl ConnectionTrait, bid: &bid::Model) -> AppResult<Vec<(FundRule, String)>> {
    let fund = funds::get(db, bid.fund_id).await?;
    let rules = Rules::from_json(&fund.rules);
    let organisation = crate::organisations::get(db, bid.organisation_id).await?;
    let amount = Pence(bid.amount_requested);
    let today = now().date_naive();
    let mut failed = Vec::new();
    if let Some(min) = rules.min_award
        && amount < min
    {
        failed.push((
            FundRule::MinimumAward,
            format!("asks for £{}; the least this fund awards is £{}", amount.to_decimal(), min.to_decimal()),
        ));
    }
    if let Some(max) = rules.max_award
        && amount > max
    {
        failed.push((
            FundRule::MaximumAward,
            format!("asks for £{}; the most this fund awards is £{}", amount.to_decimal(), max.to_decimal()),
        ));
    }
    let year = FinancialYear::parse("financialYear", &fund.financial_year)?;
    let opens = rules.opens_on.unwrap_or(year.first_day());
    let closes = rules.closes_on.unwrap_or(if fund.rolls_over { NaiveDate::MAX } else { year.last_day() });
    if today < opens || today > closes || !in_year(&fund, today) {
        let when = if today < opens { format!("opens on {opens}") } else { format!("closed on {closes}") };
        failed.push((FundRule::FundOpen, format!("the fund {when}")));
    }
    if !rules.eligible_kinds.is_empty() && !rules.eligible_kinds.iter().any(|k| k.as_db() == organisation.kind) {
        let kinds: Vec<&str> = rules.eligible_kinds.iter().map(|k| k.as_db()).collect();
        failed.push((
            FundRule::OrganisationKind,
            format!("funds only {}; {} is {}", kinds.join(", "), organisation.name, organisation.kind),
        ));
    }
    if rules.requires_priority {
        let eligible = eligible_priorities(db, &fund).await?;
        let addressed = priority_ids_of(bid);
        if !eligible.iter().any(|p| addressed.contains(&p.id)) {
            let titles: Vec<&str> = eligible.iter().map(|p| p.title.as_str()).collect();
            let which = if titles.is_empty() { "none are agreed yet".to_owned() } else { titles.join("; ") };
            failed.push((
                FundRule::Priority,
                format!("must address one of the {} priorities: {which}", fund.financial_year),
            ));
        }
    }
    if let (Some(days), Some(event)) = (rules.min_days_ahead, bid.event_date)
        && (event - today).num_days() < i64::from(days)
    {
        failed.push((FundRule::Notice, format!("the event on {event} is less than {days} days away")));
    }
    Ok(failed)
}

/// Whether the decider has a conflict: a member of the bidding organisation, or an interest they declared.
pub async fn conflicted(db: &impl ConnectionTrait, actor: &AuthUser, bid: &bid::Model) -> AppResult<bool> {
    if access::member_role(db, actor, bid.organisation_id).await?.is_some() {
        return Ok(true);
    }
    Ok(bid_interest::Entity::find_by_id((bid.id, actor.id)).one(db).await?.is_some())
}

/// Moves a bid from one of `from` to `to`, setting `changes` too, in one conditional statement: the bid as it then
/// is, or CONFLICT when someone moved it first.
async fn transition(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: &[BidStatus],
    to: BidStatus,
    changes: bid::ActiveModel,
) -> AppResult<bid::Model> {
    let mut changes = changes;
    changes.status = Set(to.as_db().to_owned());
    changes.updated_at = Set(now());
    let moved = bid::Entity::update_many()
        .set(changes)
        .filter(bid::Column::Id.eq(id))
        .filter(bid::Column::Status.is_in(from.iter().map(|s| s.as_db())))
        .exec_with_returning(db)
        .await?;
    moved
        .into_iter()
        .next()
        .ok_or_else(|| AppError::conflict(format!("this bid cannot become {} from where it is", to.as_db())))
}

fn unchanged() -> bid::ActiveModel {
    bid::ActiveModel { ..Default::default() }
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn submit(db: &impl ConnectionTrait, actor: &AuthUser, id: Uuid) -> AppResult<bid::Model> {
    let bid = get(db, id).await?;
    require_bidder(db, actor, bid.organisation_id).await?;
    let failed = eligibility(db, &bid).await?;
    if !failed.is_empty() {
        let why: Vec<String> = failed.iter().map(|(rule, why)| format!("{}: {why}", rule.as_db())).collect();
        return Err(AppError::bad_input("input.bidId", format!("not eligible: {}", why.join("; "))));
    }
    let changes = bid::ActiveModel { submitted_at: Set(Some(now())), ..unchanged() };
    transition(db, id, &[BidStatus::Draft], BidStatus::Submitted, changes).await
}

/// What is still committed to an approved bid, given back to its fund.
async fn release_rest(db: &impl ConnectionTrait, actor: &AuthUser, bid: &bid::Model, memo: &str) -> AppResult<()> {
    // Each fund gets back what it committed and did not pay.
    for part in contributions(db, bid.id).await?.into_iter().filter(|c| c.committed) {
        let rest = part.amount_pence - part.paid_pence;
        if rest > 0 {
            give_available(db, part.fund_id, Pence(rest)).await?;
            append(db, part.fund_id, LedgerKind::Release, Pence(rest), Some(bid.id), Some(actor.id), memo).await?;
        }
    }
    Ok(())
}

/// A bid's parts: its own fund's and those pooled into it, by fund.
pub async fn contributions(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Vec<bid_contribution::Model>> {
    Ok(bid_contribution::Entity::find()
        .filter(bid_contribution::Column::BidId.eq(id))
        .order_by_asc(bid_contribution::Column::FundId)
        .all(db)
        .await?)
}

/// Another fund's decider pledges part of their fund to a bid under consideration (several ward members funding one
/// project together). Nothing moves until the bid's own fund approves it: then every part commits, or none does.
/// Pledging again replaces the amount.
#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn pledge(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    fund_id: Uuid,
    amount: Pence,
) -> AppResult<bid::Model> {
    let bid = get(db, id).await?;
    if fund_id == bid.fund_id {
        return Err(AppError::bad_input("input.fundId", "is the bid's own fund: its part is what approveBid awards"));
    }
    let fund = funds::get(db, fund_id).await?;
    let own = funds::get(db, bid.fund_id).await?;
    // Pooling is ward members funding one project from their budgets: ward budgets of the bid's fund's council.
    if fund.kind != FundKind::WardBudget.as_db() || fund.owner_id != own.owner_id {
        return Err(AppError::bad_input(
            "input.fundId",
            "only a ward budget of the same council as the bid's fund can be pooled into it",
        ));
    }
    if !decides(db, actor, &fund).await? {
        return Err(AppError::forbidden("only a fund's deciders pledge its money"));
    }
    if conflicted(db, actor, &bid).await? {
        return Err(AppError::forbidden("you have an interest in this bid: you cannot fund it"));
    }
    if amount.0 == 0 {
        // A pledge of nothing takes the pledge back.
        let txn = db.begin().await?;
        hold(&txn, id, &[BidStatus::Submitted, BidStatus::UnderReview]).await?;
        bid_contribution::Entity::delete_by_id((id, fund_id)).exec(&txn).await?;
        txn.commit().await?;
        return get(db, id).await;
    }
    check_amount("input.amount", amount)?;
    if amount.0 > bid.amount_requested {
        return Err(AppError::bad_input("input.amount", "must not be more than the bid asked for"));
    }
    let rules = Rules::from_json(&fund.rules);
    if rules.max_award.is_some_and(|max| amount > max) {
        return Err(AppError::bad_input("input.amount", "must be within this fund's maximum award"));
    }
    if !in_year(&fund, now().date_naive()) {
        return Err(AppError::conflict(format!("the fund's year {} is over", fund.financial_year)));
    }
    let row = bid_contribution::ActiveModel {
        bid_id: Set(id),
        fund_id: Set(fund_id),
        amount_pence: Set(amount.0),
        paid_pence: Set(0),
        committed: Set(false),
        pledged_by: Set(Some(actor.id)),
        created_at: Set(now()),
    };
    let upsert =
        sea_orm::sea_query::OnConflict::columns([bid_contribution::Column::BidId, bid_contribution::Column::FundId])
            .update_columns([bid_contribution::Column::AmountPence, bid_contribution::Column::PledgedBy])
            .to_owned();
    let txn = db.begin().await?;
    hold(&txn, id, &[BidStatus::Submitted, BidStatus::UnderReview]).await?;
    // Others' pledges and this one must leave the bid's own fund a part: it is that fund that decides the award.
    let others = contributions(&txn, id)
        .await?
        .iter()
        .filter(|c| c.fund_id != fund_id)
        .try_fold(0i64, |sum, c| sum.checked_add(c.amount_pence))
        .unwrap_or(i64::MAX);
    if others.saturating_add(amount.0) >= bid.amount_requested {
        return Err(AppError::bad_input(
            "input.amount",
            "with the other pledges, must leave part of the bid to its own fund",
        ));
    }
    bid_contribution::Entity::insert(row).on_conflict(upsert).exec(&txn).await?;
    txn.commit().await?;
    get(db, id).await
}

/// The bidder withdraws it; an approved bid withdrawn gives back what was not yet paid.
#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn withdraw(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
) -> AppResult<bid::Model> {
    let bid = get(db, id).await?;
    require_bidder(db, actor, bid.organisation_id).await?;
    // Money paid is public money spent: such a bid is completed with its report, never withdrawn out of sight.
    let from = [BidStatus::Draft, BidStatus::Submitted, BidStatus::UnderReview, BidStatus::Approved];
    let txn = db.begin().await?;
    let withdrawn = bid::Entity::update_many()
        .col_expr(bid::Column::Status, Expr::value(BidStatus::Withdrawn.as_db()))
        .col_expr(bid::Column::UpdatedAt, Expr::value(now()))
        .filter(bid::Column::Id.eq(id))
        .filter(bid::Column::Status.is_in(from.iter().map(|s| s.as_db())))
        .filter(bid::Column::AmountPaid.eq(0))
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::conflict("this bid is decided or has been paid: complete it with its report instead")
        })?;
    // Decided from the row as withdrawn, not as read before: an approval may have landed in between.
    if withdrawn.amount_awarded.is_some() {
        release_rest(&txn, actor, &withdrawn, "withdrawn by the bidder").await?;
        let detail = format!("bid {} withdrawn after approval", bid.title);
        audit::record(&txn, Actor::user(actor.id), AuditAction::BidDecided, None, &["bid.status"], detail).await?;
    }
    txn.commit().await?;
    Ok(withdrawn)
}

/// A decider (not conflicted) acting on a bid: the bid and its fund.
async fn as_decider(db: &impl ConnectionTrait, actor: &AuthUser, id: Uuid) -> AppResult<(bid::Model, fund::Model)> {
    let bid = get(db, id).await?;
    let fund = funds::get(db, bid.fund_id).await?;
    if !decides(db, actor, &fund).await? {
        return Err(AppError::forbidden("only the fund's deciders decide its bids"));
    }
    if conflicted(db, actor, &bid).await? {
        return Err(AppError::forbidden(
            "you have an interest in this bid (its organisation, or one you declared): another decider must act",
        ));
    }
    Ok((bid, fund))
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn start_review(db: &impl ConnectionTrait, actor: &AuthUser, id: Uuid) -> AppResult<bid::Model> {
    as_decider(db, actor, id).await?;
    transition(db, id, &[BidStatus::Submitted], BidStatus::UnderReview, unchanged()).await
}

/// A panel member scores a bid under review, every criterion 1 to 5; scoring again replaces their scores.
#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn score(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    scores: Vec<Score>,
    comment: &str,
) -> AppResult<bid_score::Model> {
    let (bid, fund) = as_decider(db, actor, id).await?;
    if fund.decision_mode != DecisionMode::Panel.as_db() {
        return Err(AppError::bad_input("input.bidId", "this fund is decided by one person, not scored by a panel"));
    }
    if status(&bid) != BidStatus::UnderReview {
        return Err(AppError::conflict("a bid is scored while it is under review"));
    }
    let criteria = Rules::from_json(&fund.rules).criteria;
    let mut out = Vec::new();
    for criterion in &criteria {
        let given: Vec<&Score> = scores.iter().filter(|s| &s.criterion == criterion).collect();
        match given.as_slice() {
            [one] if (1..=5).contains(&one.score) => out.push(json!({ "criterion": criterion, "score": one.score })),
            [_] => return Err(AppError::bad_input("input.scores", format!("“{criterion}” must be scored 1 to 5"))),
            _ => return Err(AppError::bad_input("input.scores", format!("score “{criterion}” once"))),
        }
    }
    if scores.len() != criteria.len() {
        return Err(AppError::bad_input(
            "input.scores",
            format!("score exactly these criteria: {}", criteria.join("; ")),
        ));
    }
    let comment = bounded_text("input.comment", comment, 0, 2000)?;
    let row = bid_score::ActiveModel {
        bid_id: Set(bid.id),
        user_id: Set(actor.id),
        scores: Set(Value::Array(out)),
        comment: Set(comment),
        created_at: Set(now()),
    };
    let upsert = sea_orm::sea_query::OnConflict::columns([bid_score::Column::BidId, bid_score::Column::UserId])
        .update_columns([bid_score::Column::Scores, bid_score::Column::Comment, bid_score::Column::CreatedAt])
        .to_owned();
    // Only while the bid is still under review: a decision that commits first wins, and the score is refused.
    let txn = db.begin().await?;
    hold(&txn, id, &[BidStatus::UnderReview]).await?;
    still_free(&txn, actor, id).await?;
    bid_score::Entity::insert(row).on_conflict(upsert).exec(&txn).await?;
    txn.commit().await?;
    bid_score::Entity::find_by_id((bid.id, actor.id)).one(db).await?.ok_or_else(|| AppError::not_found("score"))
}

/// With the bid's row held: refuses a decider who declared an interest since they were first checked.
async fn still_free(db: &impl ConnectionTrait, actor: &AuthUser, id: Uuid) -> AppResult<()> {
    if bid_interest::Entity::find_by_id((id, actor.id)).one(db).await?.is_some() {
        return Err(AppError::forbidden("you have declared an interest in this bid: another decider must act"));
    }
    Ok(())
}

/// Holds the bid's row for the rest of the transaction, if its status is one of `statuses` (else CONFLICT): what
/// scores, interests and decisions each do first, so that they happen one after another, never across each other.
async fn hold(db: &impl ConnectionTrait, id: Uuid, statuses: &[BidStatus]) -> AppResult<()> {
    let held = bid::Entity::update_many()
        .col_expr(bid::Column::UpdatedAt, Expr::value(now()))
        .filter(bid::Column::Id.eq(id))
        .filter(bid::Column::Status.is_in(statuses.iter().map(|s| s.as_db())))
        .exec(db)
        .await?;
    if held.rows_affected == 0 {
        return Err(AppError::conflict("this bid has moved on (decided, or no longer open to this)"));
    }
    Ok(())
}

/// A panel decides once a quorum of its members have scored the bid.
async fn require_quorum(db: &impl ConnectionTrait, fund: &fund::Model, id: Uuid) -> AppResult<()> {
    let scored = scores(db, id).await?.len();
    if i32::try_from(scored).unwrap_or(i32::MAX) < fund.quorum {
        return Err(AppError::conflict(format!(
            "the panel needs {} scores before it decides; it has {scored}",
            fund.quorum
        )));
    }
    Ok(())
}

/// A bid's scores, by panel member, oldest first.
pub async fn scores(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Vec<bid_score::Model>> {
    Ok(bid_score::Entity::find().filter(bid_score::Column::BidId.eq(id)).all(db).await?)
}

/// Approves a bid: the award is committed on the fund in the same transaction, only if the fund has it.
#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn approve(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    amount: Option<Pence>,
    conditions: &str,
) -> AppResult<bid::Model> {
    let (bid, fund) = as_decider(db, actor, id).await?;
    // Parts other funds pledged are awarded with this fund's, which is what is asked for less them by default.
    let pledged: i64 =
        contributions(db, id).await?.iter().filter(|c| c.fund_id != fund.id).map(|c| c.amount_pence).sum();
    let amount = amount.unwrap_or(Pence(std::cmp::max(bid.amount_requested - pledged, 0)));
    check_amount("input.amount", amount)?;
    if amount.0.saturating_add(pledged) > bid.amount_requested {
        return Err(AppError::bad_input(
            "input.amount",
            "with what other funds pledged, must not be more than the bid asked for",
        ));
    }
    let rules = Rules::from_json(&fund.rules);
    if rules.max_award.is_some_and(|max| amount > max) || rules.min_award.is_some_and(|min| amount < min) {
        return Err(AppError::bad_input("input.amount", "must be within the fund's minimum and maximum award"));
    }
    if !in_year(&fund, now().date_naive()) {
        return Err(AppError::conflict(format!(
            "the fund's year {} is over and its money has lapsed",
            fund.financial_year
        )));
    }
    if fund.decision_mode == DecisionMode::Panel.as_db() {
        require_quorum(db, &fund, id).await?;
    }
    let conditions = bounded_text("input.conditions", conditions, 0, 2000)?;
    let now = now();
    let txn = db.begin().await?;
    let changes = bid::ActiveModel {
        amount_awarded: Set(Some(amount.0 + pledged)),
        conditions: Set(conditions),
        decided_by: Set(Some(actor.id)),
        decided_at: Set(Some(now)),
        ..unchanged()
    };
    let approved =
        transition(&txn, id, &[BidStatus::Submitted, BidStatus::UnderReview], BidStatus::Approved, changes).await?;
    still_free(&txn, actor, id).await?;
    // Counted again with the bid's row held: no interest declared meanwhile has taken a score away.
    if fund.decision_mode == DecisionMode::Panel.as_db() {
        require_quorum(&txn, &fund, id).await?;
    }
    // This fund's part, then every pledged part, each taken from its fund in fund order (so that concurrent
    // pooled awards queue rather than deadlock); one fund short and the whole award rolls back.
    let own = bid_contribution::ActiveModel {
        bid_id: Set(id),
        fund_id: Set(fund.id),
        amount_pence: Set(amount.0),
        paid_pence: Set(0),
        committed: Set(false),
        pledged_by: Set(Some(actor.id)),
        created_at: Set(now),
    };
    let upsert =
        sea_orm::sea_query::OnConflict::columns([bid_contribution::Column::BidId, bid_contribution::Column::FundId])
            .update_columns([bid_contribution::Column::AmountPence, bid_contribution::Column::PledgedBy])
            .to_owned();
    bid_contribution::Entity::insert(own).on_conflict(upsert).exec(&txn).await?;
    // Read again with the bid held: a pledge made since the check above is part of the award too.
    let parts = contributions(&txn, id).await?;
    let total: i64 = parts.iter().map(|p| p.amount_pence).sum();
    if total > bid.amount_requested {
        return Err(AppError::bad_input(
            "input.amount",
            "with what other funds pledged, must not be more than the bid asked for",
        ));
    }
    for part in parts {
        let part_fund = if part.fund_id == fund.id { fund.clone() } else { funds::get(&txn, part.fund_id).await? };
        if part.fund_id != fund.id {
            // The pledge stands only while its fund is in its year and its pledger still decides it.
            let pledger =
                AuthUser { id: part.pledged_by.unwrap_or_default(), role: crate::users::PlatformRole::Member };
            if !in_year(&part_fund, now.date_naive()) || !decides(&txn, &pledger, &part_fund).await? {
                return Err(AppError::conflict(format!(
                    "the pledge from {} no longer stands (its year is over, or its pledger no longer decides it)",
                    part_fund.name
                )));
            }
        }
        take_available(&txn, part.fund_id, Pence(part.amount_pence)).await.map_err(|e| match e {
            AppError::Conflict(_) => AppError::conflict(format!(
                "{} does not have its part (£{}) available",
                part_fund.name,
                Pence(part.amount_pence).to_decimal()
            )),
            other => other,
        })?;
        let memo = if part.fund_id == fund.id {
            format!("awarded to {}", bid.title)
        } else {
            format!("pooled award to {}", bid.title)
        };
        append(&txn, part.fund_id, LedgerKind::Commitment, Pence(part.amount_pence), Some(id), Some(actor.id), &memo)
            .await?;
    }
    bid_contribution::Entity::update_many()
        .col_expr(bid_contribution::Column::Committed, Expr::value(true))
        .filter(bid_contribution::Column::BidId.eq(id))
        .exec(&txn)
        .await?;
    let approved = bid::Entity::update_many()
        .col_expr(bid::Column::AmountAwarded, Expr::value(total))
        .filter(bid::Column::Id.eq(id))
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .next()
        .unwrap_or(approved);
    let detail = format!("approved {} from {}: £{}", bid.title, fund.name, amount.to_decimal());
    audit::record(&txn, Actor::user(actor.id), AuditAction::BidDecided, None, &["bid.status"], detail).await?;
    txn.commit().await?;
    Ok(approved)
}

#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn reject(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    reason: &str,
) -> AppResult<bid::Model> {
    let (bid, fund) = as_decider(db, actor, id).await?;
    let reason = bounded_text("input.reason", reason, 3, 2000)?;
    let from: &[BidStatus] = if fund.decision_mode == DecisionMode::Panel.as_db() {
        require_quorum(db, &fund, id).await?;
        &[BidStatus::UnderReview]
    } else {
        &[BidStatus::Submitted, BidStatus::UnderReview]
    };
    let txn = db.begin().await?;
    let changes = bid::ActiveModel {
        rejection_reason: Set(reason.clone()),
        decided_by: Set(Some(actor.id)),
        decided_at: Set(Some(now())),
        ..unchanged()
    };
    let rejected = transition(&txn, id, from, BidStatus::Rejected, changes).await?;
    still_free(&txn, actor, id).await?;
    if fund.decision_mode == DecisionMode::Panel.as_db() {
        require_quorum(&txn, &fund, id).await?;
    }
    let detail = format!("rejected {} to {}: {reason}", bid.title, fund.name);
    audit::record(&txn, Actor::user(actor.id), AuditAction::BidDecided, None, &["bid.status"], detail).await?;
    txn.commit().await?;
    Ok(rejected)
}

/// The fund's administrators record a payment against an approved award, never past it.
#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn record_payment(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    amount: Pence,
    from_fund: Option<Uuid>,
    memo: &str,
) -> AppResult<bid::Model> {
    use bid::Column as C;
    let bid = get(db, id).await?;
    let fund = funds::get(db, from_fund.unwrap_or(bid.fund_id)).await?;
    if !administers(db, actor, &fund).await? {
        return Err(AppError::forbidden("only the fund's administrators record payments"));
    }
    check_amount("input.amount", amount)?;
    let memo = bounded_text("input.memo", memo, 0, 500)?;
    let txn = db.begin().await?;
    let paid = bid::Entity::update_many()
        .col_expr(C::AmountPaid, Expr::col(C::AmountPaid).add(amount.0))
        .col_expr(C::Status, Expr::value(BidStatus::Paid.as_db()))
        .col_expr(C::UpdatedAt, Expr::value(now()))
        .filter(C::Id.eq(id))
        .filter(C::Status.is_in([BidStatus::Approved.as_db(), BidStatus::Paid.as_db()]))
        .filter(Expr::col(C::AmountAwarded).sub(Expr::col(C::AmountPaid)).gte(amount.0))
        .exec_with_returning(&txn)
        .await?;
    let Some(paid) = paid.into_iter().next() else {
        return Err(AppError::conflict("the bid is not approved, or that is more than is left of its award"));
    };
    // And never more than this fund's own part.
    let part = bid_contribution::Entity::update_many()
        .col_expr(bid_contribution::Column::PaidPence, Expr::col(bid_contribution::Column::PaidPence).add(amount.0))
        .filter(bid_contribution::Column::BidId.eq(id))
        .filter(bid_contribution::Column::FundId.eq(fund.id))
        .filter(bid_contribution::Column::Committed.eq(true))
        .filter(
            Expr::col(bid_contribution::Column::AmountPence)
                .sub(Expr::col(bid_contribution::Column::PaidPence))
                .gte(amount.0),
        )
        .exec(&txn)
        .await?;
    if part.rows_affected == 0 {
        return Err(AppError::conflict(format!("that is more than is left of {}'s part of the award", fund.name)));
    }
    let memo = if memo.is_empty() { format!("paid to {}", bid.title) } else { memo };
    append(&txn, fund.id, LedgerKind::Payment, amount, Some(id), Some(actor.id), &memo).await?;
    let detail = format!("paid £{} of {} from {}", amount.to_decimal(), bid.title, fund.name);
    audit::record(&txn, Actor::user(actor.id), AuditAction::BidDecided, None, &["bid.payment"], detail).await?;
    txn.commit().await?;
    Ok(paid)
}

fn report_json(report: &Report) -> AppResult<Value> {
    let outcomes = bounded_text("input.report.outcomes", &report.outcomes, 3, 5000)?;
    if !(0..=100_000).contains(&report.volunteers_involved) {
        return Err(AppError::bad_input("input.report.volunteersInvolved", "must be between 0 and 100000"));
    }
    if report.photo_urls.len() > 10 {
        return Err(AppError::bad_input("input.report.photoUrls", "at most 10"));
    }
    for (i, url) in report.photo_urls.iter().enumerate() {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://"))
            || url.len() > 500
            || url.chars().any(char::is_whitespace)
        {
            return Err(AppError::bad_input(
                format!("input.report.photoUrls[{i}]"),
                "must be a web address (https://…)",
            ));
        }
    }
    Ok(
        json!({ "outcomes": outcomes, "volunteersInvolved": report.volunteers_involved, "photoUrls": report.photo_urls }),
    )
}

/// The bidder completes a funded bid with its monitoring report; what was not paid goes back to the fund.
#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn complete(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    report: Report,
) -> AppResult<bid::Model> {
    let bid = get(db, id).await?;
    require_bidder(db, actor, bid.organisation_id).await?;
    let report = report_json(&report)?;
    let txn = db.begin().await?;
    let changes = bid::ActiveModel { report: Set(Some(report)), ..unchanged() };
    let completed =
        transition(&txn, id, &[BidStatus::Approved, BidStatus::Paid], BidStatus::Completed, changes).await?;
    release_rest(&txn, actor, &completed, "completed: the rest of the award released").await?;
    let detail = format!("completed {}", bid.title);
    audit::record(&txn, Actor::user(actor.id), AuditAction::BidDecided, None, &["bid.status"], detail).await?;
    txn.commit().await?;
    Ok(completed)
}

/// A decider declares an interest: from then on they neither score nor decide the bid (a score they gave goes).
#[tracing::instrument(skip_all, fields(actor = %actor.id, bid = %id))]
pub async fn declare_interest(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    reason: &str,
) -> AppResult<bid::Model> {
    let bid = get(db, id).await?;
    let fund = funds::get(db, bid.fund_id).await?;
    if !(decides(db, actor, &fund).await? || administers(db, actor, &fund).await?) {
        return Err(AppError::forbidden("only the fund's deciders and administrators declare interests in its bids"));
    }
    let reason = bounded_text("input.reason", reason, 3, 1000)?;
    // After the decision the scores it rested on stay as they were.
    if !matches!(status(&bid), BidStatus::Draft | BidStatus::Submitted | BidStatus::UnderReview) {
        return Err(AppError::conflict("this bid is decided; interests are declared before the decision"));
    }
    let row = bid_interest::ActiveModel {
        bid_id: Set(id),
        user_id: Set(actor.id),
        reason: Set(reason),
        created_at: Set(now()),
    };
    let upsert = sea_orm::sea_query::OnConflict::columns([bid_interest::Column::BidId, bid_interest::Column::UserId])
        .update_column(bid_interest::Column::Reason)
        .to_owned();
    let txn = db.begin().await?;
    hold(&txn, id, &[BidStatus::Draft, BidStatus::Submitted, BidStatus::UnderReview]).await?;
    bid_interest::Entity::insert(row).on_conflict(upsert).exec(&txn).await?;
    bid_score::Entity::delete_by_id((id, actor.id)).exec(&txn).await?;
    txn.commit().await?;
    Ok(bid)
}

/// Whether the viewer may see a bid: approved grants are public; the rest only to the bidder's members, the fund's
/// deciders and administrators.
pub async fn may_see(db: &impl ConnectionTrait, viewer: &Viewer, bid: &bid::Model) -> AppResult<bool> {
    // Memberships and the fund are read only for a bid that is not public.
    Ok(access::may_see_bid(status(bid), false, false)
        || access::may_see_bid(
            status(bid),
            viewer.is_member_of(db, bid.organisation_id).await?,
            is_decider_or_administrator(db, viewer, bid).await?,
        ))
}

/// Whether the viewer decides or administers the bid's fund (for scores, interests and fit).
pub async fn is_decider_or_administrator(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    bid: &bid::Model,
) -> AppResult<bool> {
    let Ok(actor) = viewer.require_user() else { return Ok(false) };
    let fund = funds::get(db, bid.fund_id).await?;
    if decides(db, &actor, &fund).await? || administers(db, &actor, &fund).await? {
        return Ok(true);
    }
    // Those who pledged a part of their fund to it.
    Ok(bid_contribution::Entity::find()
        .filter(bid_contribution::Column::BidId.eq(bid.id))
        .filter(bid_contribution::Column::PledgedBy.eq(actor.id))
        .one(db)
        .await?
        .is_some())
}

/// Whether the viewer may read the deliberations on a bid (the panel's scores, its fit): the fund's deciders and
/// administrators without a conflict of interest in it, and platform admins.
pub async fn may_deliberate(db: &impl ConnectionTrait, viewer: &Viewer, bid: &bid::Model) -> AppResult<bool> {
    let Ok(actor) = viewer.require_user() else { return Ok(false) };
    if actor.is_admin() {
        return Ok(true);
    }
    Ok(is_decider_or_administrator(db, viewer, bid).await? && !conflicted(db, &actor, bid).await?)
}

#[derive(Clone, Debug, Default)]
pub struct BidFilter {
    pub fund_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    /// Bids to the partnership's funds, or for projects in its wards.
    pub partnership_id: Option<Uuid>,
    /// Bids for projects in the ward.
    pub ward_id: Option<Uuid>,
    pub status: Option<BidStatus>,
}

/// The funds whose private bids the viewer may see: theirs to decide or administer.
fn funds_of(user: Uuid, managed: Vec<Uuid>) -> Condition {
    let panels = Query::select()
        .column(fund_decider::Column::FundId)
        .from(fund_decider::Entity)
        .and_where(fund_decider::Column::UserId.eq(user))
        .to_owned();
    let mine = Query::select()
        .column(fund::Column::Id)
        .from(fund::Entity)
        .cond_where(Condition::any().add(fund::Column::HolderId.eq(user)).add(fund::Column::OwnerId.is_in(managed)))
        .to_owned();
    Condition::any().add(bid::Column::FundId.in_subquery(panels)).add(bid::Column::FundId.in_subquery(mine))
}

/// A page of bids, newest first, each with its cursor, and the statement that counts them: approved grants for
/// everyone, the rest for those who may see them.
pub async fn list(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    filter: &BidFilter,
    page: &Page,
) -> AppResult<(PageRows<(Cursor, bid::Model)>, SelectStatement)> {
    use bid::Column as C;
    let public: Vec<&str> = BidStatus::ALL.iter().filter(|s| s.is_public()).map(|s| s.as_db()).collect();
    let mut visible = Condition::any().add(C::Status.is_in(public));
    if viewer.is_admin() {
        visible = Condition::all();
    } else if let Some(user) = viewer.user_id() {
        let memberships = viewer.memberships(db).await?;
        let mine: Vec<Uuid> = memberships.keys().copied().collect();
        let managed: Vec<Uuid> = memberships
            .iter()
            .filter(|(_, role)| {
                matches!(role, crate::organisations::MemberRole::Owner | crate::organisations::MemberRole::Admin)
            })
            .map(|(id, _)| *id)
            .collect();
        visible = visible.add(C::OrganisationId.is_in(mine)).add(funds_of(user, managed));
    }
    let mut cond = Condition::all().add(visible);
    if let Some(fund) = filter.fund_id {
        cond = cond.add(C::FundId.eq(fund));
    }
    if let Some(org) = filter.organisation_id {
        cond = cond.add(C::OrganisationId.eq(org));
    }
    if let Some(project) = filter.project_id {
        cond = cond.add(C::ProjectId.eq(project));
    }
    if let Some(status) = filter.status {
        cond = cond.add(C::Status.eq(status.as_db()));
    }
    let projects_in = |wards: SelectStatement| {
        Query::select()
            .column(project::Column::Id)
            .from(project::Entity)
            .and_where(project::Column::WardId.in_subquery(wards))
            .to_owned()
    };
    if let Some(ward) = filter.ward_id {
        let one =
            Query::select().column(ward::Column::Id).from(ward::Entity).and_where(ward::Column::Id.eq(ward)).to_owned();
        cond = cond.add(C::ProjectId.in_subquery(projects_in(one)));
    }
    if let Some(partnership) = filter.partnership_id {
        let wards = Query::select()
            .column(ward::Column::Id)
            .from(ward::Entity)
            .and_where(ward::Column::PartnershipId.eq(partnership))
            .to_owned();
        let its_funds = Query::select()
            .column(fund::Column::Id)
            .from(fund::Entity)
            .and_where(fund::Column::OwnerId.eq(partnership))
            .to_owned();
        cond = cond.add(
            Condition::any().add(C::FundId.in_subquery(its_funds)).add(C::ProjectId.in_subquery(projects_in(wards))),
        );
    }
    let select = bid::Entity::find().filter(cond).into_query();
    let count = select.clone();
    let sort = SortKey::newest("bids:NEWEST", (bid::Entity, C::CreatedAt), (bid::Entity, C::Id));
    let rows = sort.page(db, select, page, |b: &bid::Model| (b.created_at, b.id)).await?;
    Ok((rows, count))
}

/// What deciders weigh beside the bid: the priorities it meets, its ward's deprivation, and what its organisation
/// was awarded in the last three years.
pub struct Fit {
    pub priorities_met: Vec<priority::Model>,
    pub ward: Option<ward::Model>,
    pub awarded_last_three_years: Pence,
    pub failed_rules: Vec<(FundRule, String)>,
}

pub async fn fit(db: &impl ConnectionTrait, viewer: &Viewer, id: Uuid) -> AppResult<Fit> {
    let bid = get(db, id).await?;
    if !may_deliberate(db, viewer, &bid).await? {
        return Err(AppError::forbidden(
            "only the fund's deciders and administrators, without an interest in the bid, see how it fits",
        ));
    }
    let fund = funds::get(db, bid.fund_id).await?;
    let addressed = priority_ids_of(&bid);
    let priorities_met =
        eligible_priorities(db, &fund).await?.into_iter().filter(|p| addressed.contains(&p.id)).collect();
    let project = crate::projects::service::get(db, bid.project_id).await?;
    let ward = match project.ward_id {
        Some(w) => ward::Entity::find_by_id(w).one(db).await?,
        None => None,
    };
    let since = now().checked_sub_months(Months::new(36)).unwrap_or(now());
    let awarded: Option<i64> = bid::Entity::find()
        .select_only()
        .column_as(Expr::col(bid::Column::AmountAwarded).sum().cast_as("BIGINT"), "total")
        .filter(bid::Column::OrganisationId.eq(bid.organisation_id))
        .filter(bid::Column::Status.is_in([
            BidStatus::Approved.as_db(),
            BidStatus::Paid.as_db(),
            BidStatus::Completed.as_db(),
        ]))
        .filter(bid::Column::DecidedAt.gte(since))
        .into_tuple()
        .one(db)
        .await?
        .flatten();
    Ok(Fit {
        priorities_met,
        ward,
        awarded_last_three_years: Pence(awarded.unwrap_or(0)),
        failed_rules: eligibility(db, &bid).await?,
    })
}

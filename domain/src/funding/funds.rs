//! Funds and their ledger. A fund's money moves only by appending ledger entries, each in the same transaction as a
//! conditional UPDATE of the fund's `available_pence`: that one statement is what keeps a fund from committing more
//! than it holds when many approvals race (a read-then-write overspends on PostgreSQL; SQLite serialises writers).
use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use uuid::Uuid;

use super::{Balance, DecisionMode, FundKind, LedgerKind, Rules};
use crate::access::{self, AuthUser};
use crate::audit::{self, Actor, AuditAction};
use crate::error::{AppError, AppResult};
use crate::now;
use crate::partnerships::PartnershipRole;
use crate::values::{Email, FinancialYear, Pence, bounded_text};
use entity::{community_partnership, fund, fund_decider, ledger_entry, partnership_member};

/// A panel: who decides, how many scores make a quorum.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub decider_emails: Vec<String>,
    pub quorum: i32,
}

pub struct NewFund {
    pub owner_id: Uuid,
    pub kind: FundKind,
    pub name: String,
    pub financial_year: FinancialYear,
    /// The kind's default when left out (a match fund must say).
    pub amount: Option<Pence>,
    /// For a ward budget: the ward member's seat on one of the council's partnerships.
    pub ward_member_id: Option<Uuid>,
    pub rules: Rules,
    pub decision_mode: DecisionMode,
    pub panel: Option<Panel>,
    pub rolls_over: bool,
}

/// A panel is a handful of people.
const MAX_DECIDERS: usize = 15;
const MAX_CRITERIA: usize = 10;

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<fund::Model> {
    fund::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("fund"))
}

/// Council officers administer funds: the owner organisation's owners and admins, and platform admins.
pub async fn administers(db: &impl ConnectionTrait, actor: &AuthUser, fund: &fund::Model) -> AppResult<bool> {
    let role = access::member_role(db, actor, fund.owner_id).await?;
    Ok(access::can_manage_organisation(actor, role))
}

pub async fn require_administrator(db: &impl ConnectionTrait, actor: &AuthUser, fund: &fund::Model) -> AppResult<()> {
    if administers(db, actor, fund).await? {
        Ok(())
    } else {
        Err(AppError::forbidden("only the fund owner's owners and admins administer a fund"))
    }
}

/// A fund's panel.
pub async fn deciders(db: &impl ConnectionTrait, fund_id: Uuid) -> AppResult<Vec<Uuid>> {
    Ok(fund_decider::Entity::find()
        .filter(fund_decider::Column::FundId.eq(fund_id))
        .order_by_asc(fund_decider::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.user_id)
        .collect())
}

/// Whether the actor decides the fund's bids: the ward member for their budget; a panel's deciders; the fund's
/// administrators for any other sole-decision fund.
pub async fn decides(db: &impl ConnectionTrait, actor: &AuthUser, fund: &fund::Model) -> AppResult<bool> {
    if fund.kind == FundKind::WardBudget.as_db() {
        // The budget goes with the seat: someone who no longer sits as a ward member on one of the council's
        // partnerships no longer decides it.
        if fund.holder_id != Some(actor.id) {
            return Ok(false);
        }
        let tied = sea_orm::sea_query::Query::select()
            .column(community_partnership::Column::OrganisationId)
            .from(community_partnership::Entity)
            .and_where(community_partnership::Column::CouncilId.eq(fund.owner_id))
            .to_owned();
        let seat = partnership_member::Entity::find()
            .filter(partnership_member::Column::UserId.eq(actor.id))
            .filter(partnership_member::Column::Role.eq(PartnershipRole::WardMember.as_db()))
            .filter(partnership_member::Column::PartnershipId.in_subquery(tied))
            .one(db)
            .await?;
        return Ok(seat.is_some());
    }
    match DecisionMode::from_db(&fund.decision_mode) {
        Some(DecisionMode::Panel) => Ok(deciders(db, fund.id).await?.contains(&actor.id)),
        _ => administers(db, actor, fund).await,
    }
}

fn check_rules(rules: &Rules, year: FinancialYear) -> AppResult<()> {
    if let (Some(min), Some(max)) = (rules.min_award, rules.max_award)
        && max < min
    {
        return Err(AppError::bad_input("input.rules.maxAward", "must not be below the minimum award"));
    }
    if let (Some(opens), Some(closes)) = (rules.opens_on, rules.closes_on)
        && closes < opens
    {
        return Err(AppError::bad_input("input.rules.closesOn", "must not be before the fund opens"));
    }
    for (field, day) in [("input.rules.opensOn", rules.opens_on), ("input.rules.closesOn", rules.closes_on)] {
        if let Some(day) = day
            && FinancialYear::containing(day) != year
        {
            return Err(AppError::bad_input(field, format!("must fall in the fund's financial year {}", year.name())));
        }
    }
    if rules.min_days_ahead.is_some_and(|d| d > 365) {
        return Err(AppError::bad_input("input.rules.minDaysAhead", "must be at most 365"));
    }
    if rules.criteria.len() > MAX_CRITERIA {
        return Err(AppError::bad_input("input.rules.criteria", format!("at most {MAX_CRITERIA}")));
    }
    for (i, c) in rules.criteria.iter().enumerate() {
        let field = format!("input.rules.criteria[{i}]");
        let name = bounded_text(&field, c, 1, 140)?;
        if rules.criteria[..i].iter().any(|other| other.trim().eq_ignore_ascii_case(&name)) {
            return Err(AppError::bad_input(field, "is named twice: each criterion is scored once"));
        }
    }
    Ok(())
}

/// The ward member a ward budget is for: a WARD_MEMBER seat on a partnership tied to the fund's council.
async fn ward_member(db: &impl ConnectionTrait, council_id: Uuid, seat_id: Option<Uuid>) -> AppResult<Uuid> {
    let field = "input.wardMemberId";
    let seat_id = seat_id.ok_or_else(|| AppError::bad_input(field, "a ward budget is a ward member's"))?;
    let seat = partnership_member::Entity::find_by_id(seat_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input(field, "no such partnership seat"))?;
    if seat.role != PartnershipRole::WardMember.as_db() {
        return Err(AppError::bad_input(field, "this seat is not a ward member's"));
    }
    let tie = community_partnership::Entity::find_by_id(seat.partnership_id).one(db).await?;
    if tie.map(|t| t.council_id) != Some(council_id) {
        return Err(AppError::bad_input(field, "this ward member sits on a partnership of another council"));
    }
    Ok(seat.user_id)
}

/// Opens a fund with its first ALLOCATION.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn create(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    new: NewFund,
) -> AppResult<fund::Model> {
    let owner = crate::organisations::get(db, new.owner_id).await?;
    let role = access::member_role(db, actor, owner.id).await?;
    if !access::can_manage_organisation(actor, role) {
        return Err(AppError::forbidden("only the owner organisation's owners and admins open its funds"));
    }
    if let Some(kind) = new.kind.owner_kind()
        && owner.kind != kind.as_db()
    {
        return Err(AppError::bad_input(
            "input.ownerId",
            format!("a {} belongs to an organisation of kind {}", new.kind.as_db(), kind.as_db()),
        ));
    }
    let name = bounded_text("input.name", &new.name, 3, 140)?;
    let amount = new
        .amount
        .or(new.kind.default_amount())
        .ok_or_else(|| AppError::bad_input("input.amount", "a match fund must say how much it holds"))?;
    let mut rules = new.rules;
    // A partnership fund is spent against the partnership's priorities.
    rules.requires_priority |= new.kind == FundKind::PartnershipFund;
    check_rules(&rules, new.financial_year)?;
    let holder = match new.kind {
        FundKind::WardBudget => Some(ward_member(db, owner.id, new.ward_member_id).await?),
        _ if new.ward_member_id.is_some() => {
            return Err(AppError::bad_input("input.wardMemberId", "only a ward budget has a ward member"));
        }
        _ => None,
    };
    // The ward member alone decides their budget.
    let mode = if new.kind == FundKind::WardBudget { DecisionMode::Sole } else { new.decision_mode };
    let (panel, quorum) = match (mode, new.panel) {
        (DecisionMode::Panel, Some(panel)) => {
            if panel.decider_emails.is_empty() || panel.decider_emails.len() > MAX_DECIDERS {
                return Err(AppError::bad_input("input.panel.deciders", format!("1 to {MAX_DECIDERS} people")));
            }
            let mut users = Vec::new();
            for (i, raw) in panel.decider_emails.iter().enumerate() {
                let field = format!("input.panel.deciders[{i}]");
                let email = Email::parse(&field, raw)?;
                let user = crate::users::service::find_by_email(db, &email)
                    .await?
                    .ok_or_else(|| AppError::bad_input(&field, "no account uses that email address"))?;
                if !users.contains(&user.id) {
                    users.push(user.id);
                }
            }
            let count = i32::try_from(users.len()).unwrap_or(i32::MAX);
            if !(1..=count).contains(&panel.quorum) {
                return Err(AppError::bad_input("input.panel.quorum", format!("must be between 1 and {count}")));
            }
            if rules.criteria.is_empty() {
                return Err(AppError::bad_input("input.rules.criteria", "a panel scores bids against criteria"));
            }
            (users, panel.quorum)
        }
        (DecisionMode::Panel, None) => {
            return Err(AppError::bad_input("input.panel", "a PANEL fund names its deciders and quorum"));
        }
        (DecisionMode::Sole, Some(_)) => {
            return Err(AppError::bad_input("input.panel", "only a PANEL fund has a panel"));
        }
        (DecisionMode::Sole, None) => (Vec::new(), 0),
    };
    if holder.is_some() {
        let taken = fund::Entity::find()
            .filter(fund::Column::HolderId.eq(holder))
            .filter(fund::Column::Kind.eq(FundKind::WardBudget.as_db()))
            .filter(fund::Column::FinancialYear.eq(new.financial_year.name()))
            .one(db)
            .await?;
        if taken.is_some() {
            return Err(AppError::conflict("this ward member already has a budget for that year"));
        }
    }

    let now = now();
    let txn = db.begin().await?;
    let fund = fund::ActiveModel {
        id: Set(Uuid::now_v7()),
        owner_id: Set(owner.id),
        kind: Set(new.kind.as_db().to_owned()),
        name: Set(name),
        financial_year: Set(new.financial_year.name()),
        holder_id: Set(holder),
        rules: Set(rules.to_json()),
        decision_mode: Set(mode.as_db().to_owned()),
        quorum: Set(quorum),
        rolls_over: Set(new.rolls_over),
        available_pence: Set(amount.0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    if !panel.is_empty() {
        let rows = panel.iter().map(|u| fund_decider::ActiveModel {
            fund_id: Set(fund.id),
            user_id: Set(*u),
            created_at: Set(now),
        });
        fund_decider::Entity::insert_many(rows).exec(&txn).await?;
    }
    append(&txn, fund.id, LedgerKind::Allocation, amount, None, Some(actor.id), "opening allocation").await?;
    let detail = format!("opened {} ({}, {}) with £{}", fund.name, fund.kind, fund.financial_year, amount.to_decimal());
    audit::record(&txn, Actor::user(actor.id), AuditAction::FundChanged, None, &["fund"], detail).await?;
    txn.commit().await?;
    Ok(fund)
}

/// Appends one ledger entry (about a bid, or about nothing but the fund).
pub(crate) async fn append(
    db: &impl ConnectionTrait,
    fund_id: Uuid,
    kind: LedgerKind,
    amount: Pence,
    bid_id: Option<Uuid>,
    actor: Option<Uuid>,
    memo: &str,
) -> AppResult<()> {
    Entry { fund_id, kind, amount, bid_id, campaign_id: None, actor, memo }.append(db).await
}

/// One ledger entry to append.
pub(crate) struct Entry<'a> {
    pub fund_id: Uuid,
    pub kind: LedgerKind,
    pub amount: Pence,
    pub bid_id: Option<Uuid>,
    /// For a match fund: the campaign its money matches.
    pub campaign_id: Option<Uuid>,
    pub actor: Option<Uuid>,
    pub memo: &'a str,
}

impl Entry<'_> {
    pub(crate) async fn append(self, db: &impl ConnectionTrait) -> AppResult<()> {
        ledger_entry::ActiveModel {
            id: Set(Uuid::now_v7()),
            fund_id: Set(self.fund_id),
            kind: Set(self.kind.as_db().to_owned()),
            amount_pence: Set(self.amount.0),
            bid_id: Set(self.bid_id),
            campaign_id: Set(self.campaign_id),
            actor_id: Set(self.actor),
            at: Set(now()),
            memo: Set(self.memo.to_owned()),
        }
        .insert(db)
        .await?;
        Ok(())
    }
}

/// Takes `amount` from what the fund has available, only if it has that much: the one statement that keeps a fund
/// from being overspent, however many take from it at once.
pub(crate) async fn take_available(db: &impl ConnectionTrait, fund_id: Uuid, amount: Pence) -> AppResult<()> {
    use fund::Column as C;
    let result = fund::Entity::update_many()
        .col_expr(C::AvailablePence, Expr::col(C::AvailablePence).sub(amount.0))
        .col_expr(C::UpdatedAt, Expr::value(now()))
        .filter(C::Id.eq(fund_id))
        .filter(C::AvailablePence.gte(amount.0))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::conflict("the fund does not have that much available"));
    }
    Ok(())
}

/// Gives `amount` back to what the fund has available.
pub(crate) async fn give_available(db: &impl ConnectionTrait, fund_id: Uuid, amount: Pence) -> AppResult<()> {
    use fund::Column as C;
    let result = fund::Entity::update_many()
        .col_expr(C::AvailablePence, Expr::col(C::AvailablePence).add(amount.0))
        .col_expr(C::UpdatedAt, Expr::value(now()))
        .filter(C::Id.eq(fund_id))
        .filter(C::AvailablePence.lte(MAX_HELD.saturating_sub(amount.0)))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(AppError::conflict("that would take the fund past the most one fund may hold"));
    }
    Ok(())
}

/// The most a fund may hold (10^18 pence, as for any one amount): far past any fund, and the sums of its ledger
/// stay inside 64 bits.
const MAX_HELD: i64 = 1_000_000_000_000_000;

/// Whether the fund may make new commitments today: within its year, or after it when its money rolls over.
pub fn in_year(fund: &fund::Model, today: NaiveDate) -> bool {
    let year = FinancialYear::parse("financialYear", &fund.financial_year).ok();
    match year {
        Some(year) => today >= year.first_day() && (today <= year.last_day() || fund.rolls_over),
        None => false,
    }
}

/// Adds to a fund (positive) or takes from it (negative, never below what is committed), with a reason.
#[tracing::instrument(skip_all, fields(actor = %actor.id, fund = %fund_id))]
pub async fn adjust(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    fund_id: Uuid,
    amount: i64,
    reason: &str,
) -> AppResult<fund::Model> {
    let fund = get(db, fund_id).await?;
    require_administrator(db, actor, &fund).await?;
    let reason = bounded_text("input.reason", reason, 3, 500)?;
    if amount == 0 {
        return Err(AppError::bad_input("input.amount", "must not be zero"));
    }
    let txn = db.begin().await?;
    if amount < 0 {
        take_available(&txn, fund.id, Pence(-amount)).await?;
    } else {
        give_available(&txn, fund.id, Pence(amount)).await?;
    }
    append(&txn, fund.id, LedgerKind::Adjustment, Pence(amount), None, Some(actor.id), &reason).await?;
    let detail = format!("adjusted {} by £{}: {reason}", fund.name, Pence(amount).to_decimal());
    audit::record(&txn, Actor::user(actor.id), AuditAction::FundChanged, None, &["fund.ledger"], detail).await?;
    txn.commit().await?;
    get(db, fund_id).await
}

/// Moves money from one fund to another as a pair of ADJUSTMENT entries, whole or not at all.
#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn transfer(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    from_id: Uuid,
    to_id: Uuid,
    amount: Pence,
    reason: &str,
) -> AppResult<(fund::Model, fund::Model)> {
    if from_id == to_id {
        return Err(AppError::bad_input("input.toFundId", "must be another fund"));
    }
    let (from, to) = (get(db, from_id).await?, get(db, to_id).await?);
    require_administrator(db, actor, &from).await?;
    require_administrator(db, actor, &to).await?;
    let reason = bounded_text("input.reason", reason, 3, 500)?;
    if amount.0 == 0 {
        return Err(AppError::bad_input("input.amount", "must be more than zero"));
    }
    let txn = db.begin().await?;
    // The two rows are changed in id order, so transfers in opposite directions queue rather than deadlock.
    if from.id < to.id {
        take_available(&txn, from.id, amount).await?;
        give_available(&txn, to.id, amount).await?;
    } else {
        give_available(&txn, to.id, amount).await?;
        take_available(&txn, from.id, amount).await?;
    }
    let memo = |direction: &str, other: &str| format!("{direction} {other}: {reason}");
    append(
        &txn,
        from.id,
        LedgerKind::Adjustment,
        Pence(-amount.0),
        None,
        Some(actor.id),
        &memo("transfer to", &to.name),
    )
    .await?;
    append(&txn, to.id, LedgerKind::Adjustment, amount, None, Some(actor.id), &memo("transfer from", &from.name))
        .await?;
    let detail = format!("moved £{} from {} to {}: {reason}", amount.to_decimal(), from.name, to.name);
    audit::record(&txn, Actor::user(actor.id), AuditAction::FundChanged, None, &["fund.ledger"], detail).await?;
    txn.commit().await?;
    Ok((get(db, from_id).await?, get(db, to_id).await?))
}

/// Each fund's balance from its ledger, in one grouped statement however many funds.
pub async fn balances(db: &impl ConnectionTrait, fund_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Balance>> {
    use ledger_entry::Column as C;
    let rows: Vec<(Uuid, String, i64)> = ledger_entry::Entity::find()
        .select_only()
        .column(C::FundId)
        .column(C::Kind)
        .column_as(Expr::col(C::AmountPence).sum().cast_as("BIGINT"), "total")
        .filter(C::FundId.is_in(fund_ids.iter().copied()))
        .group_by(C::FundId)
        .group_by(C::Kind)
        .into_tuple()
        .all(db)
        .await?;
    let mut totals: HashMap<Uuid, Vec<(LedgerKind, i64)>> = fund_ids.iter().map(|id| (*id, Vec::new())).collect();
    for (fund, kind, total) in rows {
        if let Some(kind) = LedgerKind::from_db(&kind) {
            totals.entry(fund).or_default().push((kind, total));
        }
    }
    Ok(totals.into_iter().map(|(id, t)| (id, Balance::from_totals(t))).collect())
}

/// A fund's ledger, oldest first.
pub async fn ledger(db: &impl ConnectionTrait, fund_id: Uuid) -> AppResult<Vec<ledger_entry::Model>> {
    Ok(ledger_entry::Entity::find()
        .filter(ledger_entry::Column::FundId.eq(fund_id))
        .order_by_asc(ledger_entry::Column::At)
        .order_by_asc(ledger_entry::Column::Id)
        .all(db)
        .await?)
}

#[derive(Clone, Debug, Default)]
pub struct FundFilter {
    pub owner_id: Option<Uuid>,
    pub financial_year: Option<FinancialYear>,
    pub kind: Option<FundKind>,
}

/// Funds, by name; public (they are public money). At most 500: an owner has a few dozen a year.
pub async fn list(db: &impl ConnectionTrait, filter: &FundFilter) -> AppResult<Vec<fund::Model>> {
    let mut select = fund::Entity::find();
    if let Some(owner) = filter.owner_id {
        select = select.filter(fund::Column::OwnerId.eq(owner));
    }
    if let Some(year) = filter.financial_year {
        select = select.filter(fund::Column::FinancialYear.eq(year.name()));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(fund::Column::Kind.eq(kind.as_db()));
    }
    Ok(select.order_by_asc(fund::Column::Name).order_by_asc(fund::Column::Id).limit(500).all(db).await?)
}

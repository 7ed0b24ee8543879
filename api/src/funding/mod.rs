//! Funds, their ledger and bids in GraphQL. Funds and approved grants are public money, public to everyone; the rest
//! of a bid is its organisation's and its fund's deciders'. Each resolver parses its input into a domain command.
pub mod campaigns;
pub mod insight;

use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use domain::funding::bids::{self, BidFilter as Filter, BidPatch, Line, NewBid, Report, Score};
use domain::funding::funds::{self, FundFilter as FundsFilter, NewFund, Panel};
use domain::funding::{Balance, Rules};
use domain::values::{FinancialYear, Pence};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::{Money, boxed, db, loaders, parse_money, patch, viewer};
use crate::organisations::{Organisation, OrganisationKind};
use crate::partnerships::{Priority, priority_ids};
use crate::projects::Project;

crate::graphql_enum! {
    pub enum FundKind as domain::funding::FundKind {
        /// A ward member's budget for a year (£7,500 by default), decided by the ward member alone.
        WardBudget => "WARD_BUDGET",
        /// A community partnership's fund for a year (£25,000 by default), spent against its priorities.
        PartnershipFund => "PARTNERSHIP_FUND",
        /// A council's pot that groups bid into (£300,000 a year by default).
        StrategicFund => "STRATEGIC_FUND",
        /// Money a council or a business sets aside to match crowdfunding.
        MatchFund => "MATCH_FUND",
    }
}

crate::graphql_enum! {
    pub enum DecisionMode as domain::funding::DecisionMode {
        /// One person decides: the ward member for their budget, otherwise the fund's administrators.
        Sole => "SOLE",
        /// Named deciders score each bid against the fund's criteria; a quorum of scores before a decision.
        Panel => "PANEL",
    }
}

crate::graphql_enum! {
    pub enum LedgerEntryKind as domain::funding::LedgerKind {
        /// Money into the fund.
        Allocation => "ALLOCATION",
        /// An approved award, held for its bid.
        Commitment => "COMMITMENT",
        /// Money paid out against a commitment.
        Payment => "PAYMENT",
        /// What is left of a commitment, given back (a bid completed or cancelled).
        Release => "RELEASE",
        /// A correction or a transfer, with its reason; may be negative.
        Adjustment => "ADJUSTMENT",
    }
}

crate::graphql_enum! {
    pub enum BidStatus as domain::funding::BidStatus {
        Draft => "DRAFT",
        Submitted => "SUBMITTED",
        UnderReview => "UNDER_REVIEW",
        Approved => "APPROVED",
        Rejected => "REJECTED",
        Withdrawn => "WITHDRAWN",
        Paid => "PAID",
        Completed => "COMPLETED",
    }
}

crate::graphql_enum! {
    pub enum FundRule as domain::funding::FundRule {
        /// At least the fund's minimum award.
        MinimumAward => "MINIMUM_AWARD",
        /// At most the fund's maximum award.
        MaximumAward => "MAXIMUM_AWARD",
        /// The fund takes bids today (between its open and close dates, within its year).
        FundOpen => "FUND_OPEN",
        /// The bidding organisation is of a kind the fund funds.
        OrganisationKind => "ORGANISATION_KIND",
        /// A partnership fund's bid addresses one of the partnership's priorities for the year.
        Priority => "PRIORITY",
        /// An event is at least the fund's notice ahead.
        Notice => "NOTICE",
    }
}

fn money(pence: i64) -> Money {
    Pence(pence).into()
}

/// A pot of money for a financial year.
pub struct Fund(pub entity::fund::Model, pub Option<Balance>);

impl Fund {
    /// A fund whose balance is read when asked for.
    pub fn new(fund: entity::fund::Model) -> Self {
        Self(fund, None)
    }
}

/// A fund's rules.
#[derive(SimpleObject)]
pub struct FundRules {
    pub min_award: Option<Money>,
    pub max_award: Option<Money>,
    /// Empty: any kind.
    pub eligible_kinds: Vec<OrganisationKind>,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
    /// Bids for an event must come at least this many days before it.
    pub min_days_ahead: Option<i32>,
    /// Bids must address a current priority (always, for a partnership fund).
    pub requires_priority: bool,
    /// What a panel scores, each 1 to 5.
    pub criteria: Vec<String>,
}

/// A fund's money, from its ledger.
#[derive(SimpleObject)]
pub struct FundBalance {
    /// Allocations and adjustments.
    pub allocated: Money,
    /// Awards approved and not yet paid or released.
    pub committed: Money,
    pub paid: Money,
    /// What new awards may still take.
    pub available: Money,
}

impl From<Balance> for FundBalance {
    fn from(b: Balance) -> Self {
        Self {
            allocated: b.allocated.into(),
            committed: b.committed.into(),
            paid: b.paid.into(),
            available: b.available.into(),
        }
    }
}

/// One movement of a fund's money; entries are never changed or removed.
#[derive(SimpleObject)]
pub struct LedgerEntry {
    pub id: ID,
    pub kind: LedgerEntryKind,
    pub amount: Money,
    /// The bid it is for, if any.
    pub bid_id: Option<ID>,
    /// For a match fund: the campaign it matched, if any.
    pub campaign_id: Option<ID>,
    pub at: DateTime<Utc>,
    pub memo: String,
}

#[Object]
impl Fund {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Fund, self.0.id)
    }
    /// Whose money it is.
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        let org = boxed(loaders(ctx)?.organisations.load_one(self.0.owner_id)).await?;
        org.map(Organisation).ok_or_else(|| AppError::not_found("organisation")).map_err(ApiError::from)
    }
    async fn kind(&self) -> Option<FundKind> {
        FundKind::from_db(&self.0.kind)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// "2026-27".
    async fn financial_year(&self) -> &str {
        &self.0.financial_year
    }
    /// The ward member whose budget it is (their public name, as their seat shows it).
    async fn ward_member_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let Some(id) = self.0.holder_id else { return Ok(None) };
        Ok(boxed(loaders(ctx)?.users.load_one(id)).await?.map(|u| u.display_name.clone()))
    }
    async fn rules(&self) -> FundRules {
        let r = Rules::from_json(&self.0.rules);
        FundRules {
            min_award: r.min_award.map(Into::into),
            max_award: r.max_award.map(Into::into),
            eligible_kinds: r.eligible_kinds.into_iter().map(Into::into).collect(),
            opens_on: r.opens_on,
            closes_on: r.closes_on,
            min_days_ahead: r.min_days_ahead.and_then(|d| i32::try_from(d).ok()),
            requires_priority: r.requires_priority,
            criteria: r.criteria,
        }
    }
    async fn decision_mode(&self) -> Option<DecisionMode> {
        DecisionMode::from_db(&self.0.decision_mode)
    }
    /// Scores a panel needs before it decides.
    async fn quorum(&self) -> i32 {
        self.0.quorum
    }
    /// Whether unspent money carries past the year's end (otherwise it lapses).
    async fn rolls_over(&self) -> bool {
        self.0.rolls_over
    }
    async fn balance(&self, ctx: &Context<'_>) -> ApiResult<FundBalance> {
        if let Some(balance) = self.1 {
            return Ok(balance.into());
        }
        let balances = funds::balances(db(ctx)?, &[self.0.id]).await?;
        Ok(balances.get(&self.0.id).copied().unwrap_or_default().into())
    }
    /// Every movement of its money, oldest first: for the fund's administrators and deciders.
    async fn ledger(&self, ctx: &Context<'_>) -> ApiResult<Vec<LedgerEntry>> {
        let db = db(ctx)?;
        let actor = viewer(ctx)?.require_user()?;
        if !(funds::administers(db, &actor, &self.0).await? || funds::decides(db, &actor, &self.0).await?) {
            return Err(AppError::forbidden("only the fund's administrators and deciders read its ledger").into());
        }
        Ok(funds::ledger(db, self.0.id)
            .await?
            .into_iter()
            .map(|e| LedgerEntry {
                id: ID(e.id.to_string()),
                kind: LedgerEntryKind::from_db(&e.kind).unwrap_or(LedgerEntryKind::Adjustment),
                amount: money(e.amount_pence),
                bid_id: e.bid_id.map(|b| encode(NodeKind::Bid, b)),
                campaign_id: e.campaign_id.map(|c| encode(NodeKind::Campaign, c)),
                at: e.at,
                memo: e.memo,
            })
            .collect())
    }
    /// Its bids, newest first: approved grants for everyone, the rest for those who may see them.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn bids(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<BidStatus>,
    ) -> ApiResult<BidConnection> {
        bid_page(
            ctx,
            Filter { fund_id: Some(self.0.id), status: status.map(Into::into), ..Filter::default() },
            first,
            after,
        )
        .await
    }
}

/// Bids as a connection, for the viewer.
pub async fn bid_page(
    ctx: &Context<'_>,
    filter: Filter,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<BidConnection> {
    let page = Page::parse(first, after, None, None)?;
    let (rows, count) = bids::list(db(ctx)?, viewer(ctx)?, &filter, &page).await?;
    Ok(connection(rows, TotalCount::of(count), |(cursor, bid)| (cursor, Bid(bid), EmptyFields)))
}

pub type BidConnection = ListConnection<Bid>;

/// A project's request to a fund.
pub struct Bid(pub entity::bid::Model);

/// A line of a bid's budget, or where match funding comes from.
#[derive(SimpleObject)]
pub struct BudgetLine {
    pub item: String,
    pub amount: Money,
}

#[derive(SimpleObject)]
pub struct MatchFunding {
    pub source: String,
    pub amount: Money,
}

/// A rule a bid fails, and why.
#[derive(SimpleObject)]
pub struct FailedRule {
    pub rule: FundRule,
    pub explanation: String,
}

/// Whether a bid may be submitted, and if not, why not.
#[derive(SimpleObject)]
pub struct Eligibility {
    pub eligible: bool,
    pub failed_rules: Vec<FailedRule>,
}

fn eligibility_of(failed: Vec<(domain::funding::FundRule, String)>) -> Eligibility {
    Eligibility {
        eligible: failed.is_empty(),
        failed_rules: failed
            .into_iter()
            .map(|(rule, explanation)| FailedRule { rule: rule.into(), explanation })
            .collect(),
    }
}

/// A completed bid's monitoring report.
#[derive(SimpleObject)]
pub struct MonitoringReport {
    pub outcomes: String,
    pub volunteers_involved: i32,
    pub photo_urls: Vec<String>,
}

/// A panel member's scores.
#[derive(SimpleObject)]
pub struct BidScore {
    pub decider_name: String,
    pub scores: Vec<CriterionScore>,
    pub comment: String,
    pub scored_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct CriterionScore {
    pub criterion: String,
    pub score: i32,
}

#[Object]
impl Bid {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Bid, self.0.id)
    }
    async fn fund(&self, ctx: &Context<'_>) -> ApiResult<Fund> {
        let fund = boxed(loaders(ctx)?.funds.load_one(self.0.fund_id)).await?;
        fund.map(Fund::new).ok_or_else(|| AppError::not_found("fund")).map_err(ApiError::from)
    }
    async fn project(&self, ctx: &Context<'_>) -> ApiResult<Project> {
        let project = boxed(loaders(ctx)?.projects.load_one(self.0.project_id)).await?;
        project.map(Project).ok_or_else(|| AppError::not_found("project")).map_err(ApiError::from)
    }
    /// The organisation bidding (the project's).
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        let org = boxed(loaders(ctx)?.organisations.load_one(self.0.organisation_id)).await?;
        org.map(Organisation).ok_or_else(|| AppError::not_found("organisation")).map_err(ApiError::from)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
    async fn amount_requested(&self) -> Money {
        money(self.0.amount_requested)
    }
    async fn budget_lines(&self) -> Vec<BudgetLine> {
        bids::lines_of(&self.0.budget_lines)
            .into_iter()
            .map(|l| BudgetLine { item: l.label, amount: l.amount.into() })
            .collect()
    }
    /// The priorities it says it addresses.
    async fn priorities(&self, ctx: &Context<'_>) -> ApiResult<Vec<Priority>> {
        let ids = bids::priority_ids_of(&self.0);
        let found = boxed(loaders(ctx)?.priorities.load_many(ids.iter().copied())).await?;
        Ok(ids.iter().filter_map(|id| found.get(id)).cloned().map(Priority).collect())
    }
    /// Each fund's part: the bid's own fund's and those pooled into it.
    async fn contributions(&self, ctx: &Context<'_>) -> ApiResult<Vec<Contribution>> {
        let parts = bids::contributions(db(ctx)?, self.0.id).await?;
        let found = loaders(ctx)?.funds.load_many(parts.iter().map(|p| p.fund_id)).await?;
        Ok(parts
            .into_iter()
            .filter_map(|p| {
                Some(Contribution {
                    fund: Fund::new(found.get(&p.fund_id)?.clone()),
                    amount: money(p.amount_pence),
                    paid: money(p.paid_pence),
                    committed: p.committed,
                })
            })
            .collect())
    }
    async fn expected_outcomes(&self) -> &str {
        &self.0.expected_outcomes
    }
    /// Money promised from elsewhere.
    async fn match_funding(&self) -> Vec<MatchFunding> {
        bids::lines_of(&self.0.match_funding)
            .into_iter()
            .map(|l| MatchFunding { source: l.label, amount: l.amount.into() })
            .collect()
    }
    /// The day of the event it pays for, if any.
    async fn event_date(&self) -> Option<NaiveDate> {
        self.0.event_date
    }
    async fn status(&self) -> BidStatus {
        BidStatus::from_db(&self.0.status).unwrap_or(BidStatus::Withdrawn)
    }
    async fn amount_awarded(&self) -> Option<Money> {
        self.0.amount_awarded.map(money)
    }
    async fn amount_paid(&self) -> Money {
        money(self.0.amount_paid)
    }
    /// Conditions the award came with.
    async fn conditions(&self) -> &str {
        &self.0.conditions
    }
    async fn rejection_reason(&self) -> Option<&str> {
        Some(self.0.rejection_reason.as_str()).filter(|r| !r.is_empty())
    }
    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }
    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }
    /// Who decided it (their public name).
    async fn decided_by_name(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let Some(id) = self.0.decided_by else { return Ok(None) };
        Ok(boxed(loaders(ctx)?.users.load_one(id)).await?.map(|u| u.display_name.clone()))
    }
    async fn report(&self) -> Option<MonitoringReport> {
        let report = self.0.report.as_ref()?;
        Some(MonitoringReport {
            outcomes: report.get("outcomes")?.as_str()?.to_owned(),
            volunteers_involved: i32::try_from(report.get("volunteersInvolved")?.as_i64()?).ok()?,
            photo_urls: crate::values::text::json_strings(report.get("photoUrls")?),
        })
    }
    /// The fund's rules this bid fails, each with why (none: it may be submitted).
    async fn eligibility(&self, ctx: &Context<'_>) -> ApiResult<Eligibility> {
        Ok(eligibility_of(bids::eligibility(db(ctx)?, &self.0).await?))
    }
    /// The panel's scores: for the fund's deciders and administrators.
    async fn scores(&self, ctx: &Context<'_>) -> ApiResult<Vec<BidScore>> {
        let db = db(ctx)?;
        if !bids::may_deliberate(db, viewer(ctx)?, &self.0).await? {
            return Err(AppError::forbidden("only the fund's deciders and administrators see scores").into());
        }
        let rows = bids::scores(db, self.0.id).await?;
        let names = loaders(ctx)?.users.load_many(rows.iter().map(|s| s.user_id)).await?;
        Ok(rows
            .into_iter()
            .map(|s| BidScore {
                decider_name: names.get(&s.user_id).map(|u| u.display_name.clone()).unwrap_or_default(),
                scores: s
                    .scores
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|i| {
                                Some(CriterionScore {
                                    criterion: i.get("criterion")?.as_str()?.to_owned(),
                                    score: i32::try_from(i.get("score")?.as_i64()?).ok()?,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                comment: s.comment,
                scored_at: s.created_at,
            })
            .collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// What deciders weigh beside a bid.
#[derive(SimpleObject)]
pub struct BidFit {
    /// The fund's current priorities the bid addresses.
    pub priorities_met: Vec<Priority>,
    /// The project's ward's Index of Multiple Deprivation decile (1 = most deprived), if it is in a ward.
    pub ward_deprivation_decile: Option<i32>,
    pub ward_name: Option<String>,
    /// What the organisation was awarded in the last three years, from every fund.
    pub awarded_last_three_years: Money,
    pub eligibility: Eligibility,
}

#[derive(InputObject)]
pub struct FundRulesInput {
    pub min_award: Option<String>,
    pub max_award: Option<String>,
    #[graphql(default)]
    pub eligible_kinds: Vec<OrganisationKind>,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
    pub min_days_ahead: Option<i32>,
    /// Always true for a partnership fund.
    #[graphql(default)]
    pub requires_priority: bool,
    /// What a panel scores, each 1 to 5.
    #[graphql(default)]
    pub criteria: Vec<String>,
}

impl FundRulesInput {
    fn parse(self) -> AppResult<Rules> {
        let amount = |field: &str, v: Option<String>| v.map(|v| parse_money(field, &v)).transpose();
        Ok(Rules {
            min_award: amount("input.rules.minAward", self.min_award)?,
            max_award: amount("input.rules.maxAward", self.max_award)?,
            eligible_kinds: self.eligible_kinds.into_iter().map(Into::into).collect(),
            opens_on: self.opens_on,
            closes_on: self.closes_on,
            min_days_ahead: self
                .min_days_ahead
                .map(|d| {
                    u32::try_from(d)
                        .map_err(|_| AppError::bad_input("input.rules.minDaysAhead", "must not be negative"))
                })
                .transpose()?,
            requires_priority: self.requires_priority,
            criteria: self.criteria,
        })
    }
}

#[derive(InputObject)]
pub struct PanelInput {
    /// The deciders' email addresses (their accounts must exist).
    pub deciders: Vec<String>,
    /// How many scores before the panel may decide.
    pub quorum: i32,
}

#[derive(InputObject)]
pub struct CreateFundInput {
    /// The council (a ward budget, a strategic fund), the partnership (a partnership fund), or any organisation (a
    /// match fund).
    pub owner_id: ID,
    pub kind: FundKind,
    pub name: String,
    /// "2026-27".
    pub financial_year: String,
    /// What it opens with, e.g. "7500.00"; the kind's default when left out (a match fund must say).
    pub amount: Option<String>,
    /// For a ward budget: the ward member's seat (`PartnershipMember.id`).
    pub ward_member_id: Option<ID>,
    pub rules: Option<FundRulesInput>,
    #[graphql(default_with = "DecisionMode::Sole")]
    pub decision_mode: DecisionMode,
    pub panel: Option<PanelInput>,
    #[graphql(default)]
    pub rolls_over: bool,
}

#[derive(InputObject)]
pub struct AdjustFundInput {
    pub fund_id: ID,
    /// Added to the fund, e.g. "500.00", or taken from it, "-1000.00".
    pub amount: String,
    pub reason: String,
}

#[derive(InputObject)]
pub struct TransferBetweenFundsInput {
    pub from_fund_id: ID,
    pub to_fund_id: ID,
    pub amount: String,
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct FundPayload {
    pub fund: Fund,
}

#[derive(SimpleObject)]
pub struct TransferPayload {
    pub from: Fund,
    pub to: Fund,
}

#[derive(InputObject)]
pub struct BudgetLineInput {
    pub item: String,
    pub amount: String,
}

#[derive(InputObject)]
pub struct MatchFundingInput {
    pub source: String,
    pub amount: String,
}

fn budget_lines(field: &str, lines: Vec<BudgetLineInput>) -> AppResult<Vec<Line>> {
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| Ok(Line { label: l.item, amount: parse_money(&format!("{field}[{i}].amount"), &l.amount)? }))
        .collect()
}

fn match_lines(field: &str, lines: Vec<MatchFundingInput>) -> AppResult<Vec<Line>> {
    budget_lines(field, lines.into_iter().map(|l| BudgetLineInput { item: l.source, amount: l.amount }).collect())
}

#[derive(InputObject)]
pub struct CreateBidInput {
    pub fund_id: ID,
    pub project_id: ID,
    pub title: String,
    pub purpose: String,
    /// e.g. "1250.00".
    pub amount_requested: String,
    /// When given, they add up to the amount requested.
    #[graphql(default)]
    pub budget_lines: Vec<BudgetLineInput>,
    #[graphql(default)]
    pub priority_ids: Vec<ID>,
    #[graphql(default)]
    pub expected_outcomes: String,
    #[graphql(default)]
    pub match_funding: Vec<MatchFundingInput>,
    pub event_date: Option<NaiveDate>,
}

/// Changes a draft: fields left out are unchanged; lists are replaced whole.
#[derive(InputObject)]
pub struct UpdateBidInput {
    pub bid_id: ID,
    pub title: Option<String>,
    pub purpose: Option<String>,
    pub amount_requested: Option<String>,
    pub budget_lines: Option<Vec<BudgetLineInput>>,
    pub priority_ids: Option<Vec<ID>>,
    pub expected_outcomes: Option<String>,
    pub match_funding: Option<Vec<MatchFundingInput>>,
    pub event_date: MaybeUndefined<NaiveDate>,
}

#[derive(InputObject)]
pub struct BidInput {
    pub bid_id: ID,
}

#[derive(InputObject)]
pub struct CriterionScoreInput {
    pub criterion: String,
    /// 1 to 5.
    pub score: i32,
}

#[derive(InputObject)]
pub struct ScoreBidInput {
    pub bid_id: ID,
    pub scores: Vec<CriterionScoreInput>,
    #[graphql(default)]
    pub comment: String,
}

#[derive(InputObject)]
pub struct ApproveBidInput {
    pub bid_id: ID,
    /// What is awarded; the amount requested when left out.
    pub amount: Option<String>,
    #[graphql(default)]
    pub conditions: String,
}

#[derive(InputObject)]
pub struct RejectBidInput {
    pub bid_id: ID,
    pub reason: String,
}

#[derive(InputObject)]
pub struct RecordPaymentInput {
    pub bid_id: ID,
    pub amount: String,
    /// For a pooled award: which fund pays (the bid's own fund when left out); never more than its part.
    pub fund_id: Option<ID>,
    #[graphql(default)]
    pub memo: String,
}

#[derive(InputObject)]
pub struct MonitoringReportInput {
    pub outcomes: String,
    #[graphql(default)]
    pub volunteers_involved: i32,
    #[graphql(default)]
    pub photo_urls: Vec<String>,
}

#[derive(InputObject)]
pub struct PledgeToBidInput {
    pub bid_id: ID,
    /// The fund that gives: one you decide (your ward budget), not the bid's own.
    pub fund_id: ID,
    pub amount: String,
}

/// A fund's part of an award.
#[derive(SimpleObject)]
pub struct Contribution {
    pub fund: Fund,
    pub amount: Money,
    pub paid: Money,
    /// False while only pledged.
    pub committed: bool,
}

#[derive(InputObject)]
pub struct CompleteBidInput {
    pub bid_id: ID,
    pub report: MonitoringReportInput,
}

#[derive(SimpleObject)]
pub struct BidPayload {
    pub bid: Bid,
}

#[derive(InputObject, Default)]
pub struct FundFilter {
    pub owner_id: Option<ID>,
    pub financial_year: Option<String>,
    pub kind: Option<FundKind>,
}

#[derive(InputObject, Default)]
pub struct BidFilter {
    pub fund_id: Option<ID>,
    pub organisation_id: Option<ID>,
    /// Bids to the partnership's funds, or for projects in its wards.
    pub partnership_id: Option<ID>,
    /// Bids for projects in the ward.
    pub ward_id: Option<ID>,
    pub status: Option<BidStatus>,
}

fn fund_id(field: &str, id: &ID) -> AppResult<Uuid> {
    decode(field, id, NodeKind::Fund)
}

fn bid_id(id: &ID) -> AppResult<Uuid> {
    decode("input.bidId", id, NodeKind::Bid)
}

/// "-1000.00" or "500": an adjustment's signed amount in pence.
fn signed_money(field: &str, raw: &str) -> AppResult<i64> {
    let raw = raw.trim();
    match raw.strip_prefix('-') {
        Some(rest) => Ok(-parse_money(field, rest)?.0),
        None => Ok(parse_money(field, raw)?.0),
    }
}

#[derive(Default)]
pub struct FundingQuery;

#[Object]
impl FundingQuery {
    /// One fund; public (funds are public money).
    async fn fund(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Fund>> {
        let id = fund_id("id", &id)?;
        Ok(loaders(ctx)?.funds.load_one(id).await?.map(Fund::new))
    }

    /// Funds by name (at most 500): an owner's, a year's, a kind's.
    async fn funds(&self, ctx: &Context<'_>, filter: Option<FundFilter>) -> ApiResult<Vec<Fund>> {
        let filter = filter.unwrap_or_default();
        let filter = FundsFilter {
            owner_id: filter.owner_id.map(|id| decode("filter.ownerId", &id, NodeKind::Organisation)).transpose()?,
            financial_year: filter
                .financial_year
                .map(|y| FinancialYear::parse("filter.financialYear", &y))
                .transpose()?,
            kind: filter.kind.map(Into::into),
        };
        let listed = funds::list(db(ctx)?, &filter).await?;
        // Every fund's balance in one grouped statement, not one each.
        let ids: Vec<Uuid> = listed.iter().map(|f| f.id).collect();
        let balances = funds::balances(db(ctx)?, &ids).await?;
        Ok(listed
            .into_iter()
            .map(|f| {
                let balance = balances.get(&f.id).copied().unwrap_or_default();
                Fund(f, Some(balance))
            })
            .collect())
    }

    /// One bid; null if there is none or the caller may not see it.
    async fn bid(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Bid>> {
        let id = decode("id", &id, NodeKind::Bid)?;
        match loaders(ctx)?.bids.load_one(id).await? {
            Some(b) if bids::may_see(db(ctx)?, viewer(ctx)?, &b).await? => Ok(Some(Bid(b))),
            _ => Ok(None),
        }
    }

    /// Bids, newest first: approved grants for everyone; drafts, reviews, rejections and withdrawals for the
    /// bidder's members and the fund's deciders and administrators.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn bids(
        &self,
        ctx: &Context<'_>,
        filter: Option<BidFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<BidConnection> {
        let filter = filter.unwrap_or_default();
        let organisation =
            |field: &str, id: Option<ID>| id.map(|id| decode(field, &id, NodeKind::Organisation)).transpose();
        let filter = Filter {
            fund_id: filter.fund_id.map(|id| fund_id("filter.fundId", &id)).transpose()?,
            organisation_id: organisation("filter.organisationId", filter.organisation_id)?,
            project_id: None,
            partnership_id: organisation("filter.partnershipId", filter.partnership_id)?,
            ward_id: filter.ward_id.map(|id| decode("filter.wardId", &id, NodeKind::Ward)).transpose()?,
            status: filter.status.map(Into::into),
        };
        bid_page(ctx, filter, first, after).await
    }

    /// For the fund's deciders: the priorities a bid meets, its ward's deprivation, what its organisation was
    /// awarded in the last three years, and its eligibility.
    async fn explain_bid_fit(&self, ctx: &Context<'_>, bid_id: ID) -> ApiResult<BidFit> {
        let id = decode("bidId", &bid_id, NodeKind::Bid)?;
        let fit = bids::fit(db(ctx)?, viewer(ctx)?, id).await?;
        Ok(BidFit {
            priorities_met: fit.priorities_met.into_iter().map(Priority).collect(),
            ward_deprivation_decile: fit.ward.as_ref().and_then(|w| w.imd_decile).map(i32::from),
            ward_name: fit.ward.map(|w| w.name),
            awarded_last_three_years: fit.awarded_last_three_years.into(),
            eligibility: eligibility_of(fit.failed_rules),
        })
    }
}

#[derive(Default)]
pub struct FundingMutation;

#[Object]
impl FundingMutation {
    /// Opens a fund with its ALLOCATION, for the owner organisation's owners and admins.
    async fn create_fund(&self, ctx: &Context<'_>, input: CreateFundInput) -> ApiResult<FundPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let new = NewFund {
            owner_id: decode("input.ownerId", &input.owner_id, NodeKind::Organisation)?,
            kind: input.kind.into(),
            name: input.name,
            financial_year: FinancialYear::parse("input.financialYear", &input.financial_year)?,
            amount: input.amount.map(|a| parse_money("input.amount", &a)).transpose()?,
            ward_member_id: input
                .ward_member_id
                .map(|id| decode("input.wardMemberId", &id, NodeKind::PartnershipMember))
                .transpose()?,
            rules: input.rules.map(FundRulesInput::parse).transpose()?.unwrap_or_default(),
            decision_mode: input.decision_mode.into(),
            panel: input.panel.map(|p| Panel { decider_emails: p.deciders, quorum: p.quorum }),
            rolls_over: input.rolls_over,
        };
        Ok(FundPayload { fund: Fund::new(funds::create(db(ctx)?, &actor, new).await?) })
    }

    /// Adds to or takes from a fund with a reason (an ADJUSTMENT), never below what it has committed.
    async fn adjust_fund(&self, ctx: &Context<'_>, input: AdjustFundInput) -> ApiResult<FundPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = fund_id("input.fundId", &input.fund_id)?;
        let amount = signed_money("input.amount", &input.amount)?;
        Ok(FundPayload { fund: Fund::new(funds::adjust(db(ctx)?, &actor, id, amount, &input.reason).await?) })
    }

    /// Moves money between two funds the caller administers, whole or not at all.
    async fn transfer_between_funds(
        &self,
        ctx: &Context<'_>,
        input: TransferBetweenFundsInput,
    ) -> ApiResult<TransferPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let from = fund_id("input.fromFundId", &input.from_fund_id)?;
        let to = fund_id("input.toFundId", &input.to_fund_id)?;
        let amount = parse_money("input.amount", &input.amount)?;
        let (from, to) = funds::transfer(db(ctx)?, &actor, from, to, amount, &input.reason).await?;
        Ok(TransferPayload { from: Fund::new(from), to: Fund::new(to) })
    }

    /// A project's organisation drafts a bid.
    async fn create_bid(&self, ctx: &Context<'_>, input: CreateBidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let new = NewBid {
            fund_id: fund_id("input.fundId", &input.fund_id)?,
            project_id: decode("input.projectId", &input.project_id, NodeKind::Project)?,
            title: input.title,
            purpose: input.purpose,
            amount_requested: parse_money("input.amountRequested", &input.amount_requested)?,
            budget_lines: budget_lines("input.budgetLines", input.budget_lines)?,
            priority_ids: priority_ids("input.priorityIds", &input.priority_ids)?,
            expected_outcomes: input.expected_outcomes,
            match_funding: match_lines("input.matchFunding", input.match_funding)?,
            event_date: input.event_date,
        };
        Ok(BidPayload { bid: Bid(bids::create(db(ctx)?, &actor, new).await?) })
    }

    async fn update_bid(&self, ctx: &Context<'_>, input: UpdateBidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = bid_id(&input.bid_id)?;
        let patch = BidPatch {
            title: input.title,
            purpose: input.purpose,
            amount_requested: input.amount_requested.map(|a| parse_money("input.amountRequested", &a)).transpose()?,
            budget_lines: input.budget_lines.map(|l| budget_lines("input.budgetLines", l)).transpose()?,
            priority_ids: input.priority_ids.map(|ids| priority_ids("input.priorityIds", &ids)).transpose()?,
            expected_outcomes: input.expected_outcomes,
            match_funding: input.match_funding.map(|l| match_lines("input.matchFunding", l)).transpose()?,
            event_date: patch(input.event_date),
        };
        Ok(BidPayload { bid: Bid(bids::update(db(ctx)?, &actor, id, patch).await?) })
    }

    /// Sends a draft to the fund; refused, naming the failed rules, unless it is eligible.
    async fn submit_bid(&self, ctx: &Context<'_>, input: BidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(BidPayload { bid: Bid(bids::submit(db(ctx)?, &actor, bid_id(&input.bid_id)?).await?) })
    }

    /// The bidder withdraws it; an approved bid withdrawn gives back what was not yet paid.
    async fn withdraw_bid(&self, ctx: &Context<'_>, input: BidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(BidPayload { bid: Bid(bids::withdraw(db(ctx)?, &actor, bid_id(&input.bid_id)?).await?) })
    }

    async fn start_bid_review(&self, ctx: &Context<'_>, input: BidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(BidPayload { bid: Bid(bids::start_review(db(ctx)?, &actor, bid_id(&input.bid_id)?).await?) })
    }

    /// A panel member scores a bid under review against each of the fund's criteria, 1 to 5.
    async fn score_bid(&self, ctx: &Context<'_>, input: ScoreBidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = bid_id(&input.bid_id)?;
        let scores = input.scores.into_iter().map(|s| Score { criterion: s.criterion, score: s.score }).collect();
        bids::score(db(ctx)?, &actor, id, scores, &input.comment).await?;
        Ok(BidPayload { bid: Bid(bids::get(db(ctx)?, id).await?) })
    }

    /// Approves a bid, committing the award on its fund, only if the fund has that much available.
    async fn approve_bid(&self, ctx: &Context<'_>, input: ApproveBidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let amount = input.amount.map(|a| parse_money("input.amount", &a)).transpose()?;
        let bid = bids::approve(db(ctx)?, &actor, bid_id(&input.bid_id)?, amount, &input.conditions).await?;
        Ok(BidPayload { bid: Bid(bid) })
    }

    async fn reject_bid(&self, ctx: &Context<'_>, input: RejectBidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        Ok(BidPayload { bid: Bid(bids::reject(db(ctx)?, &actor, bid_id(&input.bid_id)?, &input.reason).await?) })
    }

    /// The fund's administrators record a payment, never past the award.
    async fn record_payment(&self, ctx: &Context<'_>, input: RecordPaymentInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let amount = parse_money("input.amount", &input.amount)?;
        let from_fund = input.fund_id.as_ref().map(|f| fund_id("input.fundId", f)).transpose()?;
        Ok(BidPayload {
            bid: Bid(
                bids::record_payment(db(ctx)?, &actor, bid_id(&input.bid_id)?, amount, from_fund, &input.memo).await?
            ),
        })
    }

    /// The bidder completes a funded bid with its monitoring report; the unpaid rest goes back to the fund.
    async fn complete_bid(&self, ctx: &Context<'_>, input: CompleteBidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let report = Report {
            outcomes: input.report.outcomes,
            volunteers_involved: input.report.volunteers_involved,
            photo_urls: input.report.photo_urls,
        };
        Ok(BidPayload { bid: Bid(bids::complete(db(ctx)?, &actor, bid_id(&input.bid_id)?, report).await?) })
    }

    /// Another fund's decider pledges part of their fund to a bid (several ward members funding one project): every
    /// part commits when the bid's own fund approves it, or none does.
    async fn pledge_to_bid(&self, ctx: &Context<'_>, input: PledgeToBidInput) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let fund = fund_id("input.fundId", &input.fund_id)?;
        let amount = parse_money("input.amount", &input.amount)?;
        Ok(BidPayload { bid: Bid(bids::pledge(db(ctx)?, &actor, bid_id(&input.bid_id)?, fund, amount).await?) })
    }

    /// A decider declares an interest in a bid: they then neither score nor decide it.
    async fn declare_interest(&self, ctx: &Context<'_>, bid_id: ID, reason: String) -> ApiResult<BidPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("bidId", &bid_id, NodeKind::Bid)?;
        Ok(BidPayload { bid: Bid(bids::declare_interest(db(ctx)?, &actor, id, &reason).await?) })
    }
}

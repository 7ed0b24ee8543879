//! Crowdfunding in GraphQL: campaigns on projects, pledges to them, and match funds backing them. Launched campaigns
//! and their pledges are public giving; a backer's name is shown unless they pledged anonymously, and only the
//! backer sees their pledge's payment reference. Each resolver parses its input into a domain command.
use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use domain::funding::campaigns::{
    self, CampaignFilter as Filter, CampaignPatch, NewCampaign, NewMatch, NewPledge, Totals,
};
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::Fund;
use crate::error::{ApiError, ApiResult, AppError, AppResult};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::{Money, boxed, db, loaders, parse_money, viewer};
use crate::organisations::Organisation;
use crate::projects::Project;

crate::graphql_enum! {
    pub enum CampaignModel as domain::funding::campaigns::CampaignModel {
        /// Pledges are collected only if the target is reached by the deadline; otherwise all are released.
        AllOrNothing => "ALL_OR_NOTHING",
        /// The project keeps whatever is pledged by the deadline.
        KeepWhatYouRaise => "KEEP_WHAT_YOU_RAISE",
    }
}

crate::graphql_enum! {
    pub enum CampaignStatus as domain::funding::campaigns::CampaignStatus {
        /// Being written by the project's organisation; only its members see it.
        Draft => "DRAFT",
        /// Taking pledges until its deadline.
        Live => "LIVE",
        /// Closed at its deadline with its money.
        Succeeded => "SUCCEEDED",
        /// Closed at its deadline short of an all-or-nothing target (or with nothing raised); its pledges released.
        Failed => "FAILED",
        /// Called off by its organisation; its pledges released.
        Cancelled => "CANCELLED",
    }
}

crate::graphql_enum! {
    pub enum PledgeStatus as domain::funding::campaigns::PledgeStatus {
        /// Promised, not yet collected.
        Promised => "PROMISED",
        /// Collected: the payment provider said so (or, for a matching pledge, its fund paid it).
        Paid => "PAID",
        /// Taken back by its backer before the deadline.
        Cancelled => "CANCELLED",
        /// Let go because the campaign failed or was cancelled.
        Released => "RELEASED",
        /// Collected, but the campaign then failed or was cancelled: the payment provider is to refund it.
        RefundDue => "REFUND_DUE",
    }
}

/// A project's crowdfunding campaign.
pub struct Campaign {
    pub model: entity::campaign::Model,
    totals: OnceCell<Totals>,
}

impl Campaign {
    pub fn new(model: entity::campaign::Model) -> Self {
        Self { model, totals: OnceCell::new() }
    }

    fn with_totals(model: entity::campaign::Model, totals: Totals) -> Self {
        Self { model, totals: OnceCell::new_with(Some(totals)) }
    }

    async fn totals(&self, ctx: &Context<'_>) -> ApiResult<Totals> {
        let id = self.model.id;
        let totals = self
            .totals
            .get_or_try_init(|| async move {
                let mut all = campaigns::totals(db(ctx)?, &[id]).await?;
                Ok::<_, AppError>(all.remove(&id).unwrap_or_default())
            })
            .await?;
        Ok(*totals)
    }
}

#[Object]
impl Campaign {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Campaign, self.model.id)
    }
    async fn project(&self, ctx: &Context<'_>) -> ApiResult<Project> {
        let project = boxed(loaders(ctx)?.projects.load_one(self.model.project_id)).await?;
        project.map(Project).ok_or_else(|| AppError::not_found("project")).map_err(ApiError::from)
    }
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        let org = boxed(loaders(ctx)?.organisations.load_one(self.model.organisation_id)).await?;
        org.map(Organisation).ok_or_else(|| AppError::not_found("organisation")).map_err(ApiError::from)
    }
    async fn title(&self) -> &str {
        &self.model.title
    }
    async fn summary(&self) -> &str {
        &self.model.summary
    }
    async fn target(&self) -> Money {
        domain::values::Pence(self.model.target_pence).into()
    }
    /// Pledges are taken until this moment; the campaign closes within a minute of it.
    async fn deadline(&self) -> DateTime<Utc> {
        self.model.deadline
    }
    async fn model(&self) -> CampaignModel {
        campaigns::model(&self.model).into()
    }
    async fn status(&self) -> CampaignStatus {
        campaigns::status(&self.model).into()
    }
    /// Pledged so far (promised or paid), matching pledges included.
    async fn raised(&self, ctx: &Context<'_>) -> ApiResult<Money> {
        Ok(self.totals(ctx).await?.raised.into())
    }
    /// Of what is raised, what match funds added.
    async fn matched(&self, ctx: &Context<'_>) -> ApiResult<Money> {
        Ok(self.totals(ctx).await?.matched.into())
    }
    /// Of what is raised, what has been collected.
    async fn paid(&self, ctx: &Context<'_>) -> ApiResult<Money> {
        Ok(self.totals(ctx).await?.paid.into())
    }
    /// How many people back it (match funds not counted).
    async fn backers(&self, ctx: &Context<'_>) -> ApiResult<i64> {
        Ok(self.totals(ctx).await?.backers)
    }
    /// The match funds backing it.
    async fn matches(&self, ctx: &Context<'_>) -> ApiResult<Vec<CampaignMatch>> {
        Ok(campaigns::matches(db(ctx)?, self.model.id).await?.into_iter().map(CampaignMatch).collect())
    }
    /// Its pledges that count (promised or paid), newest first; anonymous backers' names withheld.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn pledges(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<PledgeConnection> {
        let page = Page::parse(first, after, None, None)?;
        let (rows, count) = campaigns::pledges(db(ctx)?, self.model.id, &page).await?;
        Ok(connection(rows, TotalCount::of(count), |(cursor, p)| (cursor, Pledge(p), EmptyFields)))
    }
    /// The signed-in user's own pledges to it, every status, newest first (empty when signed out).
    async fn my_pledges(&self, ctx: &Context<'_>) -> ApiResult<Vec<Pledge>> {
        let Some(user) = viewer(ctx)?.user_id() else { return Ok(Vec::new()) };
        Ok(campaigns::pledges_of(db(ctx)?, user, self.model.id).await?.into_iter().map(Pledge).collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    async fn launched_at(&self) -> Option<DateTime<Utc>> {
        self.model.launched_at
    }
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.model.closed_at
    }
}

pub type CampaignConnection = ListConnection<Campaign>;
pub type PledgeConnection = ListConnection<Pledge>;

/// A pledge: a backer's, or a match fund's matching one.
pub struct Pledge(pub entity::pledge::Model);

#[Object]
impl Pledge {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Pledge, self.0.id)
    }
    async fn amount(&self) -> Money {
        domain::values::Pence(self.0.amount_pence).into()
    }
    /// The name shown: the backer's chosen name, "Anonymous" to others when they pledged anonymously, or the
    /// match fund's name.
    async fn display_name(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let shown = domain::access::may_see_backer_name(viewer(ctx)?, self.0.backer_id, self.0.anonymous);
        Ok(if shown { self.0.display_name.clone() } else { "Anonymous".to_owned() })
    }
    async fn anonymous(&self) -> bool {
        self.0.anonymous
    }
    async fn message(&self) -> &str {
        &self.0.message
    }
    async fn status(&self) -> PledgeStatus {
        campaigns::pledge_status(&self.0).into()
    }
    /// Whether a match fund made it, matching another pledge.
    async fn is_match(&self) -> bool {
        self.0.match_id.is_some()
    }
    /// Whether the signed-in user made it.
    async fn mine(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        Ok(domain::access::is_backer(viewer(ctx)?, self.0.backer_id))
    }
    /// For the backer alone: what their checkout hands the payment provider, and the provider's webhook names.
    async fn payment_reference(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        Ok(domain::access::is_backer(viewer(ctx)?, self.0.backer_id).then(|| self.0.reference.clone()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }
}

/// A match fund backing a campaign.
pub struct CampaignMatch(pub entity::campaign_match::Model);

#[Object]
impl CampaignMatch {
    async fn fund(&self, ctx: &Context<'_>) -> ApiResult<Fund> {
        let fund = boxed(loaders(ctx)?.funds.load_one(self.0.fund_id)).await?;
        fund.map(Fund::new).ok_or_else(|| AppError::not_found("fund")).map_err(ApiError::from)
    }
    /// Pounds matched for every pound pledged (1 is pound for pound, 0.5 is 50p).
    async fn ratio(&self) -> f64 {
        f64::from(self.0.ratio_percent) / 100.0
    }
    async fn cap(&self) -> Money {
        domain::values::Pence(self.0.cap_pence).into()
    }
    /// What its matching pledges hold now.
    async fn matched(&self) -> Money {
        domain::values::Pence(self.0.matched_pence).into()
    }
}

#[derive(InputObject)]
pub struct CreateCampaignInput {
    pub project_id: ID,
    pub title: String,
    #[graphql(default)]
    pub summary: String,
    /// Pounds, as a decimal string ("2500.00").
    pub target: String,
    pub deadline: DateTime<Utc>,
    pub model: CampaignModel,
}

#[derive(InputObject)]
pub struct UpdateCampaignInput {
    pub campaign_id: ID,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub target: Option<String>,
    pub deadline: Option<DateTime<Utc>>,
    pub model: Option<CampaignModel>,
}

#[derive(InputObject)]
pub struct CampaignInput {
    pub campaign_id: ID,
}

#[derive(InputObject)]
pub struct PledgeInput {
    pub campaign_id: ID,
    /// Pounds, as a decimal string ("25.00"), £1 to £100,000.
    pub amount: String,
    /// The name shown with the pledge; the backer's own name when left out.
    pub display_name: Option<String>,
    /// Shown to others as "Anonymous".
    #[graphql(default)]
    pub anonymous: bool,
    #[graphql(default)]
    pub message: String,
}

#[derive(InputObject)]
pub struct CancelPledgeInput {
    pub pledge_id: ID,
}

#[derive(InputObject)]
pub struct MatchCampaignInput {
    pub fund_id: ID,
    pub campaign_id: ID,
    /// Pounds matched for every pound pledged, 0.01 to 10, at most two decimal places (1 is pound for pound).
    pub ratio: f64,
    /// The most the fund adds to this campaign, in pounds ("5000.00").
    pub cap: String,
}

#[derive(InputObject)]
pub struct PayCampaignMatchInput {
    pub campaign_id: ID,
    pub fund_id: ID,
}

#[derive(SimpleObject)]
pub struct CampaignPayload {
    pub campaign: Campaign,
}

#[derive(SimpleObject)]
pub struct PledgePayload {
    pub pledge: Pledge,
    pub campaign: Campaign,
}

#[derive(SimpleObject)]
pub struct CampaignMatchPayload {
    pub campaign_match: CampaignMatch,
    pub campaign: Campaign,
}

#[derive(InputObject, Default)]
pub struct CampaignFilter {
    pub project_id: Option<ID>,
    pub organisation_id: Option<ID>,
    pub status: Option<CampaignStatus>,
}

fn campaign_id(field: &str, id: &ID) -> AppResult<Uuid> {
    decode(field, id, NodeKind::Campaign)
}

/// A ratio as hundredths: 1.5 is 150. Anything finer than a hundredth is refused rather than rounded.
fn ratio_percent(ratio: f64) -> AppResult<i32> {
    let hundredths = (ratio * 100.0).round();
    if !ratio.is_finite() || (ratio * 100.0 - hundredths).abs() > 1e-6 {
        return Err(AppError::bad_input("input.ratio", "must have at most two decimal places"));
    }
    if !(1.0..=1000.0).contains(&hundredths) {
        return Err(AppError::bad_input("input.ratio", "must be between 0.01 and 10"));
    }
    // In range just above, so the cast is exact.
    Ok(hundredths as i32)
}

/// Campaigns as a connection, for the viewer, each page's totals read in two grouped statements.
pub async fn campaign_page(
    ctx: &Context<'_>,
    filter: Filter,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<CampaignConnection> {
    let page = Page::parse(first, after, None, None)?;
    let (rows, count) = campaigns::list(db(ctx)?, viewer(ctx)?, &filter, &page).await?;
    let ids: Vec<Uuid> = rows.rows.iter().map(|(_, c)| c.id).collect();
    let totals = campaigns::totals(db(ctx)?, &ids).await?;
    Ok(connection(rows, TotalCount::of(count), |(cursor, c)| {
        let t = totals.get(&c.id).copied().unwrap_or_default();
        (cursor, Campaign::with_totals(c, t), EmptyFields)
    }))
}

async fn visible(ctx: &Context<'_>, id: Uuid) -> AppResult<Option<Campaign>> {
    let found = campaigns::get(db(ctx)?, id).await;
    match found {
        Ok(c) if campaigns::may_see(db(ctx)?, viewer(ctx)?, &c).await? => Ok(Some(Campaign::new(c))),
        Ok(_) | Err(AppError::NotFound(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

#[derive(Default)]
pub struct CampaignQuery;

#[Object]
impl CampaignQuery {
    /// One campaign; null if there is none or it is a draft the caller may not see.
    async fn campaign(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Campaign>> {
        Ok(visible(ctx, decode("id", &id, NodeKind::Campaign)?).await?)
    }

    /// Campaigns, newest first: launched ones for everyone, drafts for their organisations' members.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn campaigns(
        &self,
        ctx: &Context<'_>,
        filter: Option<CampaignFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<CampaignConnection> {
        let filter = filter.unwrap_or_default();
        let filter = Filter {
            project_id: filter.project_id.map(|id| decode("filter.projectId", &id, NodeKind::Project)).transpose()?,
            organisation_id: filter
                .organisation_id
                .map(|id| decode("filter.organisationId", &id, NodeKind::Organisation))
                .transpose()?,
            status: filter.status.map(Into::into),
        };
        campaign_page(ctx, filter, first, after).await
    }
}

#[derive(Default)]
pub struct CampaignMutation;

#[Object]
impl CampaignMutation {
    /// The project's organisation's coordinators draft a campaign.
    async fn create_campaign(&self, ctx: &Context<'_>, input: CreateCampaignInput) -> ApiResult<CampaignPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let new = NewCampaign {
            project_id: decode("input.projectId", &input.project_id, NodeKind::Project)?,
            title: input.title,
            summary: input.summary,
            target: parse_money("input.target", &input.target)?,
            deadline: input.deadline,
            model: input.model.into(),
        };
        Ok(CampaignPayload { campaign: Campaign::new(campaigns::create(db(ctx)?, &actor, new).await?) })
    }

    /// Changes a draft campaign.
    async fn update_campaign(&self, ctx: &Context<'_>, input: UpdateCampaignInput) -> ApiResult<CampaignPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = campaign_id("input.campaignId", &input.campaign_id)?;
        let patch = CampaignPatch {
            title: input.title,
            summary: input.summary,
            target: input.target.map(|t| parse_money("input.target", &t)).transpose()?,
            deadline: input.deadline,
            model: input.model.map(Into::into),
        };
        Ok(CampaignPayload { campaign: Campaign::new(campaigns::update(db(ctx)?, &actor, id, patch).await?) })
    }

    /// Opens a draft to pledges until its deadline.
    async fn launch_campaign(&self, ctx: &Context<'_>, input: CampaignInput) -> ApiResult<CampaignPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = campaign_id("input.campaignId", &input.campaign_id)?;
        Ok(CampaignPayload { campaign: Campaign::new(campaigns::launch(db(ctx)?, &actor, id).await?) })
    }

    /// Calls a campaign off: every pledge released, matched money back to its funds.
    async fn cancel_campaign(&self, ctx: &Context<'_>, input: CampaignInput) -> ApiResult<CampaignPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = campaign_id("input.campaignId", &input.campaign_id)?;
        Ok(CampaignPayload { campaign: Campaign::new(campaigns::cancel(db(ctx)?, &actor, id).await?) })
    }

    /// Any signed-in user pledges to a live campaign; match funds add their matching pledges at once.
    async fn pledge(&self, ctx: &Context<'_>, input: PledgeInput) -> ApiResult<PledgePayload> {
        let actor = viewer(ctx)?.require_user()?;
        let new = NewPledge {
            campaign_id: campaign_id("input.campaignId", &input.campaign_id)?,
            amount: parse_money("input.amount", &input.amount)?,
            display_name: input.display_name,
            anonymous: input.anonymous,
            message: input.message,
        };
        let pledged = campaigns::pledge(db(ctx)?, &actor, new).await?;
        let campaign = Campaign::new(campaigns::get(db(ctx)?, pledged.campaign_id).await?);
        Ok(PledgePayload { pledge: Pledge(pledged), campaign })
    }

    /// The backer takes back a promised pledge before the deadline.
    async fn cancel_pledge(&self, ctx: &Context<'_>, input: CancelPledgeInput) -> ApiResult<PledgePayload> {
        let actor = viewer(ctx)?.require_user()?;
        let id = decode("input.pledgeId", &input.pledge_id, NodeKind::Pledge)?;
        let cancelled = campaigns::cancel_pledge(db(ctx)?, &actor, id).await?;
        let campaign = Campaign::new(campaigns::get(db(ctx)?, cancelled.campaign_id).await?);
        Ok(PledgePayload { pledge: Pledge(cancelled), campaign })
    }

    /// A match fund's administrators back a campaign: `ratio` pounds for every pound pledged from now on, up to
    /// `cap`, never past what the fund has available.
    async fn match_campaign(&self, ctx: &Context<'_>, input: MatchCampaignInput) -> ApiResult<CampaignMatchPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let new = NewMatch {
            fund_id: decode("input.fundId", &input.fund_id, NodeKind::Fund)?,
            campaign_id: campaign_id("input.campaignId", &input.campaign_id)?,
            ratio_percent: ratio_percent(input.ratio)?,
            cap: parse_money("input.cap", &input.cap)?,
        };
        let matched = campaigns::match_campaign(db(ctx)?, &actor, new).await?;
        let campaign = Campaign::new(campaigns::get(db(ctx)?, matched.campaign_id).await?);
        Ok(CampaignMatchPayload { campaign_match: CampaignMatch(matched), campaign })
    }

    /// The match fund's administrators pay what it matched on a campaign that succeeded.
    async fn pay_campaign_match(
        &self,
        ctx: &Context<'_>,
        input: PayCampaignMatchInput,
    ) -> ApiResult<CampaignMatchPayload> {
        let actor = viewer(ctx)?.require_user()?;
        let campaign = campaign_id("input.campaignId", &input.campaign_id)?;
        let fund = decode("input.fundId", &input.fund_id, NodeKind::Fund)?;
        let matched = campaigns::pay_match(db(ctx)?, &actor, campaign, fund).await?;
        let campaign = Campaign::new(campaigns::get(db(ctx)?, campaign).await?);
        Ok(CampaignMatchPayload { campaign_match: CampaignMatch(matched), campaign })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_exact_hundredths() {
        assert_eq!(ratio_percent(1.0), Ok(100));
        assert_eq!(ratio_percent(0.5), Ok(50));
        assert_eq!(ratio_percent(2.25), Ok(225));
        assert_eq!(ratio_percent(0.01), Ok(1));
        assert_eq!(ratio_percent(10.0), Ok(1000));
        for bad in [0.0, -1.0, 10.01, 0.005, 1.234, f64::NAN, f64::INFINITY] {
            assert!(ratio_percent(bad).is_err(), "{bad}");
        }
    }
}

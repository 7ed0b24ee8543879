//! Insight in GraphQL: `partnershipInsights` and `fundingGaps`. Aggregates of public things (wards, grants,
//! projects, needs), public to read; organisations resolve through the loader, once for all.
use async_graphql::{Context, ID, Object, SimpleObject};
use domain::funding::insight;
use domain::values::FinancialYear;

use crate::error::{ApiError, ApiResult, AppError};
use crate::kit::ids::{NodeKind, decode};
use crate::kit::{Money, db, loaders};
use crate::organisations::Organisation;
use crate::partnerships::Priority;
use crate::wards::Ward;

/// One ward's year: its people, its deprivation, the money it got and what is still needed there.
pub struct WardInsight(insight::WardInsight);

#[Object]
impl WardInsight {
    async fn ward(&self) -> Ward {
        Ward(self.0.ward.clone())
    }
    async fn population(&self) -> Option<i32> {
        self.0.ward.population.and_then(|p| i32::try_from(p).ok())
    }
    /// 1 = the most deprived tenth of the country.
    async fn deprivation_decile(&self) -> Option<i32> {
        self.0.ward.imd_decile.map(i32::from)
    }
    /// Approved, paid and completed awards of the year for projects in the ward.
    async fn awarded(&self) -> Money {
        self.0.awarded.into()
    }
    /// Awarded per resident, when the population is known.
    async fn awarded_per_head(&self) -> Option<Money> {
        self.0.awarded_per_head.map(Into::into)
    }
    /// Bids of the year for projects in the ward, past their draft.
    async fn bids_submitted(&self) -> i64 {
        self.0.bids_submitted
    }
    async fn bids_approved(&self) -> i64 {
        self.0.bids_approved
    }
    async fn projects(&self) -> i64 {
        self.0.projects
    }
    /// Open needs of the ward's projects.
    async fn open_needs(&self) -> i64 {
        self.0.open_needs
    }
    async fn unfilled_places(&self) -> i64 {
        self.0.unfilled_places
    }
    /// In the three most deprived deciles and funded below the median per head.
    async fn underfunded(&self) -> bool {
        self.0.underfunded
    }
}

/// One priority's year: what addresses it and what is still unmet.
pub struct PriorityInsight(insight::PriorityInsight);

#[Object]
impl PriorityInsight {
    async fn priority(&self) -> Priority {
        Priority(self.0.priority.clone())
    }
    /// Projects tagged with it.
    async fn projects(&self) -> i64 {
        self.0.projects
    }
    /// Bids of the year addressing it, past their draft.
    async fn bids(&self) -> i64 {
        self.0.bids
    }
    async fn awarded(&self) -> Money {
        self.0.awarded.into()
    }
    /// Open needs serving it.
    async fn unmet_needs(&self) -> i64 {
        self.0.unmet_needs
    }
}

/// An organisation and what it was awarded in the year.
pub struct TopOrganisation(uuid::Uuid, domain::values::Pence);

#[Object]
impl TopOrganisation {
    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        let org = loaders(ctx)?.organisations.load_one(self.0).await?;
        org.map(Organisation).ok_or_else(|| AppError::not_found("organisation")).map_err(ApiError::from)
    }
    async fn awarded(&self) -> Money {
        self.1.into()
    }
}

/// Where the money did not go: "not just groups that shout the loudest".
#[derive(SimpleObject)]
pub struct InsightFlags {
    /// Wards in the three most deprived deciles funded below the median per head.
    pub underfunded_wards: Vec<Ward>,
    /// The three best-funded organisations of the year, most first.
    pub top_organisations: Vec<TopOrganisation>,
    /// Their share of the year's money, 0 to 1.
    pub top_three_share: f64,
}

fn flags(i: &insight::Insight) -> InsightFlags {
    InsightFlags {
        underfunded_wards: i.wards.iter().filter(|w| w.underfunded).map(|w| Ward(w.ward.clone())).collect(),
        top_organisations: i.top_organisations.iter().map(|(o, a)| TopOrganisation(*o, *a)).collect(),
        top_three_share: i.top_share,
    }
}

/// A partnership's year.
#[derive(SimpleObject)]
pub struct PartnershipInsights {
    pub financial_year: String,
    pub awarded: Money,
    /// The median award per resident across its wards.
    pub median_per_head: Option<Money>,
    pub wards: Vec<WardInsight>,
    pub priorities: Vec<PriorityInsight>,
    pub flags: InsightFlags,
}

fn partnership_insights(year: FinancialYear, i: insight::Insight) -> PartnershipInsights {
    PartnershipInsights {
        financial_year: year.name(),
        awarded: i.awarded.into(),
        median_per_head: i.median_per_head.map(Into::into),
        flags: flags(&i),
        wards: i.wards.into_iter().map(WardInsight).collect(),
        priorities: i.priorities.into_iter().map(PriorityInsight).collect(),
    }
}

/// One partnership's part of a council's year.
pub struct PartnershipGap(uuid::Uuid, insight::Insight);

#[Object]
impl PartnershipGap {
    async fn partnership(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        let org = loaders(ctx)?.organisations.load_one(self.0).await?;
        org.map(Organisation).ok_or_else(|| AppError::not_found("organisation")).map_err(ApiError::from)
    }
    async fn awarded(&self) -> Money {
        self.1.awarded.into()
    }
    async fn wards(&self) -> Vec<WardInsight> {
        self.1.wards.iter().cloned().map(WardInsight).collect()
    }
    async fn priorities(&self) -> Vec<PriorityInsight> {
        self.1.priorities.iter().cloned().map(PriorityInsight).collect()
    }
}

/// A council's year across its partnerships.
#[derive(SimpleObject)]
pub struct FundingGaps {
    pub financial_year: String,
    pub awarded: Money,
    /// The median award per resident across the council's wards.
    pub median_per_head: Option<Money>,
    pub partnerships: Vec<PartnershipGap>,
    /// Flags across the whole council (wards against the council's median).
    pub flags: InsightFlags,
}

#[derive(Default)]
pub struct InsightQuery;

#[Object]
impl InsightQuery {
    /// A partnership's year: each ward's people, deprivation, awards (in all and per head), bids, projects, open
    /// needs and unfilled places; each priority's projects, bids, awards and unmet needs; and the flags.
    async fn partnership_insights(
        &self,
        ctx: &Context<'_>,
        partnership_id: ID,
        financial_year: String,
    ) -> ApiResult<PartnershipInsights> {
        let id = decode("partnershipId", &partnership_id, NodeKind::Organisation)?;
        let year = FinancialYear::parse("financialYear", &financial_year)?;
        Ok(partnership_insights(year, insight::partnership(db(ctx)?, id, year).await?))
    }

    /// The same across a council's partnerships.
    async fn funding_gaps(&self, ctx: &Context<'_>, council_id: ID, financial_year: String) -> ApiResult<FundingGaps> {
        let id = decode("councilId", &council_id, NodeKind::Organisation)?;
        let year = FinancialYear::parse("financialYear", &financial_year)?;
        let (whole, parts) = insight::council(db(ctx)?, id, year).await?;
        Ok(FundingGaps {
            financial_year: year.name(),
            awarded: whole.awarded.into(),
            median_per_head: whole.median_per_head.map(Into::into),
            flags: flags(&whole),
            partnerships: parts.into_iter().map(|(p, i)| PartnershipGap(p, i)).collect(),
        })
    }
}

//! Council wards: public facts about places (their ONS code, council, population and deprivation), loaded by
//! `pitchin import wards` and read here.
use async_graphql::connection::EmptyFields;
use async_graphql::{Context, ID, InputObject, Object};
use domain::wards::service::{self, WardFilter as Filter};

use crate::error::{ApiError, ApiResult, AppError};
use crate::kit::ids::{NodeKind, decode, encode};
use crate::kit::pagination::{ListConnection, Page, TotalCount, connection};
use crate::kit::{db, loaders};
use crate::organisations::Organisation;

/// A council ward.
pub struct Ward(pub entity::ward::Model);

#[Object]
impl Ward {
    pub async fn id(&self) -> ID {
        encode(NodeKind::Ward, self.0.id)
    }
    /// The ward's ONS GSS code (E05… in England).
    async fn gss_code(&self) -> &str {
        &self.0.gss_code
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The council the ward is part of.
    async fn council(&self, ctx: &Context<'_>) -> ApiResult<Organisation> {
        let council = loaders(ctx)?.organisations.load_one(self.0.council_id).await?;
        council.map(Organisation).ok_or_else(|| AppError::not_found("council")).map_err(ApiError::from)
    }
    /// Residents, if known.
    async fn population(&self) -> Option<i32> {
        self.0.population.and_then(|p| i32::try_from(p).ok())
    }
    /// Index of Multiple Deprivation decile: 1 is the most deprived tenth of the country, 10 the least.
    async fn deprivation_decile(&self) -> Option<i32> {
        self.0.imd_decile.map(i32::from)
    }
    /// True when population and deprivation are illustrative rather than the official figures.
    async fn figures_illustrative(&self) -> bool {
        self.0.figures_illustrative
    }
}

#[derive(InputObject, Default)]
pub struct WardFilter {
    /// The council's wards.
    pub council_id: Option<ID>,
    /// A community partnership's wards.
    pub partnership_id: Option<ID>,
}

pub type WardConnection = ListConnection<Ward>;

#[derive(Default)]
pub struct WardQuery;

#[Object]
impl WardQuery {
    /// Wards in name order, for anyone: a council's, or a community partnership's.
    #[graphql(complexity = "crate::kit::limits::page_cost(first, None, child_complexity)")]
    async fn wards(
        &self,
        ctx: &Context<'_>,
        filter: Option<WardFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<WardConnection> {
        let filter = filter.unwrap_or_default();
        let organisation =
            |field: &str, id: Option<ID>| id.map(|id| decode(field, &id, NodeKind::Organisation)).transpose();
        let filter = Filter {
            council_id: organisation("filter.councilId", filter.council_id)?,
            partnership_id: organisation("filter.partnershipId", filter.partnership_id)?,
        };
        let page = Page::parse(first, after, None, None)?;
        let (rows, count) = service::list(db(ctx)?, &filter, &page).await?;
        Ok(connection(rows, TotalCount::of(count), |(cursor, ward)| (cursor, Ward(ward), EmptyFields)))
    }
}

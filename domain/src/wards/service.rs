//! Reading wards: by council or by partnership, in name order.
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::store::page::{Cursor, Page, PageRows, SortKey, SortKind, SortValue, fetch_rows};
use entity::ward;

#[derive(Clone, Debug, Default)]
pub struct WardFilter {
    pub council_id: Option<Uuid>,
    pub partnership_id: Option<Uuid>,
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<ward::Model> {
    ward::Entity::find_by_id(id).one(db).await?.ok_or_else(|| AppError::not_found("ward"))
}

fn sort_key() -> SortKey {
    SortKey {
        name: "wards:NAME",
        kind: SortKind::Text,
        key: Expr::col((ward::Entity, ward::Column::Name)),
        id: Expr::col((ward::Entity, ward::Column::Id)),
        descending: false,
    }
}

/// A page of wards in name order, each with its cursor, and the statement that counts them all. Wards are public.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &WardFilter,
    page: &Page,
) -> AppResult<(PageRows<(Cursor, ward::Model)>, SelectStatement)> {
    use ward::Column as C;
    let mut select = Query::select();
    select.columns([
        C::Id,
        C::GssCode,
        C::Name,
        C::CouncilId,
        C::PartnershipId,
        C::Population,
        C::ImdDecile,
        C::FiguresIllustrative,
        C::CreatedAt,
        C::UpdatedAt,
    ]);
    select.from(ward::Entity);
    if let Some(council) = filter.council_id {
        select.and_where(Expr::col((ward::Entity, C::CouncilId)).eq(council));
    }
    if let Some(partnership) = filter.partnership_id {
        select.and_where(Expr::col((ward::Entity, C::PartnershipId)).eq(partnership));
    }
    let count = select.clone();
    let sort = sort_key();
    sort.apply(&mut select, page)?;
    let rows: Vec<ward::Model> = fetch_rows(db, &select).await?;
    let rows = rows.into_iter().map(|w| (sort.cursor(SortValue::Text(w.name.clone()), w.id), w)).collect();
    Ok((PageRows::from_fetched(rows, page), count))
}

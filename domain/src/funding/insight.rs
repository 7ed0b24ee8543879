//! Where the need is and where the money went, for a partnership or a whole council, in a financial year: for each
//! ward its people, deprivation, money awarded (in all and per head), bids, projects, open needs and unfilled
//! places; for each priority its projects, bids, awards and unmet needs; and flags for deprived wards funded below
//! the median and for money going to the few ("not just groups that shout the loudest"). A fixed number of
//! statements whatever the number of wards, bids or projects: one a level.
use std::collections::HashMap;

use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::BidStatus;
use super::bids::priority_ids_of;
use crate::error::AppResult;
use crate::needs::NeedStatus;
use crate::values::{FinancialYear, Pence};
use entity::{bid, community_partnership, fund, need, need_priority, priority, project, project_priority, ward};

/// The three best-funded organisations, whose share of the year's money is flagged.
pub const TOP: usize = 3;
/// Wards in these deciles (1 = most deprived) funded below the median per head are flagged.
pub const DEPRIVED_DECILES: i16 = 3;

#[derive(Clone, Debug)]
pub struct WardInsight {
    pub ward: ward::Model,
    pub awarded: Pence,
    /// Pence a resident, when the population is known.
    pub awarded_per_head: Option<Pence>,
    pub bids_submitted: i64,
    pub bids_approved: i64,
    pub projects: i64,
    pub open_needs: i64,
    pub unfilled_places: i64,
    /// A deprived ward (decile 1–3) funded below the median per head.
    pub underfunded: bool,
}

#[derive(Clone, Debug)]
pub struct PriorityInsight {
    pub priority: priority::Model,
    pub projects: i64,
    pub bids: i64,
    pub awarded: Pence,
    /// Open needs serving it, with places still to fill.
    pub unmet_needs: i64,
}

#[derive(Clone, Debug, Default)]
pub struct Insight {
    pub wards: Vec<WardInsight>,
    pub priorities: Vec<PriorityInsight>,
    pub awarded: Pence,
    /// The median per head of the wards with a known population.
    pub median_per_head: Option<Pence>,
    /// The best-funded organisations and what they were awarded, most first.
    pub top_organisations: Vec<(Uuid, Pence)>,
    /// Their share of the year's money, 0 to 1 (0 when nothing was awarded).
    pub top_share: f64,
}

/// Insight for the wards `ward_ids` and the bids to funds owned by `owners` or for projects in those wards, and
/// the priorities of `partnerships`, in `year`.
async fn insight(
    db: &impl ConnectionTrait,
    wards: Vec<ward::Model>,
    owners: &[Uuid],
    partnerships: &[Uuid],
    year: FinancialYear,
) -> AppResult<Insight> {
    let ward_ids: Vec<Uuid> = wards.iter().map(|w| w.id).collect();
    let year_name = year.name();
    // The projects in the wards (one statement), and every bid of the year that concerns them or the owners' funds.
    let projects: Vec<(Uuid, Option<Uuid>)> = project::Entity::find()
        .select_only()
        .column(project::Column::Id)
        .column(project::Column::WardId)
        .filter(project::Column::WardId.is_in(ward_ids.clone()))
        .into_tuple()
        .all(db)
        .await?;
    let project_ward: HashMap<Uuid, Uuid> = projects.iter().filter_map(|(p, w)| Some((*p, (*w)?))).collect();
    let year_funds = Query::select()
        .column(fund::Column::Id)
        .from(fund::Entity)
        .and_where(fund::Column::FinancialYear.eq(year_name.clone()))
        .to_owned();
    let in_wards = Query::select()
        .column(project::Column::Id)
        .from(project::Entity)
        .and_where(project::Column::WardId.is_in(ward_ids.clone()))
        .to_owned();
    let owned = Query::select()
        .column(fund::Column::Id)
        .from(fund::Entity)
        .and_where(fund::Column::OwnerId.is_in(owners.to_vec()))
        .to_owned();
    let bids = bid::Entity::find()
        .filter(bid::Column::FundId.in_subquery(year_funds))
        .filter(bid::Column::SubmittedAt.is_not_null())
        .filter(
            Condition::any()
                .add(bid::Column::ProjectId.in_subquery(in_wards))
                .add(bid::Column::FundId.in_subquery(owned)),
        )
        .all(db)
        .await?;
    // Open needs and their places left, by project (one statement).
    let open_needs: Vec<(Uuid, Option<Uuid>, i32, i32)> = need::Entity::find()
        .select_only()
        .column(need::Column::Id)
        .column(need::Column::ProjectId)
        .column(need::Column::VolunteersNeeded)
        .column(need::Column::PlacesTaken)
        .filter(need::Column::Status.eq(NeedStatus::Open.as_db()))
        .filter(need::Column::ProjectId.is_in(projects.iter().map(|(p, _)| *p)))
        .into_tuple()
        .all(db)
        .await?;
    // The partnerships' priorities of the year, with their tagged projects and open needs (three statements).
    let priorities = priority::Entity::find()
        .filter(priority::Column::PartnershipId.is_in(partnerships.to_vec()))
        .filter(priority::Column::FinancialYear.eq(year_name))
        .order_by_asc(priority::Column::CreatedAt)
        .all(db)
        .await?;
    let priority_ids: Vec<Uuid> = priorities.iter().map(|p| p.id).collect();
    let tagged_projects: Vec<(Uuid, i64)> = project_priority::Entity::find()
        .select_only()
        .column(project_priority::Column::PriorityId)
        .column_as(project_priority::Column::ProjectId.count(), "n")
        .filter(project_priority::Column::PriorityId.is_in(priority_ids.clone()))
        .group_by(project_priority::Column::PriorityId)
        .into_tuple()
        .all(db)
        .await?;
    let open = Query::select()
        .column(need::Column::Id)
        .from(need::Entity)
        .and_where(need::Column::Status.eq(NeedStatus::Open.as_db()))
        .to_owned();
    let unmet: Vec<(Uuid, i64)> = need_priority::Entity::find()
        .select_only()
        .column(need_priority::Column::PriorityId)
        .column_as(need_priority::Column::NeedId.count(), "n")
        .filter(need_priority::Column::PriorityId.is_in(priority_ids))
        .filter(need_priority::Column::NeedId.in_subquery(open))
        .group_by(need_priority::Column::PriorityId)
        .into_tuple()
        .all(db)
        .await?;

    // What a grant gave: its award, or, once completed (the unpaid rest released), what was paid.
    let awarded_of = |b: &bid::Model| match BidStatus::from_db(&b.status) {
        Some(BidStatus::Completed) => b.amount_paid,
        Some(s) if s.is_public() => b.amount_awarded.unwrap_or(0),
        _ => 0,
    };
    let mut by_ward: HashMap<Uuid, WardInsight> = HashMap::new();
    for w in &wards {
        by_ward.insert(
            w.id,
            WardInsight {
                ward: w.clone(),
                awarded: Pence(0),
                awarded_per_head: None,
                bids_submitted: 0,
                bids_approved: 0,
                projects: 0,
                open_needs: 0,
                unfilled_places: 0,
                underfunded: false,
            },
        );
    }
    for (_, ward) in &projects {
        if let Some(i) = ward.and_then(|w| by_ward.get_mut(&w)) {
            i.projects += 1;
        }
    }
    for (_, project, needed, taken) in &open_needs {
        if let Some(i) = project.and_then(|p| project_ward.get(&p)).and_then(|w| by_ward.get_mut(w)) {
            i.open_needs += 1;
            i.unfilled_places += i64::from((needed - taken).max(0));
        }
    }
    let mut total = 0i64;
    let mut by_organisation: HashMap<Uuid, i64> = HashMap::new();
    for b in &bids {
        let awarded = awarded_of(b);
        total = total.saturating_add(awarded);
        if awarded > 0 {
            *by_organisation.entry(b.organisation_id).or_default() += awarded;
        }
        if let Some(i) = project_ward.get(&b.project_id).and_then(|w| by_ward.get_mut(w)) {
            i.bids_submitted += 1;
            if awarded > 0 {
                i.bids_approved += 1;
                i.awarded = Pence(i.awarded.0.saturating_add(awarded));
            }
        }
    }
    let mut ward_insights: Vec<WardInsight> = wards.iter().filter_map(|w| by_ward.remove(&w.id)).collect();
    for i in &mut ward_insights {
        i.awarded_per_head = i.ward.population.filter(|p| *p > 0).map(|p| Pence(i.awarded.0 / p));
    }
    let mut per_head: Vec<i64> = ward_insights.iter().filter_map(|i| i.awarded_per_head.map(|p| p.0)).collect();
    per_head.sort_unstable();
    let median = match per_head.len() {
        0 => None,
        n if n % 2 == 1 => Some(Pence(per_head[n / 2])),
        n => Some(Pence((per_head[n / 2 - 1] + per_head[n / 2]) / 2)),
    };
    for i in &mut ward_insights {
        i.underfunded = matches!((i.ward.imd_decile, i.awarded_per_head, median),
            (Some(decile), Some(head), Some(median)) if decile <= DEPRIVED_DECILES && head < median);
    }
    let mut top: Vec<(Uuid, Pence)> = by_organisation.into_iter().map(|(o, a)| (o, Pence(a))).collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(TOP);
    let top_sum: i64 = top.iter().map(|(_, a)| a.0).sum();
    let top_share = if total > 0 { top_sum as f64 / total as f64 } else { 0.0 };

    let tagged: HashMap<Uuid, i64> = tagged_projects.into_iter().collect();
    let unmet: HashMap<Uuid, i64> = unmet.into_iter().collect();
    let priorities = priorities
        .into_iter()
        .map(|p| {
            let addressing: Vec<&bid::Model> = bids.iter().filter(|b| priority_ids_of(b).contains(&p.id)).collect();
            PriorityInsight {
                projects: tagged.get(&p.id).copied().unwrap_or(0),
                bids: addressing.len() as i64,
                awarded: Pence(addressing.iter().map(|b| awarded_of(b)).sum()),
                unmet_needs: unmet.get(&p.id).copied().unwrap_or(0),
                priority: p,
            }
        })
        .collect();
    Ok(Insight {
        wards: ward_insights,
        priorities,
        awarded: Pence(total),
        median_per_head: median,
        top_organisations: top,
        top_share,
    })
}

/// A partnership's insight for a year: its wards, its priorities, the bids to its funds or for its wards' projects.
pub async fn partnership(db: &impl ConnectionTrait, partnership_id: Uuid, year: FinancialYear) -> AppResult<Insight> {
    crate::partnerships::service::get(db, partnership_id).await?;
    let wards = ward::Entity::find()
        .filter(ward::Column::PartnershipId.eq(partnership_id))
        .order_by_asc(ward::Column::Name)
        .all(db)
        .await?;
    insight(db, wards, &[partnership_id], &[partnership_id], year).await
}

/// A council's funding gaps for a year: each of its partnerships' wards and priorities, in one pass over the whole
/// council (the same statements as one partnership's), grouped by partnership.
pub async fn council(
    db: &impl ConnectionTrait,
    council_id: Uuid,
    year: FinancialYear,
) -> AppResult<(Insight, Vec<(Uuid, Insight)>)> {
    crate::organisations::get(db, council_id).await?;
    let partnerships: Vec<Uuid> = community_partnership::Entity::find()
        .filter(community_partnership::Column::CouncilId.eq(council_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.organisation_id)
        .collect();
    let wards = ward::Entity::find()
        .filter(ward::Column::CouncilId.eq(council_id))
        .order_by_asc(ward::Column::Name)
        .all(db)
        .await?;
    let mut owners = partnerships.clone();
    owners.push(council_id);
    let whole = insight(db, wards, &owners, &partnerships, year).await?;
    // Each partnership's share of the council's wards and priorities, without reading again.
    let by_partnership = partnerships
        .iter()
        .map(|p| {
            let wards: Vec<WardInsight> =
                whole.wards.iter().filter(|w| w.ward.partnership_id == Some(*p)).cloned().collect();
            let priorities: Vec<PriorityInsight> =
                whole.priorities.iter().filter(|i| i.priority.partnership_id == *p).cloned().collect();
            let awarded = Pence(wards.iter().map(|w| w.awarded.0).sum());
            (*p, Insight { wards, priorities, awarded, ..Insight::default() })
        })
        .collect();
    Ok((whole, by_partnership))
}

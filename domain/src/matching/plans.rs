//! Assignment plans: propose an optimal staffing of open needs, confirm it as invitations, answer them.
//!
//! An invitation holds a place (taken with the same conditional UPDATE as an acceptance), so confirming
//! never promises more places than a need has, even when two coordinators confirm at once; a declined or
//! withdrawn invitation gives the place back.
use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession, TransactionTrait};
use uuid::Uuid;

use super::assignment::{AssignmentProblem, Candidate, ROTATION_MARGIN, rotate, solve};
use super::index::MatchingIndex;
use super::scoring;
use super::service::{
    StatusByVolunteer, active_applicants, applications_to_needs, need_facts, profiles_by_id, today, volunteer_facts,
};
use crate::access::{self as policy, AuthUser};
use crate::applications::ApplicationStatus;
use crate::applications::caps;
use crate::applications::service as lifecycle;
use crate::error::{AppError, AppResult};
use crate::needs::NeedStatus;
use crate::needs::service as needs;
use entity::{application, need, volunteer_profile};

pub const MAX_PLAN_NEEDS: usize = 500;
pub const MAX_NEEDS_PER_VOLUNTEER: i32 = 10;

pub struct ProposedPair {
    pub need: need::Model,
    pub volunteer: volunteer_profile::Model,
    pub score: f64,
}

pub struct Unmet {
    pub need: need::Model,
    pub places: i32,
    pub reason: String,
}

pub struct Plan {
    pub proposals: Vec<ProposedPair>,
    pub total_score: f64,
    pub needs_covered: usize,
    pub unmet: Vec<Unmet>,
}

/// Which needs a plan covers: an organisation's open needs, or a list.
pub enum PlanScope {
    Organisation(Uuid),
    Needs(Vec<Uuid>),
}

async fn plan_needs(db: &impl ConnectionTrait, actor: &AuthUser, scope: PlanScope) -> AppResult<Vec<need::Model>> {
    let needs = match scope {
        PlanScope::Organisation(org) => {
            crate::organisations::get(db, org).await?;
            policy::require_coordinator(db, actor, org).await?;
            need::Entity::find()
                .filter(need::Column::OrganisationId.eq(org))
                .filter(need::Column::Status.eq(NeedStatus::Open.as_db()))
                .all(db)
                .await?
        }
        PlanScope::Needs(ids) => {
            let unique: HashSet<Uuid> = ids.iter().copied().collect();
            if unique.len() != ids.len() {
                return Err(AppError::bad_input("input.needIds", "lists a need twice"));
            }
            let rows = need::Entity::find().filter(need::Column::Id.is_in(ids.iter().copied())).all(db).await?;
            if rows.len() != ids.len() {
                return Err(AppError::not_found("need"));
            }
            let orgs: BTreeMap<Uuid, ()> = rows.iter().map(|n| (n.organisation_id, ())).collect();
            for org in orgs.keys() {
                policy::require_coordinator(db, actor, *org).await?;
            }
            rows
        }
    };
    if needs.len() > MAX_PLAN_NEEDS {
        return Err(AppError::bad_input("input", format!("a plan covers at most {MAX_PLAN_NEEDS} needs")));
    }
    let mut needs = needs;
    needs.sort_by_key(|n| n.id);
    Ok(needs)
}

#[tracing::instrument(skip_all, fields(actor = %actor.id))]
pub async fn propose(
    db: &impl ConnectionTrait,
    index: &MatchingIndex,
    actor: &AuthUser,
    scope: PlanScope,
    max_per_volunteer: i32,
) -> AppResult<Plan> {
    if !(1..=MAX_NEEDS_PER_VOLUNTEER).contains(&max_per_volunteer) {
        return Err(AppError::bad_input(
            "input.maxNeedsPerVolunteer",
            format!("must be between 1 and {MAX_NEEDS_PER_VOLUNTEER}"),
        ));
    }
    let needs = plan_needs(db, actor, scope).await?;
    let need_ids: Vec<Uuid> = needs.iter().map(|n| n.id).collect();
    index.refresh(db).await?;
    let existing = StatusByVolunteer::per_need(applications_to_needs(db, &need_ids).await?);
    let none = StatusByVolunteer::default();
    let today = today();

    // Each need's eligible volunteers from the index; volunteers are numbered in id order, so equal input
    // gives an equal problem and so an equal plan.
    // A view per need, not one for the whole plan: a refresh waiting to write would otherwise hold up every
    // other request's reads for as long as the plan takes.
    let need_facts: Vec<_> =
        needs.iter().map(|n| need_facts(&n.into(), index.read().active_applicants(n.id))).collect();
    let mut per_need: Vec<_> = needs
        .iter()
        .zip(&need_facts)
        .map(|(n, nf)| {
            let applied = existing.get(&n.id).unwrap_or(&none);
            index.read().volunteers_for(nf, |v| applied.status(v), today)
        })
        .collect();
    // Needs that take only volunteers their organisation has verified: the others are not candidates.
    for (n, scored) in needs.iter().zip(per_need.iter_mut()) {
        if n.safeguarding_verified {
            let level = crate::volunteers::verification::required_level(n);
            let verified = crate::volunteers::verification::verified_by(db, n.organisation_id, level, today).await?;
            scored.retain(|(_, id, _)| verified.contains(id));
        }
    }
    // Nobody is asked more than their weekly cap: those at it are not candidates this week.
    let seen: Vec<Uuid> = per_need.iter().flatten().map(|(_, id, _)| *id).collect();
    let asked = caps::asked(db, &seen, crate::now()).await?;
    for scored in per_need.iter_mut() {
        scored.retain(|(_, id, _)| asked.get(id).is_none_or(|a| a.left() > 0));
    }
    let mut volunteer_ids: Vec<Uuid> = per_need.iter().flatten().map(|(_, id, _)| *id).collect();
    volunteer_ids.sort();
    volunteer_ids.dedup();
    let number: HashMap<Uuid, usize> = volunteer_ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut candidates = Vec::new();
    let mut eligible_per_need = vec![0usize; needs.len()];
    for (ni, scored) in per_need.iter().enumerate() {
        eligible_per_need[ni] = scored.len();
        candidates.extend(scored.iter().filter_map(|(score, id, _)| {
            number.get(id).map(|vi| Candidate { need: ni, volunteer: *vi, score: *score })
        }));
    }
    candidates.sort_by_key(|c| (c.need, c.volunteer));
    let scores: HashMap<(usize, usize), f64> = candidates.iter().map(|c| ((c.need, c.volunteer), c.score)).collect();
    // Rotation: among candidates as good as a need's best (within the margin), the least recently asked first
    // (never asked before anyone; then by id), so the same few are not asked every time.
    rotate(&mut candidates, &caps::recency(&volunteer_ids, &asked), ROTATION_MARGIN);
    let places: Vec<u32> = need_facts.iter().map(|f| u32::try_from(f.places_left.max(0)).unwrap_or(0)).collect();
    // Each volunteer takes at most the plan's limit, and no more than their invitations left this week.
    let limits = volunteer_ids
        .iter()
        .map(|id| {
            let left = asked.get(id).map_or(caps::INVITATIONS_PER_WEEK, caps::Asked::left);
            u32::try_from(left.min(max_per_volunteer)).unwrap_or(0)
        })
        .collect();
    let problem = AssignmentProblem { places: places.clone(), volunteer_limits: limits, candidates };
    // The solver is CPU-bound: keep it off the async workers.
    let assignment = tokio::task::spawn_blocking(move || solve(&problem)).await.map_err(AppError::internal)?;

    let mut assigned = vec![0u32; needs.len()];
    let mut proposals = Vec::with_capacity(assignment.pairs.len());
    // The plan's total in the true scores, not the rotated ones the solver ranked by.
    let mut total_score = 0.0;
    // Only the proposed volunteers are read in full.
    let chosen: Vec<Uuid> = assignment.pairs.iter().filter_map(|(_, vi)| volunteer_ids.get(*vi).copied()).collect();
    let profiles = profiles_by_id(db, &chosen).await?;
    for (ni, vi) in &assignment.pairs {
        let (Some(n), Some(profile)) = (needs.get(*ni), volunteer_ids.get(*vi).and_then(|id| profiles.get(id))) else {
            continue;
        };
        assigned[*ni] += 1;
        let score = scores.get(&(*ni, *vi)).copied().unwrap_or(0.0);
        total_score += score.min(1.0);
        proposals.push(ProposedPair { need: n.clone(), volunteer: profile.clone(), score });
    }
    let unmet = needs
        .iter()
        .enumerate()
        .filter(|(i, _)| assigned[*i] < places[*i] || need_facts[*i].status != NeedStatus::Open)
        .map(|(i, n)| {
            let left = places[i] - assigned[i].min(places[i]);
            let reason = if need_facts[i].status != NeedStatus::Open {
                format!("the need is {}", n.status.to_lowercase())
            } else if eligible_per_need[i] == 0 {
                "no eligible volunteers".to_owned()
            } else if eligible_per_need[i] < places[i] as usize {
                format!("only {} eligible volunteers", eligible_per_need[i])
            } else {
                "its eligible volunteers are proposed for other needs".to_owned()
            };
            Unmet { need: n.clone(), places: i32::try_from(left).unwrap_or(0), reason }
        })
        .collect();
    Ok(Plan { proposals, total_score, needs_covered: assignment.needs_covered, unmet })
}

fn volunteer_ids_of(proposals: &[(Uuid, Uuid)]) -> Vec<Uuid> {
    proposals.iter().map(|p| p.1).collect()
}

/// Turns chosen proposals into INVITED applications, each holding a place; all or nothing.
#[tracing::instrument(skip_all, fields(actor = %actor.id, count = proposals.len()))]
pub async fn confirm(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    proposals: &[(Uuid, Uuid)],
) -> AppResult<Vec<application::Model>> {
    if proposals.is_empty() || proposals.len() > MAX_PLAN_NEEDS * 2 {
        return Err(AppError::bad_input("proposals", "give between 1 and 1000 proposals"));
    }
    let unique: HashSet<&(Uuid, Uuid)> = proposals.iter().collect();
    if unique.len() != proposals.len() {
        return Err(AppError::bad_input("proposals", "lists a pair twice"));
    }
    // Reads first, outside the transaction (SQLite cannot upgrade a read transaction under contention).
    let need_ids: Vec<Uuid> = proposals.iter().map(|p| p.0).collect::<HashSet<_>>().into_iter().collect();
    let needs: HashMap<Uuid, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(need_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let volunteer_ids: Vec<Uuid> = proposals.iter().map(|p| p.1).collect::<HashSet<_>>().into_iter().collect();
    let volunteers: HashMap<Uuid, volunteer_profile::Model> = volunteer_profile::Entity::find()
        .filter(volunteer_profile::Column::Id.is_in(volunteer_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    let mut checked_orgs = HashSet::new();
    for n in needs.values() {
        if checked_orgs.insert(n.organisation_id) {
            policy::require_coordinator(db, actor, n.organisation_id).await?;
        }
    }
    let existing = applications_to_needs(db, &need_ids).await?;
    let active = active_applicants(db, &need_ids).await?;
    let today = today();
    for (i, (need_id, volunteer_id)) in proposals.iter().enumerate() {
        let n =
            needs.get(need_id).ok_or_else(|| AppError::bad_input(format!("proposals[{i}].needId"), "no such need"))?;
        let v = volunteers
            .get(volunteer_id)
            .filter(|v| v.deleted_at.is_none())
            .ok_or_else(|| AppError::bad_input(format!("proposals[{i}].volunteerId"), "no such volunteer"))?;
        let evaluation = scoring::evaluate(
            &need_facts(&n.into(), active.get(need_id).copied().unwrap_or(0)),
            &volunteer_facts(&v.into()),
            existing.get(&(*need_id, *volunteer_id)).copied(),
            today,
        );
        // Places are re-checked atomically below; every other constraint must still hold.
        if let Some(failure) = evaluation.failures.iter().find(|f| f.constraint != scoring::MatchConstraint::NeedOpen) {
            return Err(AppError::conflict(format!(
                "{} is no longer a match for \"{}\": {}",
                v.display_name, n.title, failure.explanation
            )));
        }
        crate::volunteers::verification::require_for(db, n, v.id).await?;
    }
    // Nobody past their weekly cap of invitations, counting this plan's.
    let asked = caps::asked(db, &volunteer_ids_of(proposals), crate::now()).await?;
    let mut asking: HashMap<Uuid, i32> = HashMap::new();
    for (_, volunteer_id) in proposals {
        *asking.entry(*volunteer_id).or_default() += 1;
    }
    for (volunteer_id, count) in asking {
        let left = asked.get(&volunteer_id).map_or(caps::INVITATIONS_PER_WEEK, caps::Asked::left);
        if count > left {
            let name = volunteers.get(&volunteer_id).map_or("a volunteer", |v| v.display_name.as_str());
            return Err(AppError::conflict(format!(
                "{name} may be asked {left} more time(s) this week (at most {} invitations in seven days)",
                caps::INVITATIONS_PER_WEEK
            )));
        }
    }

    let txn = db.begin().await?;
    // Rows held in one order, needs then volunteers, each by id: what a waitlist's offer (its need, then the one
    // offered) and a dispatch's wave take too, so these transactions queue rather than deadlock. Each volunteer is
    // admitted here within their cap, counted again with the rows held.
    let mut held_needs: Vec<Uuid> = proposals.iter().map(|p| p.0).collect();
    held_needs.sort();
    held_needs.dedup();
    for need_id in &held_needs {
        needs::hold(&txn, *need_id).await?;
    }
    let mut held_volunteers = volunteer_ids_of(proposals);
    held_volunteers.sort();
    held_volunteers.dedup();
    let now = crate::now();
    for volunteer_id in &held_volunteers {
        caps::admit(&txn, *volunteer_id, now).await?;
    }
    let mut invited = Vec::with_capacity(proposals.len());
    for (need_id, volunteer_id) in proposals {
        let previous = match existing.get(&(*need_id, *volunteer_id)) {
            // A past, ended application to the same need is reopened (one row per pair).
            Some(status) => {
                let previous = application::Entity::find()
                    .filter(application::Column::NeedId.eq(*need_id))
                    .filter(application::Column::VolunteerId.eq(*volunteer_id))
                    .one(&txn)
                    .await?
                    .ok_or_else(|| AppError::conflict("an application changed while confirming; try again"))?;
                if previous.status != status.as_db() {
                    return Err(AppError::conflict("an application changed while confirming; try again"));
                }
                Some(previous)
            }
            None => None,
        };
        let row =
            lifecycle::open(&txn, previous.as_ref(), *need_id, *volunteer_id, lifecycle::Opening::Invited).await?;
        needs::take_place(&txn, *need_id).await?;
        invited.push(row);
    }
    let changes = proposals.iter().filter_map(|(need_id, volunteer_id)| {
        let title = needs.get(need_id).map_or("", |n| n.title.as_str());
        volunteers.get(volunteer_id).map(|v| (v.user_id, format!("invited to \"{title}\"")))
    });
    crate::audit::record_changes(&txn, crate::audit::Actor::user(actor.id), &["application.status"], changes).await?;
    txn.commit().await?;
    Ok(invited)
}

/// The invited volunteer accepts (keeping the held place) or declines (giving it back). An offer from the waitlist
/// can no longer be accepted once `offer_for` has passed since it was made, even before the sweep lapses it.
#[tracing::instrument(skip_all, fields(actor = %actor.id, application = %id))]
pub async fn respond(
    db: &(impl ConnectionTrait + TransactionTrait),
    actor: &AuthUser,
    id: Uuid,
    accept: bool,
    offer_for: chrono::TimeDelta,
) -> AppResult<(application::Model, need::Model)> {
    let application = crate::applications::service::get(db, id).await?;
    let own = crate::volunteers::find_for_user(db, actor.id).await?;
    if own.is_none_or(|p| p.id != application.volunteer_id) {
        return Err(AppError::forbidden("only the invited volunteer may answer an invitation"));
    }
    if application.status != ApplicationStatus::Invited.as_db() {
        return Err(AppError::conflict(format!(
            "this application is {}, not an invitation waiting for an answer",
            application.status.to_lowercase()
        )));
    }
    let lapsed = application.waitlisted_at.is_some()
        && application
            .invited_at
            .is_some_and(|at| crate::applications::waitlist::offer_deadline(at, offer_for) <= crate::now());
    if accept && lapsed {
        return Err(AppError::conflict("this offer of a place has lapsed: it has passed to the next in line"));
    }
    if accept {
        let need = needs::get(db, application.need_id).await?;
        crate::volunteers::verification::require_for(db, &need, application.volunteer_id).await?;
        if super::dispatch::current_invitation(db, &application).await?.is_some() {
            // An urgent dispatch's invitation held no place: the place is taken now, if one is left.
            let txn = db.begin().await?;
            super::dispatch::accept(&txn, &application).await?;
            crate::applications::service::accept_invitation(&txn, id).await?;
            txn.commit().await?;
        } else {
            crate::applications::service::transition_once(
                db,
                id,
                ApplicationStatus::Invited,
                ApplicationStatus::Accepted,
            )
            .await?;
        }
    } else {
        crate::applications::service::end(db, &application, ApplicationStatus::Declined).await?;
    }
    Ok((crate::applications::service::get(db, id).await?, needs::get(db, application.need_id).await?))
}

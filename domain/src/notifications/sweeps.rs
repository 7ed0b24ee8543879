//! The scheduled sweeps that write notifications: session reminders, DBS recheck notices, coordinators' digests of
//! new applications and volunteers' weekly digests of new needs. Each takes the time as an argument (tests choose
//! it), reads what it needs in a fixed number of statements (lists of ids go a few thousand a statement), and
//! writes its messages with keys, so a sweep run twice, or by two servers, writes each message once.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::outbox::{self, Outgoing};
use super::preferences;
use super::{DigestNeed, NeedCount, Notice, NotificationKind};
use crate::applications::{ApplicationStatus, caps};
use crate::error::AppResult;
use crate::matching::assignment::{Candidate, ROTATION_MARGIN, rotate};
use crate::matching::index::MatchingIndex;
use crate::needs::NeedStatus;
use crate::needs::sessions::{self, occurrences};
use crate::needs::signups::per_session;
use crate::store::page::fetch_rows;
use crate::volunteers::verification::{self, VALID_FOR_MONTHS};
use entity::{application, dbs_verification, membership, need, session_signup, user, volunteer_profile};

/// Ids per statement in the sweeps' `IN` lists: under both databases' bound-variable limits (SQLite's 32,766).
const IDS_PER_STATEMENT: usize = 5_000;
/// Needs in a weekly digest.
pub const DIGEST_NEEDS: usize = 5;

/// How many volunteers a week's digest tells of a need, for each place it has left: enough that its places are
/// likely taken if one reader in ten answers, few enough that the same best-placed few are not told of everything.
pub const DIGEST_READERS_PER_PLACE: usize = 10;

/// A need's candidates: (score, volunteer id).
type Scored = Vec<(f64, Uuid)>;
/// Days before a DBS check's three years end when its volunteer is told, latest stage first.
pub const RECHECK_STAGES: [i64; 3] = [7, 30, 60];

/// What a sweep did: how many it looked at (sessions, checks, organisations or volunteers) and messages it wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub considered: usize,
    pub written: u64,
}

#[derive(FromQueryResult)]
struct Attending {
    need_id: Uuid,
    volunteer_id: Uuid,
    user_id: Uuid,
}

/// A reminder to everyone who comes to a session starting in `(now, now + lead]`: for a need taken as ONGOING its
/// accepted volunteers, for one taken PER_SESSION those signed up. Cancelled sessions are left out (their
/// volunteers were told when they were called off), as are needs closed or in draft and people who turned
/// reminders off. Each person is reminded of each session once (the key names both).
pub async fn session_reminders(db: &impl ConnectionTrait, now: DateTime<Utc>, lead: TimeDelta) -> AppResult<Swept> {
    let (from, to) = (now, now + lead);
    // Who is accepted on a live need, with their account: one statement.
    let attending: Vec<Attending> = {
        use application::Column as A;
        let mut select = Query::select();
        select
            .column((application::Entity, A::NeedId))
            .column((application::Entity, A::VolunteerId))
            .column((volunteer_profile::Entity, volunteer_profile::Column::UserId))
            .from(application::Entity)
            .inner_join(
                volunteer_profile::Entity,
                Expr::col((volunteer_profile::Entity, volunteer_profile::Column::Id))
                    .equals((application::Entity, A::VolunteerId)),
            )
            .inner_join(
                need::Entity,
                Expr::col((need::Entity, need::Column::Id)).equals((application::Entity, A::NeedId)),
            )
            .and_where(Expr::col((application::Entity, A::Status)).eq(ApplicationStatus::Accepted.as_db()))
            .and_where(
                Expr::col((need::Entity, need::Column::Status))
                    .is_in([NeedStatus::Open.as_db(), NeedStatus::Filled.as_db()]),
            )
            .and_where(
                Expr::col((need::Entity, need::Column::EndDate)).is_null().or(Expr::col((
                    need::Entity,
                    need::Column::EndDate,
                ))
                .gte(from.date_naive().pred_opt().unwrap_or(NaiveDate::MIN))),
            );
        fetch_rows(db, &select).await?
    };
    let need_ids: Vec<Uuid> = attending.iter().map(|a| a.need_id).collect::<HashSet<_>>().into_iter().collect();
    let mut needs = Vec::with_capacity(need_ids.len());
    for chunk in need_ids.chunks(IDS_PER_STATEMENT) {
        needs.extend(need::Entity::find().filter(need::Column::Id.is_in(chunk.iter().copied())).all(db).await?);
    }
    let sessions: Vec<(need::Model, DateTime<Utc>, DateTime<Utc>)> = needs
        .into_iter()
        .flat_map(|n| {
            let found = occurrences(&n, from, to);
            found.into_iter().filter(|(s, _)| *s > from).map(move |(s, e)| (n.clone(), s, e))
        })
        .collect();
    let with_sessions: Vec<Uuid> = sessions.iter().map(|s| s.0.id).collect::<HashSet<_>>().into_iter().collect();
    let mut cancelled = HashSet::new();
    let mut signed_up: HashSet<(Uuid, DateTime<Utc>, Uuid)> = HashSet::new();
    for chunk in with_sessions.chunks(IDS_PER_STATEMENT) {
        cancelled.extend(sessions::cancellations(db, chunk, from, to).await?.into_keys());
        let per_session_needs: Vec<Uuid> =
            sessions.iter().filter(|s| chunk.contains(&s.0.id) && per_session(&s.0)).map(|s| s.0.id).collect();
        if !per_session_needs.is_empty() {
            use session_signup::Column as S;
            signed_up.extend(
                session_signup::Entity::find()
                    .filter(S::NeedId.is_in(per_session_needs))
                    .filter(S::StartsAt.gt(from))
                    .filter(S::StartsAt.lte(to))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|s| (s.need_id, s.starts_at, s.volunteer_id)),
            );
        }
    }
    let off = preferences::turned_off(db, NotificationKind::SessionReminder).await?;
    let mut by_need: HashMap<Uuid, Vec<&Attending>> = HashMap::new();
    for a in &attending {
        by_need.entry(a.need_id).or_default().push(a);
    }
    let mut outgoing = Vec::new();
    let mut considered = 0;
    for (need, starts_at, ends_at) in &sessions {
        if cancelled.contains(&(need.id, *starts_at)) {
            continue;
        }
        considered += 1;
        let taken_per_session = per_session(need);
        for a in by_need.get(&need.id).map(Vec::as_slice).unwrap_or_default() {
            if off.contains(&a.user_id)
                || (taken_per_session && !signed_up.contains(&(need.id, *starts_at, a.volunteer_id)))
            {
                continue;
            }
            outgoing.push(Outgoing {
                user_id: a.user_id,
                notice: Notice::SessionReminder { need_id: need.id, starts_at: *starts_at, ends_at: *ends_at },
                dedupe_key: Some(format!("session-reminder:{}:{}:{}", need.id, starts_at.timestamp(), a.user_id)),
            });
        }
    }
    let written = outbox::enqueue_many(db, outgoing).await?;
    Ok(Swept { considered, written })
}

/// Tells those who come to a session just called off, in the cancellation's transaction. Two statements.
pub async fn session_cancelled(
    db: &impl ConnectionTrait,
    need: &need::Model,
    starts_at: DateTime<Utc>,
    reason: &str,
) -> AppResult<u64> {
    use application::Column as A;
    let attendees: Vec<Uuid> = if per_session(need) {
        let mut select = Query::select();
        select.column(volunteer_profile::Column::UserId).from(volunteer_profile::Entity).and_where(
            Expr::col(volunteer_profile::Column::Id).in_subquery(
                Query::select()
                    .column(session_signup::Column::VolunteerId)
                    .from(session_signup::Entity)
                    .and_where(Expr::col(session_signup::Column::NeedId).eq(need.id))
                    .and_where(Expr::col(session_signup::Column::StartsAt).eq(starts_at))
                    .to_owned(),
            ),
        );
        fetch_rows::<UserOnly>(db, &select).await?.into_iter().map(|u| u.user_id).collect()
    } else {
        let mut select = Query::select();
        select.column(volunteer_profile::Column::UserId).from(volunteer_profile::Entity).and_where(
            Expr::col(volunteer_profile::Column::Id).in_subquery(
                Query::select()
                    .column(A::VolunteerId)
                    .from(application::Entity)
                    .and_where(Expr::col(A::NeedId).eq(need.id))
                    .and_where(Expr::col(A::Status).eq(ApplicationStatus::Accepted.as_db()))
                    .to_owned(),
            ),
        );
        fetch_rows::<UserOnly>(db, &select).await?.into_iter().map(|u| u.user_id).collect()
    };
    let outgoing = attendees
        .into_iter()
        .map(|user_id| Outgoing {
            user_id,
            notice: Notice::SessionCancelled { need_id: need.id, starts_at, reason: reason.to_owned() },
            dedupe_key: None,
        })
        .collect();
    outbox::enqueue_many(db, outgoing).await
}

#[derive(FromQueryResult)]
struct UserOnly {
    user_id: Uuid,
}

#[derive(FromQueryResult)]
struct Checked {
    id: Uuid,
    volunteer_id: Uuid,
    organisation_id: Uuid,
    level: String,
    checked_on: NaiveDate,
    user_id: Uuid,
}

/// The stage a check's notice is due at on `today`: the latest of 60, 30 and 7 days before its validity ends that
/// has been reached, while it is still valid. A day missed (a server down) is caught up on the next run.
pub fn recheck_stage(valid_until: NaiveDate, today: NaiveDate) -> Option<i64> {
    let days_left = (valid_until - today).num_days();
    if days_left < 0 {
        return None;
    }
    RECHECK_STAGES.into_iter().find(|stage| days_left <= *stage)
}

/// Tells volunteers whose verified DBS check ends within 60 days (at 60, 30 and 7 days, once each): each
/// organisation's latest check of each volunteer, since a newer one replaces it. Two statements and the writes.
pub async fn dbs_rechecks(db: &impl ConnectionTrait, today: NaiveDate) -> AppResult<Swept> {
    use dbs_verification::Column as D;
    let months = chrono::Months::new(VALID_FOR_MONTHS);
    // Checked on a day whose validity ends from today to 60 days on.
    let earliest = today.checked_sub_months(months).unwrap_or(NaiveDate::MIN);
    let latest = (today + TimeDelta::days(RECHECK_STAGES[2])).checked_sub_months(months).unwrap_or(NaiveDate::MIN);
    let mut select = Query::select();
    select
        .columns([
            (dbs_verification::Entity, D::Id),
            (dbs_verification::Entity, D::VolunteerId),
            (dbs_verification::Entity, D::OrganisationId),
            (dbs_verification::Entity, D::Level),
            (dbs_verification::Entity, D::CheckedOn),
        ])
        .column((volunteer_profile::Entity, volunteer_profile::Column::UserId))
        .from(dbs_verification::Entity)
        .inner_join(
            volunteer_profile::Entity,
            Expr::col((volunteer_profile::Entity, volunteer_profile::Column::Id))
                .equals((dbs_verification::Entity, D::VolunteerId)),
        )
        .and_where(Expr::col((dbs_verification::Entity, D::CheckedOn)).gte(earliest))
        .and_where(Expr::col((dbs_verification::Entity, D::CheckedOn)).lte(latest));
    let ending: Vec<Checked> = fetch_rows(db, &select).await?;
    // A later check by the same organisation (made any time) replaces the ending one.
    let pairs: Vec<(Uuid, Uuid)> = ending.iter().map(|c| (c.volunteer_id, c.organisation_id)).collect();
    let volunteers: Vec<Uuid> = pairs.iter().map(|p| p.0).collect::<HashSet<_>>().into_iter().collect();
    let mut newest: HashMap<(Uuid, Uuid), NaiveDate> = HashMap::new();
    for chunk in volunteers.chunks(IDS_PER_STATEMENT) {
        for row in dbs_verification::Entity::find().filter(D::VolunteerId.is_in(chunk.iter().copied())).all(db).await? {
            let day = newest.entry((row.volunteer_id, row.organisation_id)).or_insert(row.checked_on);
            *day = Ord::max(*day, row.checked_on);
        }
    }
    let off = preferences::turned_off(db, NotificationKind::DbsRecheck).await?;
    let considered = ending.len();
    let outgoing = ending
        .into_iter()
        .filter(|c| newest.get(&(c.volunteer_id, c.organisation_id)).is_none_or(|d| *d <= c.checked_on))
        .filter(|c| !off.contains(&c.user_id))
        .filter_map(|c| {
            let valid_until = verification::valid_until(c.checked_on);
            let stage = recheck_stage(valid_until, today)?;
            Some(Outgoing {
                user_id: c.user_id,
                notice: Notice::DbsRecheck {
                    verification_id: c.id,
                    organisation_id: c.organisation_id,
                    level: c.level,
                    valid_until,
                    days_left: (valid_until - today).num_days(),
                },
                dedupe_key: Some(format!("dbs-recheck:{}:{stage}", c.id)),
            })
        })
        .collect();
    let written = outbox::enqueue_many(db, outgoing).await?;
    Ok(Swept { considered, written })
}

#[derive(FromQueryResult)]
struct Arrived {
    need_id: Uuid,
    organisation_id: Uuid,
    status: String,
}

/// Tells each organisation's members of the applications to its needs that arrived in `[since, until)` and still
/// wait for a decision (APPLIED, or WAITLISTED), one digest per member, by need.
pub async fn application_digests(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> AppResult<Swept> {
    use application::Column as A;
    let mut select = Query::select();
    select
        .column((application::Entity, A::NeedId))
        .column((need::Entity, need::Column::OrganisationId))
        .column((application::Entity, A::Status))
        .from(application::Entity)
        .inner_join(need::Entity, Expr::col((need::Entity, need::Column::Id)).equals((application::Entity, A::NeedId)))
        // By when it applied or joined the waitlist, not when its row was made: a row reopened (one per need and
        // volunteer) is new again.
        .cond_where(
            Cond::any()
                .add(
                    Expr::col((application::Entity, A::Status))
                        .eq(ApplicationStatus::Applied.as_db())
                        .and(Expr::col((application::Entity, A::AppliedAt)).gte(since))
                        .and(Expr::col((application::Entity, A::AppliedAt)).lt(until)),
                )
                .add(
                    Expr::col((application::Entity, A::Status))
                        .eq(ApplicationStatus::Waitlisted.as_db())
                        .and(Expr::col((application::Entity, A::WaitlistedAt)).gte(since))
                        .and(Expr::col((application::Entity, A::WaitlistedAt)).lt(until)),
                ),
        );
    let arrived: Vec<Arrived> = fetch_rows(db, &select).await?;
    let mut by_organisation: BTreeMap<Uuid, BTreeMap<Uuid, NeedCount>> = BTreeMap::new();
    for a in arrived {
        let count = by_organisation.entry(a.organisation_id).or_default().entry(a.need_id).or_insert(NeedCount {
            need_id: a.need_id,
            applied: 0,
            waitlisted: 0,
        });
        if a.status == ApplicationStatus::Waitlisted.as_db() {
            count.waitlisted += 1;
        } else {
            count.applied += 1;
        }
    }
    if by_organisation.is_empty() {
        return Ok(Swept::default());
    }
    let members = membership::Entity::find()
        .filter(membership::Column::OrganisationId.is_in(by_organisation.keys().copied()))
        .all(db)
        .await?;
    let off = preferences::turned_off(db, NotificationKind::NewApplications).await?;
    let outgoing = members
        .into_iter()
        .filter(|m| !off.contains(&m.user_id))
        .filter_map(|m| {
            let needs = by_organisation.get(&m.organisation_id)?;
            Some(Outgoing {
                user_id: m.user_id,
                notice: Notice::NewApplications {
                    organisation_id: m.organisation_id,
                    since,
                    needs: needs.values().cloned().collect(),
                },
                dedupe_key: Some(format!("new-applications:{}:{}:{}", m.organisation_id, since.timestamp(), m.user_id)),
            })
        })
        .collect();
    let written = outbox::enqueue_many(db, outgoing).await?;
    Ok(Swept { considered: by_organisation.len(), written })
}

#[derive(FromQueryResult)]
struct Reachable {
    id: Uuid,
    user_id: Uuid,
}

/// Each volunteer's weekly digest: the best of the needs published in the seven days before `now` that matching
/// finds them eligible for (at most five, best first), for volunteers with a confirmed address who did not turn
/// digests off and have at least one. Matching runs from each new need to its volunteers (the index's spatial
/// search), not from each of the city's volunteers to every need. The key names the ISO week, so one a week.
pub async fn weekly_digest(db: &impl ConnectionTrait, index: &MatchingIndex, now: DateTime<Utc>) -> AppResult<Swept> {
    index.refresh(db).await?;
    let fresh: Vec<Uuid> = need::Entity::find()
        .select_only()
        .column(need::Column::Id)
        .filter(need::Column::Status.eq(NeedStatus::Open.as_db()))
        .filter(need::Column::PublishedAt.gte(now - TimeDelta::days(7)))
        .filter(need::Column::PublishedAt.lte(now))
        .into_tuple()
        .all(db)
        .await?;
    let existing = crate::matching::service::applications_to_needs(db, &fresh).await?;
    let today = crate::matching::service::today();
    // Each fresh need's eligible volunteers, scored.
    let mut per_need: Vec<(Uuid, usize, Scored)> = Vec::new();
    let mut needing_verification: Vec<(Uuid, Uuid)> = Vec::new();
    {
        let view = index.read();
        for need_id in &fresh {
            let Some(need) = view.need_by_id(*need_id) else { continue };
            let candidates = view.volunteers_for(&need.facts, |v| existing.get(&(*need_id, v)).copied(), today);
            if need.facts.verified_by.is_some() {
                needing_verification.extend(candidates.iter().map(|(_, volunteer_id, _)| (*volunteer_id, *need_id)));
            }
            let places = usize::try_from(Ord::max(need.facts.places_left, 0)).unwrap_or(0);
            per_need.push((*need_id, places, candidates.into_iter().map(|(score, id, _)| (score, id)).collect()));
        }
    }
    // A need that takes only volunteers its organisation verified goes to those, and no one else.
    if !needing_verification.is_empty() {
        let volunteers: Vec<Uuid> =
            needing_verification.iter().map(|p| p.0).collect::<HashSet<_>>().into_iter().collect();
        let mut verified = HashMap::new();
        for chunk in volunteers.chunks(IDS_PER_STATEMENT) {
            verified.extend(verification::of_volunteers(db, chunk).await?);
        }
        let view = index.read();
        let refused: HashSet<(Uuid, Uuid)> = needing_verification
            .into_iter()
            .filter(|(volunteer_id, need_id)| {
                !view.need_by_id(*need_id).is_some_and(|n| {
                    verification::admits(
                        &n.facts,
                        verified.get(volunteer_id).map(Vec::as_slice).unwrap_or_default(),
                        today,
                    )
                })
            })
            .collect();
        for (need_id, _, candidates) in &mut per_need {
            candidates.retain(|(_, volunteer_id)| !refused.contains(&(*volunteer_id, *need_id)));
        }
    }
    // Who can be written to: a live account with a confirmed address, digests on. One statement.
    let mut select = Query::select();
    select
        .column((volunteer_profile::Entity, volunteer_profile::Column::Id))
        .column((volunteer_profile::Entity, volunteer_profile::Column::UserId))
        .from(volunteer_profile::Entity)
        .inner_join(
            user::Entity,
            Expr::col((user::Entity, user::Column::Id))
                .equals((volunteer_profile::Entity, volunteer_profile::Column::UserId)),
        )
        .and_where(Expr::col((user::Entity, user::Column::EmailVerifiedAt)).is_not_null())
        .and_where(Expr::col((user::Entity, user::Column::DeletedAt)).is_null());
    let reachable: HashMap<Uuid, Uuid> =
        fetch_rows::<Reachable>(db, &select).await?.into_iter().map(|r| (r.id, r.user_id)).collect();
    let off = preferences::turned_off(db, NotificationKind::WeeklyDigest).await?;
    let week = now.iso_week();
    // Rotation: a need goes to at most `DIGEST_READERS_PER_PLACE` volunteers a place, best first, but among those
    // as good as its best (`ROTATION_MARGIN`) whoever was asked least recently first, as plans choose. How recently
    // is read only for those a need has more candidates than readers for. Only those who will get a digest count.
    for (_, _, candidates) in &mut per_need {
        candidates.retain(|(_, id)| reachable.get(id).is_some_and(|user_id| !off.contains(user_id)));
    }
    let mut contested: Vec<Uuid> = per_need
        .iter()
        .filter(|(_, places, candidates)| candidates.len() > places * DIGEST_READERS_PER_PLACE)
        .flat_map(|(_, _, candidates)| candidates.iter().map(|(_, id)| *id))
        .collect();
    contested.sort();
    contested.dedup();
    // Ties (equally long since asked, or never asked) go in an order drawn afresh each week, so the same few do
    // not win them every week.
    contested.sort_by_key(|id| {
        let mut hasher = std::hash::DefaultHasher::new();
        (week.year(), week.week(), id).hash(&mut hasher);
        hasher.finish()
    });
    let asked = caps::asked(db, &contested, now).await?;
    let recency = caps::recency(&contested, &asked);
    let rank: HashMap<Uuid, usize> = contested.iter().copied().zip(recency).collect();
    let mut best: HashMap<Uuid, Vec<DigestNeed>> = HashMap::new();
    for (need_id, places, mut scored) in per_need {
        let readers = places * DIGEST_READERS_PER_PLACE;
        if scored.len() > readers {
            scored.sort_by_key(|(_, id)| *id);
            let recency: Vec<usize> =
                scored.iter().map(|(_, id)| rank.get(id).copied().unwrap_or(usize::MAX)).collect();
            let mut candidates: Vec<Candidate> = scored
                .iter()
                .enumerate()
                .map(|(i, (score, _))| Candidate { need: 0, volunteer: i, score: *score })
                .collect();
            rotate(&mut candidates, &recency, ROTATION_MARGIN);
            candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.volunteer.cmp(&b.volunteer)));
            let chosen: HashSet<usize> = candidates.iter().take(readers).map(|c| c.volunteer).collect();
            scored = scored.into_iter().enumerate().filter(|(i, _)| chosen.contains(i)).map(|(_, s)| s).collect();
        }
        for (score, volunteer_id) in scored {
            best.entry(volunteer_id).or_default().push(DigestNeed { need_id, score });
        }
    }
    let considered = reachable.len();
    let mut outgoing = Vec::new();
    for (volunteer_id, mut needs) in best {
        let Some(user_id) = reachable.get(&volunteer_id).copied() else { continue };
        if off.contains(&user_id) || needs.is_empty() {
            continue;
        }
        needs.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.need_id.cmp(&b.need_id)));
        needs.truncate(DIGEST_NEEDS);
        outgoing.push(Outgoing {
            user_id,
            notice: Notice::WeeklyDigest { needs },
            dedupe_key: Some(format!("weekly-digest:{}-W{:02}:{user_id}", week.year(), week.week())),
        });
    }
    outgoing.sort_by_key(|o| o.user_id);
    let written = outbox::enqueue_many(db, outgoing).await?;
    Ok(Swept { considered, written })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn recheck_notices_come_at_60_30_and_7_days_and_not_after_the_end() {
        let ends = day(2027, 3, 31);
        assert_eq!(recheck_stage(ends, day(2027, 1, 29)), None, "61 days before");
        assert_eq!(recheck_stage(ends, day(2027, 1, 30)), Some(60));
        assert_eq!(recheck_stage(ends, day(2027, 3, 1)), Some(30));
        assert_eq!(recheck_stage(ends, day(2027, 3, 2)), Some(30));
        assert_eq!(recheck_stage(ends, day(2027, 3, 24)), Some(7));
        assert_eq!(recheck_stage(ends, ends), Some(7), "its last day");
        assert_eq!(recheck_stage(ends, day(2027, 4, 1)), None, "ended");
    }
}

//! Sending notifications and running the scheduled sweeps: two loops every server runs beside the API.
//! - `Dispatcher` claims due messages from the outbox (`domain::notifications::outbox`), writes each (`render`) and
//!   hands it to the mail transport, then records the outcome: retried with backoff, given up after eight attempts or
//!   at once on a permanent refusal. Nothing here runs inside a request, so a dead or slow SMTP server never slows
//!   or fails one; a delivery waits at most its timeout.
//! - `Scheduler` runs the jobs that are due (`domain::notifications::schedule`), each once across servers.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use domain::matching::index::MatchingIndex;
use domain::notifications::outbox::{self, Claimed, Outcome, Recorded, Verdict};
use domain::notifications::schedule::{self, Job};
use domain::notifications::sweeps::{self, Swept};
use domain::webhooks::outbox::Backoff;
use futures::StreamExt;
use rand::Rng;
use sea_orm::DatabaseConnection;

use super::render::{self, Links};
use crate::auth::token::TokenKeys;
use crate::config::Settings;
use crate::error::AppResult;
use crate::mail::Mailer;

/// Messages claimed at a time, sent together: an SMTP server takes a handful of connections from one client.
const BATCH: u64 = 8;
/// How often the dispatcher looks for due messages (a change's message waits at most this long).
const POLL: Duration = Duration::from_secs(1);
/// How often the scheduler looks for due jobs (the most frequent runs every 15 minutes).
const TICK: Duration = Duration::from_secs(30);

/// Sends what the outbox holds. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    db: DatabaseConnection,
    mailer: Arc<dyn Mailer>,
    keys: Arc<TokenKeys>,
    links: Arc<Links>,
    backoff: Backoff,
    /// Longer than an attempt can take, so no other server claims a message while this one sends it.
    lease: TimeDelta,
    /// The most one whole delivery may take: lettre's timeout bounds each SMTP command, not the exchange (a server
    /// answering each command just in time could otherwise outlast the lease, and the message go twice).
    deliver_within: Duration,
}

impl Dispatcher {
    pub fn new(db: DatabaseConnection, mailer: Arc<dyn Mailer>, keys: Arc<TokenKeys>, settings: &Settings) -> Self {
        let links = Links {
            public_url: settings.public_url().to_owned(),
            verify_email_url: settings.verify_email_url.clone(),
            waitlist_offer: settings.waitlist_offer(),
        };
        let timeout = i64::try_from(settings.smtp_timeout_ms.min(60_000)).unwrap_or(60_000);
        Self {
            db,
            mailer,
            keys,
            links: Arc::new(links),
            backoff: Backoff::DEFAULT,
            lease: TimeDelta::milliseconds(timeout) + TimeDelta::seconds(30),
            deliver_within: Duration::from_millis(u64::try_from(timeout).unwrap_or(60_000)) + Duration::from_secs(20),
        }
    }

    /// Sends every message due at `now`, a batch at a time; returns what each attempt came to.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> AppResult<Vec<Recorded>> {
        let mut recorded = Vec::new();
        let started = std::time::Instant::now();
        loop {
            // Each batch's lease runs from when it is claimed, not from when the first was.
            let at = now + TimeDelta::from_std(started.elapsed()).unwrap_or_default();
            let claimed = outbox::claim(&self.db, BATCH, self.lease, at).await?;
            if claimed.is_empty() {
                return Ok(recorded);
            }
            let notices: Vec<&domain::notifications::Notice> = claimed.iter().map(|(c, _)| &c.notice).collect();
            let names = outbox::names(&self.db, &notices).await?;
            let names = &names;
            let results: Vec<AppResult<Recorded>> = futures::stream::iter(claimed)
                .map(|(c, verdict)| self.attempt(c, verdict, names))
                .buffer_unordered(BATCH as usize)
                .collect()
                .await;
            for result in results {
                recorded.push(result?);
            }
        }
    }

    /// Runs until the task is dropped. It looks with a read and claims (a write) only when something is due.
    pub async fn run(self) {
        loop {
            let now = domain::now();
            match outbox::next_due(&self.db, now).await {
                Ok(Some(due)) if due <= now => {
                    if let Err(error) = self.deliver_due(now).await {
                        tracing::warn!(?error, "notifications: will try again");
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(?error, "notifications: cannot look for due ones; will try again"),
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn attempt(&self, claimed: Claimed, verdict: Verdict, names: &outbox::Names) -> AppResult<Recorded> {
        let outcome = match verdict {
            Verdict::Suppress(why) => Outcome::Suppressed(why),
            Verdict::Send => match render::email(&claimed, names, &self.links, &self.keys.unsubscribe) {
                Ok(email) => match tokio::time::timeout(self.deliver_within, self.mailer.send(&email)).await {
                    Ok(Ok(())) => Outcome::Sent,
                    Ok(Err(e)) => Outcome::Failed { error: e.message, permanent: e.permanent },
                    Err(_) => Outcome::Failed {
                        error: format!("the delivery took longer than {} s", self.deliver_within.as_secs()),
                        permanent: false,
                    },
                },
                Err(error) => {
                    tracing::error!(?error, notification = %claimed.notification.id, "cannot write a notification");
                    Outcome::Failed { error: "could not write the message".to_owned(), permanent: true }
                }
            },
        };
        let jitter = rand::rng().random_range(-1.0..=1.0);
        let recorded = outbox::record(&self.db, &claimed, outcome.clone(), self.backoff, jitter).await?;
        let n = &claimed.notification;
        match (&outcome, recorded) {
            (Outcome::Failed { error, .. }, Recorded::Retrying(next)) => {
                tracing::info!(notification = %n.id, attempt = n.attempts, %error, %next, "mail not sent; will retry");
            }
            (Outcome::Failed { error, .. }, Recorded::GaveUp) => {
                tracing::warn!(notification = %n.id, kind = %n.kind, %error, "mail given up");
            }
            _ => tracing::debug!(notification = %n.id, kind = %n.kind, ?recorded, "notification"),
        }
        Ok(recorded)
    }
}

/// How far behind a run the digest of new applications stops, so that none is missed while it commits.
const SETTLE: TimeDelta = TimeDelta::minutes(1);

/// Runs the scheduled sweeps when they are due.
#[derive(Clone)]
pub struct Scheduler {
    db: DatabaseConnection,
    matching: Arc<MatchingIndex>,
    reminder_lead: TimeDelta,
}

impl Scheduler {
    pub fn new(db: DatabaseConnection, matching: Arc<MatchingIndex>, settings: &Settings) -> Self {
        Self { db, matching, reminder_lead: settings.reminder_lead() }
    }

    /// Runs each job due at `now` that this server claims; returns what each run did.
    pub async fn run_due(&self, now: DateTime<Utc>) -> AppResult<Vec<(Job, Result<Swept, String>)>> {
        schedule::ensure(&self.db, now).await?;
        let mut ran = Vec::new();
        for job in Job::ALL.iter().copied() {
            let Some(run) = schedule::claim(&self.db, job, now).await? else { continue };
            let result = self.sweep(&run, now).await.map_err(|e| format!("{e:?}"));
            schedule::finish(&self.db, &run, now, result.as_ref().err().cloned()).await?;
            match &result {
                Ok(swept) => tracing::info!(job = job.as_db(), ?swept, "scheduled job ran"),
                Err(error) => tracing::warn!(job = job.as_db(), %error, "scheduled job failed; will try again"),
            }
            ran.push((job, result));
        }
        Ok(ran)
    }

    async fn sweep(&self, run: &schedule::Run, now: DateTime<Utc>) -> AppResult<Swept> {
        match run.job {
            Job::SessionReminders => sweeps::session_reminders(&self.db, now, self.reminder_lead).await,
            Job::ApplicationDigests => {
                // From where the last run that succeeded started (or an hour back, the first time), both ends a minute back: an
                // application written just before a run may commit just after it (requests end within 15 s).
                let since = run.previous_start.unwrap_or(now - TimeDelta::hours(1));
                sweeps::application_digests(&self.db, since - SETTLE, now - SETTLE).await
            }
            Job::DbsRechecks => {
                sweeps::dbs_rechecks(&self.db, now.with_timezone(&domain::values::schedule::TIME_ZONE).date_naive())
                    .await
            }
            Job::WeeklyDigest => sweeps::weekly_digest(&self.db, &self.matching, now).await,
        }
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        let mut every = tokio::time::interval(TICK);
        loop {
            every.tick().await;
            if let Err(error) = self.run_due(domain::now()).await {
                tracing::warn!(?error, "scheduled jobs: will try again");
            }
        }
    }
}

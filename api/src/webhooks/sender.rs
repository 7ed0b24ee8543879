//! Sending webhooks: the dispatcher every server runs beside the API. It claims due deliveries from the outbox
//! (`domain::webhooks::outbox`), sends each as a signed POST (Standard Webhooks headers), and records the outcome;
//! nothing here runs inside an API request, so a slow or dead receiver never slows one.
//!
//! Every connection goes through `CheckedResolver`, which hands the HTTP client only the addresses the deployment
//! lets webhooks reach: a name that resolved to a public address when the endpoint was registered and to an
//! internal one now (DNS rebinding) reaches nothing. Redirects are not followed and no proxy is used, so the
//! address checked is the address connected to.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use domain::webhooks::WebhookEvent;
use domain::webhooks::outbox::{self, Backoff, Claimed, Outcome, Recorded};
use domain::webhooks::signing;
use domain::webhooks::targets::{self, Target, TargetPolicy};
use futures::StreamExt;
use rand::Rng;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::kit::ids::{NodeKind, encode};

/// Deliveries claimed at a time, all sent at once: each is sent as soon as it is claimed, so its claim (the
/// timeout and 30 s more) cannot lapse while it waits for a slot. A failing endpoint's other deliveries wait for
/// its retry (`outbox::record`), so one dead receiver does not fill the batch.
const BATCH: u64 = 8;
/// Longest an attempt may take, and longest first wait, whatever the settings say.
const MAX_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_FIRST_RETRY_MS: u64 = 3_600_000;
/// How long a name may take to resolve when an endpoint is registered.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// The dispatcher looks for due deliveries at least this often (a change's delivery waits at most this long).
const POLL: Duration = Duration::from_millis(500);

/// A resolver that drops the addresses webhooks may not reach, and fails when none is left.
struct CheckedResolver {
    policy: TargetPolicy,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let allowed = resolve_allowed(name.as_str(), 0, policy).await?;
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The addresses `host` resolves to that webhooks may reach; an error naming why when there are none.
async fn resolve_allowed(host: &str, port: u16, policy: TargetPolicy) -> Result<Vec<SocketAddr>, std::io::Error> {
    let mut refusal = None;
    let allowed: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await?
        .filter(|address| match targets::allowed(address.ip(), policy) {
            Ok(()) => true,
            Err(why) => {
                refusal = Some(why);
                false
            }
        })
        .collect();
    if allowed.is_empty() {
        let why = refusal.unwrap_or("resolves to no address");
        return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, format!("{host} {why}")));
    }
    Ok(allowed)
}

/// Checks, when an endpoint is registered or moved, that its name resolves and that every address it resolves to
/// may be reached (at delivery the forbidden ones are only dropped; here a mixed answer is refused outright).
/// Call it only for someone allowed to register the endpoint: it looks the name up. The answer says what kind of
/// address was refused, never the address itself.
pub async fn check_resolves(field: &str, target: &Target, policy: TargetPolicy) -> AppResult<()> {
    let Some(host) = target.domain() else { return Ok(()) };
    let unresolved = || AppError::bad_input(field, "names a host that does not resolve");
    let addresses = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, target.port())))
        .await
        .map_err(|_| unresolved())?
        .map_err(|_| unresolved())?;
    for address in addresses {
        targets::allowed(address.ip(), policy)
            .map_err(|why| AppError::bad_input(field, format!("resolves to an address that {why}")))?;
    }
    Ok(())
}

/// Sends what the outbox holds. Cheap to clone: the HTTP client and the database pool are shared.
#[derive(Clone)]
pub struct Dispatcher {
    db: DatabaseConnection,
    client: reqwest::Client,
    policy: TargetPolicy,
    backoff: Backoff,
    /// Longer than an attempt can take, so that no other server claims a delivery while this one sends it.
    lease: TimeDelta,
    public_url: Arc<str>,
}

impl Dispatcher {
    pub fn new(db: DatabaseConnection, settings: &Settings) -> AppResult<Self> {
        let timeout = Duration::from_millis(settings.webhook_timeout_ms.max(1)).min(MAX_TIMEOUT);
        let policy = settings.webhook_targets();
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(AppError::internal)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(Arc::new(CheckedResolver { policy }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("PitchIn-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(AppError::internal)?;
        let lease = TimeDelta::from_std(timeout).map_err(AppError::internal)? + TimeDelta::seconds(30);
        Ok(Self {
            db,
            client,
            policy,
            backoff: Backoff {
                first: TimeDelta::milliseconds(settings.webhook_retry_ms.clamp(1, MAX_FIRST_RETRY_MS) as i64),
            },
            lease,
            public_url: Arc::from(settings.public_url()),
        })
    }

    /// Sends every delivery due now, a batch at a time; returns how many attempts were made.
    pub async fn deliver_due(&self) -> AppResult<usize> {
        let mut attempts = 0;
        loop {
            let claimed = outbox::claim(&self.db, BATCH, self.lease).await?;
            if claimed.is_empty() {
                return Ok(attempts);
            }
            attempts += claimed.len();
            let results: Vec<AppResult<Recorded>> = futures::stream::iter(claimed)
                .map(|c| self.attempt(c))
                .buffer_unordered(BATCH as usize)
                .collect()
                .await;
            for result in results {
                result?;
            }
        }
    }

    /// Runs until the task is dropped: sends what is due, then waits for more. It looks with a read (the index's
    /// smallest due time) and claims, a write, only when something is due: an idle server takes no write lock.
    pub async fn run(self) {
        loop {
            match outbox::next_due(&self.db).await {
                Ok(Some(due)) if due <= domain::now() => {
                    if let Err(error) = self.deliver_due().await {
                        tracing::warn!(?error, "webhook deliveries: will try again");
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(?error, "webhook deliveries: cannot look for due ones; will try again"),
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn attempt(&self, claimed: Claimed) -> AppResult<Recorded> {
        let outcome = self.send(&claimed).await;
        let jitter = rand::rng().random_range(-1.0..=1.0);
        let recorded = outbox::record(&self.db, &claimed, outcome.clone(), self.backoff, jitter).await?;
        let delivery = &claimed.delivery;
        match (&outcome, recorded) {
            (_, Recorded::Delivered) => {
                tracing::debug!(delivery = %delivery.id, attempt = delivery.attempts, "webhook delivered");
            }
            (Outcome::Failed { error, .. }, Recorded::Retrying(next)) => {
                tracing::info!(delivery = %delivery.id, attempt = delivery.attempts, %error, %next, "webhook failed; will retry");
            }
            (Outcome::Failed { error, .. }, Recorded::GaveUp) => {
                tracing::warn!(delivery = %delivery.id, endpoint = %claimed.endpoint.id, %error, "webhook given up; endpoint disabled");
            }
            (_, recorded) => tracing::info!(delivery = %delivery.id, ?recorded, "webhook attempt outcome not recorded"),
        }
        Ok(recorded)
    }

    async fn send(&self, claimed: &Claimed) -> Outcome {
        let failed = |error: String| Outcome::Failed { status: None, error };
        // The address is checked again at every delivery: the rules may have changed since it was registered.
        let target = match Target::parse("url", &claimed.endpoint.url, self.policy) {
            Ok(target) => target,
            Err(error) => return failed(format!("address refused: {}", error.public_message())),
        };
        // What went wrong inside is logged; the endpoint's managers read only that it did.
        let body = match body(&claimed.delivery, &self.public_url) {
            Ok(body) => body,
            Err(error) => {
                tracing::error!(?error, delivery = %claimed.delivery.id, "cannot write a webhook body");
                return failed("could not prepare the delivery".to_owned());
            }
        };
        let id = signing::message_id(claimed.delivery.id);
        let timestamp = chrono::Utc::now().timestamp();
        let signature = match signing::sign(&claimed.endpoint.secret, &id, timestamp, &body) {
            Ok(signature) => signature,
            Err(error) => {
                tracing::error!(?error, endpoint = %claimed.endpoint.id, "cannot sign a webhook");
                return failed("could not prepare the delivery".to_owned());
            }
        };
        let request = self
            .client
            .post(target.as_str())
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        match request.send().await {
            Ok(response) if response.status().is_success() => Outcome::Delivered { status: response.status().as_u16() },
            Ok(response) => {
                let status = response.status();
                Outcome::Failed { status: Some(status.as_u16()), error: format!("HTTP {status}") }
            }
            Err(error) => failed(describe(&error)),
        }
    }
}

/// What went wrong with a request, in words, with its innermost cause (a refused address says so there).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause: &dyn std::error::Error = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    format!("{kind}: {cause}")
}

/// The body a receiver gets: Standard Webhooks' `{type, timestamp, data}`, with the API's global ids and the
/// need's public page, written from what the outbox stored (so every attempt sends the same bytes).
pub fn body(delivery: &entity::webhook_delivery::Model, public_url: &str) -> AppResult<String> {
    let event = WebhookEvent::from_db(&delivery.event).ok_or_else(|| AppError::internal("unknown webhook event"))?;
    let stored: Value = serde_json::from_str(&delivery.payload).map_err(AppError::internal)?;
    let id = |kind: NodeKind, key: &str| -> AppResult<Value> {
        let uuid = stored
            .get(key)
            .and_then(Value::as_str)
            .and_then(|s| uuid::Uuid::parse_str(s).ok())
            .ok_or_else(|| AppError::internal(format!("a webhook payload without {key}")))?;
        Ok(Value::String(encode(kind, uuid).0))
    };
    let field = |key: &str| stored.get(key).cloned().unwrap_or(Value::Null);
    let data = if event.is_about_applications() {
        json!({
            "id": id(NodeKind::Application, "application")?,
            "needId": id(NodeKind::Need, "need")?,
            "status": field("status"),
            "previousStatus": field("previousStatus"),
            "updatedAt": field("updatedAt"),
        })
    } else {
        let need = id(NodeKind::Need, "need")?;
        let url = format!("{public_url}/needs/{}", need.as_str().unwrap_or_default());
        json!({
            "id": need,
            "organisationId": id(NodeKind::Organisation, "organisation")?,
            "title": field("title"),
            "status": field("status"),
            "category": field("category"),
            "remote": field("remote"),
            "volunteersNeeded": field("volunteersNeeded"),
            "placesLeft": field("placesLeft"),
            "updatedAt": field("updatedAt"),
            "url": url,
        })
    };
    let timestamp = delivery.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    Ok(json!({ "type": event.wire_type(), "timestamp": timestamp, "data": data }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are checked on what they resolve to: `localhost` is loopback, which only development may reach.
    #[tokio::test]
    async fn the_resolver_hands_over_only_addresses_webhooks_may_reach() {
        let dev = resolve_allowed("localhost", 80, TargetPolicy::DEVELOPMENT).await.expect("loopback in development");
        assert!(!dev.is_empty() && dev.iter().all(|a| a.ip().is_loopback()), "{dev:?}");
        let refused = resolve_allowed("localhost", 80, TargetPolicy::PRODUCTION).await.expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(refused.to_string().contains("loopback"), "{refused}");
    }
}

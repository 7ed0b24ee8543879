//! Rate limits: `n` a period for each key (an IP address, a user, an email address, an API key), bursts up to `n`.
//!
//! One server counts in its own memory (governor). Several servers behind one address count together in Redis
//! when `PITCHIN_REDIS_URL` is set, or each would allow `n` and all of them `n` times the servers. There each check
//! is one round trip running the generic cell rate algorithm (GCRA) as a script, atomically: the key holds the
//! theoretical arrival time of the next request (Redis's own clock, so servers' clocks do not matter) and expires
//! when it no longer limits anything. Keys are HMAC-SHA256 digests of what they count, under a key derived from
//! the signing secret every server shares: no address or email is stored, nor can one be guessed back from a key.
//!
//! If Redis cannot be reached, or takes longer than `PATIENCE` to answer, each server counts in its own memory
//! (logged, at most every 10 s) and asks Redis again 5 s later: an outage costs a request at most `PATIENCE`, and
//! limits loosen to `n` a server rather than refusing everyone or no one. Redis 5 or later (the script reads the
//! clock before it writes).
use std::fmt::Display;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

/// GCRA over Redis's clock. KEYS[1]: the key; ARGV[1]: the interval between requests at the steady rate, and
/// ARGV[2]: how far ahead of now the next arrival may run (a burst), both in microseconds. Returns 0 when the
/// request is allowed (and counted), else how many microseconds to wait.
const GCRA: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - burst - now
if wait > 0 then return wait end
local next = tat + interval
redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.ceil((next - now) / 1000))
return 0
";

/// The longest a check waits for Redis (a round trip on a working network is well under a millisecond; a first
/// connection a few): past it the request is counted here instead.
const PATIENCE: Duration = Duration::from_millis(200);

/// Redis, where every server's counts meet.
pub struct Shared {
    /// Keys are digests under it (`redis_key`).
    hasher: hmac::Hmac<Sha256>,
    client: redis::Client,
    /// Keys start with it: deployments (or test runs) sharing one Redis count apart.
    prefix: String,
    /// Until when (Unix milliseconds) Redis is not asked, after a failure.
    resting_until: AtomicI64,
    connection: tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    script: redis::Script,
    /// When a failure was last logged (Unix seconds), so that an outage logs a line every 10 s, not a request.
    last_warned: AtomicI64,
}

impl Shared {
    /// Checks the URL now; connects at the first check (`connect` to do it sooner).
    pub fn new(url: &str, prefix: &str, secret: &[u8]) -> Result<Self, String> {
        use hmac::Mac;
        let client = redis::Client::open(url).map_err(|e| format!("PITCHIN_REDIS_URL: {e}"))?;
        let hasher = hmac::Hmac::<Sha256>::new_from_slice(&Sha256::digest([b"pitchin rate keys\0", secret].concat()))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            hasher,
            client,
            prefix: prefix.to_owned(),
            resting_until: AtomicI64::new(0),
            connection: tokio::sync::OnceCell::new(),
            script: redis::Script::new(GCRA),
            last_warned: AtomicI64::new(0),
        })
    }

    /// Connects (the connection then reconnects by itself), failing if Redis cannot be reached now.
    pub async fn connect(&self) -> redis::RedisResult<redis::aio::ConnectionManager> {
        let connection = self
            .connection
            .get_or_try_init(|| async {
                // A check waits at most this long before its server counts by itself (a limit must not stall a
                // request: Redis answers in well under a millisecond on a network that works).
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(PATIENCE))
                    .set_response_timeout(Some(PATIENCE))
                    .set_number_of_retries(0);
                self.client.get_connection_manager_with_config(config).await
            })
            .await?;
        Ok(connection.clone())
    }

    /// Counts a request for `key` against `n` a `period`: `None` if it is allowed, else how long to wait.
    pub async fn check(&self, key: &str, n: NonZeroU32, period: Duration) -> redis::RedisResult<Option<Duration>> {
        let key = format!("{}:{key}", self.prefix);
        let interval = (period.as_micros() / u128::from(n.get())).max(1);
        let burst = interval * u128::from(n.get() - 1);
        let wait = self
            .ask(|mut connection| async move {
                self.script
                    .key(key)
                    .arg(u64::try_from(interval).unwrap_or(u64::MAX))
                    .arg(u64::try_from(burst).unwrap_or(u64::MAX))
                    .invoke_async::<i64>(&mut connection)
                    .await
            })
            .await?;
        Ok((wait > 0).then(|| Duration::from_micros(wait.unsigned_abs())))
    }

    /// Keeps `value` for `key` of kind `name` for `ttl` (a caller's own values come one after another: the last
    /// one stands).
    pub async fn remember(&self, name: &str, key: &impl Display, value: u64, ttl: Duration) -> redis::RedisResult<()> {
        let key = format!("{}:{}", self.prefix, self.digest("kept", name, key));
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.ask(|mut connection| async move {
            redis::cmd("SET").arg(key).arg(value).arg("PX").arg(ttl).query_async::<()>(&mut connection).await
        })
        .await
    }

    /// What `remember` keeps for `key` of kind `name`, while it lasts.
    pub async fn recall(&self, name: &str, key: &impl Display) -> redis::RedisResult<Option<u64>> {
        let key = format!("{}:{}", self.prefix, self.digest("kept", name, key));
        self.ask(|mut connection| async move { redis::cmd("GET").arg(key).query_async(&mut connection).await }).await
    }

    /// Runs `work` on the connection, all of it (connecting included) within `PATIENCE`: a Redis that is slow, or
    /// a reconnection under way, holds no request up for longer. Not asked at all while resting after a failure.
    async fn ask<T, F>(&self, work: impl FnOnce(redis::aio::ConnectionManager) -> F) -> redis::RedisResult<T>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if chrono::Utc::now().timestamp_millis() < self.resting_until.load(Ordering::Relaxed) {
            return Err(redis::RedisError::from((redis::ErrorKind::Io, "Redis failed lately: not asked for 5 s")));
        }
        match tokio::time::timeout(PATIENCE, async { work(self.connect().await?).await }).await {
            Ok(answer) => answer,
            Err(_) => Err(redis::RedisError::from((redis::ErrorKind::Io, "Redis did not answer in time"))),
        }
    }

    /// Notes a failure: Redis rests for 5 s, and the failure is logged (at most every 10 s).
    pub fn failed(&self, err: &redis::RedisError) {
        if self.resting_until.load(Ordering::Relaxed) <= chrono::Utc::now().timestamp_millis() {
            self.resting_until.store(chrono::Utc::now().timestamp_millis() + 5_000, Ordering::Relaxed);
        }
        let now = chrono::Utc::now().timestamp();
        let last = self.last_warned.load(Ordering::Relaxed);
        if now - last >= 10
            && self.last_warned.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            tracing::warn!(error = %err, "Redis is unreachable: rate limits count on each server until it is back");
        }
    }
}

impl Shared {
    /// The Redis key for `key` under limit `name`: a keyed digest, so that what is counted is not stored.
    fn key(&self, name: &str, key: &impl Display) -> String {
        self.digest("rate", name, key)
    }

    /// `kind:name:` and a keyed digest of `key`.
    fn digest(&self, kind: &str, name: &str, key: &impl Display) -> String {
        use hmac::Mac;
        let mut mac = self.hasher.clone();
        mac.update(format!("{name}\u{0}{key}").as_bytes());
        let hex: String = mac.finalize().into_bytes().iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("{kind}:{name}:{hex}")
    }
}

/// One limit: `n` a `period` for each key, with bursts up to `n`.
pub struct Limit<K: Hash + Eq + Clone> {
    name: &'static str,
    n: NonZeroU32,
    period: Duration,
    local: DefaultKeyedRateLimiter<K>,
    shared: Option<Arc<Shared>>,
}

impl<K: Hash + Eq + Clone + Display> Limit<K> {
    /// `None` when `n` is 0 (no limit). `name` keeps limits apart in Redis.
    pub fn new(name: &'static str, n: u32, period: Duration, shared: Option<Arc<Shared>>) -> Option<Self> {
        let n = NonZeroU32::new(n)?;
        let quota = Quota::with_period(period / n.get())?.allow_burst(n);
        Some(Self { name, n, period, local: RateLimiter::keyed(quota), shared })
    }

    /// Counts a request for `key`: `None` if it is allowed, else how long until one would be.
    pub async fn check(&self, key: &K) -> Option<Duration> {
        if let Some(shared) = &self.shared {
            match shared.check(&shared.key(self.name, key), self.n, self.period).await {
                Ok(wait) => return wait,
                Err(err) => shared.failed(&err),
            }
        }
        let denied = self.local.check_key(key).err()?;
        Some(denied.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets this server's counts for keys not seen lately (Redis's expire by themselves).
    pub fn forget_idle(&self) {
        self.local.retain_recent();
    }
}

/// Counts for keys whose limits differ (each API key has its own rate): in Redis when shared, else one limiter a
/// key here, made again when its rate changes.
pub struct Varying<K: Hash + Eq + Clone> {
    name: &'static str,
    period: Duration,
    local: std::sync::Mutex<std::collections::HashMap<K, (u32, Arc<governor::DefaultDirectRateLimiter>)>>,
    shared: Option<Arc<Shared>>,
}

impl<K: Hash + Eq + Clone + Display> Varying<K> {
    pub fn new(name: &'static str, period: Duration, shared: Option<Arc<Shared>>) -> Self {
        Self { name, period, local: Default::default(), shared }
    }

    /// Counts a request for `key`, allowed `n` a period (at least 1).
    pub async fn check(&self, key: &K, n: u32) -> Option<Duration> {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        if let Some(shared) = &self.shared {
            match shared.check(&shared.key(self.name, key), n, self.period).await {
                Ok(wait) => return wait,
                Err(err) => shared.failed(&err),
            }
        }
        let limiter = {
            let mut keys = self.local.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry =
                keys.entry(key.clone()).or_insert_with(|| (0, Arc::new(RateLimiter::direct(Quota::per_hour(n)))));
            if entry.0 != n.get() {
                let quota = Quota::with_period(self.period / n.get()).map_or(Quota::per_hour(n), |q| q.allow_burst(n));
                *entry = (n.get(), Arc::new(RateLimiter::direct(quota)));
            }
            entry.1.clone()
        };
        let denied = limiter.check().err()?;
        Some(denied.wait_time_from(DefaultClock::default().now()))
    }
}

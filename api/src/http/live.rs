//! GraphQL subscriptions over WebSocket: `/graphql/ws`, the graphql-transport-ws protocol (the one the `graphql-ws`
//! library speaks). async-graphql runs the protocol's messages and the subscriptions; this module holds the
//! connection itself: who may open one, who they are (`connection_init`), the limits, keepalive, the end of a
//! session, and a clean close when the server stops. Queries and mutations stay on `POST /graphql`, where rate
//! limits and idempotency keys apply.
//!
//! Credentials come only in `connection_init`'s payload, never from cookies, so another site's page cannot open a
//! connection on a visitor's behalf.
//!
//! Close codes, the protocol's where it has one:
//! - 4400: a message that is not the protocol's; 4401: `subscribe` before the connection was acknowledged;
//! - 4403: credentials refused at `connection_init`, or the session ended since (expired, signed out everywhere,
//!   a new password, erasure);
//! - 4408: no `connection_init` in time; 4409: a subscription id already in use;
//! - 4429: a second `connection_init`, or more connections of one user than allowed;
//! - 1001: the server is stopping; 1009: a message over the size limit.
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_graphql::http::{WebSocketProtocols as Protocols, WsMessage};
use async_graphql::parser::types::OperationType;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures::stream::{BoxStream, SplitSink};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use uuid::Uuid;

use super::{AppState, identify, limited, rate_limited, refusal, rejected, with_codes};
use crate::Settings;
use crate::audit::{Actor, ViewLog};
use crate::auth::Viewer;
use crate::error::AppError;
use crate::kit::Loaders;
use crate::kit::batch::{LoadQueue, drive_stream};
use domain::access::{ApiKeyCaller, AuthUser};

const PROTOCOL: &str = "graphql-transport-ws";

/// The limits of live connections (`Settings::ws_*`).
#[derive(Clone, Copy, Debug)]
pub struct LiveLimits {
    pub subscriptions_per_connection: usize,
    pub connections_per_ip: usize,
    pub connections_per_user: usize,
    pub init_timeout: Duration,
    pub ping_every: Duration,
    pub max_message_bytes: usize,
}

impl LiveLimits {
    pub fn new(settings: &Settings) -> Self {
        Self {
            subscriptions_per_connection: settings.ws_subscriptions_per_connection.max(1),
            connections_per_ip: settings.ws_connections_per_ip.max(1),
            connections_per_user: settings.ws_connections_per_user.max(1),
            init_timeout: Duration::from_millis(settings.ws_init_timeout_ms.max(1)),
            ping_every: Duration::from_millis(settings.ws_ping_ms.max(100)),
            max_message_bytes: settings.ws_max_message_bytes.max(1024),
        }
    }
}

/// This server's live connections: how many each IP address and user holds, and the signal to close them all.
pub struct Sockets {
    pub limits: LiveLimits,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    per_user: Mutex<HashMap<Uuid, usize>>,
    open: AtomicUsize,
    closed: Notify,
    stopping: watch::Sender<bool>,
}

impl Sockets {
    pub fn new(limits: LiveLimits) -> Self {
        Self {
            limits,
            per_ip: Mutex::default(),
            per_user: Mutex::default(),
            open: AtomicUsize::new(0),
            closed: Notify::new(),
            stopping: watch::Sender::new(false),
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Closes every connection (1001), and waits up to `grace` for them to be closed.
    pub async fn close_all(&self, grace: Duration) {
        self.stopping.send_replace(true);
        let deadline = Instant::now() + grace;
        while self.open() > 0 {
            let closed = self.closed.notified();
            if self.open() == 0 || tokio::time::timeout_at(deadline, closed).await.is_err() {
                break;
            }
        }
    }

    /// A connection from `ip`, if it has fewer than its limit open.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admitted> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        let count = per_ip.entry(ip).or_default();
        if *count >= self.limits.connections_per_ip {
            return None;
        }
        *count += 1;
        self.open.fetch_add(1, Ordering::AcqRel);
        Some(Admitted { sockets: self.clone(), ip, user: None })
    }
}

/// An open connection, counted against its IP address (and user, once signed in) until it is dropped.
struct Admitted {
    sockets: Arc<Sockets>,
    ip: IpAddr,
    user: Option<Uuid>,
}

impl Admitted {
    /// Counts the connection against `user`; false if they already hold their limit.
    fn sign_in(&mut self, user: Uuid) -> bool {
        let mut per_user = self.sockets.per_user.lock().unwrap_or_else(PoisonError::into_inner);
        let count = per_user.entry(user).or_default();
        if *count >= self.sockets.limits.connections_per_user {
            return false;
        }
        *count += 1;
        self.user = Some(user);
        true
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        fn release<K: std::hash::Hash + Eq>(counts: &Mutex<HashMap<K, usize>>, key: &K) {
            let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = counts.get_mut(key) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    counts.remove(key);
                }
            }
        }
        release(&self.sockets.per_ip, &self.ip);
        if let Some(user) = self.user {
            release(&self.sockets.per_user, &user);
        }
        self.sockets.open.fetch_sub(1, Ordering::AcqRel);
        self.sockets.closed.notify_waiters();
    }
}

/// `GET /graphql/ws`: the upgrade, refused (as JSON, before it) without the protocol, or over the IP's limits.
pub async fn upgrade(
    State(state): State<AppState>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "open a WebSocket here (graphql-transport-ws); send queries and mutations to POST /graphql",
            None,
        );
    };
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    if !offered {
        return refusal(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "ask for the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)",
            None,
        );
    }
    let ip = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| p.0.0.ip());
    if let Some(wait) = limited(state.limits.per_ip.as_ref(), &ip).await {
        return rate_limited(wait);
    }
    let Some(admitted) = state.sockets.admit(ip) else {
        return refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            "too many live connections from this address: close some first",
            None,
        );
    };
    upgrade
        .protocols([PROTOCOL])
        .max_message_size(state.sockets.limits.max_message_bytes)
        .on_upgrade(move |socket| connection(state, socket, admitted))
}

type Sink = SplitSink<WebSocket, Message>;

/// How long one write to a client may wait (a client that stops reading fills its socket's buffers, and then
/// every write waits): past it the connection is dropped, so that a stalled client holds nothing up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `message`; false if the client is gone or has stopped reading.
async fn send(sink: &mut Sink, message: Message) -> bool {
    matches!(tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await, Ok(Ok(())))
}

async fn send_json(sink: &mut Sink, message: &Value) -> bool {
    send(sink, Message::Text(message.to_string().into())).await
}

async fn close(sink: &mut Sink, code: u16, reason: &str) {
    // A close frame's reason is at most 123 bytes (RFC 6455 §5.5).
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame { code, reason: reason[..end].into() };
    if send(sink, Message::Close(Some(frame))).await {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.close()).await;
    }
}

/// Who a connection is, once `connection_init` was accepted.
#[derive(Clone)]
enum Identity {
    Anonymous,
    User(AuthUser),
    ApiKey(ApiKeyCaller),
}

impl Identity {
    /// A viewer for one subscription: its organisation roles are read when it first needs them.
    fn viewer(&self) -> Viewer {
        match self {
            Self::Anonymous => Viewer::anonymous(),
            Self::User(user) => Viewer::with_memberships(*user, None),
            Self::ApiKey(key) => Viewer::for_api_key(key.clone()),
        }
    }
}

/// How a connection ended, told to the client in its close frame.
struct Ending(u16, String);

impl Ending {
    fn new(code: u16, reason: &str) -> Self {
        Self(code, reason.to_owned())
    }
}

/// A client message, as far as the connection checks it before the protocol runs it.
#[derive(serde::Deserialize)]
struct Incoming {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    payload: Option<Value>,
}

/// Whether a `subscribe` message's payload is a GraphQL request (async-graphql closes with 1002 otherwise).
fn is_request(payload: Option<&Value>) -> bool {
    let Some(payload) = payload.and_then(Value::as_object) else { return false };
    let optional_object = |name: &str| payload.get(name).is_none_or(|v| v.is_null() || v.is_object());
    payload.get("query").is_some_and(Value::is_string)
        && payload.get("operationName").is_none_or(|v| v.is_null() || v.is_string())
        && optional_object("variables")
        && optional_object("extensions")
}

async fn connection(state: AppState, socket: WebSocket, mut admitted: Admitted) {
    let limits = state.sockets.limits;
    let mut stopping = state.sockets.stopping.subscribe();
    let (mut sink, mut source) = socket.split();
    // Listening before the credentials are checked, so that a sign-out committed meanwhile is heard.
    let mut session_events = Some(state.live.subscribe().await);

    // Until `connection_init`: nothing but it (or a ping or pong) is taken.
    let deadline = Instant::now() + limits.init_timeout;
    let init = loop {
        let message = tokio::select! {
            message = tokio::time::timeout_at(deadline, source.next()) => message,
            () = stopped(&mut stopping) => return close(&mut sink, 1001, "the server is stopping").await,
        };
        let text = match message {
            Err(_) => return close(&mut sink, 4408, "Connection initialisation timeout").await,
            Ok(None | Some(Ok(Message::Close(_)))) => return,
            Ok(Some(Err(_))) => {
                return close(&mut sink, 1009, "the message is too large, or not a WebSocket frame").await;
            }
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(_))) => continue,
        };
        let Ok(parsed) = serde_json::from_str::<Value>(text.as_str()) else {
            return close(&mut sink, 4400, "not a graphql-transport-ws message").await;
        };
        match parsed["type"].as_str() {
            Some("connection_init") if parsed.get("payload").is_none_or(|p| p.is_null() || p.is_object()) => {
                break parsed;
            }
            Some("ping") => {
                let pong = tokio::time::timeout_at(
                    deadline,
                    sink.send(Message::Text(json!({ "type": "pong" }).to_string().into())),
                );
                if !matches!(pong.await, Ok(Ok(()))) {
                    return;
                }
            }
            Some("pong") => {}
            Some("subscribe") => return close(&mut sink, 4401, "Unauthorized").await,
            _ => return close(&mut sink, 4400, "not a graphql-transport-ws message").await,
        }
    };
    let payload = &init["payload"];
    let header = |names: [&str; 2]| names.iter().find_map(|name| payload[*name].as_str()).map(str::to_owned);
    let authorization = header(["authorization", "Authorization"]);
    let token = authorization.as_deref().and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
    });
    if authorization.is_some() && token.is_none() {
        return close(&mut sink, 4403, "Forbidden: authorization must be \"Bearer <access token>\"").await;
    }
    let api_key = header(["x-api-key", "apiKey"]);
    let (viewer, lifetime) = match identify(&state, token, api_key.as_deref(), true).await {
        Ok(found) => found,
        Err(AppError::Unavailable(_)) => return close(&mut sink, 1013, "try again later").await,
        Err(_) => return close(&mut sink, 4403, "Forbidden: the credentials were refused").await,
    };
    let identity = match (&viewer.user, &viewer.api_key) {
        (Some(user), _) => Identity::User(*user),
        (None, Some(key)) => Identity::ApiKey(key.clone()),
        (None, None) => Identity::Anonymous,
    };
    if let Identity::User(user) = &identity
        && !admitted.sign_in(user.id)
    {
        return close(&mut sink, 4429, "Too many live connections for this account").await;
    }
    let user = viewer.user_id();
    if user.is_none() {
        session_events = None;
    }
    let ip = admitted.ip;

    // From here async-graphql runs the protocol: it acknowledges the `connection_init` passed on to it. The socket
    // is read only while the protocol has room for another message, so a flood waits in the client's buffers.
    let (to_protocol, mut from_client) = tokio::sync::mpsc::channel::<String>(limits.subscriptions_per_connection + 8);
    let from_client = futures::stream::poll_fn(move |cx| from_client.poll_recv(cx));
    let executor = LiveExecutor { state: state.clone(), identity: identity.clone() };
    let mut protocol = async_graphql::http::WebSocket::new(executor, from_client, Protocols::GraphQLWS);
    if to_protocol.try_send(init.to_string()).is_err() {
        return;
    }
    let expiry = async move {
        match lifetime.map(|(_, expires_at)| (expires_at - chrono::Utc::now()).to_std()) {
            Some(Ok(left)) => tokio::time::sleep(left).await,
            Some(Err(_)) => {}
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expiry);
    let issued_at = lifetime.map(|(issued_at, _)| issued_at);
    let mut ping = tokio::time::interval_at(Instant::now() + limits.ping_every, limits.ping_every);
    let mut heard = Instant::now();
    // Subscriptions running, and those the client completed whose end the protocol has still to confirm (an id
    // may be used again meanwhile: the confirmation is then not the new subscription's end).
    let mut active: HashSet<String> = HashSet::new();
    let mut completing: HashSet<String> = HashSet::new();

    let Ending(code, reason) = loop {
        tokio::select! {
            message = source.next(), if to_protocol.capacity() > 0 => {
                let text = match message {
                    None | Some(Ok(Message::Close(_))) => return,
                    Some(Err(_)) => break Ending::new(1009, "the message is too large, or not a WebSocket frame"),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => break Ending::new(4400, "send text messages"),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                        heard = Instant::now();
                        continue;
                    }
                };
                heard = Instant::now();
                let Ok(incoming) = serde_json::from_str::<Incoming>(text.as_str()) else {
                    break Ending::new(4400, "not a graphql-transport-ws message");
                };
                match (incoming.kind.as_str(), incoming.id) {
                    ("connection_init", _) => break Ending::new(4429, "Too many initialisation requests"),
                    ("subscribe", Some(id)) if is_request(incoming.payload.as_ref()) => {
                        if active.contains(&id) {
                            break Ending(4409, format!("Subscriber for {id} already exists"));
                        }
                        let refusal = if active.len() >= limits.subscriptions_per_connection {
                            Some(format!(
                                "at most {} subscriptions on one connection: complete one first",
                                limits.subscriptions_per_connection
                            ))
                        } else {
                            // Starting a subscription counts as a request, against the same limits.
                            subscribe_limited(&state, ip, &identity).await.map(|wait| {
                                format!("too many requests: slow down (try again in {} s)", wait.as_secs().max(1))
                            })
                        };
                        if let Some(message) = refusal {
                            let refused = json!({ "id": id, "type": "error", "payload": [{
                                "message": message, "extensions": { "code": "RATE_LIMITED" },
                            }] });
                            if !send_json(&mut sink, &refused).await {
                                return;
                            }
                            continue;
                        }
                        active.insert(id);
                    }
                    ("complete", Some(id)) => {
                        if active.remove(&id) {
                            completing.insert(id);
                        }
                    }
                    ("ping" | "pong", _) => {}
                    _ => break Ending::new(4400, "not a graphql-transport-ws message"),
                }
                // There is room: the branch runs only then, and nothing else sends.
                if to_protocol.try_send(text.to_string()).is_err() {
                    return;
                }
            }
            out = protocol.next() => match out {
                Some(WsMessage::Text(text)) => {
                    if let Ok(Outgoing { kind, id: Some(id) }) = serde_json::from_str::<Outgoing>(&text)
                        && (kind == "complete" || kind == "error")
                        && !completing.remove(&id)
                    {
                        active.remove(&id);
                    }
                    if !send(&mut sink, Message::Text(text.into())).await {
                        return;
                    }
                }
                Some(WsMessage::Close(code, reason)) => break Ending(code, reason),
                None => break Ending::new(1000, "done"),
            },
            _ = ping.tick() => {
                // Two pings unanswered: the other end is gone (a phone that lost its signal sends no close).
                if heard.elapsed() > limits.ping_every * 2 || !send(&mut sink, Message::Ping(Default::default())).await {
                    return;
                }
            }
            () = &mut expiry => break Ending::new(4403, "Forbidden: the access token has expired; connect again with a new one"),
            event = next_event(&mut session_events) => {
                if let Some(domain::live::Event::SignedOut { user: who, before }) = event.as_deref()
                    && Some(*who) == user
                    && issued_at.is_some_and(|at| at.timestamp_millis() < before.timestamp_millis())
                {
                    break Ending::new(4403, "Forbidden: the session has ended; sign in again");
                }
            }
            () = stopped(&mut stopping) => break Ending::new(1001, "the server is stopping"),
        }
    };
    close(&mut sink, code, &reason).await;
}

/// Whether a subscription may start now, as a request would be counted (per IP, per user, per API key); how long
/// to wait if not.
async fn subscribe_limited(state: &AppState, ip: IpAddr, identity: &Identity) -> Option<Duration> {
    let limits = &state.limits;
    if let Some(wait) = limited(limits.per_ip.as_ref(), &ip).await {
        return Some(wait);
    }
    match identity {
        Identity::User(user) => limited(limits.per_user.as_ref(), &user.id).await,
        Identity::ApiKey(key) => limits.api_key_request(key).await,
        Identity::Anonymous => None,
    }
}

/// Once the server is stopping.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stop| *stop).await;
}

/// The next live event, for a connection that listens for the end of its session (never, for one that does not).
async fn next_event(
    events: &mut Option<tokio::sync::broadcast::Receiver<Arc<domain::live::Event>>>,
) -> Option<Arc<domain::live::Event>> {
    use tokio::sync::broadcast::error::RecvError;
    let Some(receiver) = events else { return std::future::pending().await };
    loop {
        match receiver.recv().await {
            Ok(event) => return Some(event),
            // Fell behind: what it missed may have been the end of its session. Checked again at expiry at the
            // latest; the backlog is thousands of events, so this is a flood, and rare.
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// What the server sends, as far as the connection needs to know: which subscription ended.
#[derive(serde::Deserialize)]
struct Outgoing {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

/// Runs each subscription as a request is run: its own viewer, loaders and audit log, the same document checks,
/// and the same error codes; the personal data each event shows is written to the audit log before it is sent.
#[derive(Clone)]
struct LiveExecutor {
    state: AppState,
    identity: Identity,
}

impl async_graphql::Executor for LiveExecutor {
    async fn execute(&self, _request: async_graphql::Request) -> async_graphql::Response {
        only_subscriptions()
    }

    fn execute_stream(
        &self,
        mut request: async_graphql::Request,
        _session_data: Option<Arc<async_graphql::Data>>,
    ) -> BoxStream<'static, async_graphql::Response> {
        let state = &self.state;
        state.documents.prepare(&mut request);
        let viewer = self.identity.viewer();
        let shown = match request.parsed_query() {
            Ok(document) => {
                if let Err(error) = crate::kit::limits::check_shape(document) {
                    return once(async_graphql::Response::from_errors(vec![error]));
                }
                if document.operations.iter().any(|(_, op)| op.node.ty != OperationType::Subscription) {
                    return once(only_subscriptions());
                }
                if let Some(key) = &viewer.api_key
                    && let Err(err) = crate::api_keys::check_operation(key, document)
                {
                    return once(rejected(err));
                }
                crate::schema::shown::shown_by(document)
            }
            // async-graphql says why it does not parse.
            Err(_) => domain::store::rows::Shown::ALL,
        };
        let queue = LoadQueue::default();
        let loaders = Loaders::new(&state.reads, &viewer, &queue, shown);
        // Each event is read afresh: nothing a loader kept for one event (an organisation, a joined profile, since
        // changed or erased) is shown again in the next.
        loaders.organisations.enable_all_cache(false);
        let kept = (loaders.joined_organisations.clone(), loaders.joined_volunteers.clone());
        let views = Arc::new(ViewLog::default());
        let actor = Actor::of(&viewer);
        let request = request.data(viewer).data(loaders).data(shown).data(views.clone());
        let db = state.db.clone();
        drive_stream(queue, state.schema.execute_stream(request))
            .then(move |mut response| {
                let (views, db) = (views.clone(), db.clone());
                kept.0.clear();
                kept.1.clear();
                async move {
                    // Personal data of others goes out only once the audit log shows who saw it.
                    if let Err(err) = views.flush(&db, actor).await {
                        tracing::warn!(error = ?err, "could not write the audit log: event withheld");
                        response = rejected(AppError::Unavailable(format!("{err:?}")));
                    }
                    with_codes(&mut response);
                    response
                }
            })
            .boxed()
    }
}

fn once(response: async_graphql::Response) -> BoxStream<'static, async_graphql::Response> {
    futures::stream::once(std::future::ready(response)).boxed()
}

fn only_subscriptions() -> async_graphql::Response {
    rejected(AppError::bad_input(
        "query",
        "only subscriptions run over /graphql/ws: send queries and mutations to POST /graphql",
    ))
}

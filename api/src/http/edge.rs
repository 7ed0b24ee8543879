//! Public reads at the edge: queries over `GET /graphql`, automatic persisted queries (Apollo's `persistedQuery`
//! extension: a SHA-256 hash stands for a document the server has seen), and the cache headers that let an HTTP
//! cache or CDN serve anonymous listings.
//!
//! Only an anonymous (no token, no API key) query over GET that succeeds is public: `Cache-Control: public,
//! max-age=…`, an `ETag` (`If-None-Match` answers 304), and `Vary` on the credentials' headers. Everything else,
//! whatever its method, is `private, no-store`: an answer that depends on who asks is never kept by a shared
//! cache. Mutations run only over POST.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::refusal;

/// How a GraphQL request arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Post,
    Get,
}

/// What every answer not meant for shared caches says.
pub const PRIVATE: HeaderValue = HeaderValue::from_static("private, no-store");

/// Marks an answer `public` made (in its extensions): nothing else is left without `PRIVATE`.
#[derive(Clone, Copy, Debug)]
pub struct Public;

/// For every answer on `/graphql`: `PRIVATE` unless `public` made it public.
pub async fn private_unless_public(mut response: Response) -> Response {
    if response.extensions().get::<Public>().is_none() {
        response.headers_mut().insert(header::CACHE_CONTROL, PRIVATE);
    }
    response
}

/// Documents by their SHA-256 (hex), learnt from requests that sent both (Apollo's automatic persisted queries).
/// Each server learns its own: a client told PERSISTED_QUERY_NOT_FOUND sends the document once more, on whichever
/// server it reaches.
#[derive(Default)]
pub struct PersistedQueries(Mutex<HashMap<String, Arc<str>>>);

impl PersistedQueries {
    /// Documents kept; when full, the store starts afresh (a flood of distinct documents only costs it its hits).
    const MAX: usize = 1024;
    /// Longer documents are not kept (listings' documents are a few hundred bytes).
    const MAX_LEN: usize = 16 * 1024;

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<str>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives a request that names a persisted query its document, or checks the document it sent against its
    /// hash: then the hash, for the caller to `keep` once the document proves sound. The refusal to answer otherwise.
    pub fn resolve(&self, request: &mut async_graphql::Request) -> Result<Option<String>, Box<Response>> {
        let Some(extension) = request.extensions.get("persistedQuery") else { return Ok(None) };
        let extension = extension.clone().into_json().unwrap_or_default();
        let bad = |message: &str| Box::new(refusal(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", message, None));
        if extension["version"] != 1 {
            return Err(bad("persistedQuery: only version 1 is supported"));
        }
        let Some(hash) = extension["sha256Hash"]
            .as_str()
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
        else {
            return Err(bad("persistedQuery.sha256Hash: the document's SHA-256, 64 hexadecimal digits"));
        };
        if request.query.is_empty() {
            let known = self.lock().get(&hash).cloned();
            return match known {
                Some(query) => {
                    request.query = query.to_string();
                    Ok(None)
                }
                // As Apollo's clients expect it (they then send the document with its hash).
                None => {
                    Err(Box::new(refusal(StatusCode::OK, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", None)))
                }
            };
        }
        let digest: String = Sha256::digest(request.query.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        if digest != hash {
            return Err(bad("persistedQuery.sha256Hash does not match the document"));
        }
        Ok(Some(hash))
    }

    /// Keeps `query` under `hash` (checked by `resolve`).
    pub fn keep(&self, hash: String, query: &str) {
        if query.len() > Self::MAX_LEN {
            return;
        }
        let mut known = self.lock();
        if known.len() >= Self::MAX && !known.contains_key(&hash) {
            known.clear();
        }
        known.insert(hash, Arc::from(query));
    }
}

/// A GraphQL request from a GET's query string: `query`, `operationName`, `variables` and `extensions` (JSON).
pub fn request_from_query(raw: &str) -> Result<async_graphql::Request, Box<Response>> {
    let bad = |field: &str, message: &str| {
        Box::new(refusal(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", &format!("{field}: {message}"), None))
    };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|_| bad("query string", "not URL-encoded"))?;
    let given = super::parameters(&pairs, &["query", "operationName", "variables", "extensions"], "GraphQL over GET")
        .map_err(|err| Box::new(super::error_response(&err)))?;
    let mut request = async_graphql::Request::new(given.get("query").copied().unwrap_or_default());
    if let Some(name) = given.get("operationName") {
        request = request.operation_name(*name);
    }
    if let Some(variables) = given.get("variables") {
        let variables: serde_json::Value =
            serde_json::from_str(variables).map_err(|_| bad("variables", "must be a JSON object"))?;
        if !variables.is_object() {
            return Err(bad("variables", "must be a JSON object"));
        }
        request = request.variables(async_graphql::Variables::from_json(variables));
    }
    if let Some(extensions) = given.get("extensions") {
        request.extensions =
            serde_json::from_str(extensions).map_err(|_| bad("extensions", "must be a JSON object"))?;
    }
    if request.query.is_empty() && !request.extensions.contains_key("persistedQuery") {
        return Err(bad("query", "send a query, or a persisted query's hash in extensions"));
    }
    Ok(request)
}

/// A public answer: kept by shared caches for `max_age` seconds, with an `ETag` of its body; `304 Not Modified`
/// when the client already holds it.
pub fn public(response: &async_graphql::Response, request_headers: &HeaderMap, max_age: u64) -> Response {
    let Ok(body) = serde_json::to_vec(response) else {
        return refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_SERVER_ERROR",
            "the answer could not be written",
            None,
        );
    };
    let digest: String = Sha256::digest(&body).iter().take(16).map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{digest}\"");
    let held = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim().trim_start_matches("W/") == etag || tag.trim() == "*"));
    let mut answer =
        if held { StatusCode::NOT_MODIFIED.into_response() } else { (StatusCode::OK, body).into_response() };
    let headers = answer.headers_mut();
    if !held {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/graphql-response+json"));
    }
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        headers.insert(header::CACHE_CONTROL, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    // A signed-in caller, or a partner, never gets the anonymous answer from a cache.
    headers.insert(header::VARY, HeaderValue::from_static("Authorization, X-Api-Key"));
    answer.extensions_mut().insert(Public);
    answer
}

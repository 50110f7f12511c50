//! What stands between a connection and the handlers: TLS and basic auth from the
//! `--tls-config` web configuration (every path of both servers, as exporter-toolkit
//! wraps KSM's whole mux), and the `--auth-filter` check of `/metrics` (TokenReview +
//! SubjectAccessReview against the apiserver, as KSM's controller-runtime filter).
//!
//! Reloading: the web configuration file is checked for changes (modification time and
//! size) when a connection is accepted and re-read if it changed, so new certificates,
//! CAs, users and headers apply to the next connection (exporter-toolkit re-reads per
//! request; a kept-alive connection here keeps what it started with). A file that no
//! longer validates closes new connections (logged) until it is fixed; TLS cannot be
//! switched on or off without a restart.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Request, Response, StatusCode};

use super::conn::{Handler, ResponseBody};
use super::text_response;
pub use super::web_config::{WebConfig, WebConfigError};

/// How long a TokenReview/SubjectAccessReview verdict is reused for the same token,
/// verb and path (controller-runtime's filter caches for a minute too).
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(60);
/// Verdicts kept at most; past that the expired ones go, then all.
const AUTH_CACHE_MAX: usize = 4096;
/// Time allowed for one review request to the apiserver.
const REVIEW_TIMEOUT: Duration = Duration::from_secs(10);
/// Successful basic-auth checks remembered (bcrypt costs tens of milliseconds each).
const BASIC_CACHE_MAX: usize = 1024;

/// The layers both servers apply; `Security::default()` is none.
#[derive(Clone, Default)]
pub struct Security {
    pub web: Option<Arc<WebConfigSource>>,
    pub auth_filter: Option<Arc<AuthFilter>>,
}

impl Security {
    /// The web configuration for a new connection: `Ok(None)` without `--tls-config`,
    /// `Err` when the file changed into something invalid (the connection is refused).
    pub(crate) fn connection_config(&self) -> Result<Option<Arc<WebConfig>>, ()> {
        match &self.web {
            None => Ok(None),
            Some(source) => source.current().map(Some),
        }
    }

    /// Wraps `handler` with basic auth, the auth filter and the configured headers.
    pub(crate) fn guard(&self, handler: Handler, web: Option<Arc<WebConfig>>) -> Handler {
        if web.is_none() && self.auth_filter.is_none() {
            return handler;
        }
        let basic_cache = self.web.as_ref().map(|source| source.basic_cache.clone());
        let filter = self.auth_filter.clone();
        Arc::new(move |request: Request<Incoming>| {
            let handler = handler.clone();
            let web = web.clone();
            let basic_cache = basic_cache.clone();
            let filter = filter.clone();
            Box::pin(async move {
                let mut response = match admit(&request, web.as_deref(), basic_cache, filter).await
                {
                    Ok(()) => handler(request).await,
                    Err(refusal) => refusal,
                };
                if let Some(web) = &web {
                    for (name, value) in &web.headers {
                        response.headers_mut().insert(name.clone(), value.clone());
                    }
                }
                response
            })
        })
    }
}

async fn admit(
    request: &Request<Incoming>,
    web: Option<&WebConfig>,
    basic_cache: Option<Arc<BasicCache>>,
    filter: Option<Arc<AuthFilter>>,
) -> Result<(), Response<ResponseBody>> {
    if let (Some(web), Some(cache)) = (web, basic_cache) {
        if !web.users.is_empty() && !basic_auth_ok(request, web, &cache).await {
            let mut response = text_response(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            return Err(response);
        }
    }
    if let Some(filter) = filter {
        if request.uri().path() == "/metrics" {
            filter.check(request).await?;
        }
    }
    Ok(())
}

/// The `--tls-config` file and its last valid content.
pub struct WebConfigSource {
    path: PathBuf,
    tls: bool,
    state: Mutex<SourceState>,
    basic_cache: Arc<BasicCache>,
}

struct SourceState {
    stamp: Option<(SystemTime, u64)>,
    current: Result<Arc<WebConfig>, ()>,
}

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl WebConfigSource {
    /// Loads the file (an error here stops the exporter at start-up).
    pub fn load(path: PathBuf) -> Result<WebConfigSource, WebConfigError> {
        let stamp = stamp(&path);
        let config = WebConfig::load(&path)?;
        Ok(WebConfigSource {
            tls: config.tls.is_some(),
            path,
            state: Mutex::new(SourceState {
                stamp,
                current: Ok(Arc::new(config)),
            }),
            basic_cache: Arc::new(BasicCache::default()),
        })
    }

    pub fn serves_tls(&self) -> bool {
        self.tls
    }

    fn current(&self) -> Result<Arc<WebConfig>, ()> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = stamp(&self.path);
        if now != state.stamp {
            state.stamp = now;
            state.current = match WebConfig::load(&self.path) {
                Ok(config) if config.tls.is_some() != self.tls => {
                    tracing::error!(path = %self.path.display(), "--tls-config changed whether TLS is served; that needs a restart: refusing connections until the file is restored");
                    Err(())
                }
                Ok(config) => {
                    tracing::info!(path = %self.path.display(), "--tls-config reloaded");
                    self.basic_cache.clear();
                    Ok(Arc::new(config))
                }
                Err(error) => {
                    tracing::error!(%error, "--tls-config no longer valid: refusing connections until it is fixed");
                    Err(())
                }
            };
        }
        state.current.clone()
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Digests of (user, password, hash) that verified.
#[derive(Default)]
struct BasicCache(Mutex<std::collections::HashSet<[u8; 32]>>);

impl BasicCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<[u8; 32]>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    fn clear(&self) {
        self.lock().clear();
    }
}

/// A bcrypt hash (the toolkit's cost) checked for an unknown user, so that it costs as
/// much as a known one (no timing hint about which user names exist).
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash("unknown user", 10).unwrap_or_default())
        .clone()
}

async fn basic_auth_ok(request: &Request<Incoming>, web: &WebConfig, cache: &BasicCache) -> bool {
    let Some((user, password)) = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|text| {
            text.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        })
    else {
        return false;
    };
    let (known, hash) = match web.users.get(&user) {
        Some(hash) => (true, hash.clone()),
        None => (false, dummy_hash()),
    };
    let key = sha256(&[user.as_bytes(), password.as_bytes(), hash.as_bytes()]);
    if known && cache.lock().contains(&key) {
        return true;
    }
    let verified = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(false);
    if verified && known {
        let mut cache = cache.lock();
        if cache.len() >= BASIC_CACHE_MAX {
            cache.clear();
        }
        cache.insert(key);
        return true;
    }
    false
}

/// `--auth-filter`: a bearer token is authenticated with a TokenReview and the request
/// authorised with a SubjectAccessReview (non-resource URL = the path, verb = the
/// lower-cased method), as controller-runtime's `WithAuthenticationAndAuthorization`.
pub struct AuthFilter {
    client: kube::Client,
    cache: Mutex<HashMap<[u8; 32], (Instant, Verdict)>>,
}

#[derive(Debug, Clone)]
enum Verdict {
    Allowed,
    Unauthenticated,
    Forbidden(String),
}

impl AuthFilter {
    pub fn new(client: kube::Client) -> AuthFilter {
        AuthFilter {
            client,
            cache: Mutex::new(HashMap::new()),
        }
    }

    async fn check(&self, request: &Request<Incoming>) -> Result<(), Response<ResponseBody>> {
        let token = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty());
        let Some(token) = token else {
            return Err(text_response(StatusCode::UNAUTHORIZED, "Unauthorized\n"));
        };
        let verb = request.method().as_str().to_ascii_lowercase();
        let path = request.uri().path().to_string();
        let key = sha256(&[token.as_bytes(), verb.as_bytes(), path.as_bytes()]);
        let cached = self
            .lock()
            .get(&key)
            .and_then(|(at, verdict)| (at.elapsed() < AUTH_CACHE_TTL).then(|| verdict.clone()));
        let verdict = match cached {
            Some(verdict) => verdict,
            None => {
                let verdict = match tokio::time::timeout(
                    REVIEW_TIMEOUT,
                    self.review(token, &verb, &path),
                )
                .await
                {
                    Ok(Ok(verdict)) => verdict,
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "--auth-filter: the apiserver did not answer a review; refusing the request");
                        return Err(text_response(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "auth filter unavailable\n",
                        ));
                    }
                    Err(_) => {
                        tracing::warn!(
                            "--auth-filter: no review answer within {} s; refusing the request",
                            REVIEW_TIMEOUT.as_secs()
                        );
                        return Err(text_response(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "auth filter unavailable\n",
                        ));
                    }
                };
                self.remember(key, verdict.clone());
                verdict
            }
        };
        match verdict {
            Verdict::Allowed => Ok(()),
            Verdict::Unauthenticated => {
                Err(text_response(StatusCode::UNAUTHORIZED, "Unauthorized\n"))
            }
            Verdict::Forbidden(user) => Err(text_response(
                StatusCode::FORBIDDEN,
                &format!("Forbidden (user={user}, verb={verb}, path={path})\n"),
            )),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], (Instant, Verdict)>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remember(&self, key: [u8; 32], verdict: Verdict) {
        let mut cache = self.lock();
        if cache.len() >= AUTH_CACHE_MAX {
            cache.retain(|_, (at, _)| at.elapsed() < AUTH_CACHE_TTL);
            if cache.len() >= AUTH_CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(key, (Instant::now(), verdict));
    }

    async fn review(&self, token: &str, verb: &str, path: &str) -> Result<Verdict, kube::Error> {
        let review = serde_json::json!({
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        });
        let answer = self
            .post("/apis/authentication.k8s.io/v1/tokenreviews", &review)
            .await?;
        let status = &answer["status"];
        if status["authenticated"] != serde_json::Value::Bool(true) {
            return Ok(Verdict::Unauthenticated);
        }
        let user = &status["user"];
        let username = user["username"].as_str().unwrap_or_default().to_string();
        let access = serde_json::json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user["username"],
                "uid": user["uid"],
                "groups": user["groups"],
                "extra": user["extra"],
                "nonResourceAttributes": {"path": path, "verb": verb},
            },
        });
        let answer = self
            .post(
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                &access,
            )
            .await?;
        if answer["status"]["allowed"] == serde_json::Value::Bool(true) {
            Ok(Verdict::Allowed)
        } else {
            Ok(Verdict::Forbidden(username))
        }
    }

    async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, kube::Error> {
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri(path)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::ACCEPT, "application/json")
            .body(body.to_string().into_bytes())
            .map_err(kube::Error::HttpError)?;
        self.client.request::<serde_json::Value>(request).await
    }
}

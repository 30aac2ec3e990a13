//! The dashboard of `calf serve --http ADDR`: a page of its own
//! (`page.html`, no build step), the JSON it reads, a stream of server-sent
//! events that keeps it live, kill and send, and `/metrics` for
//! Prometheus. docs/dashboard.md is its manual.
//!
//! It runs on the serve layer's own tokio runtime, never on the
//! scheduler's threads, and sees the tenants as the admin API does: a
//! login sees its own tenant only (the operator's, all of them), and a
//! pid is looked up in a tenant the login may see, or not at all.

pub mod auth;
pub mod metrics;
pub mod views;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::api;
use crate::server::Registry;
use crate::tenant::Tenant;
use auth::{Auth, Who};

/// The page, with its script and style.
const PAGE: &str = include_str!("page.html");

/// The name of the session cookie.
const COOKIE: &str = "calf_session";

/// The largest request body taken (a login, a message to send).
const MAX_BODY: usize = 64 * 1024;

/// How much of a body too large is read before the refusal.
const MAX_DRAINED: usize = 1 << 20;

/// How long a client may take to send a request's body.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 256;

/// How long a client may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the live page is sent the overview.
const TICK: Duration = Duration::from_secs(1);

/// A header every request that changes something must carry: a page of
/// another site cannot set it (without CORS, which this server never
/// allows), so it cannot kill or send with a visitor's session.
const CSRF_HEADER: &str = "x-calf-dashboard";

type Body = BoxBody<Bytes, Infallible>;

/// What the dashboard serves from.
pub struct Dashboard {
    pub auth: Auth,
    pub tenants: Registry,
}

/// Listens on `addr` and serves the dashboard on the current runtime
/// until the returned task is aborted.
pub async fn start(
    addr: SocketAddr,
    dashboard: Arc<Dashboard>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for the dashboard: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("the dashboard's address: {e}"))?;
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let task = tokio::spawn(async move {
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("the dashboard could not accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let dashboard = dashboard.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let dashboard = dashboard.clone();
                    async move { Ok::<_, Infallible>(answer(&dashboard, request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEAD_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                drop(slot);
            });
        }
    });
    Ok((bound, task))
}

async fn answer(dashboard: &Arc<Dashboard>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let method = request.method().clone();
    let changes = method == Method::POST;
    if changes && request.headers().get(CSRF_HEADER).is_none() {
        return error(
            StatusCode::FORBIDDEN,
            &format!("a request that changes something must carry the {CSRF_HEADER} header"),
        );
    }
    match (method, path.as_str()) {
        (Method::GET, "/") => page(),
        (Method::POST, "/api/login") => login(dashboard, request).await,
        (Method::POST, "/api/logout") => {
            if let Some(token) = cookie(&request) {
                dashboard.auth.close(&token);
            }
            let mut response = json_response(StatusCode::OK, &json!({}));
            set_cookie(&mut response, &format!("{COOKIE}=; Max-Age=0; Path=/"));
            response
        }
        (Method::GET, _) | (Method::POST, _) => {
            let who = match who(dashboard, &request).await {
                Ok(who) => who,
                Err(response) => return response,
            };
            authenticated(dashboard, who, &path, &query, request).await
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and POST are served",
        ),
    }
}

async fn authenticated(
    dashboard: &Arc<Dashboard>,
    who: Who,
    path: &str,
    query: &str,
    request: Request<Incoming>,
) -> Response<Body> {
    let post = request.method() == Method::POST;
    match (post, path) {
        (false, "/api/me") => json_response(StatusCode::OK, &me(&who)),
        (false, "/api/overview") => {
            let tenants = visible(dashboard, &who);
            json_response(StatusCode::OK, &views::overview(&tenants).await)
        }
        (false, "/api/events") => events(dashboard, who, cookie(&request)),
        (false, "/api/process") => {
            let (tenant, pid) = match target(dashboard, &who, query) {
                Ok(found) => found,
                Err(response) => return response,
            };
            match views::process(&tenant, pid).await {
                Ok(view) => json_response(StatusCode::OK, &view),
                Err(message) => error(StatusCode::NOT_FOUND, &message),
            }
        }
        (false, "/api/tree") => {
            let Some(tenant) = param(query, "tenant").and_then(|t| tenant(dashboard, &who, t))
            else {
                return error(
                    StatusCode::NOT_FOUND,
                    "no such tenant among those you may see",
                );
            };
            json_response(StatusCode::OK, &views::tree(&tenant).await)
        }
        (false, "/metrics") => {
            let tenants = visible(dashboard, &who);
            let mut response = Response::new(full(metrics::render(&tenants).await));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            response
        }
        (true, "/api/kill") | (true, "/api/send") => {
            let body: Action = match read_json(request).await {
                Ok(body) => body,
                Err(response) => return response,
            };
            let Some(tenant) = tenant(dashboard, &who, &body.tenant) else {
                return error(
                    StatusCode::NOT_FOUND,
                    "no such tenant among those you may see",
                );
            };
            let done = if path == "/api/kill" {
                tenant.kill(api::Kill {
                    pid: body.pid,
                    reason: body.reason,
                })
            } else {
                tenant
                    .send(api::Send {
                        pid: body.pid,
                        message: body.message.unwrap_or_default(),
                    })
                    .await
            };
            match done {
                Ok(_) => json_response(StatusCode::OK, &json!({})),
                Err(e) if e.code == api::code::NOT_FOUND => {
                    error(StatusCode::NOT_FOUND, &e.message)
                }
                Err(e) => error(StatusCode::BAD_REQUEST, &e.message),
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            &format!("{path} is not a page of the dashboard"),
        ),
    }
}

/// A kill or a send from the page.
#[derive(Deserialize)]
struct Action {
    tenant: String,
    pid: u64,
    /// Calf data: the kill's reason (default `:kill`).
    #[serde(default)]
    reason: Option<String>,
    /// Calf data: the message sent.
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
}

async fn login(dashboard: &Dashboard, request: Request<Incoming>) -> Response<Body> {
    let login: Login = match read_json(request).await {
        Ok(login) => login,
        Err(response) => return response,
    };
    match dashboard.auth.check(&login.user, &login.password).await {
        Ok(who) => match dashboard.auth.open(&login.user, who.clone()) {
            Ok(token) => {
                tracing::info!(user = %login.user, "dashboard login");
                let mut response = json_response(StatusCode::OK, &me(&who));
                set_cookie(
                    &mut response,
                    &format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"),
                );
                response
            }
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        },
        Err(message) => {
            tracing::warn!(user = %login.user, "dashboard login refused");
            // Slows down guessing, without holding anyone else up.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let status = if message == auth::REFUSED {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            error(status, &message)
        }
    }
}

fn me(who: &Who) -> serde_json::Value {
    match who {
        Who::Operator => json!({ "operator": true, "tenant": null }),
        Who::Tenant(name) => json!({ "operator": false, "tenant": name }),
    }
}

/// The session's login, or Basic credentials' (for scrapers).
async fn who(dashboard: &Dashboard, request: &Request<Incoming>) -> Result<Who, Response<Body>> {
    if let Some(session) = cookie(request).and_then(|token| dashboard.auth.session(&token)) {
        return Ok(session.who);
    }
    if let Some((user, password)) = basic(request) {
        return dashboard
            .auth
            .basic(&user, &password)
            .await
            .map_err(|message| {
                let mut response = error(StatusCode::UNAUTHORIZED, &message);
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"calf serve\""),
                );
                response
            });
    }
    Err(error(
        StatusCode::UNAUTHORIZED,
        "log in first: with the page's form, or HTTP Basic credentials of a NATS user",
    ))
}

/// The tenants `who` may see, by name.
fn visible(dashboard: &Dashboard, who: &Who) -> Vec<Arc<Tenant>> {
    dashboard
        .tenants
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .filter(|t| who.sees(&t.name))
        .cloned()
        .collect()
}

fn tenant(dashboard: &Dashboard, who: &Who, name: &str) -> Option<Arc<Tenant>> {
    if !who.sees(name) {
        return None;
    }
    dashboard
        .tenants
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(name)
        .cloned()
}

/// The tenant and pid a query names (`tenant=acme&pid=12`).
fn target(
    dashboard: &Dashboard,
    who: &Who,
    query: &str,
) -> Result<(Arc<Tenant>, u64), Response<Body>> {
    let pid = param(query, "pid")
        .and_then(|p| p.trim_start_matches('<').trim_end_matches('>').parse().ok())
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "give the process as pid=NUMBER"))?;
    let tenant = param(query, "tenant")
        .and_then(|t| tenant(dashboard, who, t))
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "no such tenant among those you may see",
            )
        })?;
    Ok((tenant, pid))
}

fn param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The live overview: an event a second, while the session lasts.
fn events(dashboard: &Arc<Dashboard>, who: Who, token: Option<String>) -> Response<Body> {
    let state = (dashboard.clone(), tokio::time::interval(TICK));
    let stream = futures_util::stream::unfold(state, move |(dashboard, mut tick)| {
        let (who, token) = (who.clone(), token.clone());
        async move {
            tick.tick().await;
            // A session closed (logout, its tenant removed) ends its stream.
            if token.is_some_and(|token| dashboard.auth.session(&token).is_none()) {
                return None;
            }
            // In a task of its own: the body's stream must be `Sync`, and
            // asking the other nodes of a cluster is not.
            let tenants = visible(&dashboard, &who);
            let overview = tokio::spawn(async move { views::overview(&tenants).await })
                .await
                .unwrap_or_default();
            let frame = Frame::data(Bytes::from(format!(
                "event: overview\ndata: {overview}\n\n"
            )));
            Some((Ok::<_, Infallible>(frame), (dashboard, tick)))
        }
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn page() -> Response<Body> {
    let mut response = Response::new(full(PAGE.to_string()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // The page's script and style are its own; nothing else may run.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn read_json<T: for<'de> Deserialize<'de>>(
    request: Request<Incoming>,
) -> Result<T, Response<Body>> {
    let mut incoming = request.into_body();
    let (mut body, mut total) = (Vec::new(), 0usize);
    // A body too large is read to its end all the same (up to a bound),
    // so that the client reads the refusal rather than a reset connection.
    let read = async {
        while let Some(frame) = incoming.frame().await {
            let Ok(frame) = frame else { return false };
            if let Ok(data) = frame.into_data() {
                total += data.len();
                if total <= MAX_BODY {
                    body.extend_from_slice(&data);
                } else if total > MAX_DRAINED {
                    break;
                }
            }
        }
        true
    };
    let whole = tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .unwrap_or(false);
    if total > MAX_BODY {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request's body is larger than {MAX_BODY} bytes"),
        ));
    }
    if !whole {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "the request's body was cut short",
        ));
    }
    serde_json::from_slice(&body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("the request's JSON does not read: {e}"),
        )
    })
}

fn cookie(request: &Request<Incoming>) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

fn basic(request: &Request<Incoming>) -> Option<(String, String)> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Standard base64 (with or without padding); `None` if it is not.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for byte in text.bytes().take_while(|b| *b != b'=') {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

fn full(text: String) -> Body {
    BodyExt::boxed(Full::new(Bytes::from(text)))
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(full(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error(status: StatusCode, message: &str) -> Response<Body> {
    json_response(status, &json!({ "error": message }))
}

fn set_cookie(response: &mut Response<Body>, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_reads_basic_credentials() {
        assert_eq!(
            base64_decode("YWNtZS1kZXY6ZGV2LWFjbWU=").unwrap(),
            b"acme-dev:dev-acme"
        );
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert_eq!(base64_decode("a*b"), None);
    }

    #[test]
    fn params_are_found_by_name() {
        assert_eq!(param("tenant=acme&pid=12", "pid"), Some("12"));
        assert_eq!(param("tenant=acme", "pid"), None);
        assert_eq!(param("", "tenant"), None);
    }
}

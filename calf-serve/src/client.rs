//! A client of the admin API, one typed method per verb: what the `calf`
//! command's verbs use, and what a Rust program driving `calf serve`
//! can use.
//!
//! Its errors say what happened in words a person can act on: nobody
//! answering in the account (the scheduler is down, or these are not a
//! tenant's credentials), an error reply (its message and code), a
//! timeout.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use calf_protocol::header;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{self, subject};

/// How long a request waits for its answer, unless the verb says more.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Who the client logs in as, and where.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// A NATS credentials file (JWT and seed), instead of user/password.
    pub creds_file: Option<PathBuf>,
}

/// What went wrong with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The NATS server could not be reached, or refused the login.
    Connect { url: String, reason: String },
    /// Nobody subscribes to the API in this account.
    NoScheduler { url: String },
    /// The scheduler answered with an error.
    Refused { code: String, message: String },
    /// No answer in time.
    TimedOut { subject: String, after: Duration },
    /// The request is larger than the NATS server takes (`max_payload`).
    TooLarge {
        subject: String,
        size: usize,
        max_payload: usize,
    },
    /// Anything else (a reply that does not decode, a lost connection).
    Other(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Connect { url, reason } => {
                write!(f, "cannot connect to NATS at {url}: {reason}")
            }
            ClientError::NoScheduler { url } => write!(
                f,
                "no `calf serve` answers in this account at {url}: is it running, \
                 and are these the tenant's credentials?"
            ),
            ClientError::Refused { code, message } => {
                write!(f, "{} ({code})", message.trim_end())
            }
            ClientError::TimedOut { subject, after } => write!(
                f,
                "no answer to {subject} within {}s: the scheduler may be overloaded",
                after.as_secs()
            ),
            ClientError::TooLarge {
                subject,
                size,
                max_payload,
            } => {
                let (size, max) = (human_bytes(*size), human_bytes(*max_payload));
                if subject == subject::SUBMIT {
                    write!(
                        f,
                        "the submission is too large: {size}, more than the NATS server's \
                         max_payload of {max}; submit fewer or smaller files, or raise \
                         max_payload in the nats-server configuration"
                    )
                } else {
                    write!(
                        f,
                        "the request to {subject} is too large: {size}, more than the NATS \
                         server's max_payload of {max}"
                    )
                }
            }
            ClientError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    /// The API's error code, for an error reply.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A connection to a tenant's account (or the operator's).
#[derive(Clone)]
pub struct Client {
    nats: async_nats::Client,
    url: String,
}

impl Client {
    pub async fn connect(credentials: Credentials) -> Result<Client, ClientError> {
        let Credentials {
            url,
            user,
            password,
            creds_file,
        } = credentials;
        let failed = |reason: String| ClientError::Connect {
            url: url.clone(),
            reason,
        };
        let options = match (creds_file, user) {
            (Some(path), _) => async_nats::ConnectOptions::with_credentials_file(&path)
                .await
                .map_err(|e| failed(format!("cannot read {}: {e}", path.display())))?,
            (None, Some(user)) => async_nats::ConnectOptions::with_user_and_password(
                user,
                password.unwrap_or_default(),
            ),
            (None, None) => async_nats::ConnectOptions::new(),
        };
        let nats = options
            .name("calf")
            .connection_timeout(CONNECT_TIMEOUT)
            // A command gives up rather than waiting for a server that is
            // down; a reconnect happens only after a first connection.
            .max_reconnects(Some(3))
            .connect(url.as_str())
            .await
            .map_err(|e| failed(connect_reason(&e)))?;
        Ok(Client { nats, url })
    }

    /// The NATS server this client is connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn request<Q: Serialize, A: DeserializeOwned>(
        &self,
        subject: &str,
        body: &Q,
        timeout: Duration,
    ) -> Result<A, ClientError> {
        let payload = Bytes::from(api::encode(body));
        let too_large = |max_payload: usize| ClientError::TooLarge {
            subject: subject.to_string(),
            size: payload.len(),
            max_payload,
        };
        // Said before sending: async-nats refuses it too, in its own words.
        let max_payload = self.nats.server_info().max_payload;
        if max_payload > 0 && payload.len() > max_payload {
            return Err(too_large(max_payload));
        }
        let request = async_nats::Request::new()
            .payload(payload.clone())
            .timeout(Some(timeout));
        let reply = self
            .nats
            .send_request(subject.to_string(), request)
            .await
            .map_err(|e| match e.kind() {
                async_nats::RequestErrorKind::NoResponders => ClientError::NoScheduler {
                    url: self.url.clone(),
                },
                async_nats::RequestErrorKind::TimedOut => ClientError::TimedOut {
                    subject: subject.to_string(),
                    after: timeout,
                },
                async_nats::RequestErrorKind::MaxPayloadExceeded => too_large(max_payload),
                _ => ClientError::Other(format!("{subject}: {e}")),
            })?;
        if let Some(error) = error_reply(&reply) {
            return Err(error);
        }
        api::decode(&reply.payload)
            .map_err(|e| ClientError::Other(format!("the answer to {subject}: {e}")))
    }

    pub async fn submit(&self, submission: &api::Submit) -> Result<api::Submitted, ClientError> {
        self.request(subject::SUBMIT, submission, REQUEST_TIMEOUT)
            .await
    }

    /// Every process of the tenant, a page of them at a time.
    pub async fn ps(&self) -> Result<api::ProcessList, ClientError> {
        let mut all = api::ProcessList {
            processes: Vec::new(),
            next: None,
        };
        let mut page = api::Ps::default();
        loop {
            let list: api::ProcessList = self.request(subject::PS, &page, REQUEST_TIMEOUT).await?;
            all.processes.extend(list.processes);
            match list.next {
                Some(after) if after > page.after => page.after = after,
                _ => return Ok(all),
            }
        }
    }

    pub async fn summary(&self) -> Result<api::Summary, ClientError> {
        self.request(subject::SUMMARY, &api::Done {}, REQUEST_TIMEOUT)
            .await
    }

    /// Every tenant's summary (operator account only).
    pub async fn tenants(&self) -> Result<api::TenantList, ClientError> {
        self.request(subject::TENANTS, &api::Done {}, REQUEST_TIMEOUT)
            .await
    }

    pub async fn inspect(&self, pid: u64) -> Result<api::ProcessDetail, ClientError> {
        self.request(subject::INSPECT, &api::Inspect { pid }, REQUEST_TIMEOUT)
            .await
    }

    /// Sends an exit signal; `reason` is Calf data (default `:kill`).
    pub async fn kill(&self, pid: u64, reason: Option<String>) -> Result<api::Done, ClientError> {
        self.request(subject::KILL, &api::Kill { pid, reason }, REQUEST_TIMEOUT)
            .await
    }

    /// Sends `message`, Calf data, to process `pid`.
    pub async fn send(&self, pid: u64, message: String) -> Result<api::Done, ClientError> {
        self.request(subject::SEND, &api::Send { pid, message }, REQUEST_TIMEOUT)
            .await
    }

    /// Output of job `pid` from byte `from`; with a `wait`, the answer
    /// waits (up to 30 s on the scheduler's side) for output past `from`.
    pub async fn logs(
        &self,
        pid: u64,
        from: u64,
        wait: Duration,
    ) -> Result<api::LogChunk, ClientError> {
        let request = api::Logs {
            pid,
            from,
            wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        };
        self.request(subject::LOGS, &request, REQUEST_TIMEOUT + wait)
            .await
    }

    pub async fn attach(&self) -> Result<api::Attached, ClientError> {
        self.request(subject::ATTACH, &api::Done {}, REQUEST_TIMEOUT)
            .await
    }

    /// Evaluates one line in a session; waits as long as the line runs
    /// (up to a day: interrupt it to get the answer sooner).
    pub async fn eval(&self, session: u64, source: String) -> Result<api::Evaluated, ClientError> {
        let request = api::Eval { session, source };
        self.request(subject::EVAL, &request, Duration::from_secs(24 * 3600))
            .await
    }

    pub async fn complete(
        &self,
        session: u64,
        line: String,
        pos: usize,
    ) -> Result<api::Completions, ClientError> {
        let request = api::Complete {
            session,
            line,
            pos: pos as u64,
        };
        self.request(subject::COMPLETE, &request, REQUEST_TIMEOUT)
            .await
    }

    pub async fn interrupt(&self, session: u64) -> Result<api::Done, ClientError> {
        self.request(
            subject::INTERRUPT,
            &api::Session { session },
            REQUEST_TIMEOUT,
        )
        .await
    }

    pub async fn detach(&self, session: u64) -> Result<api::Done, ClientError> {
        self.request(subject::DETACH, &api::Session { session }, REQUEST_TIMEOUT)
            .await
    }
}

/// `n` bytes, for a person: `5.0 MiB`, `512 bytes`.
fn human_bytes(n: usize) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = None;
    for next in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = Some(next);
    }
    match unit {
        Some(unit) => format!("{value:.1} {unit} ({n} bytes)"),
        None => format!("{n} bytes"),
    }
}

/// Why a connection failed, in words for the person at the command.
fn connect_reason(error: &async_nats::ConnectError) -> String {
    match error.kind() {
        async_nats::ConnectErrorKind::AuthorizationViolation => {
            "the server refused these credentials (user, password or creds file)".to_string()
        }
        async_nats::ConnectErrorKind::TimedOut => {
            format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())
        }
        async_nats::ConnectErrorKind::Io => {
            format!("{error}: is a NATS server running there? (--nats URL, or CALF_NATS_URL)")
        }
        _ => error.to_string(),
    }
}

/// The error of an error reply: the message of its body when it has one
/// (a long message), else of its header.
pub fn error_reply(reply: &async_nats::Message) -> Option<ClientError> {
    let headers = reply.headers.as_ref()?;
    let find = |name| {
        header::find(headers.iter(), name)
            .and_then(|values| values.first())
            .map(|v| v.as_str().to_string())
    };
    let code = find(header::ERROR_CODE)?;
    let message = match std::str::from_utf8(&reply.payload) {
        Ok(body) if !body.trim().is_empty() => body.to_string(),
        _ => find(header::ERROR).unwrap_or_else(|| "the scheduler refused".to_string()),
    };
    Some(ClientError::Refused { code, message })
}

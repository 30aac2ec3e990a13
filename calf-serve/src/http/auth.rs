//! Who is asking the dashboard: a login is a NATS login (a tenant's user
//! or the operator's), checked by connecting to the NATS server as that
//! user, as `calf ps` would; the server is the one judge of passwords.
//! calf.toml only says which tenant a user name belongs to.
//!
//! A login opens a session (a random token in an HttpOnly, SameSite
//! cookie); `/metrics` scrapers may send HTTP Basic credentials instead,
//! which are remembered for a minute so a scrape does not log in to NATS.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::config::ServeConfig;

/// How long a session lasts without a new login.
const SESSION_LIFE: Duration = Duration::from_secs(12 * 3600);

/// Sessions kept at most: past it, the oldest goes.
const MAX_SESSIONS: usize = 10_000;

/// How long checked Basic credentials are trusted without asking NATS.
const BASIC_LIFE: Duration = Duration::from_secs(60);

/// Logins checked with the NATS server at once.
const MAX_CHECKING: usize = 8;

/// How long logging in to NATS may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// What a login may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// Every tenant.
    Operator,
    /// This tenant only.
    Tenant(String),
}

impl Who {
    pub fn sees(&self, tenant: &str) -> bool {
        match self {
            Who::Operator => true,
            Who::Tenant(own) => own == tenant,
        }
    }
}

/// A session of the dashboard.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub who: Who,
    expires: Instant,
}

pub struct Auth {
    nats_url: String,
    /// User name to what it may see, from calf.toml (kept current on
    /// reload).
    users: Mutex<HashMap<String, Who>>,
    sessions: Mutex<HashMap<String, Session>>,
    /// Basic credentials checked lately: digest of user and password.
    basic: Mutex<HashMap<[u8; 32], (Who, Instant)>>,
    /// Logins being checked at once: a flood of them waits here rather
    /// than opening a connection to the NATS server each.
    checking: tokio::sync::Semaphore,
}

impl Auth {
    pub fn new(nats_url: &str, config: &ServeConfig) -> Auth {
        let auth = Auth {
            nats_url: nats_url.to_string(),
            users: Mutex::default(),
            sessions: Mutex::default(),
            basic: Mutex::default(),
            checking: tokio::sync::Semaphore::new(MAX_CHECKING),
        };
        auth.configure(config);
        auth
    }

    /// Takes the users of a (re)loaded calf.toml: a removed tenant's
    /// sessions end.
    pub fn configure(&self, config: &ServeConfig) {
        let mut users = HashMap::new();
        users.insert(config.operator.name.clone(), Who::Operator);
        for tenant in &config.tenants {
            for user in &tenant.users {
                users.insert(user.name.clone(), Who::Tenant(tenant.name.clone()));
            }
        }
        lock(&self.sessions).retain(|_, s| users.get(&s.user) == Some(&s.who));
        lock(&self.basic).clear();
        *lock(&self.users) = users;
    }

    /// Checks `user`'s `password` with the NATS server; what it may see.
    pub async fn check(&self, user: &str, password: &str) -> Result<Who, String> {
        let who = lock(&self.users).get(user).cloned();
        let Some(who) = who else {
            return Err(REFUSED.to_string());
        };
        let Ok(_turn) = self.checking.acquire().await else {
            return Err("the dashboard is stopping".to_string());
        };
        let options =
            async_nats::ConnectOptions::with_user_and_password(user.into(), password.into())
                .connection_timeout(CHECK_TIMEOUT)
                .max_reconnects(Some(0));
        match tokio::time::timeout(
            CHECK_TIMEOUT,
            async_nats::connect_with_options(&self.nats_url, options),
        )
        .await
        {
            Ok(Ok(client)) => {
                let _ = client.drain().await;
                Ok(who)
            }
            Ok(Err(e)) if e.kind() == async_nats::ConnectErrorKind::AuthorizationViolation => {
                Err(REFUSED.to_string())
            }
            Ok(Err(e)) => Err(format!(
                "cannot check the login with the NATS server ({e}); try again when it is up"
            )),
            Err(_) => Err(
                "the NATS server did not answer the login in time; try again when it is up"
                    .to_string(),
            ),
        }
    }

    /// A new session for `user`: its token.
    pub fn open(&self, user: &str, who: Who) -> Result<String, String> {
        let token = token().map_err(|e| format!("cannot make a session token: {e}"))?;
        let mut sessions = lock(&self.sessions);
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(t, _)| t.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            token.clone(),
            Session {
                user: user.to_string(),
                who,
                expires: now + SESSION_LIFE,
            },
        );
        Ok(token)
    }

    pub fn session(&self, token: &str) -> Option<Session> {
        let sessions = lock(&self.sessions);
        sessions
            .get(token)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    pub fn close(&self, token: &str) {
        lock(&self.sessions).remove(token);
    }

    /// HTTP Basic credentials (`user:password`), checked at most once a
    /// minute.
    pub async fn basic(&self, user: &str, password: &str) -> Result<Who, String> {
        let digest: [u8; 32] = Sha256::new()
            .chain_update(user.as_bytes())
            .chain_update([0])
            .chain_update(password.as_bytes())
            .finalize()
            .into();
        if let Some((who, at)) = lock(&self.basic).get(&digest) {
            if at.elapsed() < BASIC_LIFE {
                return Ok(who.clone());
            }
        }
        let who = self.check(user, password).await?;
        let mut basic = lock(&self.basic);
        if basic.len() >= MAX_SESSIONS {
            basic.clear();
        }
        basic.insert(digest, (who.clone(), Instant::now()));
        Ok(who)
    }
}

/// What a refused login hears: the same whether the user or the password
/// was wrong, so that user names cannot be probed.
pub const REFUSED: &str = "wrong user or password: log in as one of your tenant's NATS users \
                           (the user and password you give calf ps)";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// 32 random bytes from the system, in hex.
fn token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

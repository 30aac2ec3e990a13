//! `calf serve`: starts the scheduler and every tenant's runtime, answers
//! the admin API until SIGTERM or SIGINT, and takes a changed
//! configuration on SIGHUP.
//!
//! Each tenant has one connection of the scheduler's in its own account:
//! its runtime's foreign calls go out on it and its admin requests come in
//! on it. One more connection, in the operator account, answers
//! `calf.api.tenants`. Every wait on the way out is bounded, so a stop
//! never hangs on a process, a client or the NATS server.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use calf_scheduler::bus::nats::NatsBus;
use calf_scheduler::cluster::Cluster;
use calf_scheduler::durable::{Store, StoreConfig};
use calf_scheduler::hosted::Scheduler;
use calf_scheduler::Failure;
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinSet;

use std::net::SocketAddr;

use calf_scheduler::telemetry::SpanSink;

use crate::api::{self, subject};
use crate::config::{ServeConfig, Tenant as TenantConfig, User};
use crate::http::{self, auth::Auth, Dashboard};
use crate::listener::Listener;
use crate::reply::ApiError;
use crate::sessions::IDLE_LIMIT;
use crate::tenant::{self, Tenant};

/// How long processes get to end on `:shutdown` before they are killed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How long a stop waits for requests being answered, and for a
/// connection to send what it holds.
const PATIENCE: Duration = Duration::from_secs(2);

/// How often calf.toml is looked at: a changed file is read again (as
/// on SIGHUP), and a tenant that could not start is tried again.
const CONFIG_CHECK: Duration = Duration::from_secs(2);

/// How long connecting to the NATS server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How `calf serve` keeps durable processes: in the JetStream of each
/// tenant's account, as the scheduler named `node`.
#[derive(Clone, Debug)]
pub struct Durability {
    pub node: String,
    pub store: StoreConfig,
}

/// What `calf serve` shows of itself: the dashboard and `/metrics` on an
/// address, the calls' spans in a trace file.
#[derive(Default)]
pub struct Observe {
    pub http: Option<SocketAddr>,
    pub trace: Option<Arc<SpanSink>>,
}

/// Runs `calf serve` until SIGTERM or SIGINT. `render` shows failures to
/// people; `nats_url`, when given, replaces the configuration's server;
/// without `durable`, `spawn-durable` is refused.
pub fn run(
    config: ServeConfig,
    render: fn(&Failure) -> String,
    nats_url: Option<String>,
    durable: Option<Durability>,
    observe: Observe,
) -> Result<(), String> {
    let threads = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let mut scheduler = Scheduler::new(threads.max(1), render)
        .map_err(|e| format!("cannot start the scheduler: {e}"))?;
    if let Some(trace) = &observe.trace {
        scheduler.trace_to(trace.clone());
    }
    // The connections, the admin API and the signals run on threads of
    // their own. On the scheduler's threads, every step of a tenant's
    // request (the connection reading it, the subscription handing it
    // on, the reply written) waited for the turn of another tenant's busy
    // runner to end: beside two busy loops of acme's, half of globex's
    // requests took more than 2.7 ms, against 0.2 with acme idle; 0.24
    // with the connections here (bench/serve, 1,000 requests).
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("calf-serve-io")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the scheduler's connections: {e}"))?;
    let written = modified(&config.path);
    let mut server = Server {
        written,
        scheduler: &scheduler,
        threads: threads.max(1),
        render,
        nats_url: nats_url.unwrap_or_else(|| config.nats_url.clone()),
        durable,
        config,
        running: BTreeMap::new(),
        tenants: Arc::default(),
        stopping: JoinSet::new(),
        dashboard: None,
    };
    let served = io.block_on(async {
        if let Some(addr) = observe.http {
            server.start_dashboard(addr).await?;
        }
        server.serve().await
    });
    if let Some(trace) = &observe.trace {
        trace.close();
    }
    served
}

/// Every tenant being served, for the operator's `calf.api.tenants`.
pub(crate) type Registry = Arc<Mutex<BTreeMap<String, Arc<Tenant>>>>;

struct Server<'s> {
    scheduler: &'s Scheduler,
    threads: usize,
    render: fn(&Failure) -> String,
    /// The server every connection goes to.
    nats_url: String,
    durable: Option<Durability>,
    config: ServeConfig,
    /// When calf.toml was last written, as last read.
    written: Option<std::time::SystemTime>,
    running: BTreeMap<String, Running>,
    tenants: Registry,
    /// Tenants removed by a reload, being stopped.
    stopping: JoinSet<()>,
    /// The dashboard, when served, and its listener's task.
    dashboard: Option<(Arc<Dashboard>, tokio::task::JoinHandle<()>)>,
}

/// A tenant being served: its runtime and connection, and its requests
/// being taken.
struct Running {
    tenant: Arc<Tenant>,
    listener: Listener,
    config: TenantConfig,
}

impl Server<'_> {
    /// Serves the dashboard on `addr`, on the serve layer's runtime.
    async fn start_dashboard(&mut self, addr: SocketAddr) -> Result<(), String> {
        let dashboard = Arc::new(Dashboard {
            auth: Auth::new(&self.nats_url, &self.config),
            tenants: self.tenants.clone(),
        });
        let (bound, task) = http::start(addr, dashboard.clone()).await?;
        tracing::info!("dashboard on http://{bound}/ (and /metrics)");
        self.dashboard = Some((dashboard, task));
        Ok(())
    }

    async fn serve(&mut self) -> Result<(), String> {
        let signals =
            |kind: SignalKind| signal(kind).map_err(|e| format!("cannot listen for signals: {e}"));
        let (mut hangup, mut terminate, mut interrupt) = (
            signals(SignalKind::hangup())?,
            signals(SignalKind::terminate())?,
            signals(SignalKind::interrupt())?,
        );
        // A tenant that cannot log in (its users not yet known to
        // nats-server, say) is tried again every `CONFIG_CHECK`; when none
        // can, the server itself is not there, and calf serve says so.
        let mut refused = Vec::new();
        for tenant in self.config.tenants.clone() {
            match self.start(&tenant).await {
                Ok(running) => {
                    self.running.insert(tenant.name.clone(), running);
                }
                Err(e) => {
                    tracing::error!("{e}; tried again every {CONFIG_CHECK:?}");
                    refused.push(e);
                }
            }
        }
        if self.running.is_empty() && !refused.is_empty() {
            return Err(refused.join("\n"));
        }
        let operator = self.operator().await?;
        tracing::info!(
            tenants = self.running.len(),
            url = %self.nats_url,
            "calf serve is up"
        );
        let mut idle_check = tokio::time::interval(Duration::from_secs(60));
        let mut config_check = tokio::time::interval(CONFIG_CHECK);
        loop {
            tokio::select! {
                _ = hangup.recv() => self.reload("SIGHUP").await,
                _ = config_check.tick() => self.check_config().await,
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
                _ = idle_check.tick() => self.drop_idle_sessions(),
            }
        }
        tracing::info!("stopping: no more requests; processes get :shutdown");
        if let Some((_, task)) = self.dashboard.take() {
            task.abort();
        }
        operator.close();
        operator.finished(PATIENCE).await;
        let mut stops = JoinSet::new();
        for (_, running) in std::mem::take(&mut self.running) {
            stops.spawn(stop(running));
        }
        self.tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        let everything = async {
            while stops.join_next().await.is_some() {}
            while self.stopping.join_next().await.is_some() {}
        };
        let bound = SHUTDOWN_GRACE + 3 * PATIENCE + Duration::from_secs(1);
        if tokio::time::timeout(bound, everything).await.is_err() {
            tracing::warn!("tenants still stopping after {bound:?}; exiting anyway");
        }
        tracing::info!("stopped");
        Ok(())
    }

    /// Connects to `tenant`'s account, starts its runtime and takes its
    /// requests.
    async fn start(&self, config: &TenantConfig) -> Result<Running, String> {
        let client_of = |e: String| format!("tenant {}: {e}", config.name);
        let bus = Arc::new(
            connect(&self.nats_url, &config.scheduler)
                .await
                .map_err(client_of)?,
        );
        let store = match &self.durable {
            None => None,
            Some(durable) => {
                let store = Store::open(bus.client().clone(), &durable.node, durable.store)
                    .await
                    .map_err(|e| client_of(format!("its durable processes' store: {e}")))?;
                Some(Arc::new(store))
            }
        };
        // The schedulers sharing a store are the nodes of one cluster.
        let cluster = match &store {
            None => None,
            Some(store) => Some(
                Cluster::join(store.clone())
                    .await
                    .map_err(|e| client_of(format!("joining the cluster: {e}")))?,
            ),
        };
        let hosted = self.scheduler.host(
            &config.name,
            tenant::runtime_config(self.threads, &config.quotas),
            tenant::limits(&config.quotas),
            bus.clone(),
            store,
            cluster,
        );
        let tenant = Arc::new(Tenant::new(config, hosted, bus.clone(), self.render));
        let answering = tenant.clone();
        // In a cluster, each request goes to one node (a queue group),
        // and each node also takes the requests for it alone.
        let node_subjects = tenant
            .hosted
            .cluster()
            .map(|c| crate::routing::node_prefix(c.index()));
        let mut subscriptions = vec![("calf.api.>".to_string(), None)];
        if let Some(prefix) = &node_subjects {
            subscriptions[0].1 = Some("calf.serve");
            subscriptions.push((format!("{prefix}>"), None));
        }
        let subscriptions: Vec<(&str, Option<&str>)> = subscriptions
            .iter()
            .map(|(s, q)| (s.as_str(), *q))
            .collect();
        let listener = Listener::start_on(
            bus.client().clone(),
            &subscriptions,
            move |subject, body| {
                let tenant = answering.clone();
                let node_subjects = node_subjects.clone();
                async move {
                    match node_subjects
                        .as_deref()
                        .and_then(|p| subject.strip_prefix(p))
                    {
                        Some(verb) => tenant.answer_here(&format!("calf.api.{verb}"), &body).await,
                        None => tenant.answer(&subject, &body).await,
                    }
                }
            },
        )
        .await
        .map_err(client_of)?;
        self.tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(config.name.clone(), tenant.clone());
        tracing::info!(tenant = %config.name, "tenant started");
        Ok(Running {
            tenant,
            listener,
            config: config.clone(),
        })
    }

    /// The operator account's connection, answering `calf.api.tenants`.
    async fn operator(&self) -> Result<Listener, String> {
        let bus = connect(&self.nats_url, &self.config.operator)
            .await
            .map_err(|e| format!("the operator account: {e}"))?;
        let tenants = self.tenants.clone();
        // The listener's task holds the client; the bus's other parts are
        // not needed here.
        Listener::start(bus.client().clone(), "calf.api.>", move |subject, _body| {
            let tenants = tenants.clone();
            async move {
                if subject != subject::TENANTS {
                    return Err(ApiError::not_found(format!(
                        "the operator account answers {} only, not {subject}",
                        subject::TENANTS
                    )));
                }
                let tenants: Vec<Arc<Tenant>> = tenants
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .values()
                    .cloned()
                    .collect();
                let tenants = tenants.iter().map(|t| t.summary()).collect();
                Ok(api::encode(&api::TenantList { tenants }))
            }
        })
        .await
    }

    /// Reads calf.toml again if it was written since it was last read;
    /// else starts again the tenants that could not start (their users
    /// unknown to nats-server until it reloads its configuration, say).
    async fn check_config(&mut self) {
        let written = modified(&self.config.path);
        if written != self.written {
            self.reload("calf.toml changed").await;
            return;
        }
        for wanted in self.config.tenants.clone() {
            if !self.running.contains_key(&wanted.name) {
                if let Ok(running) = self.start(&wanted).await {
                    self.running.insert(wanted.name.clone(), running);
                }
            }
        }
    }

    /// Reads the configuration again (`why`: SIGHUP, or the file changed):
    /// new tenants start, kept ones take their new quotas, removed ones
    /// stop. A file that does not load changes nothing.
    async fn reload(&mut self, why: &str) {
        let path = self.config.path.clone();
        self.written = modified(&path);
        let config = match ServeConfig::load(&path) {
            Ok(config) => config,
            Err(e) => {
                tracing::error!(
                    "{why}: {} does not load, nothing changed: {e}",
                    path.display()
                );
                return;
            }
        };
        tracing::info!("{why}: reloading {}", path.display());
        if config.nats_url != self.config.nats_url || config.operator != self.config.operator {
            tracing::warn!("the NATS server and the operator login change on restart only");
        }
        for wanted in &config.tenants {
            match self.running.get_mut(&wanted.name) {
                Some(running) => {
                    if running.config.scheduler != wanted.scheduler {
                        tracing::warn!(
                            tenant = %wanted.name,
                            "the scheduler's login changes on restart only"
                        );
                    }
                    if running.config.quotas != wanted.quotas {
                        running.tenant.set_quotas(wanted.quotas);
                        tracing::info!(tenant = %wanted.name, "new quotas");
                    }
                    running.config = wanted.clone();
                }
                None => match self.start(wanted).await {
                    Ok(running) => {
                        self.running.insert(wanted.name.clone(), running);
                    }
                    Err(e) => tracing::error!(
                        "{why}: {e}; not started, tried again every {CONFIG_CHECK:?}"
                    ),
                },
            }
        }
        let removed: Vec<String> = self
            .running
            .keys()
            .filter(|name| !config.tenants.iter().any(|t| &t.name == *name))
            .cloned()
            .collect();
        for name in removed {
            if let Some(running) = self.running.remove(&name) {
                self.tenants
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&name);
                tracing::info!(tenant = %name, "removed: stopping");
                self.stopping.spawn(stop(running));
            }
        }
        if let Some((dashboard, _)) = &self.dashboard {
            dashboard.auth.configure(&config);
        }
        // What changes on restart only stays as it runs now.
        self.config = ServeConfig {
            nats_url: self.config.nats_url.clone(),
            operator: self.config.operator.clone(),
            ..config
        };
    }

    fn drop_idle_sessions(&self) {
        for (name, running) in &self.running {
            for session in running.tenant.sessions.drop_idle(IDLE_LIMIT) {
                tracing::info!(tenant = %name, session, "idle session dropped");
            }
        }
    }
}

/// Stops a tenant: no more requests, sessions closed, processes sent
/// `:shutdown` and then killed, the connection drained. Bounded.
async fn stop(running: Running) {
    let Running {
        tenant, listener, ..
    } = running;
    listener.close();
    tenant.sessions.close_all();
    let shutdown = tenant.hosted.shutdown(SHUTDOWN_GRACE);
    if tokio::time::timeout(SHUTDOWN_GRACE + PATIENCE, shutdown)
        .await
        .is_err()
    {
        tracing::warn!(tenant = %tenant.name, "processes still stopping; leaving them");
    }
    listener.finished(PATIENCE).await;
    if tokio::time::timeout(PATIENCE, tenant.bus.client().drain())
        .await
        .is_err()
    {
        tracing::warn!(tenant = %tenant.name, "the connection did not drain in time");
    }
    tracing::info!(tenant = %tenant.name, "tenant stopped");
}

/// When `path` was last written; `None` if it cannot be read.
fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A connection as `user`; it reconnects by itself from then on, as long
/// as the scheduler runs.
async fn connect(url: &str, user: &User) -> Result<NatsBus, String> {
    let options = async_nats::ConnectOptions::with_user_and_password(
        user.name.clone(),
        user.password.clone(),
    )
    .connection_timeout(CONNECT_TIMEOUT)
    .max_reconnects(None);
    NatsBus::connect_with(url, options)
        .await
        .map_err(|e| format!("{e} (as user {})", user.name))
}

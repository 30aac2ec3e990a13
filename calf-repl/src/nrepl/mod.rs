//! `calf nrepl`: an nREPL server, so that editors (CIDER, Calva, Conjure)
//! evaluate Calf as they evaluate Clojure. docs/editors.md says how to
//! connect them.
//!
//! The protocol is nREPL's: bencoded dictionaries over TCP (`bencode.rs`),
//! requests answered by op (`ops.rs`) on each connection
//! (`connection.rs`). A session is a REPL process in one runtime that
//! lives as long as the server, `calf_scheduler::hosted::Attached` as
//! `calf attach` has under `calf serve` (`session.rs`): what a session
//! spawns keeps running, and all sessions compile in the same namespaces,
//! so what one defines the others (and completion, `info`) see.
//! `lookup.rs` answers what an editor asks of names.

mod bencode;
mod compat;
mod connection;
mod lookup;
mod message;
mod ops;
mod session;

use std::collections::HashMap;
use std::ffi::OsString;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use calf_lang::namespace::Globals;
use calf_scheduler::bus::Bus;
use calf_scheduler::hosted::{Hosted, Limits, Refused, Scheduler};
use calf_scheduler::{Config, LoadPath};
use clap::Parser;
use tokio::net::TcpListener;

use session::Session;

/// The file editors read the port from, in the directory the server
/// started in.
const PORT_FILE: &str = ".nrepl-port";

/// Starts an nREPL server.
#[derive(Parser, Debug)]
#[command(
    name = "calf nrepl",
    bin_name = "calf nrepl",
    about = "Start an nREPL server for editors (CIDER, Calva, Conjure; docs/editors.md)",
    after_help = "Writes the port to .nrepl-port in the current directory (removed on exit). \
                  require loads namespaces from the current directory, then CALF_PATH, then \
                  the bundled stdlib."
)]
struct NreplCli {
    /// The port to listen on (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 0)]
    port: u16,

    /// The address to listen on. Anyone who can connect can run code as
    /// you: keep it on the loopback interface unless the network is yours.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    bind: IpAddr,

    /// Send foreign calls to this NATS server instead of the embedded bus.
    #[arg(long, value_name = "URL", env = "CALF_NATS_URL")]
    nats: Option<String>,

    /// Scheduler threads that run processes (default: one per core).
    #[arg(long, value_name = "N", env = "CALF_THREADS")]
    threads: Option<usize>,
}

/// Runs the server until SIGINT or SIGTERM; the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    // args[0] is the program, args[1] the verb.
    let cli = match NreplCli::try_parse_from(args.into_iter().skip(1)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match serve(cli) {
        Ok(()) => 0,
        Err(why) => {
            eprintln!("error: {why}");
            crate::ERROR_STATUS
        }
    }
}

fn serve(cli: NreplCli) -> Result<(), String> {
    let config = Config {
        threads: cli.threads.unwrap_or(Config::default().threads).max(1),
        ..Config::default()
    };
    let scheduler = Scheduler::new(config.threads, crate::render_failure)
        .map_err(|e| format!("cannot start the scheduler: {e}"))?;
    let tokio = scheduler.tokio().clone();
    tokio.block_on(async {
        let bus: Arc<dyn Bus> = match &cli.nats {
            None => Arc::new(calf_scheduler::bus::embedded::EmbeddedBus::new()),
            Some(url) => Arc::new(
                calf_scheduler::bus::nats::NatsBus::connect(url)
                    .await
                    .map_err(|why| format!("cannot connect to NATS at {url}: {why}"))?,
            ),
        };
        // A developer's own machine: no quotas worth the name (the calls'
        // limit is a semaphore, which has a maximum of its own).
        let limits = Limits {
            max_processes: 1 << 32,
            max_calls_in_flight: 1 << 20,
            max_mailbox: config.max_mailbox,
            cpu_share: 1,
        };
        let hosted = scheduler.host("nrepl", config, limits, bus, None, None);
        let address = SocketAddr::new(cli.bind, cli.port);
        let listener = TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e} (is the port taken?)"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("cannot tell the port listened on: {e}"))?
            .port();
        let port_file = PortFile::write(port)?;
        let server = Arc::new(Server::new(hosted));
        // The line editors wait for, as Clojure's nREPL prints it.
        let host = cli.bind;
        let mut stdout = std::io::stdout();
        let _ = writeln!(
            stdout,
            "nREPL server started on port {port} on host {host} - nrepl://{host}:{port}"
        );
        let _ = stdout.flush();
        let stopped = stop_signal()?;
        tokio::select! {
            () = accept(server.clone(), listener) => {}
            () = stopped => {}
        }
        server.close_all();
        server
            .hosted
            .shutdown(std::time::Duration::from_millis(500))
            .await;
        drop(port_file);
        Ok(())
    })
}

/// Resolves at the first SIGINT or SIGTERM.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind| signal(kind).map_err(|e| format!("cannot listen for signals: {e}"));
    let mut interrupt = listen(SignalKind::interrupt())?;
    let mut terminate = listen(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

async fn accept(server: Arc<Server>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection::serve(server.clone(), stream));
            }
            // Out of file descriptors, most likely: wait for some to close
            // rather than spin.
            Err(e) => {
                eprintln!("warning: cannot accept a connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// `.nrepl-port`, removed when dropped.
struct PortFile(PathBuf);

impl PortFile {
    fn write(port: u16) -> Result<PortFile, String> {
        let path = PathBuf::from(PORT_FILE);
        std::fs::write(&path, port.to_string())
            .map_err(|e| format!("cannot write {PORT_FILE} in the current directory: {e}"))?;
        Ok(PortFile(path))
    }
}

impl Drop for PortFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What every connection shares: the runtime, its namespaces, the
/// sessions.
pub(crate) struct Server {
    hosted: Hosted,
    globals: Arc<Globals>,
    load_path: LoadPath,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// How the last evaluation that failed, in any session, was reported:
    /// the server's, as `*e` is.
    last_error: session::LastError,
    next_session: AtomicU64,
    /// Makes session ids unguessable from one another.
    seed: u64,
}

impl Server {
    fn new(hosted: Hosted) -> Server {
        // Absolute, so that the files `info` names open from any editor
        // buffer's directory.
        let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let mut load_path = LoadPath::default().with_dir(&dir, &dir);
        if let Some(calf_path) = std::env::var_os("CALF_PATH") {
            load_path = load_path.with_calf_path(&calf_path);
        }
        Server {
            hosted,
            globals: crate::globals_with_args(&[]),
            load_path,
            sessions: Mutex::default(),
            last_error: session::LastError::default(),
            next_session: AtomicU64::new(1),
            seed: std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
        }
    }

    /// A new session, registered.
    fn new_session(&self) -> Result<Arc<Session>, String> {
        let id = self.session_id();
        let session = Session::start(
            id.clone(),
            &self.hosted,
            self.globals.clone(),
            self.load_path.clone(),
            self.last_error.clone(),
        )
        .map_err(|refused| match refused {
            Refused::ShuttingDown => "the server is shutting down".to_string(),
            Refused::Quota(error) => format!("cannot start a session: {error}"),
            Refused::Source(text) | Refused::NotDurable(text) => text,
        })?;
        self.lock().insert(id, session.clone());
        Ok(session)
    }

    /// A UUID-shaped id (what clients expect), distinct for each session.
    fn session_id(&self) -> String {
        let n = self.next_session.fetch_add(1, Ordering::Relaxed);
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(self.seed ^ n);
        let (a, b) = (hasher.finish(), self.seed.rotate_left(17) ^ n);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.lock().get(id).cloned()
    }

    /// Closes a session; false when there is none of that id.
    fn close_session(&self, id: &str) -> bool {
        let session = self.lock().remove(id);
        session.map(|session| session.close()).is_some()
    }

    fn session_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().keys().cloned().collect();
        ids.sort();
        ids
    }

    fn close_all(&self) {
        let sessions: Vec<_> = self.lock().drain().collect();
        for (_, session) in sessions {
            session.close();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

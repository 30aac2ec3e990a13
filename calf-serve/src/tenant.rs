//! One tenant as the scheduler serves it: its hosted runtime, its
//! connection in the tenant's account, its jobs' logs and its sessions,
//! and the answer to each verb of the admin API.
//!
//! Every request arrives on this tenant's connection, so every pid,
//! job and session it names is looked up in this tenant only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use calf_lang::value::print::pr_str;
use calf_lang::value::Pid;
use calf_scheduler::bus::nats::NatsBus;
use calf_scheduler::hosted::{self, Hosted, Limits, NoSuchProcess, NotSent, Refused, Submission};
use calf_scheduler::{Config, Failure};
use serde::Serialize;

use crate::api::{self, code, subject};
use crate::config::{Quotas, Tenant as TenantConfig};
use crate::data;
use crate::jobs::Jobs;
use crate::output::JobLog;
use crate::reply::{Answer, ApiError};
use crate::sessions::Sessions;

/// The longest a `logs` request waits for output.
pub const MAX_LOGS_WAIT: Duration = Duration::from_secs(30);

/// Reductions a process runs before it yields: a tenth of a script's
/// default, so that a busy tenant never keeps another waiting long.
pub const BUDGET: u32 = 2_000;

pub struct Tenant {
    pub name: String,
    pub hosted: Hosted,
    pub bus: Arc<NatsBus>,
    quotas: Mutex<Quotas>,
    jobs: Jobs,
    pub sessions: Sessions,
    render: fn(&Failure) -> String,
    /// What the durable processes taken over from a stopped or crashed
    /// scheduler print: `logs` of any of their pids.
    resumed: Option<Arc<JobLog>>,
}

/// What the hosted runtime is told of a tenant's quotas.
pub fn limits(quotas: &Quotas) -> Limits {
    Limits {
        max_processes: quotas.max_processes,
        max_calls_in_flight: quotas.max_calls_in_flight,
        max_mailbox: quotas.max_mailbox,
        cpu_share: quotas.cpu_share,
    }
}

/// The runtime configuration of every tenant.
pub fn runtime_config(threads: usize, quotas: &Quotas) -> Config {
    Config {
        budget: BUDGET,
        max_mailbox: quotas.max_mailbox,
        threads,
        ..Config::default()
    }
}

impl Tenant {
    pub fn new(
        config: &TenantConfig,
        hosted: Hosted,
        bus: Arc<NatsBus>,
        render: fn(&Failure) -> String,
    ) -> Tenant {
        let resumed = hosted.durable_node().map(|_| {
            let log = Arc::new(JobLog::new(config.quotas.max_output));
            hosted.keep_resuming(log.clone());
            log
        });
        let sessions = Sessions::numbered_on(hosted.node_index());
        Tenant {
            name: config.name.clone(),
            hosted,
            bus,
            quotas: Mutex::new(config.quotas),
            jobs: Jobs::default(),
            sessions,
            render,
            resumed,
        }
    }

    pub fn quotas(&self) -> Quotas {
        *self.quotas.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// New quotas from a reloaded configuration: the runtime's now, the
    /// output ring's from the next job on.
    pub fn set_quotas(&self, quotas: Quotas) {
        *self.quotas.lock().unwrap_or_else(|e| e.into_inner()) = quotas;
        self.hosted.set_limits(limits(&quotas));
    }

    /// The answer to a request on `subject` with `body`: here, or, in a
    /// cluster, where it belongs (`routing.rs`).
    pub async fn answer(&self, subject: &str, body: &[u8]) -> Answer {
        match self.hosted.cluster() {
            Some(cluster) => crate::routing::answer(self, &cluster, subject, body).await,
            None => self.answer_here(subject, body).await,
        }
    }

    /// The connection to the tenant's account.
    pub fn client(&self) -> async_nats::Client {
        self.bus.client().clone()
    }

    /// Whether process `pid` runs on this node.
    pub fn runs(&self, pid: Pid) -> bool {
        self.hosted.is_alive(pid)
    }

    /// The answer this node gives to a request on `subject` with `body`.
    pub async fn answer_here(&self, subject: &str, body: &[u8]) -> Answer {
        match subject {
            subject::SUBMIT => encoded(self.submit(api::decode(body).map_err(bad)?).await),
            subject::PS => {
                let page = if body.is_empty() {
                    api::Ps::default()
                } else {
                    api::decode(body).map_err(bad)?
                };
                encoded(Ok(self.ps(page).await))
            }
            subject::SUMMARY => {
                nothing(body)?;
                encoded(Ok(self.summary()))
            }
            subject::INSPECT => encoded(self.inspect(api::decode(body).map_err(bad)?).await),
            subject::KILL => encoded(self.kill(api::decode(body).map_err(bad)?)),
            subject::SEND => encoded(self.send(api::decode(body).map_err(bad)?).await),
            subject::LOGS => encoded(self.logs(api::decode(body).map_err(bad)?).await),
            subject::ATTACH => {
                nothing(body)?;
                encoded(self.attach())
            }
            subject::EVAL => encoded(self.eval(api::decode(body).map_err(bad)?).await),
            subject::COMPLETE => encoded(self.complete(api::decode(body).map_err(bad)?)),
            subject::INTERRUPT => encoded(self.interrupt(api::decode(body).map_err(bad)?)),
            subject::DETACH => encoded(self.detach(api::decode(body).map_err(bad)?)),
            subject::TENANTS => Err(ApiError::not_found(
                "calf.api.tenants is answered in the operator account only",
            )),
            other => Err(ApiError::not_found(format!(
                "{other} is not a subject of the admin API (see docs/serve.md)"
            ))),
        }
    }

    async fn submit(&self, request: api::Submit) -> Result<api::Submitted, ApiError> {
        if !request.files.iter().any(|f| f.path == request.main) {
            return Err(ApiError::bad_request(format!(
                "the main file {} is not among the files submitted",
                request.main
            )));
        }
        let log = Arc::new(JobLog::new(self.quotas().max_output));
        let submission = Submission {
            main: request.main,
            files: request
                .files
                .into_iter()
                .map(|f| (f.path, f.text))
                .collect(),
            args: request.args,
            output: log.clone(),
            durable: request.durable,
        };
        let pid = self
            .hosted
            .submit(submission)
            .await
            .map_err(|r| self.refused(r))?;
        self.jobs.insert(pid.0, log);
        tracing::info!(tenant = %self.name, pid = pid.0, "job started");
        Ok(api::Submitted { pid: pid.0 })
    }

    fn refused(&self, refused: Refused) -> ApiError {
        match refused {
            Refused::Source(rendered) => ApiError::new(code::UNPROCESSABLE, rendered),
            Refused::Quota(value) => ApiError::new(
                code::QUOTA,
                format!(
                    "tenant {}: {}",
                    self.name,
                    calf_lang::error::message_of(&value)
                ),
            ),
            Refused::ShuttingDown => {
                ApiError::new(code::UNAVAILABLE, "the scheduler is shutting down")
            }
            Refused::NotDurable(why) => {
                ApiError::new(code::UNAVAILABLE, format!("tenant {}: {why}", self.name))
            }
        }
    }

    async fn ps(&self, page: api::Ps) -> api::ProcessList {
        let limit = page.limit.unwrap_or(api::PS_PAGE).clamp(1, api::PS_PAGE) as usize;
        let (processes, more) = self.hosted.processes_after(Pid(page.after), limit).await;
        api::ProcessList {
            next: more.then(|| processes.last().map(|p| p.pid.0)).flatten(),
            processes: processes
                .iter()
                .map(|p| row(p, self.hosted.durable_node()))
                .collect(),
        }
    }

    pub fn summary(&self) -> api::Summary {
        let figures = self.hosted.figures();
        let quotas = self.quotas();
        api::Summary {
            tenant: self.name.clone(),
            processes: figures.processes as u64,
            jobs: figures.jobs as u64,
            reductions: figures.reductions,
            calls_in_flight: figures.calls_in_flight as u64,
            quota_refusals: figures.quota_refusals,
            quotas: api::QuotaView {
                max_processes: quotas.max_processes as u64,
                max_calls_in_flight: quotas.max_calls_in_flight as u64,
                max_mailbox: quotas.max_mailbox as u64,
                max_output: quotas.max_output as u64,
                cpu_share: quotas.cpu_share,
            },
        }
    }

    pub(crate) async fn inspect(
        &self,
        request: api::Inspect,
    ) -> Result<api::ProcessDetail, ApiError> {
        let detail = self
            .hosted
            .inspect(Pid(request.pid))
            .await
            .map_err(no_such)?;
        Ok(api::ProcessDetail {
            row: row(&detail.row, self.hosted.durable_node()),
            stack: detail.stack,
            mailbox_items: detail.mailbox,
            links: pids(&detail.links),
            monitors: pids(&detail.monitors),
            monitored_by: pids(&detail.monitored_by),
            traps_exits: detail.traps_exits,
            call: detail.call.map(|c| api::CallWait {
                subject: c.subject,
                attempt: c.attempt,
                deadline_ms: c.deadline_ms,
            }),
        })
    }

    pub(crate) fn kill(&self, request: api::Kill) -> Result<api::Done, ApiError> {
        let reason = match &request.reason {
            Some(text) => data::read("the reason", text).map_err(ApiError::bad_request)?,
            None => calf_lang::Value::keyword("kill"),
        };
        self.hosted
            .kill(Pid(request.pid), reason)
            .map_err(no_such)?;
        tracing::info!(tenant = %self.name, pid = request.pid, "killed from outside");
        Ok(api::Done {})
    }

    pub(crate) async fn send(&self, request: api::Send) -> Result<api::Done, ApiError> {
        let message = data::read("the message", &request.message).map_err(ApiError::bad_request)?;
        match self.hosted.send(Pid(request.pid), message).await {
            Ok(()) => Ok(api::Done {}),
            Err(NotSent::NoSuchProcess(missing)) => Err(no_such(missing)),
            Err(NotSent::Refused(error)) => Err(ApiError::new(
                code::UNAVAILABLE,
                calf_lang::error::message_of(&error),
            )),
        }
    }

    async fn logs(&self, request: api::Logs) -> Result<api::LogChunk, ApiError> {
        // A durable process taken over from another node, or one started
        // here by another node's process, prints where the processes with
        // no job here do.
        let resumed = || {
            let durable = calf_scheduler::durable::is_durable(Pid(request.pid));
            let jobless = self.hosted.is_alive(Pid(request.pid));
            self.resumed.clone().filter(|_| durable || jobless)
        };
        let of_its_job = || {
            let job = self.hosted.job_of(Pid(request.pid))?;
            self.jobs.get(job.0)
        };
        let log = self
            .jobs
            .get(request.pid)
            .or_else(of_its_job)
            .or_else(resumed)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no job, session or process with pid <{}> (the logs of a job outlive its \
                 processes, and only the last {} ended jobs are kept)",
                    request.pid,
                    crate::jobs::KEEP_ENDED
                ))
            })?;
        self.sessions.heard_from_pid(request.pid);
        let wait = Duration::from_millis(request.wait_ms).min(MAX_LOGS_WAIT);
        if wait.is_zero() {
            return Ok(log.read(request.from));
        }
        Ok(log.read_waiting(request.from, wait).await)
    }

    fn attach(&self) -> Result<api::Attached, ApiError> {
        let log = Arc::new(JobLog::new(self.quotas().max_output));
        let repl = self
            .hosted
            .attach(log.clone())
            .map_err(|r| self.refused(r))?;
        let session = self.sessions.open(repl, log.clone());
        self.jobs.insert(session.pid, log);
        tracing::info!(tenant = %self.name, session = session.id, pid = session.pid, "attached");
        Ok(api::Attached {
            session: session.id,
            pid: session.pid,
            ns: calf_lang::namespace::USER.to_string(),
        })
    }

    async fn eval(&self, request: api::Eval) -> Result<api::Evaluated, ApiError> {
        let session = self
            .sessions
            .get(request.session)
            .ok_or_else(|| ApiError::no_such_session(request.session))?;
        let evaluated = session.eval(&request.source).await;
        let (value, error) = match &evaluated.result {
            Ok(value) => (Some(pr_str(value)), None),
            Err(failure) => (None, Some((self.render)(failure))),
        };
        Ok(api::Evaluated {
            value,
            error,
            ns: evaluated.ns.to_string(),
            output_next: session.log.next(),
        })
    }

    fn complete(&self, request: api::Complete) -> Result<api::Completions, ApiError> {
        let session = self
            .sessions
            .get(request.session)
            .ok_or_else(|| ApiError::no_such_session(request.session))?;
        let pos = usize::try_from(request.pos).unwrap_or(usize::MAX);
        if !request.line.is_char_boundary(pos) {
            return Err(ApiError::bad_request(format!(
                "pos {} is not a character boundary of the line ({} bytes)",
                request.pos,
                request.line.len()
            )));
        }
        let (start, names) = session.repl.completions(&request.line, pos);
        Ok(api::Completions {
            start: start as u64,
            names,
        })
    }

    fn interrupt(&self, request: api::Session) -> Result<api::Done, ApiError> {
        let session = self
            .sessions
            .get(request.session)
            .ok_or_else(|| ApiError::no_such_session(request.session))?;
        session.interrupt();
        Ok(api::Done {})
    }

    fn detach(&self, request: api::Session) -> Result<api::Done, ApiError> {
        if !self.sessions.detach(request.session) {
            return Err(ApiError::no_such_session(request.session));
        }
        tracing::info!(tenant = %self.name, session = request.session, "detached");
        Ok(api::Done {})
    }
}

fn bad(message: String) -> ApiError {
    ApiError::bad_request(message)
}

/// The body of a request that says nothing: an empty map, or no body at
/// all. Anything else is refused as any body that does not decode is, so
/// that bytes sent by mistake do not list, or open a session.
fn nothing(body: &[u8]) -> Result<(), ApiError> {
    if body.is_empty() {
        return Ok(());
    }
    api::decode::<api::Done>(body).map(|_| ()).map_err(bad)
}

fn no_such(NoSuchProcess(pid): NoSuchProcess) -> ApiError {
    ApiError::no_such_process(pid.0)
}

fn encoded<T: Serialize>(result: Result<T, ApiError>) -> Answer {
    result.map(|value| api::encode(&value))
}

fn pids(pids: &[Pid]) -> Vec<u64> {
    pids.iter().map(|p| p.0).collect()
}

pub(crate) fn row(row: &hosted::ProcessRow, node: Option<&str>) -> api::ProcessRow {
    api::ProcessRow {
        pid: row.pid.0,
        job: row.job.0,
        name: row.name.clone(),
        status: row.status.to_string(),
        function: row.function.clone(),
        mailbox: row.mailbox as u64,
        reductions: row.reductions,
        memory: row.memory as u64,
        age_ms: u64::try_from(row.age.as_millis()).unwrap_or(u64::MAX),
        durable: row.durable.as_ref().map(|saved| api::Durable {
            node: node.unwrap_or_default().to_string(),
            saved_at_ms: saved.saved_at_ms,
            saved_bytes: saved.bytes,
        }),
    }
}

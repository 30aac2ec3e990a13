//! `spawn-on`: a process started on another node, and the requests a
//! node answers on `calf.node.<index>.ask`.
//!
//! The new process crosses as the image of a durable process that has not
//! started yet (calf-lang's snapshot module): its function and arguments,
//! with their code by hash, and its program's namespaces and files, all
//! put in the store's code bucket first, where the other node reads them.
//! That node makes the program's namespaces again (once per version of
//! them: a job that spawns many processes there shares one copy) and
//! starts the process under a pid of its own. It is not durable: it lives
//! and dies with that node. What it prints goes where the processes that
//! node took over from others print (`calf logs` of its pid).
//!
//! A request is a byte saying what, then its body:
//!
//! | byte | request | body | answer |
//! |---|---|---|---|
//! | 1 | start a process | its image | 0 and the pid (8 bytes), or 1 and why not |
//! | 2 | is a process alive | the pid (8 bytes) | 1 or 0 |

use std::sync::{Arc, Weak};

use bytes::Bytes;
use calf_lang::snapshot::format::{ProcessImage, WaitImage};
use calf_lang::snapshot::{read_image, write_image, Encoder, Hash, Kind, SnapshotError};
use calf_lang::value::Pid;
use calf_lang::vm::{Owed, Restored, Vm};
use calf_lang::Value;
use futures_util::StreamExt;
use rustc_hash::FxHashMap;

use super::Cluster;
use crate::durable::restore::{restored_job, with_images, Failed, Fetched, RestoredJob};
use crate::job::Job;
use crate::mailbox::Signal;
use crate::runtime::Shared;

pub(super) const SPAWN: u8 = 1;
pub(super) const ALIVE: u8 = 2;

/// A process to start on another node, ready to go.
pub(crate) struct Spawning {
    image: Vec<u8>,
    /// Images of code and namespaces the store does not have yet.
    images: Vec<(Hash, Bytes)>,
}

/// The process `(apply function args)` of `job`, linked to `spawner` with
/// `link`, as an image for another node: made on the spawner's thread.
pub(crate) fn prepare(
    cluster: &Cluster,
    job: &Job,
    function: Value,
    args: Vec<Value>,
    spawner: Pid,
    link: bool,
) -> Result<Spawning, SnapshotError> {
    let mut cache = job.images.lock().unwrap_or_else(|e| e.into_inner());
    let mut encoder = Encoder::new(&mut cache);
    let vm = encoder.vm(&Vm::call(function, args))?;
    let files = match job.load_path.submitted_files() {
        Some(files) => encoder.files(files)?,
        None => Vec::new(),
    };
    let needs = encoder.into_needs();
    let (job_hash, images) =
        crate::process::images_to_store(job, cluster.store(), &mut cache, needs)?;
    let image = ProcessImage {
        pid: 0,
        job: job_hash,
        vm,
        wait: WaitImage::Running,
        mailbox: Vec::new(),
        cursor: 0,
        links: if link { vec![spawner.0] } else { Vec::new() },
        watchers: Vec::new(),
        watching: Vec::new(),
        trap_exit: false,
        registered: None,
        inbox_seq: 0,
        reductions: 0,
        saved_at_ms: 0,
        files,
        program: None,
    };
    Ok(Spawning {
        image: write_image(Kind::Process, &image)?,
        images,
    })
}

impl Spawning {
    /// Starts the process on node `node`; gives its pid.
    pub(crate) async fn start(self, cluster: &Cluster, node: u32) -> Result<Pid, String> {
        crate::process::store_images(cluster.store(), &self.images)
            .await
            .map_err(|e| e.to_string())?;
        let mut body = Vec::with_capacity(1 + self.image.len());
        body.push(SPAWN);
        body.extend_from_slice(&self.image);
        let answer = cluster.ask(node, body.into()).await?;
        match answer.split_first() {
            Some((0, pid)) if pid.len() == 8 => {
                Ok(Pid(u64::from_be_bytes(pid.try_into().expect("8 bytes"))))
            }
            Some((1, why)) => Err(String::from_utf8_lossy(why).into_owned()),
            _ => Err(format!("node {node} answered a spawn with no pid")),
        }
    }
}

/// The namespaces of the programs whose processes were started here, by
/// the hash of their image, with the code images read for them.
#[derive(Default)]
struct Mirrors {
    fetched: Fetched,
    jobs: FxHashMap<Hash, RestoredJob>,
}

/// Versions of programs' namespaces kept at most: past it, the next
/// spawn starts the cache afresh (its processes keep their job).
const MIRRORS_KEPT: usize = 64;

/// Starts the process of `image` here; gives its pid.
async fn start_here(
    shared: &Arc<Shared>,
    cluster: &Cluster,
    host: &Arc<Job>,
    mirrors: &tokio::sync::Mutex<Mirrors>,
    image: &[u8],
) -> Result<Pid, String> {
    let failed = |e: Failed| match e {
        Failed::Store(e) => e.to_string(),
        Failed::Snapshot(e) => e.to_string(),
    };
    let image: ProcessImage = read_image(Kind::Process, image).map_err(|e| e.to_string())?;
    let store = cluster.store();
    let mut mirrors = mirrors.lock().await;
    if mirrors.jobs.len() >= MIRRORS_KEPT && !mirrors.jobs.contains_key(&image.job) {
        *mirrors = Mirrors::default();
    }
    let Mirrors { fetched, jobs } = &mut *mirrors;
    let RestoredJob { job, decoder } = match jobs.entry(image.job) {
        std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
        std::collections::hash_map::Entry::Vacant(slot) => slot.insert(
            restored_job(store, fetched, host, &image)
                .await
                .map_err(failed)?,
        ),
    };
    let restored = with_images(store, fetched, |blobs| {
        decoder.vm(&image.vm, Owed::Nothing, blobs)
    })
    .await
    .map_err(failed)?;
    let Restored::Ready(vm) = restored else {
        return Err("the process to start was not at its start".into());
    };
    shared
        .spawn(job, vm, |process| {
            for pid in &image.links {
                process.link_to(Pid(*pid));
                // Sent before the new process runs: its spawner hears of
                // the link before it can hear of an exit.
                let _ = shared.signal(Pid(*pid), Signal::Link(process.pid()));
            }
        })
        .map_err(|e| calf_lang::error::message_of(&e.into_value()))
}

/// Answers the requests for this node, while the runtime lives.
pub(super) fn keep_answering(cluster: &Arc<Cluster>, weak: Weak<Shared>, host: Arc<Job>) {
    let cluster = cluster.clone();
    tokio::spawn(async move {
        let subject = super::ask_subject(cluster.index());
        let mut requests = match cluster.client.subscribe(subject.clone()).await {
            Ok(requests) => requests,
            Err(e) => {
                tracing::error!(%subject, why = %e, "cannot take requests from other nodes");
                return;
            }
        };
        let mirrors = Arc::new(tokio::sync::Mutex::new(Mirrors::default()));
        while let Some(request) = requests.next().await {
            let Some(shared) = super::runtime(&weak) else {
                return;
            };
            let Some(reply) = request.reply.clone() else {
                continue;
            };
            let (cluster, host, mirrors) = (cluster.clone(), host.clone(), mirrors.clone());
            tokio::spawn(async move {
                let answer: Vec<u8> = match request.payload.split_first() {
                    Some((&SPAWN, image)) => {
                        match start_here(&shared, &cluster, &host, &mirrors, image).await {
                            Ok(pid) => [&[0u8][..], &pid.0.to_be_bytes()].concat(),
                            Err(why) => [&[1u8][..], why.as_bytes()].concat(),
                        }
                    }
                    Some((&ALIVE, pid)) if pid.len() == 8 => {
                        let pid = Pid(u64::from_be_bytes(pid.try_into().expect("8 bytes")));
                        vec![shared.is_alive(pid) as u8]
                    }
                    _ => [&[1u8][..], b"not a request this node knows"].concat(),
                };
                if let Err(e) = cluster.client.publish(reply, answer.into()).await {
                    tracing::warn!(why = %e, "an answer to another node was not sent");
                }
            });
        }
    });
}

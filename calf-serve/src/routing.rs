//! A tenant's admin requests when its runtime is a node of a cluster.
//!
//! Every node takes `calf.api.>` in one queue group, so each request
//! reaches one node, whichever; that node answers it, or asks the node it
//! concerns on that node's own subject, `calf.node.<index>.api.<verb>`,
//! which only that node takes:
//!
//! - `submit` runs where it lands (NATS spreads them over the nodes), or on
//!   the node its `node` field names (`calf submit --node N`);
//! - `inspect`, `kill`, `send` and `logs` go to the node of their pid (a
//!   pid carries its node's index; a durable process's node is the one the
//!   store says runs it);
//! - `eval`, `complete`, `interrupt` and `detach` go to the node of their
//!   session (a session id carries its node's index as a pid does);
//! - `ps` and `summary` are asked of every live node and put together.

use std::time::Duration;

use async_nats::Client;
use calf_lang::value::Pid;
use calf_protocol::header;
use calf_scheduler::cluster::Cluster;
use serde::Deserialize;

use crate::api::{self, code, subject};
use crate::reply::{Answer, ApiError};
use crate::tenant::Tenant;

/// How long a node waits for another's answer: as long as a client waits
/// for any (a `logs` request may wait up to its own limit first).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(40);

/// The prefix of node `index`'s own admin subjects.
pub fn node_prefix(index: u32) -> String {
    format!("calf.node.{index}.api.")
}

/// Who a request concerns, read from any request's body.
#[derive(Deserialize, Default)]
struct Target {
    #[serde(default)]
    pid: Option<u64>,
    #[serde(default)]
    session: Option<u64>,
    #[serde(default)]
    node: Option<String>,
}

/// Where a request is answered.
enum Destination {
    Here,
    Node(u32),
    Everyone,
}

/// Answers a request that reached this node through the queue group.
pub async fn answer(tenant: &Tenant, cluster: &Cluster, subject: &str, body: &[u8]) -> Answer {
    match destination(tenant, cluster, subject, body).await? {
        Destination::Here => tenant.answer_here(subject, body).await,
        // A node gone (its lease not lapsed yet) answers nothing: this one
        // answers as best it can (a durable process's inbox takes a
        // message wherever the process is).
        Destination::Node(index) => match forward(&tenant.client(), index, subject, body).await {
            Err(Unreachable) if subject == subject::SUBMIT => Err(ApiError::new(
                code::UNAVAILABLE,
                format!("node {index} of the cluster does not answer (starting, or gone)"),
            )),
            Err(Unreachable) => tenant.answer_here(subject, body).await,
            Ok(answer) => answer,
        },
        Destination::Everyone => gather(tenant, cluster, subject, body).await,
    }
}

async fn destination(
    tenant: &Tenant,
    cluster: &Cluster,
    subject: &str,
    body: &[u8],
) -> Result<Destination, ApiError> {
    let target: Target = if body.is_empty() {
        Target::default()
    } else {
        // A body that does not decode is refused where it is answered.
        api::decode(body).unwrap_or_default()
    };
    let here = cluster.index();
    let node_of = |id: u64| Pid(id).node().filter(|n| *n != 0 && *n != here);
    Ok(match subject {
        subject::SUBMIT => match target.node {
            Some(name) if name != cluster.node() => {
                let found = cluster.membership().find(cluster.store(), &name).await;
                let index = found.ok_or_else(|| {
                    ApiError::not_found(format!(
                        "no live node is named {name:?}; the live ones are {}",
                        cluster.membership().alive().join(", ")
                    ))
                })?;
                Destination::Node(index)
            }
            _ => Destination::Here,
        },
        subject::PS | subject::SUMMARY => Destination::Everyone,
        subject::INSPECT | subject::KILL | subject::SEND | subject::LOGS => {
            let Some(pid) = target.pid else {
                return Ok(Destination::Here);
            };
            if Pid(pid).is_durable() {
                durable_node(tenant, cluster, pid).await
            } else {
                node_of(pid).map_or(Destination::Here, Destination::Node)
            }
        }
        subject::EVAL | subject::COMPLETE | subject::INTERRUPT | subject::DETACH => target
            .session
            .and_then(node_of)
            .map_or(Destination::Here, Destination::Node),
        _ => Destination::Here,
    })
}

/// Where durable process `pid` runs: here, or the node the store names.
async fn durable_node(tenant: &Tenant, cluster: &Cluster, pid: u64) -> Destination {
    if tenant.runs(Pid(pid)) {
        return Destination::Here;
    }
    match cluster.store().owner_of(pid).await {
        Ok(Some(owner)) => cluster
            .membership()
            .index_of(&owner)
            .filter(|i| *i != cluster.index())
            .map_or(Destination::Here, Destination::Node),
        _ => Destination::Here,
    }
}

/// No node takes requests on that node's subject: it is gone.
struct Unreachable;

/// Asks node `index` the request, on its own subject.
async fn forward(
    client: &Client,
    index: u32,
    subject: &str,
    body: &[u8],
) -> Result<Answer, Unreachable> {
    let verb = subject.strip_prefix("calf.api.").unwrap_or(subject);
    let to = format!("{}{verb}", node_prefix(index));
    let request = client.request(to, body.to_vec().into());
    let reply = match tokio::time::timeout(FORWARD_TIMEOUT, request).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) if e.kind() == async_nats::client::RequestErrorKind::NoResponders => {
            return Err(Unreachable)
        }
        Ok(Err(e)) => {
            return Ok(Err(ApiError::new(
                code::UNAVAILABLE,
                format!("node {index} of the cluster did not answer: {e}"),
            )))
        }
        Err(_) => {
            return Ok(Err(ApiError::new(
                code::UNAVAILABLE,
                format!("node {index} of the cluster did not answer in time"),
            )))
        }
    };
    let error = reply
        .headers
        .as_ref()
        .and_then(|h| Some((h.get(header::ERROR_CODE)?, h.get(header::ERROR))));
    Ok(match error {
        None => Ok(reply.payload.to_vec()),
        Some((code, line)) => {
            let message = if reply.payload.is_empty() {
                line.map_or_else(String::new, |l| l.as_str().to_string())
            } else {
                String::from_utf8_lossy(&reply.payload).into_owned()
            };
            Err(ApiError::new(known_code(code.as_str()), message))
        }
    })
}

/// The code of `api::code` that `text` is.
fn known_code(text: &str) -> &'static str {
    [
        code::BAD_REQUEST,
        code::NOT_FOUND,
        code::QUOTA,
        code::UNPROCESSABLE,
        code::UNAVAILABLE,
    ]
    .into_iter()
    .find(|c| *c == text)
    .unwrap_or(code::INTERNAL)
}

/// A node's answer, read.
fn part_of<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    api::decode(body).map_err(|e| ApiError::new(code::INTERNAL, e))
}

/// `ps` and `summary` of every live node, put together.
async fn gather(tenant: &Tenant, cluster: &Cluster, subject: &str, body: &[u8]) -> Answer {
    let mine = tenant.answer_here(subject, body).await?;
    let client = tenant.client();
    let others = cluster.membership().others();
    let asked = others
        .iter()
        .map(|(index, _)| forward(&client, *index, subject, body));
    // A node that does not answer (dying) is left out, not the whole list.
    let theirs: Vec<Vec<u8>> = futures_util::future::join_all(asked)
        .await
        .into_iter()
        .filter_map(|answer| match answer {
            Ok(Ok(body)) => Some(body),
            Err(Unreachable) => None,
            Ok(Err(e)) => {
                tracing::warn!(why = %e.message, "a node's part of {subject} is left out");
                None
            }
        })
        .collect();
    let bodies = std::iter::once(mine).chain(theirs);
    if subject == subject::SUMMARY {
        let mut total: Option<api::Summary> = None;
        for body in bodies {
            let part: api::Summary = part_of(&body)?;
            total = Some(match total {
                None => part,
                Some(sum) => api::Summary {
                    processes: sum.processes + part.processes,
                    jobs: sum.jobs + part.jobs,
                    reductions: sum.reductions + part.reductions,
                    calls_in_flight: sum.calls_in_flight + part.calls_in_flight,
                    quota_refusals: sum.quota_refusals + part.quota_refusals,
                    ..sum
                },
            });
        }
        return Ok(api::encode(&total.expect("this node's part")));
    }
    let page: api::Ps = if body.is_empty() {
        api::Ps::default()
    } else {
        api::decode(body).map_err(ApiError::bad_request)?
    };
    let limit = page.limit.unwrap_or(api::PS_PAGE).clamp(1, api::PS_PAGE) as usize;
    let mut rows = Vec::new();
    let mut more = false;
    for body in bodies {
        let part: api::ProcessList = part_of(&body)?;
        more |= part.next.is_some();
        rows.extend(part.processes);
    }
    rows.sort_by_key(|r| r.pid);
    rows.dedup_by_key(|r| r.pid);
    more |= rows.len() > limit;
    rows.truncate(limit);
    let next = more.then(|| rows.last().map(|r| r.pid)).flatten();
    Ok(api::encode(&api::ProcessList {
        processes: rows,
        next,
    }))
}

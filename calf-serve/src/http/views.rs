//! What the dashboard's page reads, as JSON: the overview of the tenants
//! a login sees, one process with its calls, a tenant's supervision
//! tree. Asked as the admin API is asked, so that in a cluster the page
//! shows every node's processes, whichever node serves it (a process's
//! calls are those its node's telemetry keeps: shown when it runs on the
//! node serving the page). `/metrics` counts this node's alone: each node
//! is scraped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::SystemTime;

use calf_lang::value::Pid;
use calf_scheduler::telemetry::{self, CallRecord, MINUTES};
use serde_json::{json, Value as Json};

use crate::api;
use crate::tenant::{self, Tenant};

/// Processes looked at for the overview's counts by status: past it the
/// counts say they are partial (a tenant's total stays exact).
pub const SCAN_LIMIT: usize = 10_000;

/// Rows of the top table: the heaviest by each of its sort keys.
const TOP: usize = 50;

/// Processes drawn at most in a supervision tree.
const TREE_LIMIT: usize = 300;

/// Calls shown on a process's timeline.
const TIMELINE: usize = 50;

/// The overview of `tenants`.
pub async fn overview(tenants: &[Arc<Tenant>]) -> Json {
    let mut out = Vec::new();
    for tenant in tenants {
        out.push(tenant_overview(tenant).await);
    }
    json!({ "tenants": out, "now_ms": telemetry::unix_ms(SystemTime::now()) })
}

/// Up to [`SCAN_LIMIT`] rows of the processes of `tenant` on this node,
/// and whether there were more.
pub async fn rows(tenant: &Tenant) -> (Vec<api::ProcessRow>, bool) {
    let (rows, more) = tenant.hosted.processes_after(Pid(0), SCAN_LIMIT).await;
    let node = tenant.hosted.durable_node();
    (rows.iter().map(|r| tenant::row(r, node)).collect(), more)
}

/// Up to `limit` rows of `tenant`'s processes on every node, a page at a
/// time, and whether there were more.
async fn rows_everywhere(tenant: &Tenant, limit: usize) -> (Vec<api::ProcessRow>, bool) {
    let mut rows = Vec::new();
    let mut page = api::Ps::default();
    loop {
        let asked = tenant.answer(api::subject::PS, &api::encode(&page)).await;
        let Some(list) = asked
            .ok()
            .and_then(|b| api::decode::<api::ProcessList>(&b).ok())
        else {
            return (rows, true);
        };
        rows.extend(list.processes);
        match list.next {
            Some(after) if rows.len() < limit && after > page.after => page.after = after,
            next => {
                let more = next.is_some() || rows.len() > limit;
                rows.truncate(limit);
                return (rows, more);
            }
        }
    }
}

/// The tenant's figures, every node's added up.
async fn summary_everywhere(tenant: &Tenant) -> api::Summary {
    let asked = tenant.answer(api::subject::SUMMARY, &[]).await;
    asked
        .ok()
        .and_then(|b| api::decode(&b).ok())
        .unwrap_or_else(|| tenant.summary())
}

/// What `calf inspect` shows of `pid`, on whichever node it runs.
async fn inspect_anywhere(tenant: &Tenant, pid: u64) -> Result<api::ProcessDetail, String> {
    let body = api::encode(&api::Inspect { pid });
    let answer = tenant
        .answer(api::subject::INSPECT, &body)
        .await
        .map_err(|e| e.message)?;
    api::decode(&answer)
}

async fn tenant_overview(tenant: &Tenant) -> Json {
    let (rows, partial) = rows_everywhere(tenant, SCAN_LIMIT).await;
    let mut statuses: BTreeMap<&str, u64> = BTreeMap::new();
    for row in &rows {
        *statuses.entry(row.status.as_str()).or_default() += 1;
    }
    let mut top: BTreeSet<u64> = BTreeSet::new();
    for key in [
        |r: &api::ProcessRow| r.mailbox,
        |r: &api::ProcessRow| r.reductions,
        |r: &api::ProcessRow| r.memory,
    ] {
        let mut sorted: Vec<&api::ProcessRow> = rows.iter().collect();
        sorted.sort_by_key(|r| std::cmp::Reverse(key(r)));
        top.extend(sorted.iter().take(TOP).map(|r| r.pid));
    }
    let top: Vec<&api::ProcessRow> = rows.iter().filter(|r| top.contains(&r.pid)).collect();
    json!({
        "name": tenant.name,
        "summary": summary_everywhere(tenant).await,
        "statuses": statuses,
        "partial": partial,
        "minutes": minutes(tenant),
        "top": top,
    })
}

/// The last hour, a minute an entry (oldest first), minutes without
/// calls included.
fn minutes(tenant: &Tenant) -> Vec<Json> {
    let seen = tenant.hosted.telemetry().minutes();
    let now = telemetry::unix_ms(SystemTime::now()) / 60_000;
    (now - MINUTES as i64 + 1..=now)
        .map(|minute| {
            let m = seen.iter().find(|m| m.minute == minute);
            json!({
                "minute": minute,
                "calls": m.map_or(0, |m| m.calls),
                "retries": m.map_or(0, |m| m.retries),
                "errors": m.map_or(0, |m| m.errors),
            })
        })
        .collect()
}

/// One process: what `calf inspect` shows, and its calls.
pub async fn process(tenant: &Tenant, pid: u64) -> Result<Json, String> {
    let detail = inspect_anywhere(tenant, pid).await?;
    let calls: Vec<Json> = tenant
        .hosted
        .telemetry()
        .calls_of(Pid(pid), TIMELINE)
        .iter()
        .map(call)
        .collect();
    Ok(json!({ "tenant": tenant.name, "process": detail, "calls": calls }))
}

fn call(record: &CallRecord) -> Json {
    json!({
        "subject": record.subject,
        "call_id": record.call_id,
        "trace_id": record.trace_id,
        "started_ms": record.started_ms,
        "duration_ms": record.duration_ms,
        "attempts": record.attempt_count,
        "outcome": record.outcome.map(|o| o.name()),
        "last_error": record.last_error,
        "tries": record.attempts.iter().map(|a| json!({
            "number": a.number,
            "started_ms": a.started_ms,
            "duration_ms": a.duration_ms,
            "result": a.result,
        })).collect::<Vec<_>>(),
    })
}

/// The supervision tree of `tenant`: each process under the process it
/// is linked to that started before it, a supervisor (one that traps
/// exits) first. That is how `spawn-link` and the supervisors of
/// `calf.supervisor` leave them.
pub async fn tree(tenant: &Tenant) -> Json {
    let (rows, _) = rows_everywhere(tenant, TREE_LIMIT).await;
    // All asked at once: a process busy in a long native keeps the tree
    // waiting its own while (at most two seconds), not each one's in turn.
    let asked = rows.iter().map(|row| async move {
        // A process gone meanwhile is left out.
        let detail = inspect_anywhere(tenant, row.pid).await.ok()?;
        Some((row.pid, detail))
    });
    let nodes: Vec<_> = futures_util::future::join_all(asked)
        .await
        .into_iter()
        .flatten()
        .collect();
    let traps: BTreeMap<u64, bool> = nodes.iter().map(|(pid, d)| (*pid, d.traps_exits)).collect();
    let entries: Vec<Json> = nodes
        .iter()
        .map(|(pid, d)| {
            let earlier = d
                .links
                .iter()
                .copied()
                .filter(|p| p < pid && traps.contains_key(p));
            let parent = earlier
                .clone()
                .filter(|p| traps[p])
                .max()
                .or_else(|| earlier.max());
            json!({
                "pid": pid,
                "parent": parent,
                "name": d.row.name,
                "function": d.row.function,
                "status": d.row.status,
                "supervisor": d.traps_exits,
                "job": d.row.job,
            })
        })
        .collect();
    json!({ "tenant": tenant.name, "processes": entries, "partial": rows.len() >= TREE_LIMIT })
}

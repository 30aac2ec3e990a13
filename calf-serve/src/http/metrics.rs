//! `/metrics`: the tenants' figures in the Prometheus text format
//! (version 0.0.4), every series labelled with its tenant.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use calf_scheduler::telemetry::LATENCY_BOUNDS;

use crate::http::views;
use crate::tenant::Tenant;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every series of `tenants`.
pub async fn render(tenants: &[Arc<Tenant>]) -> String {
    let mut gauges = Families::default();
    for tenant in tenants {
        let t = label(&tenant.name);
        let summary = tenant.summary();
        let (rows, _) = views::rows(tenant).await;
        let mut statuses: BTreeMap<&str, u64> = BTreeMap::new();
        let (mut mailbox, mut largest, mut memory) = (0u64, 0u64, 0u64);
        for row in &rows {
            *statuses.entry(row.status.as_str()).or_default() += 1;
            mailbox += row.mailbox;
            largest = largest.max(row.mailbox);
            memory += row.memory;
        }
        gauges.add(
            "calf_processes",
            format!("tenant=\"{t}\""),
            summary.processes,
        );
        for (status, n) in statuses {
            gauges.add(
                "calf_processes_by_status",
                format!("tenant=\"{t}\",status=\"{}\"", label(status)),
                n,
            );
        }
        gauges.add("calf_jobs", format!("tenant=\"{t}\""), summary.jobs);
        gauges.add(
            "calf_reductions_total",
            format!("tenant=\"{t}\""),
            summary.reductions,
        );
        gauges.add("calf_mailbox_messages", format!("tenant=\"{t}\""), mailbox);
        gauges.add(
            "calf_mailbox_messages_max",
            format!("tenant=\"{t}\""),
            largest,
        );
        gauges.add(
            "calf_process_memory_bytes",
            format!("tenant=\"{t}\""),
            memory,
        );
        gauges.add(
            "calf_calls_in_flight",
            format!("tenant=\"{t}\""),
            summary.calls_in_flight,
        );
        gauges.add(
            "calf_quota_refusals_total",
            format!("tenant=\"{t}\""),
            summary.quota_refusals,
        );
        for (subject, figures) in tenant.hosted.telemetry().subjects() {
            let s = label(&subject);
            for (outcome, n) in &figures.outcomes {
                gauges.add(
                    "calf_calls_total",
                    format!(
                        "tenant=\"{t}\",subject=\"{s}\",outcome=\"{}\"",
                        outcome.name()
                    ),
                    *n,
                );
            }
            gauges.add(
                "calf_call_retries_total",
                format!("tenant=\"{t}\",subject=\"{s}\""),
                figures.retries,
            );
            let mut cumulative = 0;
            for (i, n) in figures.latency_buckets.iter().enumerate() {
                cumulative += n;
                let le = LATENCY_BOUNDS
                    .get(i)
                    .map_or("+Inf".to_string(), |b| b.to_string());
                gauges.add(
                    "calf_call_duration_seconds_bucket",
                    format!("tenant=\"{t}\",subject=\"{s}\",le=\"{le}\""),
                    cumulative,
                );
            }
            gauges.add_float(
                "calf_call_duration_seconds_sum",
                format!("tenant=\"{t}\",subject=\"{s}\""),
                figures.latency_sum,
            );
            gauges.add(
                "calf_call_duration_seconds_count",
                format!("tenant=\"{t}\",subject=\"{s}\""),
                cumulative,
            );
        }
    }
    gauges.render()
}

/// Each metric's help, type, and the family its samples belong to.
const FAMILIES: &[(&str, &str, &str)] = &[
    ("calf_processes", "gauge", "Processes alive."),
    (
        "calf_processes_by_status",
        "gauge",
        "Processes alive by status (running, runnable, waiting, sleeping, calling, loading, busy).",
    ),
    ("calf_jobs", "gauge", "Jobs running."),
    (
        "calf_reductions_total",
        "counter",
        "Reductions spent by the tenant's processes.",
    ),
    (
        "calf_mailbox_messages",
        "gauge",
        "Messages waiting in the tenant's mailboxes.",
    ),
    (
        "calf_mailbox_messages_max",
        "gauge",
        "Messages waiting in the tenant's longest mailbox.",
    ),
    (
        "calf_process_memory_bytes",
        "gauge",
        "Bytes of the tenant's processes' own structures.",
    ),
    (
        "calf_calls_in_flight",
        "gauge",
        "Foreign calls waiting for their reply.",
    ),
    (
        "calf_quota_refusals_total",
        "counter",
        "Times a quota refused the tenant something.",
    ),
    (
        "calf_calls_total",
        "counter",
        "Foreign calls ended, by subject and outcome.",
    ),
    (
        "calf_call_retries_total",
        "counter",
        "Attempts of foreign calls after their first.",
    ),
    (
        "calf_call_duration_seconds",
        "histogram",
        "Foreign calls' durations, all attempts together.",
    ),
];

#[derive(Default)]
struct Families {
    samples: BTreeMap<&'static str, Vec<(String, String)>>,
}

impl Families {
    fn add(&mut self, name: &'static str, labels: String, value: u64) {
        self.samples
            .entry(name)
            .or_default()
            .push((labels, value.to_string()));
    }

    fn add_float(&mut self, name: &'static str, labels: String, value: f64) {
        self.samples
            .entry(name)
            .or_default()
            .push((labels, value.to_string()));
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for (family, kind, help) in FAMILIES {
            let _ = writeln!(out, "# HELP {family} {help}");
            let _ = writeln!(out, "# TYPE {family} {kind}");
            for (name, samples) in &self.samples {
                let belongs = *name == *family
                    || (*kind == "histogram"
                        && name
                            .strip_prefix(family)
                            .is_some_and(|rest| ["_bucket", "_sum", "_count"].contains(&rest)));
                if belongs {
                    for (labels, value) in samples {
                        let _ = writeln!(out, "{name}{{{labels}}} {value}");
                    }
                }
            }
        }
        out
    }
}

/// A label value, escaped as the text format wants.
fn label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn a_histogram_is_one_family() {
        let mut f = Families::default();
        f.add("calf_call_duration_seconds_bucket", "le=\"+Inf\"".into(), 2);
        f.add("calf_call_duration_seconds_count", "a=\"b\"".into(), 2);
        f.add("calf_processes", "tenant=\"x\"".into(), 3);
        let text = f.render();
        let histogram = text
            .find("# TYPE calf_call_duration_seconds histogram")
            .unwrap();
        assert!(text[histogram..].contains("calf_call_duration_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("calf_processes{tenant=\"x\"} 3"));
    }
}

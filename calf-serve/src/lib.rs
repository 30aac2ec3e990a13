//! # calf-serve: one central scheduler for many tenants
//!
//! Owns `calf serve`: its configuration (`calf.toml`), the nats-server
//! configuration it prints for the tenants' accounts, the scheduler's
//! connections (one per tenant account, one in the operator account), the
//! admin API those connections answer (NATS request/reply, MessagePack
//! bodies, the worker protocol's error headers), the jobs' kept output,
//! the API's client, which the `calf` command's verbs use, and the web
//! dashboard and `/metrics` of `calf serve --http`.
//!
//! It must not implement runtime behaviour (processes, quotas, fairness
//! are calf-scheduler's `hosted` runtime) nor draw on a terminal (that is
//! calf-repl's). A tenant is known only from the connection a request
//! arrived on: nothing in a request names the tenant.

#![forbid(unsafe_code)]

pub mod api;
pub mod client;
pub mod config;
pub mod data;
pub mod http;
mod jobs;
pub mod listener;
pub mod nats_config;
pub mod output;
pub mod reply;
mod routing;
pub mod server;
mod sessions;
mod tenant;

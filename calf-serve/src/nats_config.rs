//! The nats-server configuration for `calf.toml`'s accounts. (A stand-in
//! until the renderer lands.)

use crate::config::ServeConfig;

pub fn render(config: &ServeConfig) -> String {
    let _ = config;
    String::new()
}

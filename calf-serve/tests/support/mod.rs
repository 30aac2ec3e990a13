//! What the tests of calf-serve share: a real nats-server started from a
//! printed configuration, scratch directories, the example files.

#![allow(dead_code)]

pub mod nats;

use std::path::{Path, PathBuf};

use calf_serve::config::ServeConfig;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `examples/serve/calf.toml`.
pub fn example_path() -> PathBuf {
    root().join("examples/serve/calf.toml")
}

/// The text of `examples/serve/calf.toml`.
pub fn example_text() -> String {
    std::fs::read_to_string(example_path()).expect("examples/serve/calf.toml is readable")
}

/// `examples/serve/calf.toml`, read and checked (it reads no environment).
pub fn example() -> ServeConfig {
    ServeConfig::parse_with_env(&example_text(), &example_path(), |_| None)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh, empty directory under cargo's scratch directory for tests,
/// unique to this test process and `name`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("calf-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

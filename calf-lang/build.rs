//! Bundles every `stdlib/**/*.calf` file other than `core.calf` (which the
//! prelude loads itself) into a table the host loads namespaces from, so an
//! installed `calf` finds them from any directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let stdlib = manifest.join("..").join("stdlib");
    println!("cargo:rerun-if-changed={}", stdlib.display());
    let mut files = Vec::new();
    collect(&stdlib, &stdlib, &mut files);
    files.sort();
    let mut out = String::from("&[\n");
    for (relative, path) in files {
        if relative == "core.calf" {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({relative:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a string");
    }
    out.push(']');
    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo")).join("bundled.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}

/// Every `.calf` file under `dir`, as (path relative to `root` with `/`
/// separators, full path).
fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "calf") {
            let relative = path
                .strip_prefix(root)
                .expect("under the root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((relative, path));
        }
    }
}

//! Snapshots: the one place where a process's state becomes bytes, and
//! bytes a process again (DESIGN.md invariant 2).
//!
//! A saved process is a [`format::ProcessImage`]: its VM (operand stack,
//! frames, handlers), mailbox, ties and what it waits for. Code is saved
//! apart, once per content hash ([`format::CodeImage`], and the source
//! files its spans point into), and so is the program's namespaces
//! ([`format::JobImage`]); natives go by name. Every image starts with a
//! header, `CALF`, a kind byte and a format version; a reader refuses
//! another kind, a newer version, or one older than it reads, with an
//! error that says which.
//!
//! Restoring checks everything the VM trusts: each body goes through the
//! same check as compiled code, and each frame's operands must number what
//! its body's checked depths say (`vm/parts.rs`). A damaged or forged
//! snapshot is an error, never a machine that reads outside its stack.
//!
//! What this module must not do: I/O. The scheduler stores the images
//! (JetStream in `calf serve`) and hands them back.

mod decode;
mod encode;
pub mod format;
mod ops;
mod program;

use serde::{de::DeserializeOwned, Serialize};

pub use decode::{Blobs, Decoder};
pub use encode::{Encoder, ImageCache};
pub use format::{Hash, Kind};
pub use program::ProgramForms;

use crate::namespace::Globals;
use format::{JobImage, NamespaceImage, VarImage};

/// How deep values are saved: past this, the process cannot be saved. The
/// reader takes about twice as many levels of MessagePack (see
/// `MAX_READ_DEPTH`).
pub(crate) const MAX_NESTING: usize = 900;

/// Levels of MessagePack the reader follows: a value at `MAX_NESTING`,
/// and the structs around it.
const MAX_READ_DEPTH: usize = MAX_NESTING + 64;

/// Why a snapshot could not be made or read back.
#[derive(Debug, Clone, PartialEq)]
pub enum SnapshotError {
    /// Not an image of this kind, or damaged.
    Invalid(String),
    /// An image of a format version this build does not read.
    Version { found: u16, kind: Kind },
    /// The snapshot names a native this build does not have.
    MissingNative(String),
    /// The snapshot names a var of the bundled library that this build
    /// does not have.
    MissingVar(String),
    /// The snapshot names code that is not in the store.
    MissingCode { hash: Hash, function: String },
    /// The snapshot names a source file that is not in the store.
    MissingSource(Hash),
    /// A value nested deeper than a snapshot holds.
    TooDeep,
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::Invalid(why) => write!(f, "the snapshot is damaged: {why}"),
            SnapshotError::Version { found, kind } if *found > format::VERSION => write!(
                f,
                "{} was saved in snapshot format version {found}, newer than this Calf reads \
                 ({} to {}): run it with the Calf that saved it, or a newer one",
                kind.describe(),
                format::OLDEST_READ,
                format::VERSION
            ),
            SnapshotError::Version { found, kind } => write!(
                f,
                "{} was saved in snapshot format version {found}, older than this Calf reads \
                 ({} to {}): restore it with an older Calf and let it save again",
                kind.describe(),
                format::OLDEST_READ,
                format::VERSION
            ),
            SnapshotError::MissingNative(name) => write!(
                f,
                "the snapshot calls the native `{name}`, which this version of Calf does not have"
            ),
            SnapshotError::MissingVar(name) => write!(
                f,
                "the snapshot names `{name}`, which this version of Calf does not define"
            ),
            SnapshotError::MissingCode { hash, function } => write!(
                f,
                "the code of {function} (hash {}) is not in the store: it was deleted, or saved \
                 to another store",
                hash.short()
            ),
            SnapshotError::MissingSource(hash) => write!(
                f,
                "a source file (hash {}) of the snapshot's code is not in the store",
                hash.short()
            ),
            SnapshotError::TooDeep => write!(
                f,
                "a value of the process is nested more than {MAX_NESTING} levels deep, more than \
                 a snapshot holds"
            ),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// An image's bytes: the header, then the body as MessagePack.
pub fn write_image<T: Serialize>(kind: Kind, body: &T) -> Result<Vec<u8>, SnapshotError> {
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(format::MAGIC);
    bytes.push(kind as u8);
    bytes.extend_from_slice(&format::VERSION.to_be_bytes());
    rmp_serde::encode::write(&mut bytes, body)
        .map_err(|e| SnapshotError::Invalid(format!("cannot write {}: {e}", kind.describe())))?;
    Ok(bytes)
}

/// The header of an image: its kind and version.
pub fn read_header(bytes: &[u8]) -> Result<(Kind, u16), SnapshotError> {
    if bytes.len() < 7 || &bytes[..4] != format::MAGIC {
        return Err(SnapshotError::Invalid(
            "it does not start with a Calf snapshot header".to_string(),
        ));
    }
    let Some(kind) = Kind::from_byte(bytes[4]) else {
        return Err(SnapshotError::Invalid(format!(
            "unknown image kind {}",
            bytes[4]
        )));
    };
    Ok((kind, u16::from_be_bytes([bytes[5], bytes[6]])))
}

/// The body of an image of kind `kind`, read by the rules of its version.
pub fn read_image<T: DeserializeOwned>(kind: Kind, bytes: &[u8]) -> Result<T, SnapshotError> {
    let (found, version) = read_header(bytes)?;
    if found != kind {
        return Err(SnapshotError::Invalid(format!(
            "it holds {}, not {}",
            found.describe(),
            kind.describe()
        )));
    }
    if !(format::OLDEST_READ..=format::VERSION).contains(&version) {
        return Err(SnapshotError::Version {
            found: version,
            kind,
        });
    }
    // Version 2 only added a variant at the end of `Data`, so a version 1
    // body reads by the same rules; a later version that changes more
    // reads older bodies here, by their own rules.
    let mut reader = rmp_serde::Deserializer::from_read_ref(&bytes[7..]);
    reader.set_max_depth(MAX_READ_DEPTH);
    serde::Deserialize::deserialize(&mut reader)
        .map_err(|e| SnapshotError::Invalid(format!("{} does not read: {e}", kind.describe())))
}

impl Encoder<'_> {
    /// The image of a program's namespaces, but those every runtime makes
    /// (see [`crate::prelude::is_builtin_namespace`]).
    pub fn job(&mut self, globals: &Globals) -> Result<JobImage, SnapshotError> {
        let mut namespaces = Vec::new();
        for name in globals.namespace_names() {
            let Some(ns) = globals.find_namespace(name) else {
                continue;
            };
            // An alias of another namespace, saved under its own name.
            if ns.name != name || crate::prelude::is_builtin_namespace(name.name()) {
                continue;
            }
            let mut vars = Vec::new();
            for var in ns.vars() {
                let meta = var.meta();
                vars.push(VarImage {
                    name: var.name.local_name().to_string(),
                    value: var.get().map(|v| self.value(&v)).transpose()?,
                    is_macro: var.is_macro(),
                    private: meta.private,
                    doc: meta.doc,
                    arglists: meta.arglists.map(|a| self.value(&a)).transpose()?,
                    dynamic: var.is_dynamic(),
                    attrs: meta.attrs.map(|a| self.value(&a)).transpose()?,
                });
            }
            namespaces.push(NamespaceImage {
                name: name.name().to_string(),
                vars,
                aliases: {
                    let mut aliases: Vec<(String, String)> = ns
                        .aliases()
                        .into_iter()
                        .map(|(a, t)| (a.name().to_string(), t.name().to_string()))
                        .collect();
                    aliases.sort();
                    aliases
                },
                refers: ns
                    .refers()
                    .into_iter()
                    .map(|(n, v)| (n.name().to_string(), v.name.name().to_string()))
                    .collect(),
            });
        }
        namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(JobImage { namespaces })
    }
}

#[cfg(test)]
mod tests;

//! The saved form of a process, version by version: plain data that serde
//! writes as MessagePack, behind a header that names what the bytes are
//! and which version of this file wrote them.
//!
//! Every type here is part of the format. Changing one (a field, the order
//! of an enum's variants, what a number means) is a new [`VERSION`], with
//! its golden fixture checked in under `tests/snapshots/` and a way to read
//! the older one, or a refusal that says so (see `snapshot/mod.rs`).

use serde::{Deserialize, Serialize};

/// The first bytes of every image.
pub const MAGIC: &[u8; 4] = b"CALF";

/// The version this build writes. Version 2 added [`Data::Record`] at the
/// end of [`Data`] and the dynamic state at the end of [`VmImage`] (empty
/// when absent), so a version 1 body reads by the same rules. Version 3
/// added [`Data::Lazy`] at the end of [`Data`], [`FrameCode::Realize`] at
/// the end of [`FrameCode`], and a job's submitted files and the program of
/// a durable main process at the end of [`ProcessImage`] (none when
/// absent): versions 1 and 2 read by the same rules. Version 4 added
/// [`Data::Var`], [`Data::SharedLazy`] and [`Data::WithMeta`] at the end of
/// [`Data`].
pub const VERSION: u16 = 4;

/// The oldest version this build reads.
pub const OLDEST_READ: u16 = 1;

/// What an image holds: the byte after [`MAGIC`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A process ([`ProcessImage`]).
    Process = 1,
    /// One compiled body ([`CodeImage`]), stored once per hash.
    Code = 2,
    /// A source file ([`SourceImage`]), stored once per hash.
    Source = 3,
    /// A program's namespaces ([`JobImage`]), stored once per hash.
    Job = 4,
}

impl Kind {
    pub fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            1 => Some(Kind::Process),
            2 => Some(Kind::Code),
            3 => Some(Kind::Source),
            4 => Some(Kind::Job),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Kind::Process => "a process",
            Kind::Code => "compiled code",
            Kind::Source => "a source file",
            Kind::Job => "a program's namespaces",
        }
    }
}

/// The SHA-256 of an image's bytes (header included): how a process names
/// the code it runs, and the key it is stored under.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub fn of(bytes: &[u8]) -> Hash {
        use sha2::Digest;
        Hash(sha2::Sha256::digest(bytes).into())
    }

    /// Lowercase hex, as store keys and error messages show it.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first 12 hex digits: enough to tell code apart in a message.
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash({})", self.short())
    }
}

// As MessagePack bin (34 bytes), not an array of 32 numbers.
impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Hash;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("32 bytes of a SHA-256")
            }
            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Hash, E> {
                <[u8; 32]>::try_from(bytes)
                    .map(Hash)
                    .map_err(|_| E::invalid_length(bytes.len(), &self))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Hash, A::Error> {
                let mut bytes = [0u8; 32];
                for (i, byte) in bytes.iter_mut().enumerate() {
                    *byte = seq
                        .next_element()?
                        .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
                }
                Ok(Hash(bytes))
            }
        }
        deserializer.deserialize_bytes(Visitor)
    }
}

/// A value. Collections are written item by item: a value shared by two
/// places of a process is saved twice and restored as two equal values,
/// except a lazy seq (see [`Data::SharedLazy`]), whose items are computed
/// once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Data {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Symbol(String),
    Keyword(String),
    List(Vec<Data>),
    Vector(Vec<Data>),
    Map(Vec<(Data, Data)>),
    Set(Vec<Data>),
    Fn(Box<ClosureImage>),
    /// A native, by its name (`conj`, `string/join`).
    Native(String),
    Pid(u64),
    Ref(u64),
    Char(char),
    /// A regular expression, by its pattern: compiled again when read.
    Regex(String),
    /// A sorted map, its entries in order.
    SortedMap {
        entries: Vec<(Data, Data)>,
        descending: bool,
    },
    /// A sorted set, its items in order.
    SortedSet {
        items: Vec<Data>,
        descending: bool,
    },
    /// A record (since version 2): its type's name and fields, and its
    /// entries.
    Record {
        name: String,
        fields: Vec<Data>,
        entries: Vec<(Data, Data)>,
    },
    /// A lazy seq (since version 3): the items realized so far, in order
    /// (written as a list, however long the chain), then either the thunk
    /// that realizes the rest, or the rest itself (`nil` when the seq ends
    /// there, else the list or vector that ends it).
    Lazy {
        items: Vec<Data>,
        rest: Box<Data>,
        thunk: Option<Box<Data>>,
    },
    /// A var (since version 4), by its qualified name: the var of that
    /// name in the namespaces of the program that restores it.
    Var(String),
    /// A lazy seq written before in the same VM's image (since version 4):
    /// the cell `after` cells from the start of the `seq`-th [`Data::Lazy`]
    /// of the image (counted from 0, in the order they start), so that a
    /// seq held in two places is restored as one. Also the `rest` of a
    /// [`Data::Lazy`] that goes on into a seq written before.
    SharedLazy {
        seq: u32,
        after: u32,
    },
    /// A map or set with its metadata (since version 4).
    WithMeta {
        value: Box<Data>,
        meta: Box<Data>,
    },
}

/// A closure: its fn and what it captured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClosureImage {
    pub proto: ProtoImage,
    pub captures: Vec<Data>,
}

/// A compiled `fn` form: its bodies by hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtoImage {
    pub name: Option<String>,
    pub fixed: Vec<Hash>,
    pub variadic: Option<Hash>,
    pub captures: Vec<CaptureImage>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum CaptureImage {
    Local(u16),
    Capture(u16),
    SelfFn,
}

/// One compiled body. Vars are named `ns/name`; the namespaces of the
/// program that runs it bind them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CodeImage {
    pub name: Option<String>,
    pub params: u16,
    pub variadic: bool,
    pub locals: u16,
    pub ops: Vec<OpImage>,
    pub consts: Vec<Data>,
    pub vars: Vec<String>,
    pub protos: Vec<ProtoImage>,
    /// The source files its spans point into, by hash.
    pub sources: Vec<Hash>,
    /// `(first pc, span)` runs, as in the code.
    pub spans: Vec<(u32, SpanImage)>,
}

/// A byte range of a source file: the body's `sources[source]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpanImage {
    pub source: u32,
    pub start: u32,
    pub end: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceImage {
    pub name: String,
    pub text: String,
}

/// The instructions, one variant each in the order of this version: the
/// image does not depend on how `Op` is laid out in memory.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OpImage {
    Nil,
    True,
    False,
    Int(i32),
    Const(u32),
    Local(u16),
    MoveLocal(u16),
    SetLocal(u16),
    Capture(u16),
    SelfFn,
    Global(u32),
    Def(u32),
    MarkMacro(u32),
    Pop,
    Nip,
    Jump(u32),
    Recur(u16, u8, u32),
    JumpIfFalse(u32),
    JumpUnlessLt(u32),
    JumpUnlessLe(u32),
    JumpUnlessGt(u32),
    JumpUnlessGe(u32),
    JumpUnlessNumEq(u32),
    JumpUnlessEq(u32),
    /// Comparison (0 `<`, 1 `<=`, 2 `>`, 3 `>=`, 4 `==`, 5 `=`), a, b, target.
    JumpUnlessLocals(u8, u8, u8, u32),
    JumpUnlessLtInt(i16, u32),
    JumpUnlessLeInt(i16, u32),
    JumpUnlessGtInt(i16, u32),
    JumpUnlessGeInt(i16, u32),
    JumpUnlessNumEqInt(i16, u32),
    JumpUnlessEqInt(i16, u32),
    Call(u16),
    TailCall(u16),
    CallSelf(u16),
    TailCallSelf(u16),
    Apply(u16),
    Return,
    Closure(u32),
    PushHandler(u32),
    PopHandler,
    Throw,
    Rethrow,
    MakeList(u32),
    MakeVector(u32),
    MakeMap(u32),
    MakeSet(u32),
    TestSeq(u16, bool),
    JumpUnlessSeq(u8, u8, bool, u32),
    TestMap,
    ItemAt(u16),
    LocalItem(u16, u16),
    ItemsFrom(u16),
    HasKey,
    GetKey,
    NoMatch,
    Receive(bool, u16),
    ReceiveAccept,
    Send,
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    NumEq,
    Eq,
    Inc,
    Dec,
    Not,
    AddInt(i32),
    SubInt(i32),
    LtInt(i32),
    LeInt(i32),
    GtInt(i32),
    GeInt(i32),
    NumEqInt(i32),
    EqInt(i32),
}

/// A VM: its operand stack, frames and handlers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmImage {
    pub stack: Vec<Data>,
    pub frames: Vec<FrameImage>,
    pub handlers: Vec<HandlerImage>,
    pub caught: Option<ThrownImage>,
    pub max_depth: u64,
    /// The dynamic bindings in force, innermost last (since version 2;
    /// a version 1 image has none).
    #[serde(default)]
    pub bindings: Vec<Data>,
    /// The output each `with-out-str` in progress has captured (since
    /// version 2).
    #[serde(default)]
    pub captures: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameImage {
    pub code: FrameCode,
    pub closure: FrameClosure,
    pub pc: u32,
    pub base: u32,
}

/// The body a frame runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum FrameCode {
    /// A body of the frame's closure.
    Body(Hash),
    /// The VM's own body that calls the function below `n` arguments (how
    /// a spawned process starts).
    Call(u16),
    /// The VM's own body that realizes a lazy seq for a native (since
    /// version 3).
    Realize,
}

/// Where the closure a frame runs is.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum FrameClosure {
    None,
    /// In the stack slot just below the frame's base.
    Slot,
    /// The caller's (a named fn calling itself).
    Caller,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandlerImage {
    pub frames: u32,
    pub stack: u32,
    pub catch_pc: u32,
}

/// A throw being handled, kept for `Rethrow`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThrownImage {
    pub value: Data,
    pub trace: Vec<TraceImage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceImage {
    pub function: Option<String>,
    /// The source file by hash, and the byte range.
    pub span: Option<(Hash, u32, u32)>,
    pub times: u64,
}

/// A program's namespaces, but those every runtime makes the same
/// (`calf.core`, `calf.supervisor`): what its code's vars hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobImage {
    pub namespaces: Vec<NamespaceImage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamespaceImage {
    pub name: String,
    pub vars: Vec<VarImage>,
    /// `(alias, namespace)`.
    pub aliases: Vec<(String, String)>,
    /// `(name, var as ns/name)`.
    pub refers: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VarImage {
    pub name: String,
    pub value: Option<Data>,
    pub is_macro: bool,
    pub private: bool,
    pub doc: Option<String>,
    pub arglists: Option<Data>,
    /// Whether `binding` may bind it (since version 2).
    #[serde(default)]
    pub dynamic: bool,
    /// The attribute map its definition was written with (since version
    /// 4), whose other keys its metadata shows.
    #[serde(default)]
    pub attrs: Option<Data>,
}

/// A process: its VM, what it waits for, its mailbox and its ties.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessImage {
    pub pid: u64,
    /// Its program's namespaces, by hash of their [`JobImage`].
    pub job: Hash,
    pub vm: VmImage,
    pub wait: WaitImage,
    pub mailbox: Vec<Data>,
    /// The next mailbox position `receive` looks at.
    pub cursor: u32,
    pub links: Vec<u64>,
    /// `(reference, pid)` of who monitors it.
    pub watchers: Vec<(u64, u64)>,
    /// `(reference, pid)` of whom it monitors.
    pub watching: Vec<(u64, u64)>,
    pub trap_exit: bool,
    pub registered: Option<String>,
    /// The last message of its durable inbox it has in `mailbox`.
    pub inbox_seq: u64,
    pub reductions: u64,
    /// Wall time of the save, in milliseconds since the Unix epoch.
    pub saved_at_ms: i64,
    /// The files its job was submitted with (`calf serve`), `(relative
    /// path, source by hash)`: where its `require`s look (since version 3).
    #[serde(default)]
    pub files: Vec<(String, Hash)>,
    /// For the main process of a durable job: the top-level forms it has
    /// still to run (since version 3).
    #[serde(default)]
    pub program: Option<ProgramImage>,
}

/// The top-level forms a main process has still to run, with their spans.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgramImage {
    /// The namespace the next form is compiled in.
    pub ns: String,
    pub forms: Vec<FormImage>,
    /// The source files the spans point into, by hash.
    pub sources: Vec<Hash>,
}

/// A top-level form and the spans of the collections in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormImage {
    pub form: Data,
    pub span: SpanImage,
    /// `(n, span, item spans)` for the n-th collection of the form, counted
    /// depth first from 0 (the form itself).
    pub spans: Vec<(u32, SpanImage, Vec<SpanImage>)>,
}

/// What a saved process waits for. Deadlines are wall time (milliseconds
/// since the Unix epoch), so that a wait keeps its end across a restart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WaitImage {
    /// Nothing: it runs as soon as it is restored.
    Running,
    /// A `receive` with nothing to take yet.
    Message {
        restart: bool,
        deadline_ms: Option<i64>,
    },
    /// A `sleep`.
    Sleep { until_ms: i64 },
    /// A `call`: sent again on restore, with the same id and the next attempt.
    Call(CallImage),
}

/// A `call` waited on: sent again on restore with the same id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallImage {
    pub subject: String,
    pub payload: Data,
    /// The options map the call was made with (its retry policy).
    pub options: Data,
    /// The idempotency key, `Calf-Call-Id`.
    pub id: String,
    /// The attempt made after the save; a restore makes the next one.
    pub attempt: u32,
    /// When the call gives up, in milliseconds since the Unix epoch.
    pub deadline_ms: i64,
}

//! The MessagePack ext types of the Calf kinds MessagePack has no type
//! for. Types 0 to 31 are reserved for Calf; any other ext type is not a
//! Calf value.

/// A keyword; the data is its name in UTF-8, namespace included
/// (`billing/id`), no colon.
pub const KEYWORD: i8 = 1;
/// A symbol; the data is its name in UTF-8, namespace included.
pub const SYMBOL: i8 = 2;
/// A set; the data is one MessagePack array of its items.
pub const SET: i8 = 3;
/// A process id; the data is a `u64`, big-endian.
pub const PID: i8 = 4;
/// A reference; the data is a `u64`, big-endian.
pub const REF: i8 = 5;

/// Every ext type Calf defines, with the name of its kind as the protocol
/// document writes it.
pub const ALL: [(i8, &str); 5] = [
    (KEYWORD, "keyword"),
    (SYMBOL, "symbol"),
    (SET, "set"),
    (PID, "pid"),
    (REF, "ref"),
];

/// The ext types reserved for Calf, defined or not.
pub const RESERVED: std::ops::RangeInclusive<i8> = 0..=31;

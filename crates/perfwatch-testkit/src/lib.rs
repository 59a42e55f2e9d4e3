//! Test helpers shared by perfwatch's integration tests (the `pw-fake` programs are this
//! crate's binary).
//!
//! Kept in one crate so that the CLI's and the server's tests talk to a server the same way,
//! instead of each carrying its own copy of the HTTP code.

pub mod http;

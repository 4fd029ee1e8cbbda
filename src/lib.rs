//! duplex: private, instant, full-duplex chat between two terminals.
//!
//! The crate is laid out by concern:
//! - [`protocol`]: the wire format (preamble, length-prefixed postcard
//!   frames), pure and free of IO;
//! - [`net`]: the host's accept loop, the guest's connect, and per
//!   connection a reader task and a writer task;
//! - [`app`]: the state and its pure `update` step, which returns effects;
//! - [`ui`]: pure rendering of the state with ratatui;
//! - [`keymap`]: which key does what, as data, and the keys' documentation;
//! - [`input`] and [`text`]: editing by grapheme cluster and measuring by
//!   display width, for every script;
//! - [`tui`] and [`headless`]: the two front ends, sharing [`runtime`];
//! - [`cli`]: the command line.

// The other lints are in the `[lints]` table of Cargo.toml. The library
// forbids unsafe code (the table only denies it, for tests that call libc);
// unit tests may unwrap and panic, which a `cfg_attr` has to allow here.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod cli;
pub mod domain;
pub mod headless;
pub mod history;
pub mod input;
pub mod journal;
pub mod keymap;
pub mod net;
pub mod present;
pub mod protocol;
pub mod runtime;
pub mod stdin;
pub mod text;
pub mod tui;
pub mod ui;
pub mod view;
pub mod words;

#[cfg(test)]
mod architecture;

//! duplex: private, instant, full-duplex chat between two terminals.
//!
//! The crate is laid out in layers, each using only those below it (the
//! `architecture` test checks it), bottom first:
//! - [`words`], [`text`]: word lists; width, wrapping and sanitizing of text;
//! - [`domain`]: what every layer shares (peers, reasons, time limits);
//! - [`protocol`]: the wire format, pure and free of IO;
//! - [`journal`], [`history`], [`transfer`], [`transcript`]: what a killed
//!   duplex needs to carry on; the conversation as shown, by participant;
//!   files moving, as pure state machines; the transcripts people keep
//!   (`--log`, `/save`);
//! - [`present`], [`view`], [`theme`]: events put into words; the screen's
//!   geometry; its palette;
//! - [`net`]: the host's accept loop, the guest's connect, and per
//!   connection a reader task and a writer task;
//! - [`keymap`], [`input`]: which key does what, as data; editing by
//!   grapheme cluster;
//! - [`app`]: the state and its pure `update` step, which returns effects;
//! - [`ui`], [`terminal`]: pure rendering of the state with ratatui; what
//!   else duplex writes to the terminal (a backend fix, mouse modes);
//! - [`runtime`], [`stdin`]: starting a session and carrying out effects;
//!   reading piped input;
//! - [`tui`], [`headless`], [`config`]: the two front ends; the config file;
//! - [`cli`]: the command line.

// The other lints are in the `[lints]` table of Cargo.toml. The library
// forbids unsafe code (the table only denies it, for tests that call libc);
// unit tests may unwrap and panic, which a `cfg_attr` has to allow here.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod headless;
pub mod history;
pub mod input;
pub mod journal;
pub mod keymap;
pub mod net;
pub mod osc;
pub mod present;
pub mod protocol;
pub mod runtime;
pub mod stdin;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod transcript;
pub mod transfer;
pub mod tui;
pub mod ui;
pub mod view;
pub mod words;

#[cfg(test)]
mod architecture;

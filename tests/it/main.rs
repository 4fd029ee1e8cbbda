//! Every integration test, in one binary: one link step however many test
//! files there are, and one process for the test runner to start.
//!
//! `common` is the shared harness (a pseudo-terminal running the real
//! binary, and the same binary headless with piped streams); each other
//! module is one area of tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod common;

mod chaos;
mod compose;
mod core_v2;
mod display;
mod e2e;
mod e2e_presence;
mod e2e_reliability;
mod e2e_security;
mod exits;
mod files;
mod headless;
mod keep;
mod net;
mod readme;
mod resilience;
mod review;
mod seat;
mod shell;
mod tmux;
mod trust;
mod ui;
mod welcome;

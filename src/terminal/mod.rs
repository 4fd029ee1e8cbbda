//! The terminal itself, below the front end: what duplex writes to it
//! beyond ratatui's own drawing.
//!
//! - `backend`: a ratatui backend that places the cursor itself after wide
//!   cells ([`FixedBackend`]), so that no row shifts after an emoji;
//! - `mouse`: mouse reporting for buttons and the wheel only
//!   ([`EnableMouseButtons`], [`DisableMouseButtons`]).

mod backend;
mod mouse;

pub use backend::FixedBackend;
pub use mouse::{DisableMouseButtons, EnableMouseButtons};

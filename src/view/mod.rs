//! View geometry: the screen's layout and the message pane's rows and
//! scrolling, computed without drawing. It sits below the update step (which
//! scrolls by rows) and the renderer (which draws what it lays out), so
//! neither has to ask the other.

pub mod layout;
pub mod pane;

pub use layout::{Areas, MAX_INPUT_ROWS, layout, max_input_rows};
pub use pane::{Anchor, Pane, Scroll};

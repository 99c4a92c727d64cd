//! Building blocks shared by the pages.

pub mod confirm;
pub mod copy_button;
pub mod data_table;
pub mod errors;
pub mod escape;
pub mod feedback;
pub mod form;
pub mod layout;
pub mod role_gate;
pub mod utc_time;
pub mod widgets;

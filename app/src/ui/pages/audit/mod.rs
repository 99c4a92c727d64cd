//! The auditor's log: the filtered list with exports and charts, and one
//! event's detail page.

pub mod charts;
pub mod detail;
pub mod list;

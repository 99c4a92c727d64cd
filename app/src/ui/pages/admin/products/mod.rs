//! `/admin/products[/:id]`: the list and the editor (fields, repositories,
//! prices, publish/archive).

pub mod edit;
pub mod list;

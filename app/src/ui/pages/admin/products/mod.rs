//! `/admin/products[/:id]`: the list and the editor (fields, repositories,
//! prices, publish/archive, delivery), with the releases of its repositories.

pub mod edit;
pub mod list;
pub mod releases;

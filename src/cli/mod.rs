//! What the command line does beyond serving (see `main.rs`): demo data,
//! and the book's reference tables that the code states.

pub mod reference;
pub mod seed;

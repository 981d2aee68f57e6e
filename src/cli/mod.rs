//! What the command line does beyond serving (see `main.rs`): demo data.

pub mod seed;

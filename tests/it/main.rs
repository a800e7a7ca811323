//! The integration tests, as one test crate: one binary to link instead of one per file. Each
//! module was a file of its own under `tests/`; run one with `cargo test --test it <module>::`.

mod addresses;
mod cli;
mod completions;
mod config;
mod config_cli;
mod contract;
mod docs;
mod faults;
mod files;
mod hardening;
mod interrupts;
mod lifecycle;
mod man;
mod network;
mod parsers;
mod progress;
mod readme;
mod refusals;
mod registry;
mod signing;
mod sim_compshare;
mod sim_tencent;
mod status;
mod support;
mod terminal_safety;
mod vendor;

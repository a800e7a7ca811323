//! cloudstart starts stopped cloud machines on five clouds with one syntax, and waits until they
//! are RUNNING.
//!
//! The binary's `main` parses the command line and calls [`commands::run`]. Providers translate
//! (build, sign, read) and do no I/O; the [`engine`] sends, retries, starts and waits, [`output`]
//! owns stdout and the terminal (the report, the live display, NDJSON events), and [`sim`] is a
//! local fake of the clouds for tests and demos. ARCHITECTURE.md has the whole map.

pub mod cli;
pub mod commands;
pub mod credentials;
pub mod engine;
pub mod env_vars;
pub mod error;
pub mod output;
pub mod provider;
pub mod settings;
pub mod sign;
pub mod sim;

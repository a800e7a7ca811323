//! cloudstart starts stopped cloud machines on five clouds with one syntax, and waits until they
//! are RUNNING.
//!
//! The binary's `main` parses the command line and calls [`commands::run`]. Providers translate
//! (build, sign, read) and do no I/O; [`http`] sends and retries, [`poll`] waits, [`output`]
//! owns stdout and the terminal (the report, the live display, NDJSON events), and [`sim`] is a local fake of the clouds for tests and demos.

pub mod cli;
pub mod commands;
pub mod credentials;
pub mod env_vars;
pub mod error;
pub mod http;
pub mod output;
pub mod poll;
pub mod provider;
pub mod reach;
pub mod settings;
pub mod sign;
pub mod sim;

//! The engine: every network call cloudstart makes, and the decisions taken on their answers.
//!
//! It is built from an [`EngineConfig`] — one cloud, place and set of credentials with their
//! deadline — never from command-line settings, and it reports what happened through
//! [`lifecycle::Events`] rather than writing a report itself. It may import `provider`,
//! `credentials` and `error` (and `sim`, in its unit tests, to run against the simulator on
//! loopback); it never imports `cli`, `commands`, `settings` or `output`, which sit above it.
//!
//! Wall-clock time (signing, the cloud's clock, `Retry-After` dates) comes from
//! [`EngineConfig::clock`] and randomness (client tokens, backoff and poll jitter) from a generator
//! seeded by [`EngineConfig::seed`], so tests can fix both; elapsed time and sleeps are tokio's,
//! which tests pause.
//!
//! - `sender`: sign per attempt, send, read, retry (one pure decision, `decide`), rate limit,
//!   retry budget, clock correction.
//! - [`client`]: [`ApiClient`] — start, stop and describe calls through the sender, and the run's
//!   memory: what this run's starts, stops and their jobs said.
//! - [`lifecycle`]: start, stop and wait as one protocol over an [`lifecycle::Operation`] —
//!   batches, refusals explained by a describe, one resend, transitions waited out, and ambiguous
//!   answers settled by a describe before anything is sent again.
//! - [`wait`]: the poller — describe rounds paced by a [`wait::PollBudget`] (or a fixed backoff)
//!   until its acceptor's phase, failed, gone or the deadline, the last round trimmed to land on it.
//! - [`reach`]: after RUNNING, waits for TCP ports to accept a connection (`--wait-port`) or to
//!   send an SSH identification line (`--wait-ssh`).
//! - `config`, `endpoint`: what the engine is built from.

mod config;
mod endpoint;

mod ports;
mod retry;
mod sender;
mod trouble;

pub mod client;
pub mod lifecycle;
pub mod reach;
pub mod wait;

pub use client::{ActReply, ApiClient};
pub use config::{system_clock, Clock, EngineConfig, Network, RetryConfig};
pub use endpoint::Endpoint;
pub use sender::{CallError, Failure, MAX_BODY_BYTES};

//! `cloudstart demo`: the simulator in-process on ephemeral ports, and a real `start` of one
//! machine on each of its clouds, then a real `stop` of the same machines: both halves of a job.
//!
//! Nothing is faked on the client side: every request is signed with the simulator's test
//! credentials, sent over HTTP on loopback, verified by the simulator, and polled until RUNNING,
//! then until STOPPED. Each half prints its own report (with `-o json`, one JSON document a line:
//! the start's, then the stop's).

use std::time::Duration;

use tracing::info;

use crate::cli::DemoArgs;
use crate::engine::lifecycle::Operation;
use crate::engine::wait::{Backoff, PollConfig};
use crate::engine::{Endpoint, RetryConfig};
use crate::error::Error;
use crate::output::{self, Task};
use crate::provider::{self, Location};
use crate::settings::GroupSettings;
use crate::sim::{self, Profile, SimConfig};

/// Runs the demo and returns its exit code: the first half's that failed, else 0.
pub(super) async fn run(args: &DemoArgs, quiet: bool) -> Result<u8, Error> {
    let simulator = sim::spawn(SimConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        boot_delay: Duration::from_secs(1),
        stop_delay: Duration::from_secs(1),
        seed: Default::default(),
        log: None,
        faults: Default::default(),
    })
    .await?;
    let settings = sim::profiles()
        .map(|profile| {
            let url = simulator
                .url(profile.provider)
                .ok_or_else(|| Error::internal("the simulator lost a dialect"))?;
            info!("{} simulator at {url}", profile.provider);
            demo_settings(profile, &url)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut exit = 0;
    for (operation, task) in [
        (Operation::START, Task::Start),
        (Operation::STOP, Task::Stop),
    ] {
        let progress = super::progress_for(quiet, args.output);
        let heartbeat = Duration::from_secs(30);
        let report =
            super::lifecycle::run_all(operation, task, &settings, &progress, heartbeat).await?;
        let code = output::finish(&progress, &report, args.output)?;
        if exit == 0 {
            exit = code;
        }
    }
    Ok(exit)
}

/// Settings that start (and stop) one machine on `profile`'s cloud at `url`, as a user would.
fn demo_settings(profile: &Profile, url: &str) -> Result<GroupSettings, Error> {
    let provider = provider::find(profile.provider)
        .ok_or_else(|| Error::internal(format!("no provider for {}", profile.provider)))?;
    let credentials = provider
        .spec()
        .credentials
        .resolve(profile.provider, &|var| profile.credential(var))?;
    Ok(GroupSettings {
        provider,
        location: Location {
            region: profile.region.map(str::to_string),
            zone: profile.zone.map(str::to_string),
        },
        endpoint: Endpoint::parse(url).map_err(Error::internal)?,
        credentials,
        credentials_origin: crate::credentials::CredentialOrigin {
            keys: "the simulator's test credentials".into(),
            ..Default::default()
        },
        ids: vec![(profile.example_id)(1)],
        wait: true,
        timeout: Duration::from_secs(60),
        poll: PollConfig::Backoff(Backoff {
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(1),
        }),
        retry: RetryConfig::default(),
        options: Default::default(),
        network: Default::default(),
        reach: None,
    })
}

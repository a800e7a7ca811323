//! `cloudstart demo`: the simulator in-process on an ephemeral port, and a real `start` against it.
//!
//! Nothing is faked on the client side: the request is signed with the simulator's test
//! credentials, sent over HTTP on loopback, verified by the simulator, and polled until RUNNING.

use std::time::Duration;

use tracing::info;

use crate::cli::DemoArgs;
use crate::credentials::{Credentials, Secret};
use crate::error::Error;
use crate::http::{Endpoint, RetryConfig};
use crate::poll::PollConfig;
use crate::provider::{Location, TencentCvm};
use crate::settings::StartSettings;
use crate::sim::{self, SimConfig};

/// Machines the demo starts.
const DEMO_IDS: [&str; 2] = ["ins-demo0001", "ins-demo0002"];

/// Runs the demo and returns its exit code.
pub(super) async fn run(args: &DemoArgs) -> Result<u8, Error> {
    let simulator = sim::spawn(SimConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        boot_delay: Duration::from_secs(1),
        seed: Default::default(),
        log: None,
    })
    .await?;
    let url = simulator
        .url("tencent")
        .ok_or_else(|| Error::internal("the simulator has no tencent dialect"))?;
    info!("simulator listening at {url}");
    let settings = StartSettings {
        provider: &TencentCvm,
        location: Location {
            region: Some("ap-guangzhou".into()),
            zone: None,
        },
        endpoint: Endpoint::parse(&url).map_err(Error::internal)?,
        credentials: Credentials {
            key_id: sim::TENCENT_SECRET_ID.into(),
            secret: Secret::new(sim::TENCENT_SECRET_KEY),
            token: None,
        },
        ids: DEMO_IDS.iter().map(|id| id.to_string()).collect(),
        wait: true,
        timeout: Duration::from_secs(60),
        poll: PollConfig {
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(1),
        },
        retry: RetryConfig::default(),
        output: args.output,
    };
    super::report(&settings).await
}

//! `cloudstart sim`: the simulator of `crate::sim`, served on loopback until interrupted.

use crate::cli::SimArgs;
use crate::error::Error;
use crate::output::print_endpoints;
use crate::sim::{self, FaultPlan, Seed, SimConfig};

/// Serves the simulator as `args` configure it, prints its endpoints, and returns 0 on Ctrl-C.
pub(super) async fn run(args: &SimArgs) -> Result<u8, Error> {
    let seed = match &args.state {
        Some(path) => sim::load_seed(path)?,
        None => Seed::new(),
    };
    let simulator = sim::spawn(SimConfig {
        listen: args.listen,
        boot_delay: args.boot_delay,
        stop_delay: args.stop_delay,
        seed,
        log: args.log.clone(),
        faults: FaultPlan {
            specs: args.fault.clone(),
            throttle_rate: args.throttle_rate,
            delay: args.delay,
            clock_skew: args.clock_skew,
        },
    })
    .await?;
    print_endpoints(&simulator.endpoints)?;
    let _ = tokio::signal::ctrl_c().await;
    Ok(0)
}

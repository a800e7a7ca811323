//! The config file from the command line — `config init`, `config set`, `config get` — and the
//! run's own settings (`timeout`, `output`, `poll_interval`, `poll_max`) from flag, environment
//! and profile, through the real binary.

use std::time::{Duration, Instant};

use crate::support::{self, id, seed, stderr, Sim};

#[test]
fn cloudstart_timeout_in_the_environment_ends_a_wait_that_never_ends_with_exit_six() {
    let profile = support::tencent();
    let id = id(profile, 6);
    let sim = Sim::start(&seed(profile, &id, "boot = \"never\""));
    let started = Instant::now();
    let output = sim
        .start_cmd(profile, &[&id])
        .env("CLOUDSTART_TIMEOUT", "3s")
        .env("CLOUDSTART_OUTPUT", "json")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let json = support::report(&output);
    assert_eq!(json["instances"][0]["outcome"], "timeout", "{json}");
    // About three seconds: the variable's deadline, not the 10m default (generous upper bound
    // for a loaded machine).
    assert!(elapsed >= Duration::from_millis(2900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

#[test]
fn a_malformed_run_variable_is_a_usage_error_naming_it() {
    let profile = support::tencent();
    let sim = Sim::start("");
    for (var, value) in [("CLOUDSTART_TIMEOUT", "abc"), ("CLOUDSTART_OUTPUT", "yaml")] {
        let output = sim
            .start_cmd(profile, &[&id(profile, 1)])
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}: {}", stderr(&output));
        assert!(stderr(&output).contains(var), "{}", stderr(&output));
        assert!(sim.requests().is_empty(), "{var}: nothing is sent");
    }
}

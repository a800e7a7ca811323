//! Proxies and extra CAs: `--proxy`, the standard proxy variables with `NO_PROXY`, and
//! `--ca-bundle` / `SSL_CERT_FILE`. Every request stays on loopback: the simulator itself plays
//! the proxy (it answers absolute-form requests like the origin would).

use assert_cmd::Command;

use crate::support::{cloudstart, stderr, tencent, Sim};

/// `start` on Tencent aimed at `endpoint` instead of the simulator.
fn start_at(sim: &Sim, endpoint: &str, id: &str) -> Command {
    let mut cmd = cloudstart(sim.dir());
    cmd.envs(tencent().credentials.iter().copied())
        .args([
            "start",
            "-p",
            "tencent",
            "-r",
            "ap-guangzhou",
            "--poll-interval",
            "5ms",
        ])
        .args(["--endpoint", endpoint, id]);
    cmd
}

/// A host that must never be resolved: requests to it can only succeed through the proxy.
const UNRESOLVED: &str = "http://cvm.cloudstart.invalid";

#[test]
fn proxy_flag_carries_every_request() {
    let sim = Sim::start("");
    let output = start_at(&sim, UNRESOLVED, "ins-aaaaaaaa")
        .args(["--proxy", sim.url("tencent")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // The simulator saw (and verified) requests signed for the host behind the proxy.
    assert!(!sim.calls("tencent", "StartInstances").is_empty());
}

#[test]
fn proxy_variables_are_honoured_and_no_proxy_bypasses_them() {
    let sim = Sim::start("");
    let output = start_at(&sim, UNRESOLVED, "ins-aaaaaaaa")
        .env("HTTP_PROXY", sim.url("tencent"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // A dead proxy, bypassed for the simulator's address by NO_PROXY: the run still works …
    let output = sim
        .start_cmd(tencent(), &["ins-bbbbbbbb"])
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // … and without NO_PROXY the dead proxy is used, and fails as a network error.
    let output = sim
        .start_cmd(tencent(), &["ins-cccccccc"])
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
}

#[test]
fn bad_proxies_and_ca_bundles_are_usage_errors() {
    let sim = Sim::start("");
    let not_pem = sim.dir().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--proxy".into(), "not a url".into()],
            "invalid --proxy",
        ),
        (
            vec!["--proxy".into(), "ftp://proxy".into()],
            "invalid --proxy",
        ),
        (
            vec!["--ca-bundle".into(), "/nonexistent.pem".into()],
            "cannot read the CA bundle",
        ),
        (
            vec!["--ca-bundle".into(), not_pem.display().to_string()],
            "holds no PEM certificates",
        ),
    ];
    for (args, says) in cases {
        let output = sim
            .start_cmd(tencent(), &["ins-aaaaaaaa"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(says),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert!(sim.requests().is_empty());
}

#[test]
fn a_ca_bundle_is_loaded_from_the_flag_or_ssl_cert_file() {
    let sim = Sim::start("");
    let pem = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/test-ca.pem");
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .args(["--ca-bundle", pem])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = sim
        .start_cmd(tencent(), &["ins-bbbbbbbb"])
        .env("SSL_CERT_FILE", pem)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

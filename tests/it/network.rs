//! Proxies and extra CAs: `--proxy`, the standard proxy variables with `NO_PROXY`, and
//! `--ca-bundle` / `SSL_CERT_FILE`. Every request stays on loopback: the simulator itself plays
//! the proxy (it answers absolute-form requests like the origin would).

use assert_cmd::Command;

use crate::support::{self, cloudstart, stderr, tencent, Sim};

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

/// The JSON record's message and everything on stderr of a run that must fail with `code`.
fn failed(mut cmd: Command, code: i32) -> (String, String) {
    let output = cmd
        .args(["-o", "json", "--timeout", "20s"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(code), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let message = report["instances"][0]["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    // Never the HTTP library's words, never the cloud and action named twice in a row.
    for internal in [
        "client error",
        "error sending request",
        "hyper",
        "tcp connect error",
    ] {
        assert!(!err.contains(internal), "{internal}: {err}");
        assert!(!message.contains(internal), "{internal}: {message}");
    }
    assert!(
        !err.contains("tencent StartInstances: tencent StartInstances"),
        "{err}"
    );
    (message, err)
}

/// Issue 19 item 5: a transport failure names the host and port, says what to check, and hides
/// the library's internals. Before: `tencent StartInstances: tencent StartInstances: error
/// sending request: client error (Connect): tcp connect error: Connection refused (os error 111)`.
#[test]
fn a_refused_connection_names_the_host_and_port_and_what_to_check() {
    let sim = Sim::start("");
    let (port, _closed) = support::closed_port();
    let (message, _) = failed(
        start_at(&sim, &format!("http://127.0.0.1:{port}"), "ins-aaaaaaaa"),
        5,
    );
    assert!(
        message.starts_with(&format!(
            "tencent StartInstances: connection to 127.0.0.1:{port} refused: nothing listens \
             there; check the endpoint's host and port"
        )),
        "{message}"
    );
    // The action is named once, not again in the count of attempts.
    assert!(message.contains(" (failed after "), "{message}");
    assert!(
        !message.contains("StartInstances failed after"),
        "{message}"
    );
}

/// A name that cannot resolve (`.invalid` is never resolved by any DNS, RFC 6761): said so, with
/// the host. Before: `… error sending request: client error (Connect): dns error: failed to
/// lookup address information: …`.
#[test]
fn an_unresolvable_host_is_named_as_a_dns_failure() {
    let sim = Sim::start("");
    let (message, _) = failed(start_at(&sim, UNRESOLVED, "ins-aaaaaaaa"), 5);
    assert!(
        message.starts_with(
            "tencent StartInstances: cannot resolve the host name cvm.cloudstart.invalid (DNS \
             lookup failed): check the endpoint's spelling, and this machine's DNS and network"
        ),
        "{message}"
    );
}

/// Through a proxy that is not there: the proxy, where it was set, and the host it was for.
#[test]
fn a_dead_proxy_is_named_with_where_it_was_set() {
    let sim = Sim::start("");
    let (port, _closed) = support::closed_port();
    let mut cmd = start_at(&sim, UNRESOLVED, "ins-aaaaaaaa");
    cmd.env("HTTP_PROXY", format!("http://127.0.0.1:{port}"));
    let (message, _) = failed(cmd, 5);
    assert!(
        message.starts_with(&format!(
            "tencent StartInstances: connection to proxy 127.0.0.1:{port} (HTTP_PROXY) refused \
             on the way to cvm.cloudstart.invalid:80: check that the proxy is running"
        )),
        "{message}"
    );
}

/// An https endpoint that speaks plain http: a failed TLS handshake, named with the host.
#[test]
fn a_failed_tls_handshake_names_the_host() {
    let sim = Sim::start("");
    let endpoint = sim.url("tencent").replace("http://", "https://");
    let host = endpoint.trim_start_matches("https://").to_string();
    let (message, _) = failed(start_at(&sim, &endpoint, "ins-aaaaaaaa"), 5);
    assert!(
        message.starts_with(&format!(
            "tencent StartInstances: the TLS handshake with {host} failed: check that the \
             endpoint speaks https on that port"
        )),
        "{message}"
    );
}

/// A stale `SSL_CERT_FILE` (set for another tool long ago) is named, with the fix; the same
/// file given with `--ca-bundle` is not blamed on the variable. Before: `cannot read the CA
/// bundle /…/gone.pem: No such file or directory (os error 2)`.
#[test]
fn a_ca_bundle_from_ssl_cert_file_names_the_variable() {
    let sim = Sim::start("");
    let gone = sim.dir().join("gone.pem");
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .env("SSL_CERT_FILE", &gone)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "error: cannot read the CA bundle {} named by SSL_CERT_FILE: ",
            gone.display()
        )) && stderr(&output)
            .contains("; point SSL_CERT_FILE at a PEM file of CA certificates, or unset it"),
        "{}",
        stderr(&output)
    );
    let output = sim
        .start_cmd(tencent(), &["ins-aaaaaaaa"])
        .arg("--ca-bundle")
        .arg(&gone)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "error: cannot read the CA bundle {}: ",
            gone.display()
        )) && !stderr(&output).contains("SSL_CERT_FILE"),
        "{}",
        stderr(&output)
    );
    assert!(sim.requests().is_empty());
}

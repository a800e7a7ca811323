//! Addresses in the report: where they come from on each cloud, Zenlayer's one extra call per
//! batch, what happens when that call fails, and the simulator's seeded addresses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::{
    self, cloudstart, id, profiles, report, seed, start_json, stderr, stdout, Profile, Sim,
};

fn zenlayer() -> &'static Profile {
    profiles().find(|p| p.provider == "zenlayer").unwrap()
}

/// The record's `(public, private)` addresses.
fn addresses(record: &Value) -> (Vec<&str>, Vec<&str>) {
    let list = |kind: &str| -> Vec<&str> {
        (record["addresses"][kind].as_array())
            .unwrap_or_else(|| panic!("no addresses.{kind}: {record}"))
            .iter()
            .map(|ip| ip.as_str().unwrap())
            .collect()
    };
    (list("public"), list("private"))
}

#[test]
fn zenlayer_asks_once_for_the_addresses_of_a_batch_that_turned_running() {
    let sim = Sim::start("");
    let profile = zenlayer();
    let ids: Vec<String> = (0..3).map(|n| id(profile, n)).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (json, _) = start_json(&sim, profile, &ids, &[], 0);
    for record in json["instances"].as_array().unwrap() {
        let (public, private) = addresses(record);
        assert!(public.len() == 1 && private.len() == 1, "{record}");
    }
    let calls = sim.calls("zenlayer", "DescribeInstances");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let mut asked: Vec<&str> = (calls[0]["ids"].as_array().unwrap().iter())
        .map(|id| id.as_str().unwrap())
        .collect();
    asked.sort_unstable();
    assert_eq!(asked, ids);
}

#[test]
fn a_failing_address_call_is_logged_once_and_never_fails_the_machine() {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let target = id(zenlayer(), 1);
    let listed = target.clone();
    let addr = support::serve(move |parts, _| {
        let action = (parts.headers.get("x-zc-action"))
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let response = match action.as_str() {
            "StartInstances" => json!({ "instanceIds": [] }),
            "DescribeInstancesStatus" => json!({
                "totalCount": 1,
                "dataSet": [{ "instanceId": listed, "instanceStatus": "RUNNING" }],
            }),
            _ => {
                counter.fetch_add(1, Ordering::SeqCst);
                let page = b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec();
                return (502, Vec::new(), page);
            }
        };
        let body = json!({ "requestId": "T1", "response": response });
        (200, Vec::new(), body.to_string().into_bytes())
    });
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .envs(zenlayer().credentials.iter().copied())
        .args(["start", "-v", "-o", "json", "-p", "zenlayer", "--endpoint"])
        .arg(format!("http://{addr}"))
        .args(["--poll-interval", "5ms", &target])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let record = &report(&output)["instances"][0];
    assert_eq!(record["outcome"], "running");
    assert_eq!(addresses(record), (vec![], vec![]));
    // One attempt: a detail of the report is not worth the run's retry budget.
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert!(
        stderr(&output).contains("cannot read the addresses of 1 running machine"),
        "{}",
        stderr(&output)
    );
}

/// A canned Zenlayer whose machine is RUNNING and whose address call fails (HTTP 503) the
/// first `failures` times, then answers with `public` addresses; returns its address and the
/// count of address calls. With `refuse_start` it refuses the start as ZEC refuses one for a
/// machine that is not stopped (StartInstances error table:
/// `OPERATION_DENIED_INSTANCE_NOT_STOPPED`, HTTP 403), so the machine is found already running.
fn zenlayer_with_flaky_addresses(
    failures: usize,
    public: Vec<&'static str>,
    refuse_start: bool,
) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let listed = id(zenlayer(), 1);
    let addr = support::serve(move |parts, _| {
        let action = (parts.headers.get("x-zc-action"))
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let response = match action.as_str() {
            "StartInstances" if refuse_start => {
                let body = json!({
                    "requestId": "T0",
                    "code": "OPERATION_DENIED_INSTANCE_NOT_STOPPED",
                    "message": "operations on instances that are not in powered-off state are not supported",
                });
                return (403, Vec::new(), body.to_string().into_bytes());
            }
            "StartInstances" => json!({ "instanceIds": [] }),
            "DescribeInstancesStatus" => json!({
                "totalCount": 1,
                "dataSet": [{ "instanceId": listed, "instanceStatus": "RUNNING" }],
            }),
            _ if counter.fetch_add(1, Ordering::SeqCst) < failures => {
                let page = b"<html><body><h1>503 Service Unavailable</h1></body></html>".to_vec();
                return (503, Vec::new(), page);
            }
            _ => json!({
                "totalCount": 1,
                "dataSet": [{
                    "instanceId": listed,
                    "status": "RUNNING",
                    "publicIpAddresses": public,
                }],
            }),
        };
        let body = json!({ "requestId": "T1", "response": response });
        (200, Vec::new(), body.to_string().into_bytes())
    });
    (addr, asked)
}

/// Issue 20 item 3: with `--wait-port`, a failed address call is asked again in a later round,
/// like a describe; only an answer that really has no address fails the port wait (exit 4).
#[test]
fn a_failed_address_call_is_asked_again_before_a_port_wait_gives_up_on_the_machine() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let target = id(zenlayer(), 1);
    let run = |addr: std::net::SocketAddr| {
        let home = tempfile::tempdir().unwrap();
        cloudstart(home.path())
            .envs(zenlayer().credentials.iter().copied())
            .args(["start", "-o", "json", "-p", "zenlayer", "--endpoint"])
            .arg(format!("http://{addr}"))
            .args(["--poll-interval", "5ms", "--poll-max", "20ms"])
            .args(["--timeout", "20s", "--wait-port", &port, &target])
            .output()
            .unwrap()
    };

    let (addr, asked) = zenlayer_with_flaky_addresses(2, vec!["127.0.0.1"], false);
    let output = run(addr);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let record = &report(&output)["instances"][0];
    assert_eq!(record["outcome"], "running", "{record}");
    assert_eq!(addresses(record).0, vec!["127.0.0.1"], "{record}");
    assert_eq!(asked.load(Ordering::SeqCst), 3);

    // A real answer without an address is the cloud's word: no address to wait on.
    let (addr, _) = zenlayer_with_flaky_addresses(1, vec![], false);
    let output = run(addr);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    drop(listener);
}

/// Issue 20 item 3, the machine found already running: the one-off describe that explains the
/// refused start reads its addresses too, and when that address call fails the machine is polled
/// again like any other rather than failing its port wait for want of an address.
#[test]
fn a_machine_found_already_running_is_asked_again_for_addresses_its_describe_could_not_read() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let target = id(zenlayer(), 1);
    let (addr, asked) = zenlayer_with_flaky_addresses(1, vec!["127.0.0.1"], true);
    let home = tempfile::tempdir().unwrap();
    let output = cloudstart(home.path())
        .envs(zenlayer().credentials.iter().copied())
        .args(["start", "-o", "json", "-p", "zenlayer", "--endpoint"])
        .arg(format!("http://{addr}"))
        .args(["--poll-interval", "5ms", "--poll-max", "20ms"])
        .args(["--timeout", "20s", "--wait-port", &port, &target])
        .output()
        .unwrap();
    drop(listener);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let record = &report(&output)["instances"][0];
    assert_eq!(record["outcome"], "already_running", "{record}");
    assert_eq!(addresses(record).0, vec!["127.0.0.1"], "{record}");
    assert_eq!(asked.load(Ordering::SeqCst), 2);
}

#[test]
fn a_seeded_public_address_is_reported_so_tests_can_reach_the_machine() {
    for profile in profiles().filter(|p| p.provider != "qingcloud") {
        let id = id(profile, 4);
        let sim = Sim::start(&seed(
            profile,
            &id,
            "public_ip = \"127.0.0.1\"\nprivate_ip = \"10.1.2.3\"",
        ));
        let (json, _) = start_json(&sim, profile, &[&id], &[], 0);
        let record = &json["instances"][0];
        assert_eq!(
            addresses(record),
            (vec!["127.0.0.1"], vec!["10.1.2.3"]),
            "{}",
            profile.provider
        );
        let output = sim.start_cmd(profile, &[&id]).output().unwrap();
        assert!(
            stdout(&output).contains("  127.0.0.1  "),
            "{}: {}",
            profile.provider,
            stdout(&output)
        );
    }
}

#[test]
fn status_shows_a_running_machine_s_addresses_and_a_stopped_one_s_private_address() {
    for profile in profiles() {
        let (running, stopped) = (id(profile, 1), id(profile, 2));
        let state = seed(
            profile,
            &running,
            &format!("state = \"{}\"", profile.running_state()),
        );
        let sim = Sim::start(&state);
        let output = sim
            .status_std_cmd(profile, &[&running, &stopped])
            .args(["-o", "json"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let json = report(&output);
        let (public, private) = addresses(&json["instances"][0]);
        let (stopped_public, stopped_private) = addresses(&json["instances"][1]);
        // A stopped machine has no public address anywhere.
        assert!(stopped_public.is_empty(), "{json}");
        let provider = support::provider_of(profile);
        // A second call for addresses (Zenlayer's) is made only for running machines.
        let ids = [running.clone()];
        let from_detail = (provider.detail_call(&ids, &Default::default())).is_some();
        if !provider.spec().reports_addresses {
            // Its describe documents no address (QingCloud's cluster list).
            assert!(public.is_empty() && private.is_empty(), "{json}");
        } else {
            assert!(public.len() == 1 && private.len() == 1, "{json}");
            assert_eq!(stopped_private.len(), usize::from(!from_detail), "{json}");
        }
    }
}

#[test]
fn a_seeded_address_that_is_not_an_ip_address_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.toml");
    std::fs::write(
        &state,
        "[tencent.ins-aaaaaaaa]\npublic_ip = \"localhost\"\n",
    )
    .unwrap();
    let output = cloudstart(dir.path())
        .args(["sim", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("public_ip `localhost` of machine ins-aaaaaaaa"),
        "{}",
        stderr(&output)
    );
}

/// A port on 127.0.0.1 that nothing listens on yet, and the socket that keeps it so (see
/// [`support::closed_port`]): drop it just before binding the port's listener.
fn free_port() -> (u16, tokio::net::TcpSocket) {
    support::closed_port()
}

#[test]
fn wait_port_holds_running_until_the_port_opens_and_reports_it() {
    // Every cloud with addresses: the machine's public address is loopback, and the port opens
    // only once the run has seen the machine running, so the run is waiting on the port.
    support::for_every_cloud(|profile| {
        if profile.provider == "qingcloud" {
            return;
        }
        let id = id(profile, 5);
        let sim = Sim::start(&seed(profile, &id, "public_ip = \"127.0.0.1\""));
        let (port, reserved) = free_port();
        let mut child = sim
            .start_std_cmd(profile, &[&id])
            .args(["-o", "ndjson", "--wait-port", &port.to_string()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut events = support::stream(child.stdout.take().unwrap());
        let errors = support::stream(child.stderr.take().unwrap());
        events.wait_for(&format!("\"state\":\"{}\"", profile.running_state()));
        drop(reserved);
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        // Accept the connection(s) cloudstart makes, then close.
        listener.set_nonblocking(true).unwrap();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut connected = false;
        while !connected && std::time::Instant::now() < until {
            connected = listener.accept().is_ok();
            if !connected {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let name = profile.provider;
        let status = support::wait_for_exit(&mut child, name);
        let (text, errors) = (events.finish(), errors.finish());
        assert_eq!(status.code(), Some(0), "{name}: {errors}");
        assert!(connected, "{name}: never connected");
        let events: Vec<Value> = (text.lines())
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let running = (events.iter())
            .position(|e| e["event"] == "state" && e["state"] == profile.running_state());
        let reachable = events.iter().position(|e| e["event"] == "reachable");
        let last = events.iter().position(|e| e["event"] == "final");
        assert!(
            running < reachable && reachable.is_some() && reachable < last,
            "{name}: {events:?}"
        );
        let event = &events[reachable.unwrap()];
        assert_eq!(event["address"], format!("127.0.0.1:{port}"));
        assert_eq!(events[last.unwrap()]["record"]["outcome"], "running");
    });
}

#[test]
fn a_port_that_never_opens_is_a_timeout_naming_address_and_port() {
    let profile = support::tencent();
    let id = id(profile, 6);
    let sim = Sim::start(&seed(profile, &id, "public_ip = \"127.0.0.1\""));
    let (port, _closed) = free_port();
    let output = sim
        .start_cmd(profile, &[&id])
        .args([
            "-o",
            "json",
            "--timeout",
            "3s",
            "--wait-port",
            &port.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let record = &report(&output)["instances"][0];
    assert_eq!(record["outcome"], "timeout");
    assert_eq!(record["state"], "RUNNING");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
}

/// RUNNING says nothing about a port: a machine already running is checked like a started one,
/// so a rerun after a port timed out does not exit 0 unchecked. Its outcome stays
/// `already_running`.
#[test]
fn a_machine_already_running_has_its_ports_checked_too() {
    let profile = support::tencent();
    let id = id(profile, 7);
    let running = format!(
        "state = \"{}\"\npublic_ip = \"127.0.0.1\"",
        profile.running_state()
    );
    let sim = Sim::start(&seed(profile, &id, &running));
    let (port, reserved) = free_port();
    let closed = sim
        .start_cmd(profile, &[&id])
        .args([
            "-o",
            "json",
            "--timeout",
            "2s",
            "--wait-port",
            &port.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(closed.status.code(), Some(6), "{}", stderr(&closed));
    let record = &report(&closed)["instances"][0];
    assert_eq!(record["outcome"], "timeout");
    // The record keeps what the cloud said about the machine.
    assert_eq!(record["state"], profile.running_state(), "{record}");
    assert_eq!(record["zone"], profile.machine_zone, "{record}");
    assert_eq!(record["addresses"]["public"][0], "127.0.0.1", "{record}");
    assert!(
        (record["error"]["message"].as_str().unwrap()).contains(&format!("127.0.0.1:{port}")),
        "{record}"
    );
    drop(reserved);
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let open = sim
        .start_cmd(profile, &[&id])
        .args(["-o", "ndjson", "--wait-port", &port.to_string()])
        .output()
        .unwrap();
    drop(listener);
    assert_eq!(open.status.code(), Some(0), "{}", stderr(&open));
    let events: Vec<Value> = support::json_lines(&open);
    let reachable = events.iter().position(|e| e["event"] == "reachable");
    let last = events.iter().position(|e| e["event"] == "final");
    assert!(reachable.is_some() && reachable < last, "{events:?}");
    assert_eq!(
        events[last.unwrap()]["record"]["outcome"],
        "already_running"
    );
}

#[test]
fn waiting_for_a_port_on_a_cloud_that_reports_no_address_is_a_usage_error_before_any_request() {
    // QingCloud's cluster list documents no address: nothing could ever be connected to.
    let profile = profiles().find(|p| p.provider == "qingcloud").unwrap();
    let sim = Sim::start("");
    for flags in [
        &["--wait-ssh"][..],
        &["--wait-port", "ssh"],
        &["--wait-port", "8080"],
    ] {
        let output = sim
            .start_cmd(profile, &[&id(profile, 1)])
            .args(flags)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{flags:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("qingcloud reports none (leave them out for qingcloud"),
            "{flags:?}: {}",
            stderr(&output)
        );
    }
    let output = sim
        .cmd("wait", profile, &[&id(profile, 1)])
        .args(["--for", "running", "--wait-ssh"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(sim.requests(), Vec::<Value>::new());
    // --wait-port with --no-wait is a usage error.
    let output = sim
        .start_cmd(profile, &[&id(profile, 2)])
        .args(["--no-wait", "--wait-port", "22"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn wait_port_takes_the_names_of_common_services_and_refuses_others_listing_them() {
    let profile = support::tencent();
    let sim = Sim::start("");
    let output = sim
        .start_cmd(profile, &[&id(profile, 1)])
        .args(["--wait-port", "gopher"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("`gopher` is neither a port number (1-65535) nor"),
        "{said}"
    );
    assert!(said.contains("ssh, http, https"), "{said}");
    // A name is a port: `--wait-port https` is 443, and a --no-wait run says so as for 443.
    let output = sim
        .start_cmd(profile, &[&id(profile, 1)])
        .args(["--no-wait", "--wait-port", "https"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot go with --no-wait"),
        "{}",
        stderr(&output)
    );
    assert_eq!(sim.requests(), Vec::<Value>::new());
}

/// A TCP listener on 127.0.0.1 for 30 s that sends `reply` (if any) on every connection it
/// accepts and keeps the connection open, saying nothing more.
fn listener(reply: Option<&'static [u8]>) -> u16 {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < until {
            match listener.accept() {
                Ok((mut socket, _)) => {
                    if let Some(reply) = reply {
                        let _ = socket.write_all(reply);
                    }
                    held.push(socket);
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        }
    });
    port
}

/// `--wait-ssh` needs the SSH server's identification line (RFC 4253 §4.2), not just a
/// connection: a listener that accepts and stays silent is `timeout` for it and `running` for
/// `--wait-port`; one that sends the banner is `running`. (`--wait-ssh=PORT` points the check at
/// the test's listener; plain `--wait-ssh` is port 22.)
#[test]
fn wait_ssh_is_a_timeout_for_a_silent_listener_and_running_for_one_that_sends_the_banner() {
    let profile = support::tencent();
    let id = id(profile, 8);
    let sim = Sim::start(&seed(profile, &id, "public_ip = \"127.0.0.1\""));
    let silent = listener(None);
    let output = sim
        .start_cmd(profile, &[&id])
        .args(["-o", "json", "--timeout", "3s"])
        .arg(format!("--wait-ssh={silent}"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let record = &report(&output)["instances"][0];
    assert_eq!(record["outcome"], "timeout");
    assert_eq!(record["state"], "RUNNING");
    let message = record["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "127.0.0.1:{silent} did not answer as an SSH server"
        )),
        "{message}"
    );
    assert!(
        message.contains("accepted the connection but sent nothing"),
        "{message}"
    );

    let open = sim
        .start_cmd(profile, &[&id])
        .args([
            "-o",
            "json",
            "--timeout",
            "20s",
            "--wait-port",
            &silent.to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(open.status.code(), Some(0), "{}", stderr(&open));
    assert_eq!(report(&open)["instances"][0]["outcome"], "already_running");

    let banner = listener(Some(b"SSH-2.0-OpenSSH_9.6\r\n"));
    let fresh = support::id(profile, 9);
    let sim = Sim::start(&seed(profile, &fresh, "public_ip = \"127.0.0.1\""));
    let output = sim
        .start_cmd(profile, &[&fresh])
        .args(["-o", "ndjson", "--timeout", "20s"])
        .arg(format!("--wait-ssh={banner}"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let events: Vec<Value> = support::json_lines(&output);
    let reachable = events.iter().position(|e| e["event"] == "reachable");
    let last = events.iter().position(|e| e["event"] == "final");
    assert!(reachable.is_some() && reachable < last, "{events:?}");
    assert_eq!(
        events[reachable.unwrap()]["address"],
        format!("127.0.0.1:{banner}")
    );
    assert_eq!(events[last.unwrap()]["record"]["outcome"], "running");
}

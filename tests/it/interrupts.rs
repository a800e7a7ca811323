//! Interrupts through the real binary: Ctrl-C, SIGTERM and SIGHUP end a run with every requested
//! machine reported and exit 130; a burst of signals is one interrupt, a second one quits at once.

use crate::support::{self, report, stderr, tencent, Sim};
use std::time::Duration;

#[test]
fn interrupt_reports_what_was_requested_and_exits_130() {
    let sim = Sim::start_with("", &["--boot-delay", "1h"]);
    let mut child = sim
        .start_std_cmd(tencent(), &["ins-aaaaaaaa"])
        .args(["-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the start was sent and a first describe's answer (STARTING) was read — the
    // second describe leaves only after it — then press Ctrl-C.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sim.calls("tencent", "DescribeInstances").len() < 2 {
        assert!(std::time::Instant::now() < deadline, "never polled");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "did not exit after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let json = report(&output);
    let record = &json["instances"][0];
    assert_eq!(record["outcome"], "interrupted");
    assert_eq!(record["state"], "STARTING");
    assert_eq!(record["error"]["kind"], "interrupted");
}

#[test]
fn a_burst_of_signals_counts_as_one_interrupt_and_the_report_survives() {
    // Under GNU `timeout`, one Ctrl-C reaches the process group as SIGINT, SIGCONT, SIGINT within
    // a tenth of a millisecond: one request, which must still end with the report. One shell
    // sends all three back to back; a few rounds, since the race was lost about half the time.
    let sim = Sim::start_with("", &["--boot-delay", "1h"]);
    for round in 0..6 {
        let id = format!("ins-{round:08}");
        let mut child = sim
            .start_std_cmd(tencent(), &[&id])
            .args(["-o", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !sim
            .calls("tencent", "DescribeInstances")
            .iter()
            .any(|call| call.to_string().contains(&id))
        {
            assert!(std::time::Instant::now() < deadline, "never polled");
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = std::process::Command::new("sh")
            .args(["-c", "kill -INT $1; kill -CONT $1; kill -INT $1", "sh"])
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        support::wait_for_exit(&mut child, "did not exit after a burst of signals");
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(130),
            "round {round}: {}",
            stderr(&output)
        );
        assert!(
            !output.stdout.is_empty(),
            "round {round}: the report was lost: {}",
            stderr(&output)
        );
        let json = report(&output);
        assert_eq!(
            json["instances"][0]["outcome"], "interrupted",
            "round {round}"
        );
    }
}

#[test]
fn a_second_interrupt_quits_at_once_even_while_the_report_is_blocked() {
    let sim = Sim::start_with("", &["--boot-delay", "1h"]);
    // A report far larger than a pipe's buffer, and nobody reading it: writing it blocks.
    let ids: Vec<String> = (0..2000).map(|n| format!("ins-{n:08}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut child = sim
        .start_std_cmd(tencent(), &ids)
        .args(["-o", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while sim.calls("tencent", "DescribeInstances").is_empty() {
        assert!(std::time::Instant::now() < deadline, "never polled");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id();
    support::kill(pid, "-TERM");
    // The report has begun once its first byte is out: it is far larger than a pipe's buffer
    // and nobody reads on, so writing it blocks. Wait for that byte instead of a fixed pause.
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        let read = std::io::Read::read(&mut out, &mut byte).map_err(|e| e.to_string());
        // The pipe stays open (handed back) so the writer stays blocked.
        let _ = sender.send((read, out));
    });
    let (read, _out) = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the report never began after SIGTERM");
    assert_eq!(read, Ok(1), "stdout ended before the report");
    // The watcher for a second interrupt starts on its own thread as the first is handled, so
    // an interrupt can still beat it; interrupt again until the process quits, as a person
    // would. Without the watcher none of them ends it, and the test fails at the deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = 'waiting: loop {
        support::kill(pid, "-INT");
        for _ in 0..10 {
            if let Some(status) = child.try_wait().unwrap() {
                break 'waiting status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running after a second interrupt"
        );
    };
    assert_eq!(status.code(), Some(130));
}

/// Sends `signal` (`kill`'s spelling, e.g. `-TERM`) to `child` once `sim` has logged an `action`
/// request, and returns the child's output once it has exited.
fn signal_once_asked(
    sim: &Sim,
    action: &str,
    child: std::process::Child,
    signal: &str,
) -> std::process::Output {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sim.calls("tencent", action).is_empty() {
        assert!(std::time::Instant::now() < deadline, "never sent {action}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut child = child;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "did not exit after {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn start_handles_sigterm_and_sighup_like_ctrl_c() {
    for signal in ["-TERM", "-HUP"] {
        let sim = Sim::start_with("", &["--boot-delay", "1h"]);
        let child = sim
            .start_std_cmd(tencent(), &["ins-aaaaaaaa"])
            .args(["-o", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let output = signal_once_asked(&sim, "DescribeInstances", child, signal);
        assert_eq!(
            output.status.code(),
            Some(130),
            "{signal}: {}",
            stderr(&output)
        );
        let record = &report(&output)["instances"][0];
        assert_eq!(record["outcome"], "interrupted", "{signal}");
        assert_eq!(record["error"]["kind"], "interrupted", "{signal}");
    }
}

#[test]
fn status_stops_on_an_interrupt_and_reports_what_it_did_not_see() {
    for signal in ["-INT", "-TERM", "-HUP"] {
        // Every answer is held back: status is still waiting for its describe when signalled.
        let sim = Sim::start_with("", &["--delay", "1h"]);
        let child = sim
            .status_std_cmd(tencent(), &["ins-aaaaaaaa", "ins-bbbbbbbb"])
            .args(["-o", "json"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let output = signal_once_asked(&sim, "DescribeInstances", child, signal);
        assert_eq!(
            output.status.code(),
            Some(130),
            "{signal}: {}",
            stderr(&output)
        );
        let json = report(&output);
        let records = json["instances"].as_array().unwrap();
        assert_eq!(records.len(), 2, "{signal}: {json}");
        for record in records {
            assert_eq!(record["outcome"], "interrupted", "{signal}: {record}");
            assert_eq!(record["error"]["kind"], "interrupted", "{signal}: {record}");
        }
    }
}

//! Unit tests of `reach`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::*;

fn addresses(public: &[&str], private: &[&str]) -> Addresses {
    Addresses {
        public: public.iter().map(|s| s.to_string()).collect(),
        private: private.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn the_first_address_of_the_kind_asked_for_is_used_and_names_are_never_resolved() {
    let public = Reach::asked(&[22], None, AddressKind::Public).unwrap();
    let private = Reach {
        address: AddressKind::Private,
        ..public.clone()
    };
    let both = addresses(&["203.0.113.7", "203.0.113.8"], &["10.0.0.7"]);
    assert_eq!(
        address_of(&public, &both),
        Ok("203.0.113.7".parse().unwrap())
    );
    assert_eq!(address_of(&private, &both), Ok("10.0.0.7".parse().unwrap()));
    let none = addresses(&[], &["10.0.0.7"]);
    let err = address_of(&public, &none).unwrap_err();
    assert_eq!(err, Unreachable::NoAddress(AddressKind::Public));
    assert!(err.to_string().contains("--address private"), "{err}");
    let named = addresses(&["evil.example.com"], &[]);
    assert!(matches!(
        address_of(&public, &named),
        Err(Unreachable::NotAnIp { .. })
    ));
}

#[test]
fn a_port_asked_for_twice_is_probed_once_and_for_ssh_when_either_asks_it() {
    let public = AddressKind::Public;
    assert_eq!(Reach::asked(&[], None, public), None);
    let probe = |port, expect| Probe { port, expect };
    let reach = Reach::asked(&[443, 22, 80, 443], Some(22), public).unwrap();
    assert_eq!(
        reach.probes,
        [
            probe(22, Expect::Ssh),
            probe(80, Expect::Connect),
            probe(443, Expect::Connect)
        ]
    );
    let reach = Reach::asked(&[22], Some(2222), public).unwrap();
    assert_eq!(
        reach.probes,
        [probe(22, Expect::Connect), probe(2222, Expect::Ssh)]
    );
}

#[test]
fn the_identification_line_may_follow_other_lines_and_must_be_complete() {
    let found = [
        &b"SSH-2.0-OpenSSH_9.6\r\n"[..],
        b"SSH-2.0-OpenSSH_9.6 Ubuntu-3ubuntu13\r\n",
        b"SSH-1.99-Cisco-1.25\r\n",
        b"SSH-2.0-dropbear\n",
        b"Welcome to the bastion\r\nauthorised use only\r\nSSH-2.0-Go\r\n",
        b"SSH-2.0-x\r\n\x00\x00\x01\x14",
    ];
    for bytes in found {
        assert_eq!(identification(bytes), Scan::Found, "{bytes:?}");
    }
    let incomplete = [
        &b""[..],
        b"SSH-2.0-OpenSSH_9.6",
        b"SSH-2.",
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        b" SSH-2.0-indented\r\n",
        b"\x16\x03\x01\x02\x00\x01",
    ];
    for bytes in incomplete {
        assert_eq!(identification(bytes), Scan::Incomplete, "{bytes:?}");
    }
    assert_eq!(
        identification(b"SSH-1.5-OldServer\r\n"),
        Scan::NotSsh2(b"SSH-1.5-OldServer")
    );
}

#[test]
fn what_a_server_sent_is_shown_escaped_and_cut() {
    assert_eq!(shown(b"SSH-1.5-x\r\n"), "`SSH-1.5-x\\r\\n`");
    assert_eq!(shown(b"\x1b[31mred\xff"), "`\\u{1b}[31mred\u{fffd}`");
    let long = shown(&[b'a'; 500]);
    assert_eq!(long, format!("`{}…`", "a".repeat(SHOWN_MAX_BYTES)));
    assert_eq!(seconds(Duration::from_secs(2)), "2 s");
    assert_eq!(seconds(Duration::from_millis(1983)), "2 s");
    assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    assert_eq!(seconds(Duration::from_millis(480)), "480 ms");
}

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn slots() -> Semaphore {
    Semaphore::new(MAX_PROBES_IN_FLIGHT)
}

/// Issue 20 item 6: a run against the simulator (a loopback endpoint) probes nothing but
/// loopback whatever its machines show; a cloud's run never probes this host, its link or an
/// address that is no machine's.
#[test]
fn probes_aim_only_where_a_machine_can_be() {
    let refused = |ip: &str, loopback_endpoint| refusal(ip.parse().unwrap(), loopback_endpoint);
    for nobody in [
        "0.0.0.0",
        "0.1.2.3",
        "::",
        "224.0.0.1",
        "ff02::1",
        "255.255.255.255",
    ] {
        assert!(refused(nobody, false).is_some(), "{nobody}");
        assert!(refused(nobody, true).is_some(), "{nobody}");
    }
    for here in ["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"] {
        assert_eq!(refused(here, true), None, "{here}");
        assert!(refused(here, false).unwrap().contains("loopback"), "{here}");
    }
    for link in ["169.254.169.254", "fe80::1", "febf::1"] {
        assert!(
            refused(link, false).unwrap().contains("link-local"),
            "{link}"
        );
        assert!(refused(link, true).is_some(), "{link}");
    }
    for elsewhere in ["203.0.113.7", "10.0.0.7", "2001:db8::1", "192.168.1.255"] {
        assert_eq!(refused(elsewhere, false), None, "{elsewhere}");
        let why = refused(elsewhere, true).unwrap();
        assert!(why.contains("only loopback addresses are probed"), "{why}");
    }
    // The error names the address and why, for that machine.
    let reach = Reach::asked(&[22], None, AddressKind::Public).unwrap();
    let simulated = reach.clone().for_endpoint(true);
    let shown = addresses(&["203.0.113.7"], &[]);
    assert_eq!(
        address_of(&reach, &shown),
        Ok("203.0.113.7".parse().unwrap())
    );
    let err = address_of(&simulated, &shown).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "RUNNING, but its public address 203.0.113.7 is not probed: the endpoint is loopback"
        ),
        "{err}"
    );
    let metadata = addresses(&["169.254.169.254"], &[]);
    assert!(matches!(
        address_of(&reach, &metadata),
        Err(Unreachable::Refused { .. })
    ));
}

#[tokio::test]
async fn every_attempt_takes_a_permit_of_the_run_s_bound() {
    let (port, accepted) = listener(|_| None).await;
    let none_free = Semaphore::new(0);
    let err = wait_for(LOOPBACK, tcp(port), soon(600), &none_free)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("connection attempts were in flight"),
        "{err}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
    let one = Semaphore::new(1);
    assert_eq!(
        wait_for(LOOPBACK, tcp(port), soon(5000), &one).await,
        Ok(())
    );
    assert_eq!(one.available_permits(), 1, "the permit is given back");
}

/// A listener on 127.0.0.1 that answers every connection with `serve`'s replies, the
/// `n`th (from 0) getting `serve(n)`: `None` keeps it open and silent, `Some(parts)` sends
/// each part in its own write, then closes.
async fn listener(serve: fn(usize) -> Option<Vec<&'static [u8]>>) -> (u16, Arc<AtomicUsize>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                match serve(n) {
                    None => {
                        let mut sink = Vec::new();
                        let _ = socket.read_to_end(&mut sink).await;
                    }
                    Some(parts) => {
                        for part in parts {
                            if socket.write_all(part).await.is_err() {
                                return;
                            }
                            socket.flush().await.unwrap();
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            });
        }
    });
    (port, accepted)
}

fn ssh(port: u16) -> Probe {
    Probe {
        port,
        expect: Expect::Ssh,
    }
}

fn tcp(port: u16) -> Probe {
    Probe {
        port,
        expect: Expect::Connect,
    }
}

fn soon(millis: u64) -> Instant {
    Instant::now() + Duration::from_millis(millis)
}

/// The message of the error `wait_for` ends with.
async fn failure(probe: Probe, millis: u64) -> String {
    let err = wait_for(LOOPBACK, probe, soon(millis), &slots())
        .await
        .unwrap_err();
    assert!(matches!(err, Unreachable::Closed { .. }), "{err:?}");
    err.to_string()
}

#[tokio::test]
async fn an_open_port_is_reached_and_a_closed_one_times_out_naming_it() {
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = open.local_addr().unwrap().port();
    assert_eq!(
        wait_for(LOOPBACK, tcp(port), soon(5000), &slots()).await,
        Ok(())
    );
    drop(open);
    for probe in [tcp(port), ssh(port)] {
        let err = failure(probe, 1200).await;
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    }
}

#[tokio::test]
async fn a_silent_listener_is_open_for_wait_port_and_not_ssh_for_wait_ssh() {
    let (port, _) = listener(|_| None).await;
    assert_eq!(
        wait_for(LOOPBACK, tcp(port), soon(5000), &slots()).await,
        Ok(())
    );
    let err = failure(ssh(port), 1200).await;
    assert!(
        err.contains(&format!("127.0.0.1:{port} did not answer as an SSH server")),
        "{err}"
    );
    assert!(
        err.contains("accepted the connection but sent nothing within"),
        "{err}"
    );
}

#[tokio::test]
async fn a_listener_that_sends_the_banner_is_ssh_ready() {
    let (port, _) = listener(|_| Some(vec![b"SSH-2.0-OpenSSH_9.6\r\n"])).await;
    assert_eq!(
        wait_for(LOOPBACK, ssh(port), soon(5000), &slots()).await,
        Ok(())
    );
    assert_eq!(
        wait_for(LOOPBACK, tcp(port), soon(5000), &slots()).await,
        Ok(())
    );
}

#[tokio::test]
async fn lines_before_the_banner_and_a_banner_in_pieces_are_read_through() {
    let (port, _) = listener(|_| {
        Some(vec![
            b"Authorised access only.\r\n",
            b"SSH-2.",
            b"0-OpenSSH_9.6\r",
            b"\n",
        ])
    })
    .await;
    assert_eq!(
        wait_for(LOOPBACK, ssh(port), soon(5000), &slots()).await,
        Ok(())
    );
}

#[tokio::test]
async fn garbage_then_close_is_tried_again_until_the_deadline_and_shown_escaped() {
    let (port, accepted) =
        listener(|_| Some(vec![b"HTTP/1.1 400 Bad Request\r\n\x1b[2J\r\n"])).await;
    let err = failure(ssh(port), 2000).await;
    assert!(
        err.contains(
            "closed the connection without an SSH identification line, after \
             `HTTP/1.1 400 Bad Request\\r\\n\\u{1b}[2J\\r\\n`"
        ),
        "{err}"
    );
    assert!(accepted.load(Ordering::SeqCst) >= 2, "tried once only");
}

#[tokio::test]
async fn a_port_silent_at_first_is_ready_once_it_sends_the_banner() {
    let (port, accepted) = listener(|n| match n {
        0 => Some(vec![]),
        1 => None,
        _ => Some(vec![b"SSH-2.0-OpenSSH_9.6\r\n"]),
    })
    .await;
    assert_eq!(
        wait_for(LOOPBACK, ssh(port), soon(20_000), &slots()).await,
        Ok(())
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_old_protocol_or_an_endless_stream_is_not_ssh_and_says_so() {
    let (port, _) = listener(|_| Some(vec![b"SSH-1.5-OldServer\r\n"])).await;
    let err = failure(ssh(port), 600).await;
    assert!(
        err.contains("identified as `SSH-1.5-OldServer`, which is not SSH 2.0"),
        "{err}"
    );
    const ENDLESS: &[u8] = &[b'x'; 3 * IDENTIFICATION_MAX_BYTES];
    let (port, _) = listener(|_| Some(vec![ENDLESS])).await;
    let err = failure(ssh(port), 600).await;
    assert!(
        err.contains(&format!(
            "sent {IDENTIFICATION_MAX_BYTES} bytes without an SSH identification line"
        )),
        "{err}"
    );
    assert!(err.contains("…`"), "{err}");
}

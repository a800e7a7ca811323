//! After RUNNING: waiting until a machine is usable, i.e. its TCP ports accept a connection
//! (`--wait-port`) and its SSH server answers (`--wait-ssh`).
//!
//! Only addresses the cloud reported are tried, and only when they are IP addresses: a name is
//! never resolved, so an answer cannot point cloudstart at an arbitrary host by DNS. Nothing is
//! ever sent on a connection. For `--wait-port` it is closed as soon as it opens; for `--wait-ssh`
//! it is read, a bounded number of bytes under a timeout, until the server's identification line
//! (RFC 4253 §4.2), because a middlebox or a half-booted machine can accept a connection on
//! port 22 and say nothing.
//!
//! Nor is every IP address tried ([`refusal`]): never one that is no machine's (unspecified,
//! multicast, broadcast), never this host or its link (loopback, link-local: 169.254.0.0/16
//! holds the metadata service) unless the endpoint itself is loopback — the simulator — and
//! then nothing but loopback, so a run against the simulator never sends a packet off this
//! host whatever its machines show. At most [`MAX_PROBES_IN_FLIGHT`] connections are open at
//! once, so a big fleet's wait does not run out of file descriptors.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::provider::Addresses;

/// How long one connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an SSH server may take, once connected, to send its identification line. sshd sends
/// it as soon as it accepts, before any DNS lookup or key exchange.
const IDENTIFICATION_TIMEOUT: Duration = Duration::from_secs(2);
/// The most bytes read while looking for the identification line. RFC 4253 §4.2 lets a server
/// send other lines first and sets no limit on them; 8 KiB is a generous banner (OpenSSH's own
/// limit on one line) and keeps a talkative non-SSH service from being read for ever.
const IDENTIFICATION_MAX_BYTES: usize = 8 * 1024;
/// The most bytes of what a server sent that an error message shows.
const SHOWN_MAX_BYTES: usize = 64;
/// The pause between attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// The most connection attempts in flight at once, over the whole process: each holds a file
/// descriptor, and a 2,300-machine wait under the common `ulimit -n 1024` otherwise ends with
/// EMFILE. An attempt lasts at most 4 s, so 256 of them get through 2,300 machines in well
/// under a minute.
pub const MAX_PROBES_IN_FLIGHT: usize = 256;

/// The permits of [`MAX_PROBES_IN_FLIGHT`], one process-wide pool, since a run's groups (one per
/// cloud, region, zone and profile) wait for their ports at the same time.
pub static IN_FLIGHT: Semaphore = Semaphore::const_new(MAX_PROBES_IN_FLIGHT);

/// Which of a machine's addresses to connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// The first public address (an EIP, a public IP).
    Public,
    /// The first private address.
    Private,
}

impl AddressKind {
    /// The word for it in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressKind::Public => "public",
            AddressKind::Private => "private",
        }
    }
}

/// What a port must do before it counts as ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Accept a TCP connection (`--wait-port`).
    Connect,
    /// Accept one and send an SSH identification line, `SSH-2.0-…` (`--wait-ssh`).
    Ssh,
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Expect::Connect => "accept a TCP connection",
            Expect::Ssh => "answer as an SSH server",
        })
    }
}

/// One port to wait for, and what it must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The TCP port.
    pub port: u16,
    /// What counts as ready.
    pub expect: Expect,
}

/// What `--wait-port` and `--wait-ssh` ask for: these ports on this kind of address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// The ports that must all be ready, each once, in port order.
    pub probes: Vec<Probe>,
    /// The address to connect to.
    pub address: AddressKind,
    /// The endpoint is loopback (the simulator): only loopback addresses are probed, and they
    /// may be (see [`refusal`]).
    pub loopback_endpoint: bool,
}

impl Reach {
    /// `--wait-port` (`ports`, a TCP connect each) and `--wait-ssh` (`ssh`, its port), or `None`
    /// when neither was given. A port asked for both ways is checked once, for SSH.
    pub fn asked(ports: &[u16], ssh: Option<u16>, address: AddressKind) -> Option<Self> {
        let mut probes: Vec<Probe> = (ssh.iter())
            .map(|&port| Probe {
                port,
                expect: Expect::Ssh,
            })
            .chain(ports.iter().map(|&port| Probe {
                port,
                expect: Expect::Connect,
            }))
            .collect();
        // Stable: for one port the SSH probe, first in, is the one `dedup_by_key` keeps.
        probes.sort_by_key(|probe| probe.port);
        probes.dedup_by_key(|probe| probe.port);
        (!probes.is_empty()).then_some(Self {
            probes,
            address,
            loopback_endpoint: false,
        })
    }

    /// The same, for a cloud whose endpoint is loopback (`true`) or not.
    pub fn for_endpoint(self, loopback_endpoint: bool) -> Self {
        Self {
            loopback_endpoint,
            ..self
        }
    }
}

/// Why a machine is not reachable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreachable {
    /// The cloud reported no address of the kind asked for.
    #[error("RUNNING, but the cloud reports no {0} address to connect to (try --address {other})", other = other(*.0))]
    NoAddress(AddressKind),
    /// The reported address is not an IP address.
    #[error("RUNNING, but its {kind} address `{address}` is not an IP address")]
    NotAnIp {
        /// Which kind.
        kind: AddressKind,
        /// What the cloud reported, clipped.
        address: String,
    },
    /// The reported address is one no probe is sent to ([`refusal`]).
    #[error("RUNNING, but its {kind} address {address} is not probed: {why}")]
    Refused {
        /// Which kind.
        kind: AddressKind,
        /// The address.
        address: IpAddr,
        /// Why not.
        why: &'static str,
    },
    /// The deadline passed with the port still not ready: closed, or (`--wait-ssh`) silent or
    /// answering something other than SSH.
    #[error("RUNNING, but {address} did not {expected} before the deadline ({last})")]
    Closed {
        /// `ip:port`.
        address: String,
        /// What the port was waited for.
        expected: Expect,
        /// What the last attempt ran into.
        last: String,
    },
}

fn other(kind: AddressKind) -> &'static str {
    match kind {
        AddressKind::Public => "private",
        AddressKind::Private => "public",
    }
}

impl std::fmt::Display for AddressKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The address `reach` connects to among `addresses`.
pub fn address_of(reach: &Reach, addresses: &Addresses) -> Result<IpAddr, Unreachable> {
    let listed = match reach.address {
        AddressKind::Public => &addresses.public,
        AddressKind::Private => &addresses.private,
    };
    let first = listed
        .first()
        .ok_or(Unreachable::NoAddress(reach.address))?;
    let ip: IpAddr = first.parse().map_err(|_| Unreachable::NotAnIp {
        kind: reach.address,
        address: crate::error::clip(first),
    })?;
    match refusal(ip, reach.loopback_endpoint) {
        Some(why) => Err(Unreachable::Refused {
            kind: reach.address,
            address: ip,
            why,
        }),
        None => Ok(ip),
    }
}

/// Why no probe is sent to `ip`, if none is: an address no machine has, this host or its link
/// for a cloud that is not on this host, or anything but loopback when the endpoint is
/// (`loopback_endpoint`: the simulator, whose machines are all on this host).
pub fn refusal(ip: IpAddr, loopback_endpoint: bool) -> Option<&'static str> {
    // ::ffff:127.0.0.1 is 127.0.0.1 to the socket layer.
    let ip = ip.to_canonical();
    let this_network = matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 0);
    if ip.is_unspecified() || this_network {
        return Some("an unspecified address (0.0.0.0/8, ::) is no machine's");
    }
    if ip.is_multicast() {
        return Some("a multicast address is no one machine's");
    }
    if matches!(ip, IpAddr::V4(v4) if v4.is_broadcast()) {
        return Some("the broadcast address is no one machine's");
    }
    let link_local = match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    };
    match (loopback_endpoint, ip.is_loopback()) {
        (true, true) => None,
        (true, false) => Some(
            "the endpoint is loopback (a simulator), so only loopback addresses are probed and \
             nothing leaves this machine",
        ),
        (false, true) => Some("a loopback address is this machine, not the cloud's"),
        (false, false) if link_local => Some(
            "a link-local address (169.254.0.0/16, fe80::/10) is this machine's own link, \
             where the metadata service is, not the cloud's machine",
        ),
        (false, false) => None,
    }
}

/// Waits until `probe`'s port on `ip` is ready, trying every 500 ms until `deadline`: each
/// attempt may take 2 s to connect and, for SSH, 2 s more for the identification line. A port
/// that refuses, stays silent, closes or answers something else is not ready yet, like a
/// closed port; the error tells what the last attempt saw. Each attempt first takes a permit
/// of `in_flight` ([`IN_FLIGHT`] but in tests).
pub async fn wait_for(
    ip: IpAddr,
    probe: Probe,
    deadline: Instant,
    in_flight: &Semaphore,
) -> Result<(), Unreachable> {
    let target = SocketAddr::new(ip, probe.port);
    loop {
        let permit = tokio::time::timeout_at(deadline, in_flight.acquire()).await;
        let last = match permit {
            Ok(Ok(_permit)) => match attempt(target, probe.expect, deadline).await {
                Ok(()) => return Ok(()),
                Err(seen) => seen,
            },
            // Closed only if the run drops it; then no attempt can be made either.
            Ok(Err(_)) | Err(_) => format!(
                "{MAX_PROBES_IN_FLIGHT} other connection attempts were in flight until the end"
            ),
        };
        let next = Instant::now() + RETRY_PAUSE;
        if next >= deadline {
            return Err(Unreachable::Closed {
                address: target.to_string(),
                expected: probe.expect,
                last,
            });
        }
        tokio::time::sleep_until(next).await;
    }
}

/// `limit`, or less when the deadline is nearer (never zero, so a last attempt is made).
fn within(limit: Duration, deadline: Instant) -> Duration {
    let remaining = deadline.saturating_duration_since(Instant::now());
    limit.min(remaining.max(Duration::from_millis(1)))
}

/// One connection, and for SSH the reading of its identification line; `Err` says what it saw.
async fn attempt(target: SocketAddr, expect: Expect, deadline: Instant) -> Result<(), String> {
    let connected = tokio::time::timeout(
        within(CONNECT_TIMEOUT, deadline),
        TcpStream::connect(target),
    )
    .await;
    let mut stream = match connected {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => return Err(err.to_string()),
        Err(_) => return Err("the connection attempt timed out".to_string()),
    };
    match expect {
        Expect::Connect => Ok(()),
        Expect::Ssh => {
            let allowed = within(IDENTIFICATION_TIMEOUT, deadline);
            let mut seen = Vec::new();
            let read = tokio::time::timeout(allowed, read_identification(&mut stream, &mut seen));
            match read.await {
                Ok(result) => result,
                Err(_) if seen.is_empty() => Err(format!(
                    "it accepted the connection but sent nothing within {}",
                    seconds(allowed)
                )),
                Err(_) => Err(format!(
                    "it accepted the connection but sent no SSH identification line within {}, \
                     only {}",
                    seconds(allowed),
                    shown(&seen)
                )),
            }
        }
    }
}

/// Reads from `stream` into `seen` until an SSH 2 identification line, at most
/// [`IDENTIFICATION_MAX_BYTES`]; the caller bounds the time.
async fn read_identification(stream: &mut TcpStream, seen: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 1024];
    loop {
        match identification(seen) {
            Scan::Found => return Ok(()),
            Scan::NotSsh2(line) => {
                return Err(format!(
                    "it identified as {}, which is not SSH 2.0",
                    shown(line)
                ))
            }
            Scan::Incomplete if seen.len() >= IDENTIFICATION_MAX_BYTES => {
                return Err(format!(
                    "it sent {} bytes without an SSH identification line: {}",
                    seen.len(),
                    shown(seen)
                ))
            }
            Scan::Incomplete => {}
        }
        let room = (IDENTIFICATION_MAX_BYTES - seen.len()).min(chunk.len());
        match stream.read(&mut chunk[..room]).await {
            Ok(0) if seen.is_empty() => {
                return Err("it accepted the connection and closed it, sending nothing".to_string())
            }
            Ok(0) => {
                return Err(format!(
                    "it closed the connection without an SSH identification line, after {}",
                    shown(seen)
                ))
            }
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
            Err(err) if seen.is_empty() => return Err(format!("reading from it failed: {err}")),
            Err(err) => {
                return Err(format!(
                    "reading from it failed ({err}) after {}",
                    shown(seen)
                ))
            }
        }
    }
}

/// What the bytes received so far hold.
#[derive(Debug, PartialEq, Eq)]
enum Scan<'a> {
    /// A complete `SSH-2.0-…` (or `SSH-1.99-…`, a server that also speaks 2.0) line.
    Found,
    /// A complete `SSH-…` line of another protocol version: this server will not speak SSH 2.
    NotSsh2(&'a [u8]),
    /// Neither yet: only other lines, which RFC 4253 §4.2 lets a server send first, and
    /// perhaps the start of one.
    Incomplete,
}

/// Looks through the complete lines of `seen` for the identification line. RFC 4253 §4.2 ends
/// lines with CR LF; a bare LF is accepted too, as OpenSSH accepts it, since this is a
/// readiness check, not a parser that must reject a peer.
fn identification(seen: &[u8]) -> Scan<'_> {
    let mut rest = seen;
    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"SSH-2.0-") || line.starts_with(b"SSH-1.99-") {
            return Scan::Found;
        }
        if line.starts_with(b"SSH-") {
            return Scan::NotSsh2(line);
        }
        rest = &rest[end + 1..];
    }
    Scan::Incomplete
}

/// Bytes a server sent, as a message may repeat them: the first [`SHOWN_MAX_BYTES`], invalid
/// UTF-8 replaced, control characters escaped, in backquotes, `…` when cut.
fn shown(bytes: &[u8]) -> String {
    let cut = bytes.len() > SHOWN_MAX_BYTES;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN_MAX_BYTES)]);
    let more = if cut { "…" } else { "" };
    format!("`{}{more}`", crate::error::clip(&text))
}

/// `2 s`, `1.5 s`, `750 ms`: to a tenth of a second from one second up, since an allowance
/// cut short by the deadline (1983 ms) reads better as the 2 s it nearly was.
fn seconds(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis} ms");
    }
    let tenths = (millis + 50) / 100;
    match tenths % 10 {
        0 => format!("{} s", tenths / 10),
        tenth => format!("{}.{tenth} s", tenths / 10),
    }
}

#[cfg(test)]
mod tests {
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
}

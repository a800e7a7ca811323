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
mod tests;

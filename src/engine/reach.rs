//! After RUNNING: waiting until a machine is usable, i.e. its TCP ports accept a connection
//! (`--wait-port`, `--wait-ssh`).
//!
//! Only addresses the cloud reported are tried, and only when they are IP addresses: a name is
//! never resolved, so an answer cannot point cloudstart at an arbitrary host by DNS. A connection
//! is opened and closed at once; nothing is sent on it.

use std::net::IpAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::provider::Addresses;

/// How long one connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The pause between attempts.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

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

/// What `--wait-port` asks for: these ports on this kind of address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// TCP ports that must all accept a connection.
    pub ports: Vec<u16>,
    /// The address to connect to.
    pub address: AddressKind,
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
    /// The deadline passed with the port still closed.
    #[error("RUNNING, but {address} did not accept a TCP connection before the deadline ({last})")]
    Closed {
        /// `ip:port`.
        address: String,
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
    first.parse().map_err(|_| Unreachable::NotAnIp {
        kind: reach.address,
        address: crate::error::clip(first),
    })
}

/// Waits until `port` on `ip` accepts a TCP connection, trying every 500 ms with a 2 s timeout
/// per attempt, until `deadline`.
pub async fn wait_for_port(ip: IpAddr, port: u16, deadline: Instant) -> Result<(), Unreachable> {
    let target = std::net::SocketAddr::new(ip, port);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let attempt = tokio::time::timeout(
            CONNECT_TIMEOUT.min(remaining.max(Duration::from_millis(1))),
            TcpStream::connect(target),
        )
        .await;
        let last = match attempt {
            Ok(Ok(_connected)) => return Ok(()),
            Ok(Err(err)) => err.to_string(),
            Err(_) => "the connection attempt timed out".to_string(),
        };
        let next = Instant::now() + RETRY_PAUSE;
        if next >= deadline {
            return Err(Unreachable::Closed {
                address: target.to_string(),
                last,
            });
        }
        tokio::time::sleep_until(next).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(public: &[&str], private: &[&str]) -> Addresses {
        Addresses {
            public: public.iter().map(|s| s.to_string()).collect(),
            private: private.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_first_address_of_the_kind_asked_for_is_used_and_names_are_never_resolved() {
        let public = Reach {
            ports: vec![22],
            address: AddressKind::Public,
        };
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

    #[tokio::test]
    async fn an_open_port_is_reached_and_a_closed_one_times_out_naming_it() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = open.local_addr().unwrap().port();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let soon = Instant::now() + Duration::from_secs(5);
        assert_eq!(wait_for_port(ip, port, soon).await, Ok(()));
        drop(open);
        let deadline = Instant::now() + Duration::from_millis(1200);
        let err = wait_for_port(ip, port, deadline).await.unwrap_err();
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
    }
}

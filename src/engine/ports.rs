//! The port waits of a lifecycle run (`--wait-port`, `--wait-ssh`): machines handed over RUNNING
//! by the poller, or found already running, have their ports probed ([`super::reach`]) until every
//! one answers or the deadline passes; a machine whose addresses could not be read is polled again
//! first. [`Remembering`] sits between the protocol and the run's [`Events`], keeping each
//! machine's last addresses and holding back the already-running ones for their ports.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;

use futures_util::StreamExt;

use super::lifecycle::{Actor, End, Events, Plan};
use super::reach::{self, Reach};
use super::wait::{self, Acceptor, Finish, PollEvent};
use crate::provider::{Addresses, InstanceState};

/// Waits until `acceptor` accepts the machines (RUNNING) and then, machine by machine as each
/// gets there, for its ports (`--wait-port`): a machine is RUNNING only once every port accepted
/// a connection, and unreachable if one never did before the deadline. The machines that were
/// already running are checked from the start.
pub(super) async fn wait_until_reachable(
    cloud: &impl Actor,
    events: &Remembering<'_, impl Events>,
    reach: &Reach,
    acceptor: Acceptor,
    ids: impl Into<wait::Arrivals>,
    plan: &Plan,
) {
    let ids = ids.into();
    let acceptor = Acceptor {
        addresses: true,
        ..acceptor
    };
    let (found, mut running) = tokio::sync::mpsc::unbounded_channel::<InstanceState>();
    let polling = async move {
        let mut on_event = |event| match event {
            PollEvent::State(state) => events.seen(state),
            PollEvent::Finished(_, Finish::Done(state)) => {
                events.remember(&state);
                let _ = found.send(state);
            }
            PollEvent::Finished(id, finish) => events.finished(&id, End::Wait(finish)),
        };
        let jitter = &mut cloud.fork_rng();
        let (poll, deadline) = (plan.poll, plan.deadline);
        wait::wait_until(cloud, ids, acceptor, poll, deadline, jitter, &mut on_event).await;
    };
    let reaching = async {
        let mut pending: futures_util::stream::FuturesUnordered<_> = (events
            .take_already_running())
        .into_iter()
        .map(|state| reach_one(cloud, events, reach, acceptor, state, true, plan))
        .collect();
        let mut open = true;
        while open || !pending.is_empty() {
            tokio::select! {
                received = running.recv(), if open => match received {
                    Some(state) => {
                        pending.push(reach_one(cloud, events, reach, acceptor, state, false, plan));
                    }
                    None => {
                        open = false;
                        for state in events.take_already_running() {
                            pending.push(reach_one(cloud, events, reach, acceptor, state, true, plan));
                        }
                    }
                },
                // Found already running by calls still being sent while the poll began.
                () = events.held.notified() => {
                    for state in events.take_already_running() {
                        pending.push(reach_one(cloud, events, reach, acceptor, state, true, plan));
                    }
                }
                Some(()) = pending.next(), if !pending.is_empty() => {}
            }
        }
    };
    futures_util::future::join(polling, reaching).await;
}

/// Waits for every port of `reach` on the RUNNING machine `state`, then tells its end: running,
/// or `already` running. A machine whose addresses could not be read (found running by a one-off
/// describe whose address call failed) is first polled again under `acceptor`, like any other.
async fn reach_one(
    cloud: &impl Actor,
    events: &Remembering<'_, impl Events>,
    reach: &Reach,
    acceptor: Acceptor,
    mut state: InstanceState,
    already: bool,
    plan: &Plan,
) {
    let id = state.id.clone();
    if events.addresses_of(&id).is_empty() && cloud.unread_addresses(&id).is_some() {
        state = match reread_addresses(cloud, events, acceptor, &id, plan).await {
            Ok(state) => state,
            Err(finish) => return events.inner_finished(&id, End::Wait(finish)),
        };
    }
    let deadline = plan.deadline;
    let ip = match reach::address_of(reach, &events.addresses_of(&id)) {
        Ok(ip) => ip,
        Err(error) => return events.finished(&id, End::Unreachable(error)),
    };
    for &probe in &reach.probes {
        if let Err(error) = reach::wait_for(ip, probe, deadline, &reach::IN_FLIGHT).await {
            return events.finished(&id, End::Unreachable(error));
        }
        events.reachable(&id, SocketAddr::new(ip, probe.port));
    }
    let end = if already {
        End::AlreadyThere(state)
    } else {
        End::Reached(state)
    };
    events.inner_finished(&id, end);
}

/// Polls the running machine `id` until its addresses are read (`acceptor` with `addresses`),
/// within the poll budget and the deadline; the poller's end otherwise.
async fn reread_addresses(
    cloud: &impl Actor,
    events: &Remembering<'_, impl Events>,
    acceptor: Acceptor,
    id: &str,
    plan: &Plan,
) -> Result<InstanceState, Finish> {
    let mut end = None;
    let mut on_event = |event| match event {
        PollEvent::State(state) => events.seen(state),
        PollEvent::Finished(_, finish) => end = Some(finish),
    };
    let jitter = &mut cloud.fork_rng();
    let (poll, deadline) = (plan.poll, plan.deadline);
    let ids = vec![id.to_string()];
    wait::wait_until(cloud, ids, acceptor, poll, deadline, jitter, &mut on_event).await;
    match end {
        Some(Finish::Done(state)) => {
            events.remember(&state);
            Ok(state)
        }
        Some(finish) => Err(finish),
        None => Err(Finish::Timeout {
            polls: 0,
            waited: std::time::Duration::ZERO,
        }),
    }
}

/// Passes events on, remembering each machine's last reported addresses for `--wait-port`: a
/// later answer without any does not erase them. With `--wait-port` it also holds back the
/// machines found already running, whose ports are still to be checked.
pub(super) struct Remembering<'e, E> {
    inner: &'e E,
    addresses: RefCell<HashMap<String, Addresses>>,
    /// `Some` with `--wait-port`: the already-running machines held back.
    already_running: Option<RefCell<Vec<InstanceState>>>,
    /// Told when a machine is held back, so that a port wait already under way takes it.
    held: tokio::sync::Notify,
}

impl<'e, E: Events> Remembering<'e, E> {
    /// Passes events on to `inner`; `with_ports` (a port wait was asked for) keeps addresses and
    /// holds back the machines found already running.
    pub(super) fn new(inner: &'e E, with_ports: bool) -> Self {
        Self {
            inner,
            addresses: RefCell::new(HashMap::new()),
            already_running: with_ports.then(|| RefCell::new(Vec::new())),
            held: tokio::sync::Notify::new(),
        }
    }

    /// Keeps `state`'s addresses for a port wait; without one (`already_running` is `None`)
    /// nothing reads them, so a big fleet's addresses are not held twice.
    fn remember(&self, state: &InstanceState) {
        if self.already_running.is_some() && !state.addresses.is_empty() {
            (self.addresses.borrow_mut()).insert(state.id.clone(), state.addresses.clone());
        }
    }

    fn addresses_of(&self, id: &str) -> Addresses {
        self.addresses.borrow().get(id).cloned().unwrap_or_default()
    }

    /// The already-running machines held back for their ports.
    fn take_already_running(&self) -> Vec<InstanceState> {
        (self.already_running.as_ref())
            .map(|held| held.take())
            .unwrap_or_default()
    }

    /// Tells `end` to the sink, past the holding back.
    fn inner_finished(&self, id: &str, end: End) {
        if let End::Reached(state) | End::AlreadyThere(state) = &end {
            self.remember(state);
        }
        self.inner.finished(id, end);
    }
}

impl<E: Events> Events for Remembering<'_, E> {
    fn accepted(&self, ids: &[String], job_id: Option<&str>) {
        self.inner.accepted(ids, job_id);
    }

    fn seen(&self, state: InstanceState) {
        self.remember(&state);
        self.inner.seen(state);
    }

    fn reachable(&self, id: &str, address: SocketAddr) {
        self.inner.reachable(id, address);
    }

    fn finished(&self, id: &str, end: End) {
        match (end, &self.already_running) {
            (End::AlreadyThere(state), Some(held)) => {
                // Seen now, so that its record keeps its state, zone and addresses whatever
                // its ports then do.
                self.remember(&state);
                self.inner.seen(state.clone());
                held.borrow_mut().push(state);
                self.held.notify_one();
            }
            (end, _) => self.inner_finished(id, end),
        }
    }
}

//! The engine's client for one cloud, place and set of credentials: start, stop and describe
//! calls through the sender (signing, retries, rate limits), and the run's memory — what this
//! run's starts and stops said (their request ids and jobs) — which a describe's answer is read
//! against: a failed operation or job counts only if it is this run's. Deciding what to start,
//! stop or resend is [`super::lifecycle`]'s job; polling is [`super::wait`]'s.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;
use tracing::debug;

use super::retry::Effect;
use super::sender::{CallError, Failure, Sender};
use super::EngineConfig;
use crate::provider::{
    Action, ActionOptions, InstanceState, JobPhase, JobStatus, Location, Phase, Provider,
};

/// What an accepted start or stop call said.
#[derive(Debug)]
pub struct ActReply {
    /// The cloud's asynchronous job for the call, where it reports one.
    pub job_id: Option<String>,
    /// Machines the cloud refused one by one inside the accepted call.
    pub refused: HashMap<String, CallError>,
}

/// One cloud, one region, one set of credentials: sends start, stop and describe calls and reads
/// the answers against what this run did.
pub struct ApiClient<'a> {
    sender: Sender<'a>,
    provider: &'static dyn Provider,
    location: &'a Location,
    options: ActionOptions,
    /// This run's accepted starts and stops, by machine: what a describe's report of a failed
    /// operation or a failed job is compared with.
    acted: RefCell<HashMap<String, RunAction>>,
    /// The start and stop jobs' last known status and when it was asked.
    jobs: RefCell<HashMap<String, (Instant, JobStatus)>>,
    /// How one machine's lock or capacity refusal in an accepted call is waited out.
    machine_wait: MachineWait,
    /// Running machines whose addresses the last detail call failed to read, with its error.
    unread_details: RefCell<HashMap<String, CallError>>,
}

/// How a lock (or capacity refusal) reported for one machine of an accepted call is waited out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineWait {
    /// The pause between attempts (the lock's pause, `RetryConfig::busy_delay`).
    pub delay: Duration,
    /// No wait goes past this.
    pub deadline: Instant,
    /// Whether capacity refusals are waited out too (`--retry-capacity`).
    pub capacity: bool,
}

/// What this run's accepted start or stop of one machine said.
#[derive(Debug, Clone)]
struct RunAction {
    /// Start or stop.
    action: Action,
    /// The call's request id.
    request_id: Option<String>,
    /// The call's asynchronous jobs (QingCloud).
    job_ids: Vec<String>,
}

/// How often a start or stop job that is still working is asked about.
const JOB_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Most jobs one accepted call is followed by. A QingCloud call starts or stops one cluster and
/// answers one job; a list longer than this is not the cloud's usual answer, and following it
/// would spend the hourly quota on the job log. The rest are left out (the cluster's own state
/// still decides).
pub const MAX_JOBS_PER_CALL: usize = 16;

/// Most job-log calls one describe call is followed by, the stalest jobs first: the job log
/// (one job a call, as the vendor documents `jobs`) never starves the describes.
pub const JOB_CALLS_PER_DESCRIBE: usize = 2;

/// The jobs an accepted call's answer names (`job_id`, several joined with `,`): trimmed,
/// without empty ones or repeats, at most [`MAX_JOBS_PER_CALL`].
fn bounded_job_ids(job_id: Option<&str>) -> Vec<String> {
    let mut jobs: Vec<String> = Vec::new();
    for job in job_id.unwrap_or_default().split(',').map(str::trim) {
        if job.is_empty() || jobs.iter().any(|known| known == job) {
            continue;
        }
        if jobs.len() == MAX_JOBS_PER_CALL {
            debug!("following only the first {MAX_JOBS_PER_CALL} jobs of the call");
            break;
        }
        jobs.push(job.to_string());
    }
    jobs
}

impl<'a> ApiClient<'a> {
    /// A client for the cloud, place and credentials of `config`; no call may outlive its
    /// deadline.
    pub fn new(config: EngineConfig<'a>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            sender: Sender::new(&config)?,
            provider: config.provider,
            location: config.location,
            options: config.options,
            acted: RefCell::new(HashMap::new()),
            jobs: RefCell::new(HashMap::new()),
            unread_details: RefCell::new(HashMap::new()),
            machine_wait: MachineWait {
                delay: config.retry.busy_delay,
                deadline: config.deadline,
                capacity: config.retry.retry_capacity,
            },
        })
    }

    /// How a lock (or, with `--retry-capacity`, a capacity refusal) reported for one machine of
    /// an accepted call is waited out, as the sender waits out one on the whole call.
    pub fn machine_wait(&self) -> MachineWait {
        self.machine_wait
    }

    /// The provider this client speaks for.
    pub fn provider(&self) -> &'static dyn Provider {
        self.provider
    }

    /// A generator of its own for a caller's jitter (the waiter's), seeded from this client's.
    pub fn fork_rng(&self) -> fastrand::Rng {
        self.sender.fork_rng()
    }

    /// When this client's latest describe, job-log or address request left (after its rate limit
    /// and any retry pause), if one did: Zenlayer's next describe is paced from its address call.
    pub fn last_read_sent(&self) -> Option<Instant> {
        self.sender.last_read()
    }

    /// Starts or stops `ids` (one call's worth).
    ///
    /// A call that got no readable answer is ambiguous: the cloud may have acted on it. It is sent
    /// again only where the cloud de-duplicates by the call's client token (the same token on every
    /// attempt); elsewhere it fails with [`Failure::Ambiguous`] and the caller describes the
    /// machines before deciding. Every other retry is safe because a repeated start of a starting
    /// machine (or stop of a stopping one) is refused, not repeated.
    pub async fn act(&self, action: Action, ids: &[String]) -> Result<ActReply, CallError> {
        let options = ActionOptions {
            client_token: self.sender.token(),
            ..self.options.clone()
        };
        let call = self
            .provider
            .action_call(action, ids, self.location, &options);
        let name = call.action;
        let effect = Effect::Act {
            deduplicated: self.provider.spec().idempotent_actions,
            several: ids.len() > 1,
        };
        let accepted = self
            .sender
            .call(call, effect, |r| self.provider.parse_action(action, r))
            .await?;
        if let Some(request_id) = &accepted.request_id {
            debug!("{name} accepted, request id {request_id}");
        }
        let job_ids = bounded_job_ids(accepted.job_id.as_deref());
        let job_id = (!job_ids.is_empty()).then(|| job_ids.join(","));
        let run_action = RunAction {
            action,
            request_id: accepted.request_id.clone(),
            job_ids,
        };
        {
            let mut acted = self.acted.borrow_mut();
            for id in ids {
                if !accepted.refused.iter().any(|(refused, _)| refused == id) {
                    acted.insert(id.clone(), run_action.clone());
                }
            }
        }
        let refused = accepted
            .refused
            .into_iter()
            .map(|(id, err)| {
                let err = CallError {
                    action: name,
                    failure: Failure::Api(err),
                    attempts: 1,
                    elapsed: Duration::ZERO,
                };
                (id, err)
            })
            .collect();
        Ok(ActReply { job_id, refused })
    }

    /// The cloud's [`Provider::probe_call`]: `Ok` once it answered, so it accepted the
    /// credentials; the call's error (auth, transport, ...) otherwise.
    pub async fn probe(&self) -> Result<(), CallError> {
        let call = self.provider.probe_call(self.location);
        (self.sender)
            .call(call, Effect::Read, |r| self.provider.parse_describe(r))
            .await
            .map(drop)
    }

    /// The current state of `ids` (one describe call's worth), with what this run knows added:
    /// a failed start or stop the cloud reports counts only if it is this run's call, and a job
    /// of this run's that failed fails its machines at once.
    pub async fn describe(&self, ids: &[String]) -> Result<Vec<InstanceState>, CallError> {
        let call = self.provider.describe_call(ids, self.location);
        let mut states = self
            .sender
            .call(call, Effect::Read, |r| self.provider.parse_describe(r))
            .await?;
        {
            let acted = self.acted.borrow();
            for state in &mut states {
                let Some(failed) = state.failed_operation.take() else {
                    continue;
                };
                let ours = acted.get(&state.id).filter(|run| {
                    run.request_id.as_deref() == Some(failed.as_str())
                        && state.phase != run.action.target()
                });
                if ours.is_some() {
                    state.phase = Phase::Failed;
                } else {
                    // An older call's failure: not this run's, and not a reason.
                    debug!(
                        "{}: ignoring the failed operation {failed} of an earlier run",
                        state.id
                    );
                    state.detail = None;
                }
            }
        }
        self.apply_jobs(&mut states).await;
        self.apply_details(&mut states).await;
        Ok(states)
    }

    /// Fills in the addresses (and zone) of running machines the describe reported no address
    /// for, on clouds that report them through another call (Zenlayer): one call for the whole
    /// batch. They are details of the report, so a call that fails is logged and leaves them
    /// empty, remembered as unread ([`Self::unread_addresses`]); it never fails a machine.
    async fn apply_details(&self, states: &mut [InstanceState]) {
        let wanted =
            |state: &InstanceState| state.phase == Phase::Running && state.addresses.is_empty();
        let ids: Vec<String> = (states.iter().filter(|s| wanted(s)))
            .map(|state| state.id.clone())
            .collect();
        if ids.is_empty() {
            return;
        }
        let Some(call) = self.provider.detail_call(&ids, self.location) else {
            return;
        };
        let found = self
            .sender
            .call(call, Effect::Detail, |r| self.provider.parse_details(r))
            .await;
        let mut unread = self.unread_details.borrow_mut();
        match found {
            Ok(found) => {
                for id in &ids {
                    unread.remove(id);
                }
                for detail in found {
                    if let Some(state) = states.iter_mut().find(|s| s.id == detail.id && wanted(s))
                    {
                        state.addresses = detail.addresses;
                        state.zone = state.zone.take().or(detail.zone);
                    }
                }
            }
            Err(err) => {
                debug!(
                    "cannot read the addresses of {} running machine{}: {err}",
                    ids.len(),
                    if ids.len() == 1 { "" } else { "s" }
                );
                for id in ids {
                    unread.insert(id, err.clone());
                }
            }
        }
    }

    /// Why the addresses of the running machine `id` could not be read with its last describe,
    /// if the detail call failed: a `--wait-port` describes it again rather than finding it
    /// without an address.
    pub fn unread_addresses(&self, id: &str) -> Option<CallError> {
        self.unread_details.borrow().get(id).cloned()
    }

    /// Fails the machines whose start or stop job failed. A job is asked about at most every
    /// [`JOB_POLL_INTERVAL`] and not again once it has ended, and a describe is followed by at
    /// most [`JOB_CALLS_PER_DESCRIBE`] job calls; a job call that fails is logged and left to the
    /// next round, since the machines' own states still decide.
    async fn apply_jobs(&self, states: &mut [InstanceState]) {
        // A machine is still open while it is neither failed nor where this run's call drives it.
        let open = |acted: &HashMap<String, RunAction>, state: &InstanceState| {
            let target = acted.get(&state.id).map(|run| run.action.target());
            state.phase != Phase::Failed && Some(state.phase) != target
        };
        let wanted: Vec<String> = {
            let acted = self.acted.borrow();
            let mut jobs: Vec<String> = (states.iter().filter(|s| open(&acted, s)))
                .filter_map(|state| acted.get(&state.id))
                .flat_map(|run| run.job_ids.iter().cloned())
                .collect();
            jobs.sort();
            jobs.dedup();
            jobs
        };
        // Jobs due to be asked about, the least recently asked first, and only a few of them:
        // the others wait for the next describe.
        let mut due: Vec<(Option<Instant>, String)> = {
            let jobs = self.jobs.borrow();
            (wanted.iter())
                .filter_map(|job_id| match jobs.get(job_id) {
                    Some((_, status)) if status.phase != JobPhase::Working => None,
                    Some((asked, _)) if asked.elapsed() < JOB_POLL_INTERVAL => None,
                    Some((asked, _)) => Some((Some(*asked), job_id.clone())),
                    None => Some((None, job_id.clone())),
                })
                .collect()
        };
        due.sort();
        due.truncate(JOB_CALLS_PER_DESCRIBE);
        for job_id in wanted {
            let asking = due.iter().any(|(_, due)| *due == job_id);
            let status = if asking {
                self.job(&job_id).await
            } else {
                self.jobs.borrow().get(&job_id).map(|(_, s)| s.clone())
            };
            let Some(status) = status.filter(|s| s.phase == JobPhase::Failed) else {
                continue;
            };
            let acted = self.acted.borrow();
            for state in states.iter_mut() {
                let Some(run) = acted.get(&state.id) else {
                    continue;
                };
                if open(&acted, state) && run.job_ids.contains(&job_id) {
                    state.phase = Phase::Failed;
                    state.failure_code = Some(
                        status
                            .error_code
                            .clone()
                            .unwrap_or_else(|| status.raw.clone()),
                    );
                    state.detail = Some(format!(
                        "the {} job {job_id} {}",
                        run.action.name(),
                        status.raw
                    ));
                }
            }
        }
    }

    /// Job-log calls a poll round of `describes` describe calls may add: one per open job, at
    /// most [`JOB_CALLS_PER_DESCRIBE`] per describe.
    pub fn job_calls(&self, describes: usize) -> usize {
        self.open_jobs()
            .min(describes.saturating_mul(JOB_CALLS_PER_DESCRIBE))
    }

    /// Start and stop jobs still worth asking about: known to this run and not ended.
    pub fn open_jobs(&self) -> usize {
        let jobs = self.jobs.borrow();
        let acted = self.acted.borrow();
        let open: HashSet<&String> = (acted.values())
            .flat_map(|start| start.job_ids.iter())
            .filter(|job| {
                !jobs
                    .get(*job)
                    .is_some_and(|(_, s)| s.phase != JobPhase::Working)
            })
            .collect();
        open.len()
    }

    /// Asks the cloud about job `job_id` and remembers the answer. A job the cloud does
    /// not list, or cannot be asked about, counts as still working until it is asked again.
    async fn job(&self, job_id: &str) -> Option<JobStatus> {
        let call = self.provider.job_call(job_id, self.location)?;
        let answer = self
            .sender
            .call(call, Effect::Read, |r| self.provider.parse_job(r))
            .await;
        let status = match answer {
            Ok(jobs) => jobs.into_iter().find(|job| job.job_id == job_id),
            Err(err) => {
                debug!("cannot read job {job_id}: {err}");
                None
            }
        };
        let remembered = status.clone().unwrap_or_else(|| JobStatus {
            job_id: job_id.to_string(),
            phase: JobPhase::Working,
            raw: "unknown".into(),
            error_code: None,
        });
        self.jobs
            .borrow_mut()
            .insert(job_id.to_string(), (Instant::now(), remembered));
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::{CredentialOrigin, Credentials};
    use crate::engine::{Endpoint, RetryConfig};
    use crate::error::ErrorKind;
    use chrono::{DateTime, Utc};

    /// The retry loop against the simulator, in this runtime on 127.0.0.1:0. Real sockets, so
    /// real time: the delays are a few milliseconds and nothing asserts how long anything took.
    mod against_the_simulator {
        use std::collections::HashMap;

        use super::*;
        use crate::engine::{system_clock, Clock, Network};
        use crate::sim::{self, FaultPlan, FaultSpec, SeedMachine, SimConfig};

        /// What a client for one of the simulator's clouds borrows.
        struct Cloud {
            provider: &'static dyn Provider,
            credentials: Credentials,
            origin: CredentialOrigin,
            location: Location,
            endpoint: Endpoint,
            network: Network,
            /// Machine number 1, alone.
            ids: Vec<String>,
        }

        impl Cloud {
            fn client(&self, clock: Clock, deadline: Duration) -> ApiClient<'_> {
                self.client_with(clock, deadline, false)
            }

            /// A client that waits out capacity refusals when `retry_capacity`.
            fn client_with(
                &self,
                clock: Clock,
                deadline: Duration,
                retry_capacity: bool,
            ) -> ApiClient<'_> {
                ApiClient::new(EngineConfig {
                    provider: self.provider,
                    credentials: &self.credentials,
                    credentials_origin: &self.origin,
                    location: &self.location,
                    endpoint: &self.endpoint,
                    retry: RetryConfig {
                        max_retries: 4,
                        base_delay: Duration::from_millis(1),
                        max_delay: Duration::from_millis(5),
                        request_timeout: Duration::from_secs(10),
                        busy_delay: Duration::from_millis(5),
                        retry_capacity,
                    },
                    network: &self.network,
                    options: ActionOptions::default(),
                    deadline: Instant::now() + deadline,
                    clock,
                    seed: Some(7),
                })
                .unwrap()
            }
        }

        /// `cloud`'s dialect with `faults`, and its machine number 1 seeded as `state`.
        async fn simulate(cloud: &str, faults: &[&str], state: Option<&str>) -> Cloud {
            let machine = SeedMachine {
                state: state.map(str::to_string),
                ..SeedMachine::default()
            };
            simulate_seeded(cloud, faults, machine).await
        }

        /// `cloud`'s dialect with `faults`, and its machine number 1 seeded as `machine`.
        async fn simulate_seeded(cloud: &str, faults: &[&str], machine: SeedMachine) -> Cloud {
            let profile = sim::profiles().find(|p| p.provider == cloud).unwrap();
            let id = (profile.example_id)(1);
            let seed = HashMap::from([(cloud.to_string(), HashMap::from([(id.clone(), machine)]))]);
            let faults = FaultPlan {
                specs: faults
                    .iter()
                    .map(|f| f.parse::<FaultSpec>().unwrap())
                    .collect(),
                ..FaultPlan::default()
            };
            let simulator = sim::spawn(SimConfig {
                listen: ([127, 0, 0, 1], 0).into(),
                boot_delay: Duration::ZERO,
                stop_delay: Duration::ZERO,
                seed,
                log: None,
                faults,
            })
            .await
            .unwrap();
            let provider = crate::provider::find(cloud).unwrap();
            let credentials = (provider.spec().credentials)
                .resolve(cloud, &|var| profile.credential(var))
                .unwrap();
            Cloud {
                provider,
                credentials,
                origin: CredentialOrigin::default(),
                location: Location {
                    region: profile.region.map(str::to_string),
                    zone: profile.zone.map(str::to_string),
                },
                endpoint: Endpoint::parse(&simulator.url(cloud).unwrap()).unwrap(),
                network: Network::default(),
                ids: vec![id],
            }
        }

        #[tokio::test]
        async fn a_5xx_is_retried_until_the_start_is_accepted() {
            let cloud = simulate("tencent", &["http503:2@start"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let reply = client.act(Action::Start, &cloud.ids).await.unwrap();
            assert!(reply.refused.is_empty());
        }

        #[tokio::test]
        async fn a_5xx_that_outlasts_the_retries_fails_naming_the_attempts() {
            let cloud = simulate("tencent", &["http503:5@start"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let err = client.act(Action::Start, &cloud.ids).await.unwrap_err();
            assert_eq!(err.attempts, 5, "{err}");
            assert_eq!(err.kind(), ErrorKind::Transport);
            assert!(err.message().contains("failed after 5 attempts"), "{err}");
        }

        #[tokio::test]
        async fn an_unanswered_start_is_not_resent_where_the_cloud_does_not_deduplicate() {
            let cloud = simulate("tencent", &["drop:1@start"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let err = client.act(Action::Start, &cloud.ids).await.unwrap_err();
            assert!(err.is_ambiguous(), "{err}");
            assert_eq!(err.attempts, 1);
        }

        #[tokio::test]
        async fn an_unanswered_start_is_resent_where_the_cloud_deduplicates_it() {
            let cloud = simulate("volcengine", &["drop:1@start"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let reply = client.act(Action::Start, &cloud.ids).await.unwrap();
            assert!(reply.refused.is_empty());
        }

        #[tokio::test]
        async fn a_describe_that_lost_its_answer_is_simply_sent_again() {
            let cloud = simulate("tencent", &["drop:2@describe"], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let states = client.describe(&cloud.ids).await.unwrap();
            assert_eq!(states[0].phase, Phase::Stopped);
        }

        #[tokio::test]
        async fn a_clock_twenty_minutes_slow_is_measured_and_the_call_signed_again() {
            fn slow() -> DateTime<Utc> {
                Utc::now() - chrono::TimeDelta::minutes(20)
            }
            let cloud = simulate("tencent", &[], None).await;
            let client = cloud.client(slow, Duration::from_secs(30));
            let states = client.describe(&cloud.ids).await.unwrap();
            assert_eq!(states[0].phase, Phase::Stopped);
            let offset = client.sender.clock_offset.get().unwrap();
            assert!(offset > chrono::TimeDelta::minutes(19), "{offset}");
        }

        #[tokio::test]
        async fn a_capacity_refusal_is_final_unless_waited_out_and_then_says_how_often_it_came() {
            let sold_out = SeedMachine {
                start_error: Some("Insufficient.InstanceCapacity".into()),
                ..SeedMachine::default()
            };
            let cloud = simulate_seeded("volcengine", &[], sold_out).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            let err = client.act(Action::Start, &cloud.ids).await.unwrap_err();
            assert_eq!((err.kind(), err.attempts), (ErrorKind::Api, 1), "{err}");
            assert!(!err.message().contains("capacity"), "{err}");
            let client = cloud.client_with(system_clock, Duration::from_millis(300), true);
            let err = client.act(Action::Start, &cloud.ids).await.unwrap_err();
            // Still the cloud's refusal (exit 4), after as many attempts as the deadline allowed.
            assert_eq!(err.kind(), ErrorKind::Api, "{err}");
            let message = err.message();
            let (_, said) = message.split_once("; refused for capacity ").unwrap();
            let times: u32 = said.split(' ').next().unwrap().parse().unwrap();
            assert!(times > 1 && said.contains(" times in "), "{err}");
            assert!(!err.message().contains("failed after"), "{err}");
        }

        #[tokio::test]
        async fn an_operation_lock_is_waited_out_until_the_deadline() {
            let cloud = simulate("compshare", &[], Some("Rebooting")).await;
            let client = cloud.client(system_clock, Duration::from_millis(300));
            let err = client.act(Action::Start, &cloud.ids).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
            // Sent again and again while the lock lasted, never given up on as a refusal.
            assert!(err.attempts > 1, "{err}");
        }

        #[tokio::test]
        async fn a_start_answer_with_500_jobs_leaves_the_cluster_list_unstarved() {
            let cloud = simulate("qingcloud", &[], None).await;
            let client = cloud.client(system_clock, Duration::from_secs(30));
            client.act(Action::Start, &cloud.ids).await.unwrap();
            // The hostile answer's 500 jobs, as a parser that did not bound them would leave them.
            let hostile: Vec<String> = (0..500).map(|n| format!("j-{n:08}")).collect();
            for run in client.acted.borrow_mut().values_mut() {
                run.job_ids = hostile.clone();
            }
            for round in 1..=3 {
                let states = client.describe(&cloud.ids).await.unwrap();
                assert_eq!(states.len(), 1, "the cluster list is answered");
                assert!(client.jobs.borrow().len() <= round * JOB_CALLS_PER_DESCRIBE);
            }
            // A poll round over one cluster is one describe and at most two job calls.
            assert_eq!(client.job_calls(1), JOB_CALLS_PER_DESCRIBE);
        }
    }

    #[test]
    fn job_ids_are_deduplicated_without_empty_ones_and_capped() {
        use crate::provider::qingcloud::QingcloudEhpc;
        use crate::provider::HttpResponse;
        // A start answer carrying 500 job ids, each twice, and empty ones between.
        let ids: Vec<String> = (0..500)
            .flat_map(|n| {
                [
                    format!("\"j-{n:08}\""),
                    format!("\"j-{n:08}\""),
                    "\"\"".into(),
                ]
            })
            .collect();
        let body = format!(r#"{{"ret_code":0,"job_ids":[{}]}}"#, ids.join(","));
        let accepted = QingcloudEhpc
            .parse_action(Action::Start, &HttpResponse::new(200, &body))
            .unwrap();
        let jobs = bounded_job_ids(accepted.job_id.as_deref());
        assert_eq!(jobs.len(), MAX_JOBS_PER_CALL);
        assert_eq!(jobs[0], "j-00000000");
        assert_eq!(jobs[1], "j-00000001");
        assert!(jobs.iter().all(|job| !job.is_empty()));
        assert_eq!(bounded_job_ids(Some(",, ,")), Vec::<String>::new());
        assert_eq!(bounded_job_ids(None), Vec::<String>::new());
    }
}

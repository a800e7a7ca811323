//! `cloudstart status`: each machine's current state, through the same describe calls `start`
//! polls with — batched, rate-limited and retried the same way. Nothing is started.
//!
//! Interrupts are handled as in `start`: the first Ctrl-C, SIGTERM or SIGHUP stops the look and
//! reports every machine not yet seen as `interrupted` (exit 130); a second one quits at once.

use std::cell::RefCell;

use futures_util::future::join_all;
use tokio::time::Instant;
use tracing::warn;

use super::interrupt::{exit_on_second_interrupt, interrupted};
use super::tracker::record_call_error;
use crate::engine::ApiClient;
use crate::error::{Error, ErrorKind};
use crate::output::{ErrorRecord, Outcome, Record, Report, Task};
use crate::provider::InstanceState;
use crate::settings::GroupSettings;

/// Looks at every group's machines at once; a machine the cloud does not list is not found
/// (exit 4).
pub(super) async fn run(groups: &[GroupSettings]) -> Result<Report, Error> {
    let started = Instant::now();
    let looks = groups
        .iter()
        .map(|settings| {
            let client = ApiClient::new(settings.engine(started + settings.timeout))
                .map_err(|err| Error::internal(format!("cannot set up the HTTP client: {err}")))?;
            Ok(Look::new(settings, client))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let was_interrupted = tokio::select! {
        _ = join_all(looks.iter().map(Look::observe)) => false,
        () = interrupted() => true,
    };
    if was_interrupted {
        exit_on_second_interrupt();
        warn!("interrupted: stopping and reporting what was seen (interrupt again to quit now)");
    }
    let mut report = Report::merge(Task::Status, looks.iter().map(Look::report).collect());
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// One group's look: its client and each machine's record as soon as it is known.
struct Look<'s> {
    settings: &'s GroupSettings,
    client: ApiClient<'s>,
    records: RefCell<Vec<Option<Record>>>,
}

impl<'s> Look<'s> {
    fn new(settings: &'s GroupSettings, client: ApiClient<'s>) -> Self {
        Self {
            settings,
            client,
            records: RefCell::new(vec![None; settings.ids.len()]),
        }
    }

    /// Describes the machines batch by batch, recording each batch's answer as it comes, so an
    /// interrupt keeps what was already seen. A describe that still fails after its retries
    /// fails every machine not yet seen.
    async fn observe(&self) {
        let ids = &self.settings.ids;
        let batch = self.client.provider().spec().describe_batch.max(1);
        for (n, chunk) in ids.chunks(batch).enumerate() {
            let first = n * batch;
            match self.client.describe(chunk).await {
                Ok(states) => {
                    let mut records = self.records.borrow_mut();
                    for (i, id) in chunk.iter().enumerate() {
                        let state = states.iter().find(|s| &s.id == id);
                        records[first + i] = Some(match state {
                            Some(state) => self.record(id, Outcome::Observed, Some(state), None),
                            None => self.not_listed(id),
                        });
                    }
                }
                Err(err) => {
                    let error = record_call_error(&err);
                    let mut records = self.records.borrow_mut();
                    for (i, id) in ids.iter().enumerate().skip(first) {
                        records[i] =
                            Some(self.record(id, Outcome::Failed, None, Some(error.clone())));
                    }
                    return;
                }
            }
        }
    }

    /// Every machine's record; one not yet seen was cut off by an interrupt.
    fn report(&self) -> Report {
        let records = self.records.borrow();
        let instances = (self.settings.ids.iter().zip(records.iter()))
            .map(|(id, record)| match record {
                Some(record) => record.clone(),
                None => {
                    let error = ErrorRecord {
                        kind: ErrorKind::Interrupted,
                        code: None,
                        message: "interrupted before the machine's state was read".into(),
                        request_id: None,
                    };
                    self.record(id, Outcome::Interrupted, None, Some(error))
                }
            })
            .collect();
        Report {
            instances,
            ..Report::new(Task::Status)
        }
    }

    fn not_listed(&self, id: &str) -> Record {
        let error = ErrorRecord {
            kind: ErrorKind::Api,
            code: None,
            message: format!(
                "{} does not list this machine",
                self.settings.provider.name()
            ),
            request_id: None,
        };
        self.record(id, Outcome::Failed, None, Some(error))
    }

    fn record(
        &self,
        id: &str,
        outcome: Outcome,
        state: Option<&InstanceState>,
        error: Option<ErrorRecord>,
    ) -> Record {
        Record {
            provider: self.settings.provider.name(),
            region: self.settings.location.region.clone(),
            zone: (state.and_then(|s| s.zone.clone()))
                .or_else(|| self.settings.location.zone.clone()),
            id: id.to_string(),
            outcome,
            state: state.map(|s| s.raw.clone()),
            job_id: None,
            addresses: state.map(|s| s.addresses.clone()).unwrap_or_default(),
            error,
        }
    }
}

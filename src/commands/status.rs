//! `cloudstart status`: each machine's current state, through the same describe calls `start`
//! polls with — batched, rate-limited and retried the same way. Nothing is started.

use futures_util::future::join_all;
use tokio::time::Instant;

use super::start::{describe_all, record_call_error};
use crate::error::{Error, ErrorKind};
use crate::http::ApiClient;
use crate::output::{ErrorRecord, Outcome, Record, Report, SCHEMA_VERSION};
use crate::settings::StartSettings;

/// Looks at every group's machines at once; a machine the cloud does not list is not found
/// (exit 4).
pub(super) async fn run(groups: &[StartSettings]) -> Result<Report, Error> {
    let started = Instant::now();
    let reports = join_all(groups.iter().map(|settings| observe(settings, started))).await;
    let mut report = Report::merge(reports.into_iter().collect::<Result<Vec<_>, _>>()?);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

async fn observe(settings: &StartSettings, started: Instant) -> Result<Report, Error> {
    let client = ApiClient::new(settings, started + settings.timeout)
        .map_err(|err| Error::internal(format!("cannot set up the HTTP client: {err}")))?;
    let record = |id: &str, outcome, state, error| Record {
        provider: settings.provider.name(),
        region: settings.location.region.clone(),
        id: id.to_string(),
        outcome,
        state,
        job_id: None,
        error,
    };
    let instances = match describe_all(&client, &settings.ids).await {
        Ok(states) => settings
            .ids
            .iter()
            .map(|id| match states.get(id) {
                Some(state) => record(id, Outcome::Observed, Some(state.raw.clone()), None),
                None => {
                    let error = ErrorRecord {
                        kind: ErrorKind::Api,
                        code: None,
                        message: format!("{} does not list this machine", settings.provider.name()),
                        request_id: None,
                    };
                    record(id, Outcome::Failed, None, Some(error))
                }
            })
            .collect(),
        Err(err) => settings
            .ids
            .iter()
            .map(|id| record(id, Outcome::Failed, None, Some(record_call_error(&err))))
            .collect(),
    };
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        elapsed_ms: 0,
        instances,
    })
}

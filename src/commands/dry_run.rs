//! `cloudstart start --dry-run` and `stop --dry-run`: every start (stop) request exactly as it would
//! be sent — method, URL, headers and body, signed with the resolved credentials — with secrets and
//! signatures redacted.
//! Nothing is sent. The requests are built and redacted here and printed by
//! [`crate::output::dry_run`].

use chrono::Utc;

use tracing::error;

use crate::error::{Error, ErrorKind};
use crate::output::dry_run::{self as shown, PlannedRequest};
use crate::provider::{Action, ActionOptions, SignedRequest};
use crate::settings::Plan;

/// What stands in for a secret or a signature.
const REDACTED: &str = "(redacted)";

/// Prints the plan's `action` requests and, on one `error:` line each, every problem that set
/// targets aside (their requests cannot be built or signed; the others are still shown); exit
/// code 0, else the most severe problem's.
pub(super) fn run(plan: &Plan, action: Action) -> Result<u8, Error> {
    let refused = (plan.unready.iter())
        .map(|group| {
            error!("{}", group.error);
            group.error.kind()
        })
        .reduce(ErrorKind::most_severe);
    let mut requests = Vec::new();
    for settings in &plan.groups {
        let provider = settings.provider;
        for batch in settings.ids.chunks(provider.spec().action_batch) {
            let options = ActionOptions {
                client_token: format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)),
                ..settings.options.clone()
            };
            let call = provider.action_call(action, batch, &settings.location, &options);
            let signed = provider.sign(
                &call,
                settings.endpoint.host(),
                &settings.location,
                &settings.credentials,
                Utc::now(),
            );
            requests.push(PlannedRequest {
                provider: provider.name(),
                region: settings.location.region.clone(),
                zone: settings.location.zone.clone(),
                action: call.action,
                ids: batch.to_vec(),
                method: signed.method.as_str().to_string(),
                url: format!(
                    "{}{}",
                    settings.endpoint.base(),
                    redact_params(&signed.path_and_query)
                ),
                headers: redacted_headers(&signed),
                body: redact_params(&String::from_utf8_lossy(&signed.body)),
            });
        }
    }
    shown::print(&requests, plan.output)?;
    Ok(refused.map_or(0, ErrorKind::exit_code))
}

fn redacted_headers(signed: &SignedRequest) -> Vec<[String; 2]> {
    signed
        .headers
        .iter()
        .map(|h| {
            let value = if h.sensitive {
                REDACTED.to_string()
            } else {
                h.value.clone()
            };
            [h.name.clone(), value]
        })
        .collect()
}

/// `name=value` pairs (a query string, with or without its path, or a form body) with the
/// values of signature parameters redacted; anything else is left as it is.
fn redact_params(text: &str) -> String {
    let (head, query) = match text.split_once('?') {
        Some((path, query)) => (format!("{path}?"), query),
        None if text.contains('=') && !text.trim_start().starts_with('{') => (String::new(), text),
        None => return text.to_string(),
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("signature") => {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{head}{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_parameters_are_redacted_in_queries_and_forms() {
        assert_eq!(
            redact_params("/api/x/?a=1&signature=c2ln%253D&b=2"),
            "/api/x/?a=1&signature=(redacted)&b=2"
        );
        assert_eq!(
            redact_params("Action=Start&PublicKey=pk&Signature=0123abcd"),
            "Action=Start&PublicKey=pk&Signature=(redacted)"
        );
        assert_eq!(
            redact_params(r#"{"InstanceIds":["a=b"]}"#),
            r#"{"InstanceIds":["a=b"]}"#
        );
        assert_eq!(redact_params("/"), "/");
    }
}

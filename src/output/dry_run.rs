//! What `cloudstart start --dry-run` (and `stop --dry-run`) prints: each start (stop) request as it
//! would be sent, built (and redacted) by the command, rendered here as text for people or one JSON
//! document.

use std::io::Write;

use serde::Serialize;

use super::{write_stdout, OutputFormat, SCHEMA_VERSION};
use crate::error::Error;

/// One start or stop request that a dry run does not send, secrets and signatures already redacted.
///
/// The fields are in alphabetical order, the order the JSON document has always had.
#[derive(Debug, Serialize)]
pub struct PlannedRequest {
    /// The cloud's action name (`StartInstances`).
    pub action: &'static str,
    /// The body as text.
    pub body: String,
    /// Each header as `[name, value]`, in the order sent.
    pub headers: Vec<[String; 2]>,
    /// The machines this call would start or stop.
    pub ids: Vec<String>,
    /// The HTTP method.
    pub method: String,
    /// The `--provider` value.
    pub provider: &'static str,
    /// The region, for clouds that have one.
    pub region: Option<String>,
    /// The whole URL, query included.
    pub url: String,
    /// The zone, for clouds that take one.
    pub zone: Option<String>,
}

#[derive(Serialize)]
struct DryRun<'a> {
    dry_run: bool,
    requests: &'a [PlannedRequest],
    schema_version: u32,
}

/// Writes `requests` to stdout: `-o text` as annotated HTTP requests, otherwise one JSON document
/// `{"dry_run": true, "requests": [...], "schema_version": 1}` (README: "Dry run").
pub fn print(requests: &[PlannedRequest], format: OutputFormat) -> Result<(), Error> {
    let mut out = Vec::new();
    match format {
        OutputFormat::Json | OutputFormat::Ndjson => {
            let document = DryRun {
                dry_run: true,
                requests,
                schema_version: SCHEMA_VERSION,
            };
            serde_json::to_writer(&mut out, &document)
                .map_err(|err| Error::internal(format!("cannot render the dry run: {err}")))?;
            out.push(b'\n');
        }
        OutputFormat::Text => {
            for request in requests {
                write_text(&mut out, request)
                    .map_err(|err| Error::internal(format!("cannot render the dry run: {err}")))?;
            }
        }
    }
    write_stdout(&out)
}

fn write_text(out: &mut impl Write, request: &PlannedRequest) -> std::io::Result<()> {
    let place: Vec<&str> = [&request.region, &request.zone]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .filter(|v| !v.is_empty())
        .collect();
    writeln!(
        out,
        "# {} {}: {} for {} machine(s), not sent",
        request.provider,
        place.join(" "),
        request.action,
        request.ids.len()
    )?;
    writeln!(out, "{} {}", request.method, request.url)?;
    for [name, value] in &request.headers {
        writeln!(out, "{name}: {value}")?;
    }
    writeln!(out)?;
    writeln!(out, "{}", request.body)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> PlannedRequest {
        PlannedRequest {
            action: "StartInstances",
            body: "{}".into(),
            headers: vec![["Authorization".into(), "(redacted)".into()]],
            ids: vec!["ins-aaaaaaaa".into()],
            method: "POST".into(),
            provider: "tencent",
            region: Some("ap-guangzhou".into()),
            url: "https://cvm.tencentcloudapi.com/".into(),
            zone: None,
        }
    }

    #[test]
    fn text_is_an_annotated_http_request() {
        let mut out = Vec::new();
        write_text(&mut out, &request()).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "# tencent ap-guangzhou: StartInstances for 1 machine(s), not sent\n\
             POST https://cvm.tencentcloudapi.com/\n\
             Authorization: (redacted)\n\n{}\n\n"
        );
    }

    #[test]
    fn json_keys_keep_their_alphabetical_order() {
        let json = serde_json::to_string(&request()).unwrap();
        let keys = [
            "action", "body", "headers", "ids", "method", "provider", "region", "url",
        ];
        let positions: Vec<usize> = keys.iter().map(|k| json.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
    }
}

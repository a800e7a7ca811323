//! The run's network settings: `--proxy` and the proxy variables reqwest reads by itself
//! (http or https only, checked before any request), and `--ca-bundle` (or `SSL_CERT_FILE`), extra
//! trusted roots read under the [`super::files`] rules. The result is one [`Network`] for every
//! group of the run; each group only adds whether its endpoint uses TLS.

use std::path::PathBuf;

use super::defaults::DEFAULT_TIMEOUT;
use super::files;
use super::flags::{PlaceFlags, TargetFlags};
use crate::engine::Network;
use crate::env_vars::EnvVars;
use crate::error::Error;
use crate::output::OutputFormat;

/// The proxy variables reqwest reads by itself, in the order it prefers them.
const PROXY_VARIABLES: [&str; 6] = [
    EnvVars::HTTPS_PROXY,
    "https_proxy",
    EnvVars::HTTP_PROXY,
    "http_proxy",
    EnvVars::ALL_PROXY,
    "all_proxy",
];

/// Checks a proxy URL given as `origin` (a flag or a variable): http or https only — SOCKS is
/// refused here rather than failing every request later. Errors never show the URL's password.
fn proxy_url(origin: &str, value: &str) -> Result<reqwest::Url, Error> {
    let invalid = |why: &str| {
        Error::usage(format!(
            "invalid {origin} `{}`: {why}",
            crate::error::clip_url(value)
        ))
    };
    let url = reqwest::Url::parse(value)
        .map_err(|_| invalid("expected a URL such as http://proxy:3128"))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        "http" | "https" => Err(invalid("no host")),
        scheme if scheme.starts_with("socks") => Err(invalid(
            "SOCKS proxies are not supported; use an HTTP or HTTPS proxy",
        )),
        _ => Err(invalid("expected a URL such as http://proxy:3128")),
    }
}

/// `host:port (origin)` of a proxy URL, for messages.
fn proxy_label(url: &reqwest::Url, origin: &str) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("proxy {host}:{port} ({origin})"),
        None => format!("proxy {host} ({origin})"),
    }
}

/// Reads `--proxy` and `--ca-bundle`; either being unusable is a usage error.
pub(super) fn resolve_network(
    args: &TargetFlags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Network, Error> {
    let mut proxy_name = None;
    let proxy = match &args.proxy {
        None => None,
        Some(value) => {
            let url = proxy_url("--proxy", value)?;
            proxy_name = Some(proxy_label(&url, "--proxy"));
            let proxy = reqwest::Proxy::all(url).map_err(|_| {
                Error::usage(format!(
                    "invalid --proxy `{}`",
                    crate::error::clip_url(value)
                ))
            })?;
            Some(proxy)
        }
    };
    // reqwest reads these itself and skips a malformed one silently, sending requests direct:
    // check them first. An empty variable counts as unset.
    let mut proxy_set = false;
    for var in PROXY_VARIABLES {
        if let Some(value) = env(var).filter(|v| !v.trim().is_empty()) {
            let url = proxy_url(var, &value)?;
            proxy_set = true;
            if proxy_name.is_none() {
                proxy_name = Some(proxy_label(&url, var));
            }
        }
    }
    let extra_roots = match &args.ca_bundle {
        None => Vec::new(),
        Some(path) => {
            // clap fills --ca-bundle from SSL_CERT_FILE: a stale variable, set for another tool
            // long ago, is named so the person knows what to fix.
            let from_var = env(EnvVars::SSL_CERT_FILE)
                .is_some_and(|value| std::path::Path::new(&value) == path.as_path());
            let (named, fix) = if from_var {
                (
                    " named by SSL_CERT_FILE",
                    "; point SSL_CERT_FILE at a PEM file of CA certificates, or unset it",
                )
            } else {
                ("", "")
            };
            let pem = files::read_local_file(path, "CA bundle").map_err(|err| {
                Error::usage(format!(
                    "cannot read the CA bundle {}{named}: {}{fix}",
                    err.path.display(),
                    err.problem
                ))
            })?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|roots| !roots.is_empty())
                .ok_or_else(|| {
                    Error::usage(format!(
                        "the CA bundle {}{named} holds no PEM certificates{fix}",
                        path.display()
                    ))
                })?;
            roots
        }
    };
    let may_use_tls = proxy.is_some() || proxy_set;
    Ok(Network {
        proxy,
        extra_roots,
        may_use_tls,
        proxy_name,
    })
}

/// The proxy and CA variables alone, for `config check --online`, which has no such flags.
pub fn network_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Network, Error> {
    let flags = TargetFlags {
        provider: None,
        targets_file: None,
        place: PlaceFlags::default(),
        timeout: DEFAULT_TIMEOUT,
        proxy: None,
        ca_bundle: env(EnvVars::SSL_CERT_FILE).map(PathBuf::from),
        output: OutputFormat::Text,
        targets: Vec::new(),
    };
    resolve_network(&flags, env)
}

//! Errors, their kinds, and the kind → exit code table.
//!
//! Every failure — of the whole run or of one target — carries an [`ErrorKind`] named by who must act.
//! The kind decides the exit code; with several targets the most severe kind wins, by the order of
//! [`ErrorKind::SEVERITY`]. The report shows the same kind in `error.kind`.

use serde::Serialize;

/// Who must act on a failure; decides the exit code and the report's `error.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The caller: a bad flag, id, region, endpoint or config (exit 2).
    Usage,
    /// The caller's credentials: missing, unknown, wrong, or signed with a skewed clock (exit 3).
    Auth,
    /// The cloud refused: not found, wrong state, quota, capacity, balance (exit 4).
    Api,
    /// The network or the cloud's availability: still failing after retries (exit 5).
    Transport,
    /// The deadline passed before the machine was RUNNING (exit 6).
    Timeout,
    /// The machine entered a failure state (exit 7).
    FailedState,
    /// A bug in cloudstart (exit 1).
    Internal,
    /// The user interrupted the run (exit 130).
    Interrupted,
}

impl ErrorKind {
    /// Kinds from most to least severe: a run with several failed targets exits with the code of
    /// the first kind here that any target has. Interrupts win because the user asked to stop; bugs
    /// next; then what blocks every target (usage, credentials); then damage (a failure state);
    /// then refusals, then conditions that may clear by themselves (network, timeout).
    pub const SEVERITY: [ErrorKind; 8] = [
        ErrorKind::Interrupted,
        ErrorKind::Internal,
        ErrorKind::Usage,
        ErrorKind::Auth,
        ErrorKind::FailedState,
        ErrorKind::Api,
        ErrorKind::Transport,
        ErrorKind::Timeout,
    ];

    /// The process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Internal => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Auth => 3,
            ErrorKind::Api => 4,
            ErrorKind::Transport => 5,
            ErrorKind::Timeout => 6,
            ErrorKind::FailedState => 7,
            ErrorKind::Interrupted => 130,
        }
    }

    /// What the exit code means, as `--help`, README.md and the man pages say it.
    pub fn meaning(self) -> &'static str {
        match self {
            ErrorKind::Internal => "internal error (a bug)",
            ErrorKind::Usage => "usage: bad flag, malformed id, unsupported provider, bad config",
            ErrorKind::Auth => {
                "credentials missing or rejected (auth failure, signature mismatch or expired, expired \
                 session token, missing permission)"
            }
            ErrorKind::Api => "the cloud refused (not found, invalid state, quota, capacity, balance)",
            ErrorKind::Transport => "network errors, 5xx or throttling still failing after retries",
            ErrorKind::Timeout => "timed out waiting for the target state (RUNNING or STOPPED)",
            ErrorKind::FailedState => {
                "a machine entered a failure state, or its start or stop failed"
            }
            ErrorKind::Interrupted => "interrupted (Ctrl-C, SIGTERM or SIGHUP)",
        }
    }

    /// Lower rank means more severe; see [`ErrorKind::SEVERITY`].
    fn rank(self) -> usize {
        Self::SEVERITY
            .iter()
            .position(|k| *k == self)
            .unwrap_or(Self::SEVERITY.len())
    }

    /// The more severe of two kinds.
    pub fn most_severe(self, other: ErrorKind) -> ErrorKind {
        if other.rank() < self.rank() {
            other
        } else {
            self
        }
    }
}

/// An error that ends the whole run before or outside any one target (bad flags, missing
/// credentials, a simulator that cannot bind).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Usage,
            message: message.into(),
        }
    }

    /// A credentials error (exit 3).
    pub fn auth(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Auth,
            message: message.into(),
        }
    }

    /// An unexpected failure (exit 1).
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            message: message.into(),
        }
    }

    /// Who must act on this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// Most characters of a value an error message repeats back (an id, region, zone, endpoint).
pub const ECHO_MAX: usize = 200;

/// `value` as an error message repeats it: at most [`ECHO_MAX`] characters, cut with `…`, and
/// control characters written as escapes, so a pasted blob or a hostile value stays one short,
/// harmless line.
pub fn clip(value: &str) -> String {
    let mut shown: String = value
        .chars()
        .take(ECHO_MAX)
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    if value.chars().count() > ECHO_MAX {
        shown.push('…');
    }
    shown
}

/// A URL as an error message repeats it: [`clip`]ped, with anything that looks like
/// `user:password@` in its authority replaced by `***@`, whether or not the URL parses.
pub fn clip_url(value: &str) -> String {
    let (scheme, rest) = match value.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), value),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("***{}", &authority[at..]),
        None => authority.to_string(),
    };
    clip(&format!("{scheme}{authority}{path}"))
}

/// What exit code 0 means for `start`, `stop` and `wait`, the runs scripts branch on.
pub const SUCCESS: &str = "every target reached the state asked for (RUNNING or STOPPED), was \
                           already there, or (--no-wait) its start or stop was accepted";

/// Help text for the exit codes, shown by `--help` and kept in step with README.md; built from
/// [`SUCCESS`] and [`ErrorKind::meaning`], as the man pages' EXIT STATUS is.
pub fn exit_codes_help() -> String {
    let mut kinds = ErrorKind::SEVERITY;
    kinds.sort_by_key(|kind| kind.exit_code());
    let mut help = format!("Exit codes:\n  {:<4} {SUCCESS}\n", 0);
    for kind in kinds {
        help += &format!("  {:<4} {}\n", kind.exit_code(), kind.meaning());
    }
    let order: Vec<String> = (ErrorKind::SEVERITY.iter())
        .map(|kind| kind.exit_code().to_string())
        .collect();
    help += &format!(
        "With several targets the most severe code wins: {} > 0.",
        order.join(" > ")
    );
    help
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_urls_never_show_their_password() {
        assert_eq!(
            clip_url("http://alice:s3cret@proxy:3128/x"),
            "http://***@proxy:3128/x"
        );
        assert_eq!(clip_url("alice:s3cret@proxy:3128"), "***@proxy:3128");
        assert_eq!(clip_url("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(clip_url("http://a:b@c@proxy"), "http://***@proxy");
    }

    #[test]
    fn clipped_values_are_short_and_have_no_control_characters() {
        assert_eq!(clip("ins-a\u{1b}[2J\n"), "ins-a\\u{1b}[2J\\n");
        let long = clip(&"x".repeat(1000));
        assert_eq!(long.chars().count(), ECHO_MAX + 1);
        assert!(long.ends_with('…'));
        assert_eq!(clip("cn-北京"), "cn-北京");
    }

    #[test]
    fn every_kind_has_its_documented_exit_code() {
        let table = [
            (ErrorKind::Internal, 1),
            (ErrorKind::Usage, 2),
            (ErrorKind::Auth, 3),
            (ErrorKind::Api, 4),
            (ErrorKind::Transport, 5),
            (ErrorKind::Timeout, 6),
            (ErrorKind::FailedState, 7),
            (ErrorKind::Interrupted, 130),
        ];
        for (kind, code) in table {
            assert_eq!(kind.exit_code(), code, "{kind:?}");
        }
    }

    #[test]
    fn help_lists_every_code_in_order_then_the_severity_order() {
        let help = exit_codes_help();
        let lines: Vec<&str> = help.lines().collect();
        assert_eq!(lines[0], "Exit codes:");
        assert!(
            lines[1].starts_with("  0    every target reached the state asked for"),
            "{help}"
        );
        assert!(lines[2].starts_with("  1    internal error"), "{help}");
        assert!(lines[9].starts_with("  130  interrupted"), "{help}");
        assert!(
            help.ends_with("130 > 1 > 2 > 3 > 7 > 4 > 5 > 6 > 0."),
            "{help}"
        );
    }

    #[test]
    fn most_severe_picks_by_documented_order() {
        assert_eq!(
            ErrorKind::Timeout.most_severe(ErrorKind::Api),
            ErrorKind::Api
        );
        assert_eq!(
            ErrorKind::FailedState.most_severe(ErrorKind::Api),
            ErrorKind::FailedState
        );
        assert_eq!(
            ErrorKind::Auth.most_severe(ErrorKind::Interrupted),
            ErrorKind::Interrupted
        );
    }
}

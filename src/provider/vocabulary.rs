//! A cloud's words as data: its [`Vocabulary`] (state names with their [`Phase`], error codes with
//! their [`ErrorClass`], the stop's own codes), and the [`ApiError`] a refusal becomes, with the
//! helpers every parser uses to read a code and quote a body.

use std::fmt;

use super::{Action, HttpResponse};

/// One cloud's words, declared once as data: every state name it documents with its [`Phase`],
/// and its error codes with their [`ErrorClass`]. The provider's parsers read it to understand
/// answers and the simulator's dialect reads it to speak them, so the two cannot disagree.
#[derive(Debug)]
pub struct Vocabulary {
    /// Every documented state name and where it stands in the lifecycle.
    pub states: &'static [(&'static str, Phase)],
    /// The state a machine shows between an accepted start and RUNNING.
    pub starting: &'static str,
    /// The state a machine shows between an accepted stop and STOPPED.
    pub stopping: &'static str,
    /// Error codes and their class, for the start call and every other call; a code ending in
    /// `*` stands for every code it begins. Codes not listed are classified by the provider's
    /// fallback rules (HTTP status, words).
    pub errors: &'static [(&'static str, ErrorClass)],
    /// What the stop call's codes mean where that differs from `errors` (the start's "already
    /// stopping" lock is the stop's "already underway"); read first for stop answers.
    pub stop_errors: &'static [(&'static str, ErrorClass)],
}

impl Vocabulary {
    /// What the state `name` means; [`Phase::Unknown`] for a name the cloud does not document.
    pub fn phase(&self, name: &str) -> Phase {
        self.states
            .iter()
            .find(|(state, _)| *state == name)
            .map_or(Phase::Unknown, |(_, phase)| *phase)
    }

    /// The first documented state with `phase` (the simulator's name for it).
    pub fn state(&self, phase: Phase) -> Option<&'static str> {
        self.states
            .iter()
            .find(|(_, p)| *p == phase)
            .map(|(state, _)| *state)
    }

    /// The class of error `code` in an answer to anything but a stop call: an exact entry
    /// first, then the longest matching `prefix*`.
    pub fn class(&self, code: &str) -> Option<ErrorClass> {
        lookup(self.errors, code)
    }

    /// The class of error `code` in an answer to `action`: for a stop, `stop_errors` first.
    pub fn class_in(&self, action: Action, code: &str) -> Option<ErrorClass> {
        match action {
            Action::Start => self.class(code),
            Action::Stop => lookup(self.stop_errors, code).or_else(|| self.class(code)),
        }
    }

    /// The first listed code of `class` (the simulator answers with it).
    pub fn code(&self, class: ErrorClass) -> Option<&'static str> {
        first_code(self.errors, class)
    }

    /// The first listed code of `class` in answers to `action`.
    pub fn code_in(&self, action: Action, class: ErrorClass) -> Option<&'static str> {
        match action {
            Action::Start => self.code(class),
            Action::Stop => first_code(self.stop_errors, class).or_else(|| self.code(class)),
        }
    }
}

/// The class of `code` in `table`: an exact entry first, then the longest matching `prefix*`.
fn lookup(table: &[(&str, ErrorClass)], code: &str) -> Option<ErrorClass> {
    let exact = table.iter().find(|(c, _)| *c == code);
    let prefixed = || {
        (table.iter())
            .filter_map(|(c, class)| Some((c.strip_suffix('*')?, class)))
            .filter(|(prefix, _)| code.starts_with(prefix))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, class)| class)
    };
    exact.map(|(_, class)| class).or_else(prefixed).copied()
}

/// The first code of `class` in `table` that is not a prefix.
fn first_code(table: &[(&'static str, ErrorClass)], class: ErrorClass) -> Option<&'static str> {
    (table.iter())
        .find(|(code, c)| *c == class && !code.ends_with('*'))
        .map(|(code, _)| *code)
}

/// Coarse state of a machine: where it stands in the lifecycle, which is all the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Up.
    Running,
    /// On its way up.
    Starting,
    /// On its way down.
    Stopping,
    /// Down.
    Stopped,
    /// In another transition (creating, rebooting, resizing, migrating): it settles by itself.
    Transition,
    /// A state it will not leave by itself for RUNNING or STOPPED: a wait for either fails.
    Failed,
    /// A state name the provider does not know: waited on like a transition until the deadline.
    Unknown,
}

impl Phase {
    /// Whether a machine in this phase is on its way somewhere and will settle by itself.
    pub fn is_moving(self) -> bool {
        matches!(
            self,
            Phase::Starting | Phase::Stopping | Phase::Transition | Phase::Unknown
        )
    }
}

/// What an error from the cloud means for the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The machine is already where the action drives it (running, for a start): success.
    AlreadyDone,
    /// The machine is already on its way there (starting, for a start): wait for it.
    AlreadyUnderway,
    /// The machine's state forbids starting it now; a describe tells which state.
    WrongState,
    /// The cloud took the call but reports that the start or stop failed on this machine
    /// (Zenlayer's list of instances that failed to shut down): a describe tells whether it got
    /// there anyway; if not, the machine has failed (exit 7).
    OperationFailed,
    /// The machine does not exist.
    NotFound,
    /// The cloud throttled us: retry later.
    Throttled,
    /// A transient cloud fault (5xx, internal error): retry a few times.
    Transient,
    /// Another operation holds the machine (an operation lock), or the same request is still
    /// being processed: retry with a pause until the deadline, however long that lasts.
    Busy,
    /// The cloud's gateway gave up waiting for the answer (CompShare RetCode 110): the cloud may
    /// have acted, so a start or stop is described before it is sent again.
    Unanswered,
    /// Credentials unknown or the signature did not verify.
    Auth,
    /// The session token of temporary credentials was refused: expired, or not valid (exit 3).
    TokenExpired,
    /// The key is valid but lacks a permission for the action or the machines (exit 3).
    PermissionDenied,
    /// The signature's timestamp is too far from the cloud's clock.
    ClockSkew,
    /// No capacity for the machine now: its type or zone is sold out, the cloud is short of the
    /// resources it needs. A refusal like [`ErrorClass::Refused`] (exit 4) unless the run asked
    /// to wait capacity out (`--retry-capacity`): then sent again with backoff until the deadline.
    Capacity,
    /// Any other refusal: quota, balance, bad parameter.
    Refused,
    /// The answer could not be read (not JSON, missing fields).
    BadResponse,
}

impl ErrorClass {
    /// Whether the request may be sent again.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorClass::Throttled
                | ErrorClass::Transient
                | ErrorClass::Busy
                | ErrorClass::BadResponse
                | ErrorClass::Unanswered
        )
    }

    /// Whether the cloud may have acted on a start or stop that failed this way.
    pub fn may_have_acted(self) -> bool {
        matches!(self, ErrorClass::BadResponse | ErrorClass::Unanswered)
    }

    /// Whether a refusal of a call for several machines may be one machine's alone — its lock,
    /// its instance type sold out — so the batch is split and the others go ahead.
    pub fn ties_to_a_machine(self) -> bool {
        matches!(self, ErrorClass::Busy | ErrorClass::Capacity)
    }

    /// Whether the refusal is about particular machines, so describing them explains it.
    pub fn concerns_instances(self) -> bool {
        matches!(
            self,
            ErrorClass::AlreadyDone
                | ErrorClass::AlreadyUnderway
                | ErrorClass::WrongState
                | ErrorClass::OperationFailed
                | ErrorClass::NotFound
        )
    }
}

/// An error the cloud answered with (or an answer that could not be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The cloud's error code, e.g. `InvalidInstanceId.NotFound`.
    pub code: String,
    /// The cloud's message.
    pub message: String,
    /// The cloud's request id, for support tickets.
    pub request_id: Option<String>,
    /// The HTTP status it came with.
    pub http_status: u16,
    /// What it means for the engine.
    pub class: ErrorClass,
}

impl ApiError {
    /// An answer that is not what the cloud documents.
    pub fn bad_response(action: &str, response: &HttpResponse, what: impl fmt::Display) -> Self {
        Self {
            code: "BadResponse".into(),
            message: format!(
                "unreadable {action} answer (HTTP {}, {}): {what}",
                response.status,
                body_excerpt(&response.body)
            ),
            request_id: None,
            http_status: response.status,
            class: ErrorClass::BadResponse,
        }
    }
}

/// The cloud's error code as reported, or `UnknownError` when the cloud sent an empty one, so a
/// report never carries a blank code.
pub(crate) fn reported_code(code: String) -> String {
    if code.trim().is_empty() {
        "UnknownError".into()
    } else {
        code
    }
}

/// The error an HTTP status alone implies, for answers that carry no error envelope the provider
/// could read: 429 is throttling, 5xx transient, any other non-2xx a refusal. `None` for 2xx.
pub(crate) fn http_status_error(action: &str, response: &HttpResponse) -> Option<ApiError> {
    let class = match response.status {
        200..=299 => return None,
        429 => ErrorClass::Throttled,
        500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Refused,
    };
    Some(ApiError {
        code: format!("HTTP {}", response.status),
        message: format!("{action} answered {}", body_excerpt(&response.body)),
        request_id: None,
        http_status: response.status,
        class,
    })
}

/// The start of a body as one short printable line, for error messages about odd answers.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    const MAX: usize = 120;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX * 16)]);
    // An HTML page (a proxy's error page) reads better as its text.
    let text = if text.trim_start().starts_with('<') {
        let mut plain = String::with_capacity(text.len());
        let mut in_tag = false;
        for c in text.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => {
                    in_tag = false;
                    plain.push(' ');
                }
                _ if !in_tag => plain.push(c),
                _ => {}
            }
        }
        format!("HTML page: {plain}")
    } else {
        text.into_owned()
    };
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX)
        .collect();
    if line.is_empty() {
        "an empty body".into()
    } else {
        format!("`{line}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::PROVIDERS;

    #[test]
    fn every_vocabulary_names_its_start_states_once() {
        for provider in PROVIDERS {
            let words = &provider.spec().vocabulary;
            let name = provider.name();
            assert_eq!(words.phase(words.starting), Phase::Starting, "{name}");
            assert_eq!(words.phase(words.stopping), Phase::Stopping, "{name}");
            for phase in [Phase::Running, Phase::Stopped] {
                assert!(words.state(phase).is_some(), "{name}: no {phase:?} state");
            }
            let mut states: Vec<_> = words.states.iter().map(|(s, _)| *s).collect();
            states.sort_unstable();
            states.dedup();
            assert_eq!(states.len(), words.states.len(), "{name}: a state twice");
            for table in [words.errors, words.stop_errors] {
                let mut codes: Vec<_> = table.iter().map(|(c, _)| *c).collect();
                codes.sort_unstable();
                codes.dedup();
                assert_eq!(codes.len(), table.len(), "{name}: a code twice");
            }
        }
    }

    #[test]
    fn vocabulary_lookups_prefer_exact_codes_then_the_longest_prefix() {
        let words = Vocabulary {
            states: &[("UP", Phase::Running), ("DOWN", Phase::Stopped)],
            starting: "UP",
            stopping: "DOWN",
            errors: &[
                ("Auth*", ErrorClass::Auth),
                ("Auth.Expired", ErrorClass::ClockSkew),
                ("Auth.Expired.Token*", ErrorClass::Refused),
                ("Busy", ErrorClass::Busy),
                ("State.Down", ErrorClass::WrongState),
            ],
            stop_errors: &[("State.Down", ErrorClass::AlreadyDone)],
        };
        // A stop answer reads the stop's table first, then the shared one.
        assert_eq!(words.class("State.Down"), Some(ErrorClass::WrongState));
        assert_eq!(
            words.class_in(Action::Stop, "State.Down"),
            Some(ErrorClass::AlreadyDone)
        );
        assert_eq!(words.class_in(Action::Stop, "Busy"), Some(ErrorClass::Busy));
        assert_eq!(
            words.code_in(Action::Stop, ErrorClass::AlreadyDone),
            Some("State.Down")
        );
        assert_eq!(words.code_in(Action::Start, ErrorClass::AlreadyDone), None);
        assert_eq!(words.class("Auth.Expired"), Some(ErrorClass::ClockSkew));
        assert_eq!(words.class("Auth.Other"), Some(ErrorClass::Auth));
        assert_eq!(
            words.class("Auth.Expired.TokenX"),
            Some(ErrorClass::Refused)
        );
        assert_eq!(words.class("Busy.More"), None);
        assert_eq!(words.code(ErrorClass::Auth), None, "a prefix is not a code");
        assert_eq!(words.code(ErrorClass::Busy), Some("Busy"));
        assert_eq!(words.phase("SIDEWAYS"), Phase::Unknown);
        assert_eq!(words.state(Phase::Stopped), Some("DOWN"));
    }

    #[test]
    fn body_excerpts_are_one_short_line_and_html_is_read_as_text() {
        let page =
            b"<html><head><title>502 Bad Gateway</title></head>\n<body><h1>502</h1></body></html>";
        assert_eq!(body_excerpt(page), "`HTML page: 502 Bad Gateway 502`");
        assert_eq!(body_excerpt(b""), "an empty body");
        assert_eq!(body_excerpt("x".repeat(500).as_bytes()).len(), 122);
    }
}

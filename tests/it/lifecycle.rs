//! Start and stop as one contract: every test runs each operation on every cloud's simulator
//! through the real binary — the goal reached, already there, underway waited for, not found, a
//! failure state, a timeout, `--no-wait` — and `wait` polls without acting.

use serde_json::Value;

use crate::support::{for_every_cloud, id, profiles, run_json, seed, Profile, Sim};

/// One operation and its words: where its machines begin, and the outcomes it reports.
struct Op {
    command: &'static str,
    /// The seeded state its machines start in (`None`: the simulator's default, stopped).
    from: fn(&Profile) -> Option<&'static str>,
    /// The cloud's state for the goal.
    goal: fn(&Profile) -> &'static str,
    /// The cloud's state on the way there.
    underway: fn(&Profile) -> &'static str,
    reached: &'static str,
    already: &'static str,
    accepted: &'static str,
    /// The simulator's seed field for what happens after the call: `boot` or `shutdown`.
    then: &'static str,
    /// The stderr count of the failed machines: "did not start".
    failed: &'static str,
}

const OPS: [Op; 2] = [
    Op {
        command: "start",
        from: |_| None,
        goal: Profile::running_state,
        underway: Profile::starting_state,
        reached: "running",
        already: "already_running",
        accepted: "starting",
        then: "boot",
        failed: "did not start",
    },
    Op {
        command: "stop",
        from: |profile| Some(profile.running_state()),
        goal: Profile::stopped_state,
        underway: Profile::stopping_state,
        reached: "stopped",
        already: "already_stopped",
        accepted: "stopping",
        then: "shutdown",
        failed: "did not stop",
    },
];

impl Op {
    /// A state file seeding `ids` of `profile` where this operation begins, with `extra` lines.
    fn seed(&self, profile: &Profile, ids: &[&str], extra: &str) -> String {
        (ids.iter())
            .map(|id| {
                let state = (self.from)(profile).map(|s| format!("state = \"{s}\"\n"));
                seed(
                    profile,
                    id,
                    &format!("{}{extra}", state.unwrap_or_default()),
                )
            })
            .collect()
    }

    fn run(
        &self,
        sim: &Sim,
        profile: &Profile,
        ids: &[&str],
        extra: &[&str],
        code: i32,
    ) -> (Value, String) {
        run_json(sim, self.command, profile, ids, extra, code)
    }
}

/// Every operation on every cloud, all at once (a thread each, named for the case), so their
/// waits overlap.
fn each(check: impl Fn(&Op, &'static Profile) + Sync) {
    std::thread::scope(|scope| {
        for op in &OPS {
            for profile in profiles() {
                let check = &check;
                std::thread::Builder::new()
                    .name(format!("{} {}", op.command, profile.provider))
                    .spawn_scoped(scope, move || check(op, profile))
                    .unwrap();
            }
        }
    });
}

fn outcomes(json: &Value) -> Vec<&str> {
    (json["instances"].as_array().unwrap().iter())
        .map(|r| r["outcome"].as_str().unwrap())
        .collect()
}

#[test]
fn each_operation_reaches_its_goal_on_every_cloud() {
    each(|op, profile| {
        let ids = [id(profile, 1), id(profile, 2)];
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let sim = Sim::start_with(
            &op.seed(profile, &ids, ""),
            &["--stop-delay", "0s", "--boot-delay", "0s"],
        );
        let (json, _) = op.run(&sim, profile, &ids, &[], 0);
        let context = format!("{} {}: {json}", op.command, profile.provider);
        assert_eq!(json["command"], op.command, "{context}");
        assert_eq!(outcomes(&json), [op.reached, op.reached], "{context}");
        for record in json["instances"].as_array().unwrap() {
            assert_eq!(record["state"], (op.goal)(profile), "{context}");
        }
        let signed = (sim.requests().iter()).all(|r| r["signature"] == "ok");
        assert!(signed, "{context}");
    });
}

#[test]
fn a_machine_already_at_the_goal_exits_zero() {
    each(|op, profile| {
        let id = id(profile, 7);
        let state = format!("state = \"{}\"", (op.goal)(profile));
        let sim = Sim::start(&seed(profile, &id, &state));
        let (json, _) = op.run(&sim, profile, &[&id], &[], 0);
        let record = &json["instances"][0];
        assert_eq!(
            record["outcome"], op.already,
            "{} {}",
            op.command, profile.provider
        );
        assert_eq!(record["state"], (op.goal)(profile));
        assert!(record["error"].is_null());
    });
}

#[test]
fn a_machine_already_underway_is_waited_for() {
    each(|op, profile| {
        let id = id(profile, 7);
        let state = format!("state = \"{}\"", (op.underway)(profile));
        // The seeded machine arrives 3 s after the simulator starts: the call lands well before
        // (even with every case running at once on a loaded machine), is refused or accepted as
        // the cloud does, and the machine is polled to the goal.
        let flags = ["--boot-delay", "3s", "--stop-delay", "3s"];
        let sim = Sim::start_with(&seed(profile, &id, &state), &flags);
        let (json, _) = op.run(&sim, profile, &[&id], &[], 0);
        let record = &json["instances"][0];
        assert_eq!(
            record["outcome"], op.reached,
            "{} {}: {json}",
            op.command, profile.provider
        );
    });
}

#[test]
fn a_machine_the_cloud_does_not_know_fails_only_itself_with_exit_four() {
    each(|op, profile| {
        let (a, missing) = (id(profile, 1), id(profile, 2));
        let state = op.seed(profile, &[&a], "") + &seed(profile, &missing, "state = \"not_found\"");
        let sim = Sim::start_with(&state, &["--stop-delay", "0s", "--boot-delay", "0s"]);
        let (json, err) = op.run(&sim, profile, &[&a, &missing], &[], 4);
        let context = format!("{} {}: {json}", op.command, profile.provider);
        assert_eq!(outcomes(&json), [op.reached, "failed"], "{context}");
        assert_eq!(json["instances"][1]["error"]["kind"], "api", "{context}");
        assert!(
            err.contains(&format!("1 of 2 machines {}", op.failed)),
            "{err}"
        );
    });
}

#[test]
fn a_call_that_fails_on_the_machine_exits_seven() {
    each(|op, profile| {
        let id = id(profile, 5);
        // A second on the way, so the poller sees the machine move before it falls back (a
        // cloud with no failed state of its own, CompShare, shows only the fall).
        let flags = ["--boot-delay", "1s", "--stop-delay", "1s"];
        let state = op.seed(profile, &[&id], &format!("{} = \"fail\"", op.then));
        let sim = Sim::start_with(&state, &flags);
        let (json, _) = op.run(&sim, profile, &[&id], &[], 7);
        let record = &json["instances"][0];
        let context = format!("{} {}: {json}", op.command, profile.provider);
        assert_eq!(record["outcome"], "failed", "{context}");
        assert_eq!(record["error"]["kind"], "failed_state", "{context}");
        if op.command == "stop" {
            // A gentle stop that failed says what to try next, where the cloud has it.
            let message = record["error"]["message"].as_str().unwrap();
            let forceable = profile.provider != "qingcloud";
            assert_eq!(message.contains("--force"), forceable, "{context}");
        }
    });
}

#[test]
fn a_machine_that_never_arrives_times_out_with_exit_six() {
    each(|op, profile| {
        let id = id(profile, 6);
        let sim = Sim::start(&op.seed(profile, &[&id], &format!("{} = \"never\"", op.then)));
        // Long enough that, on a loaded machine, the call itself is answered before the deadline
        // and it is the wait that times out.
        let (json, _) = op.run(&sim, profile, &[&id], &["--timeout", "2s"], 6);
        let record = &json["instances"][0];
        assert_eq!(
            record["outcome"], "timeout",
            "{} {}",
            op.command, profile.provider
        );
        assert_eq!(record["error"]["kind"], "timeout");
        let message = record["error"]["message"].as_str().unwrap();
        let goal = if op.command == "stop" {
            "STOPPED"
        } else {
            "RUNNING"
        };
        assert!(
            message.starts_with(&format!("not {goal} after")),
            "{message}"
        );
    });
}

#[test]
fn no_wait_returns_once_the_call_is_accepted() {
    each(|op, profile| {
        let id = id(profile, 3);
        let flags = ["--boot-delay", "1h", "--stop-delay", "1h"];
        let sim = Sim::start_with(&op.seed(profile, &[&id], ""), &flags);
        let (json, err) = op.run(&sim, profile, &[&id], &["--no-wait"], 0);
        assert_eq!(
            outcomes(&json),
            [op.accepted],
            "{} {}: {err}",
            op.command,
            profile.provider
        );
    });
}

#[test]
fn wait_polls_until_the_state_and_never_acts() {
    for_every_cloud(|profile| {
        let (up, down) = (id(profile, 1), id(profile, 2));
        let state = seed(
            profile,
            &up,
            &format!("state = \"{}\"", profile.running_state()),
        );
        let sim = Sim::start(&state);
        let (json, _) = run_json(&sim, "wait", profile, &[&up], &["--for", "running"], 0);
        assert_eq!(outcomes(&json), ["running"], "{}", profile.provider);
        assert_eq!(json["command"], "wait");
        let (json, _) = run_json(&sim, "wait", profile, &[&down], &["--for", "stopped"], 0);
        assert_eq!(outcomes(&json), ["stopped"], "{}", profile.provider);
        // A machine in the other state is waited on until the deadline: exit 6.
        let extra = ["--for", "stopped", "--timeout", "200ms"];
        let (json, _) = run_json(&sim, "wait", profile, &[&up], &extra, 6);
        assert_eq!(outcomes(&json), ["timeout"], "{}", profile.provider);
        let actions = profile.actions();
        let acted = (sim.requests().iter())
            .filter(|r| r["action"] == actions.start || r["action"] == actions.stop)
            .count();
        assert_eq!(acted, 0, "{}: wait sent a start or stop", profile.provider);
    });
}

#[test]
fn wait_for_stopped_follows_a_stop_sent_elsewhere() {
    for_every_cloud(|profile| {
        let id = id(profile, 4);
        let state = seed(
            profile,
            &id,
            &format!("state = \"{}\"", profile.running_state()),
        );
        let sim = Sim::start_with(&state, &["--stop-delay", "500ms"]);
        run_json(&sim, "stop", profile, &[&id], &["--no-wait"], 0);
        let (json, _) = run_json(&sim, "wait", profile, &[&id], &["--for", "stopped"], 0);
        let record = &json["instances"][0];
        assert_eq!(record["outcome"], "stopped", "{}: {json}", profile.provider);
        assert_eq!(record["state"], profile.stopped_state());
    });
}

//! `cloudstart man`: one man page per subcommand, `cloudstart(1)` for the tool itself and
//! `cloudstart-start(1)`, `cloudstart-config-check(1)` and so on, a nested subcommand's page named
//! by its whole path as git's are.
//!
//! clap_mangen renders what clap knows (NAME, SYNOPSIS, DESCRIPTION, OPTIONS, SUBCOMMANDS); this
//! module adds ENVIRONMENT, FILES, EXIT STATUS, EXAMPLES and SEE ALSO from the data the code runs
//! on: every variable ([`provider::every_env_var`]: the shared ones and each cloud's), [`vendor::VENDOR_CLIS`] and [`ErrorKind::meaning`]. Only the
//! examples and which of those apply to which page ([`extras`]) are written here.

use std::path::Path;

use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Inline, Roff};
use clap_mangen::Man;

use crate::cli::{Cli, ManArgs};
use crate::env_vars::{EnvVars, Scope};
use crate::error::{Error, ErrorKind, SUCCESS};
use crate::output;
use crate::provider;
use crate::settings::vendor;

use super::place;

/// Prints the page `args` names, or writes every page into `--out-dir`.
pub(super) fn run(args: &ManArgs) -> Result<u8, Error> {
    let pages = pages();
    if let Some(dir) = &args.out_dir {
        return write_all(&pages, dir).map(|()| 0);
    }
    let wanted = args.subcommand.join("-");
    let Some(page) = pages.iter().find(|page| page.path.join("-") == wanted) else {
        let known: Vec<String> = (pages.iter().skip(1))
            .map(|page| page.path.join(" "))
            .collect();
        return Err(Error::usage(format!(
            "no man page for `{}`; pages exist for: {}",
            crate::error::clip(&args.subcommand.join(" ")),
            known.join(", ")
        )));
    };
    output::write_stdout(&page.render()?).map(|()| 0)
}

/// Writes every page into `dir` (created if missing) as `<name>.1`, each through
/// [`place::replace`]: a symlink at a page's path is replaced, not followed, and a path that holds
/// something other than a file or a symlink (a directory, a FIFO, a socket) is refused.
fn write_all(pages: &[Page], dir: &Path) -> Result<(), Error> {
    let names: Vec<String> = pages
        .iter()
        .map(|page| format!("{}.1", page.name()))
        .collect();
    // Every path is checked before any page is written, so a refusal leaves the directory as it was.
    for name in &names {
        place::check_replaceable(&dir.join(name))?;
    }
    for (page, name) in pages.iter().zip(&names) {
        place::replace(dir, name, &page.render()?)?;
    }
    Ok(())
}

/// One man page: the subcommand it documents and that subcommand's clap command.
#[derive(Debug)]
pub(crate) struct Page {
    /// Subcommand names from the top (`["config", "check"]`); empty for `cloudstart(1)`.
    path: Vec<String>,
    cmd: clap::Command,
}

/// Every page: the tool's, then each visible subcommand's, depth first, in declaration order.
pub(crate) fn pages() -> Vec<Page> {
    fn walk(cmd: &clap::Command, path: Vec<String>, pages: &mut Vec<Page>) {
        pages.push(Page {
            path: path.clone(),
            cmd: cmd.clone(),
        });
        for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
            let mut path = path.clone();
            path.push(sub.get_name().to_string());
            walk(sub, path, pages);
        }
    }
    // clap's generated `help` subcommand is help, not a page.
    fn without_help(cmd: clap::Command) -> clap::Command {
        cmd.disable_help_subcommand(true)
            .mut_subcommands(without_help)
    }
    let mut root = without_help(Cli::command());
    // Building sets each subcommand's `cloudstart-…` display name and propagates global flags.
    root.build();
    let mut pages = Vec::new();
    walk(&root, Vec::new(), &mut pages);
    pages
}

impl Page {
    /// `cloudstart`, `cloudstart-start`, `cloudstart-config-check`.
    pub(crate) fn name(&self) -> String {
        std::iter::once("cloudstart")
            .chain(self.path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The page as roff.
    pub(crate) fn render(&self) -> Result<Vec<u8>, Error> {
        let name = self.name();
        let extras = extras(&self.path.join("-"))
            .ok_or_else(|| Error::internal(format!("no man page sections for `{name}`")))?;
        let man = Man::new(self.cmd.clone())
            .title(name.to_uppercase())
            .source(format!("cloudstart {}", env!("CARGO_PKG_VERSION")))
            .manual("User Commands");
        let mut page = Vec::new();
        let rendered = (|| {
            man.render_title(&mut page)?;
            man.render_name_section(&mut page)?;
            man.render_synopsis_section(&mut page)?;
            man.render_description_section(&mut page)?;
            man.render_options_section(&mut page)?;
            if self.cmd.has_subcommands() {
                man.render_subcommands_section(&mut page)?;
            }
            self.sections(extras).to_writer(&mut page)
        })();
        rendered.map_err(|err| Error::internal(format!("cannot render {name}(1): {err}")))?;
        Ok(dedup_preamble(page))
    }

    /// ENVIRONMENT, FILES, EXIT STATUS, EXAMPLES and SEE ALSO.
    fn sections(&self, extras: &Extras) -> Roff {
        let mut roff = Roff::new();
        roff.control("SH", ["ENVIRONMENT"]);
        // The config file's location matters wherever a cloud is reached, too.
        let listed = |scope: &Scope| {
            extras.env.contains(scope)
                || (*scope == Scope::ConfigFile && extras.env.contains(&Scope::Cloud))
        };
        for var in provider::every_env_var().filter(|v| listed(&v.scope)) {
            roff.control("TP", []).text([bold(var.name)]);
            roff.text(code_spans(var.doc.trim()));
        }
        let mut note = String::from("A variable set to the empty string counts as unset.");
        if extras.env.contains(&Scope::Cloud) {
            note += " The clouds' own variables are the names their SDKs and CLIs read.";
        }
        roff.control("PP", []).text([roman(note)]);

        roff.control("SH", ["FILES"]);
        if extras.env.contains(&Scope::Cloud) {
            config_files(&mut roff);
        } else {
            roff.text([roman(extras.files)]);
        }

        roff.control("SH", ["EXIT STATUS"]);
        roff.control("TP", [])
            .text([bold("0")])
            .text([roman(extras.success)]);
        let mut codes = extras.codes.to_vec();
        codes.sort_by_key(|kind| kind.exit_code());
        for kind in codes {
            roff.control("TP", [])
                .text([bold(kind.exit_code().to_string())]);
            roff.text([roman(kind.meaning())]);
        }
        // The subcommands that report on targets (those a cloud can refuse) merge their codes.
        if extras.codes.contains(&ErrorKind::Api) {
            let order: Vec<String> = (ErrorKind::SEVERITY.iter())
                .filter(|kind| extras.codes.contains(kind))
                .map(|kind| kind.exit_code().to_string())
                .collect();
            roff.control("PP", []).text([roman(format!(
                "Every target is reported once. Each is checked before any request: one that \
                 fails its checks (a malformed id, its cloud's missing region or credentials) \
                 fails alone, and the others are attempted; a problem with the whole run (an \
                 unknown cloud, a bad --timeout) attempts none. With several targets the most \
                 severe code wins: {} > 0.",
                order.join(" > ")
            ))]);
        }

        roff.control("SH", ["EXAMPLES"]);
        for (what, command) in extras.examples {
            roff.control("TP", []).text([roman(*what)]);
            roff.text([bold(*command)]);
        }

        // The parent's page, and every page below this one (nested ones too).
        roff.control("SH", ["SEE ALSO"]);
        let parent = (!self.path.is_empty()).then(|| {
            let parent = &self.path[..self.path.len() - 1];
            std::iter::once("cloudstart")
                .chain(parent.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join("-")
        });
        fn descendants(cmd: &clap::Command, name: &str, found: &mut Vec<String>) {
            for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
                let sub_name = format!("{name}-{}", sub.get_name());
                found.push(sub_name.clone());
                descendants(sub, &sub_name, found);
            }
        }
        let mut see: Vec<String> = parent.into_iter().collect();
        descendants(&self.cmd, &self.name(), &mut see);
        let see: Vec<String> = see.iter().map(|name| format!("{name}(1)")).collect();
        let mut line: Vec<Inline> = Vec::new();
        for (i, name) in see.iter().enumerate() {
            if i > 0 {
                line.push(roman(", "));
            }
            line.push(bold(name.as_str()));
        }
        if !line.is_empty() {
            line.push(roman(". "));
        }
        line.push(roman(
            "The README (shipped in the release archive) has the JSON report's schema, \
             each cloud's details and the simulator's.",
        ));
        roff.text(line);
        roff
    }
}

/// FILES for the pages that read settings: the config file and the vendor CLIs' files.
fn config_files(roff: &mut Roff) {
    roff.control("TP", []).text([bold(
        "$XDG_CONFIG_HOME/cloudstart/config.toml, ~/.config/cloudstart/config.toml, \
         %APPDATA%\\cloudstart\\config.toml",
    )]);
    roff.text(code_spans(&format!(
        "The config file: named profiles of per-cloud credentials, region, zone and endpoint \
         (`[profile.default.tencent]`). `{}` names another file, which must then exist; a \
         missing file at the default place is no error. On Unix, a file that holds a secret \
         (`secret_access_key` or `session_token`) and that group or others can read draws a \
         warning naming the `chmod 600` fix; a file of regions and endpoints draws none.",
        EnvVars::CLOUDSTART_CONFIG
    )));
    for cli in vendor::VENDOR_CLIS {
        let files: Vec<String> = cli.files.iter().map(|file| format!("~/{file}")).collect();
        roff.control("TP", []).text([bold(files.join(", "))]);
        roff.text([roman(format!(
            "{}'s files, read for {} at the lowest precedence and never written; their \
             permissions are left to that tool.",
            cli.cli, cli.provider
        ))]);
    }
}

/// A Markdown doc line as roff: code spans in bold, the rest roman.
fn code_spans(text: &str) -> Vec<Inline> {
    (text.split('`').enumerate())
        .filter(|(_, part)| !part.is_empty())
        .map(|(i, part)| if i % 2 == 1 { bold(part) } else { roman(part) })
        .collect()
}

/// Each `render_*` call of clap_mangen opens with roff's apostrophe preamble; one is enough.
fn dedup_preamble(page: Vec<u8>) -> Vec<u8> {
    let text = String::from_utf8_lossy(&page).into_owned();
    let preamble = Roff::new().render();
    match text.split_once(&preamble) {
        Some((before, after)) => {
            format!("{before}{preamble}{}", after.replace(&preamble, "")).into_bytes()
        }
        None => page,
    }
}

/// What a page adds to clap's sections.
#[derive(Debug)]
struct Extras {
    /// The variables listed, by [`Scope`].
    env: &'static [Scope],
    /// FILES, for pages that read no config.
    files: &'static str,
    /// What exit 0 means.
    success: &'static str,
    /// The other exit codes the subcommand can end with, in any order.
    codes: &'static [ErrorKind],
    /// `(what it does, the command)`.
    examples: &'static [(&'static str, &'static str)],
}

/// Every exit code but 0.
const ALL_CODES: &[ErrorKind] = &ErrorKind::SEVERITY;

/// The codes of a subcommand that only fails on bad usage or a bug.
const USAGE_CODES: &[ErrorKind] = &[ErrorKind::Internal, ErrorKind::Usage];

/// The page sections for the subcommand path `path` (`""` for the tool, `"config-check"`), or
/// `None` for a subcommand nobody wrote them for (a unit test walks every page).
fn extras(path: &str) -> Option<&'static Extras> {
    const START_EXAMPLES: &[(&str, &str)] = &[
        (
            "Start two Tencent machines in one region and wait until both are RUNNING:",
            "cloudstart start -p tencent -r ap-guangzhou ins-r8hr2upy ins-0a1b2c3d",
        ),
        (
            "Start machines on several clouds in one run:",
            "cloudstart start tencent:ins-r8hr2upy volcengine:i-3tiefmkskq3vj0x0ab12 \
             compshare:uhost-1a2b3c4d",
        ),
        (
            "Print the signed requests (secrets redacted) and send nothing:",
            "cloudstart start --dry-run tencent:ins-r8hr2upy",
        ),
        (
            "Wait until SSH answers (its SSH-2.0 identification line), too:",
            "cloudstart start --wait-ssh tencent:ins-r8hr2upy",
        ),
        (
            "From your crontab (no root): a targets file, errors only on stderr (cron mails them), \
             one JSON line per run appended to a log in your home:",
            "cloudstart start -q --profile farm -f $HOME/.config/cloudstart/farm.toml -o json >> \
             $HOME/farm-start.jsonl",
        ),
    ];
    const CHECK_EXAMPLES: &[(&str, &str)] = &[
        (
            "Show where each Tencent setting comes from, and fail if Tencent cannot be used:",
            "cloudstart config check -p tencent",
        ),
        (
            "The same for every cloud, with a profile's settings:",
            "cloudstart config check --profile prod",
        ),
        (
            "Ask each configured cloud whether it accepts the credentials (exit 3 if not):",
            "cloudstart config check --online",
        ),
        (
            "The resolved settings and their sources as JSON, for a script:",
            "cloudstart config check -o json",
        ),
    ];
    const EVERY_SCOPE: &[Scope] = &[
        Scope::Every,
        Scope::Cloud,
        Scope::Network,
        Scope::Wait,
        Scope::Display,
        Scope::Completions,
        Scope::ConfigFile,
    ];
    const CHECK: Extras = Extras {
        env: &[Scope::Every, Scope::Cloud],
        files: "",
        success: "the check was printed, (with --provider) that cloud can be used and (with \
                  --online) every configured cloud accepted its credentials",
        codes: &[
            ErrorKind::Internal,
            ErrorKind::Usage,
            ErrorKind::Auth,
            ErrorKind::Api,
            ErrorKind::Transport,
        ],
        examples: CHECK_EXAMPLES,
    };
    let extras = match path {
        "" => &Extras {
            env: EVERY_SCOPE,
            files: "",
            success: SUCCESS,
            codes: ALL_CODES,
            examples: &[
                (
                    "Start a machine with credentials from the environment:",
                    "cloudstart start -p tencent -r ap-guangzhou ins-r8hr2upy",
                ),
                (
                    "Look at machines' states without starting them:",
                    "cloudstart status tencent:ins-r8hr2upy",
                ),
                (
                    "Start one machine on each cloud's simulator, no account needed:",
                    "cloudstart demo",
                ),
                ("Read a subcommand's page:", "cloudstart man start | man -l -"),
            ],
        },
        "start" => &Extras {
            env: EVERY_SCOPE,
            files: "",
            success: SUCCESS,
            codes: ALL_CODES,
            examples: START_EXAMPLES,
        },
        "stop" => &Extras {
            env: EVERY_SCOPE,
            files: "",
            success: "every machine is STOPPED (or, with --no-wait, its stop was accepted)",
            codes: ALL_CODES,
            examples: &[
                (
                    "Stop two Tencent machines and wait until both are STOPPED:",
                    "cloudstart stop -p tencent -r ap-guangzhou ins-r8hr2upy ins-0a1b2c3d",
                ),
                (
                    "Power off at once and stop compute billing while stopped:",
                    "cloudstart stop --force --stop-charging tencent:ins-r8hr2upy",
                ),
                (
                    "From your crontab at 20:00: the morning's targets file, errors only on stderr, \
                     one JSON line per run in your home:",
                    "cloudstart stop -q --profile farm -f $HOME/.config/cloudstart/farm.toml -o json \
                     >> $HOME/farm-stop.jsonl",
                ),
            ],
        },
        "wait" => &Extras {
            env: EVERY_SCOPE,
            files: "",
            success: "every machine is in the state waited for",
            codes: ALL_CODES,
            examples: &[
                (
                    "Wait for a shutdown started elsewhere (the console, the OS) to finish:",
                    "cloudstart wait --for stopped tencent:ins-r8hr2upy",
                ),
                (
                    "Wait until a machine someone else starts answers SSH:",
                    "cloudstart wait --for running --wait-ssh tencent:ins-r8hr2upy",
                ),
            ],
        },
        "status" => &Extras {
            env: &[Scope::Every, Scope::Cloud, Scope::Network, Scope::Display],
            files: "",
            success: "every machine was found; its state is in the report",
            codes: &[
                ErrorKind::Internal,
                ErrorKind::Usage,
                ErrorKind::Auth,
                ErrorKind::Api,
                ErrorKind::Transport,
                ErrorKind::Interrupted,
            ],
            examples: &[
                (
                    "Print a machine's current state:",
                    "cloudstart status tencent:ins-r8hr2upy",
                ),
                (
                    "The same as JSON, for a script:",
                    "cloudstart status -o json -p tencent -r ap-guangzhou ins-r8hr2upy",
                ),
            ],
        },
        "config" | "config-check" => &CHECK,
        "config-init" => &Extras {
            env: &[Scope::Every, Scope::ConfigFile],
            files: "",
            success: "the starter file was written",
            codes: USAGE_CODES,
            examples: &[(
                "Write the starter file, then fill in a region:",
                "cloudstart config init && cloudstart config set profile.default.tencent.region \
                 ap-guangzhou",
            )],
        },
        "config-set" => &Extras {
            env: &[Scope::Every, Scope::ConfigFile],
            files: "",
            success: "the key was written",
            codes: USAGE_CODES,
            examples: &[
                (
                    "Give the farm profile a Tencent region and a default deadline:",
                    "cloudstart config set profile.farm.tencent.region ap-guangzhou && \
                     cloudstart config set profile.farm.timeout 20m",
                ),
                (
                    "Set a secret from standard input, out of the shell's history:",
                    "pass show tencent/secret | cloudstart config set \
                     profile.farm.tencent.secret_access_key -",
                ),
            ],
        },
        "config-get" => &Extras {
            env: &[Scope::Every, Scope::ConfigFile],
            files: "",
            success: "the value was printed",
            codes: USAGE_CODES,
            examples: &[(
                "Print a profile's region (exit 2 if it is not set):",
                "cloudstart config get profile.farm.tencent.region",
            )],
        },
        "sim" => &Extras {
            env: &[Scope::Every],
            files: "Only the files named by --state (read) and --log (appended to).",
            success: "stopped with Ctrl-C (SIGINT)",
            codes: USAGE_CODES,
            examples: &[
                (
                    "Serve every cloud on loopback, machines booting in 2 seconds:",
                    "cloudstart sim --boot-delay 2s &",
                ),
                (
                    "Throttle each cloud's first two starts, lose the next answer, and log every \
                     request:",
                    "cloudstart sim --fault throttle:2@start --fault drop:1@start --log \
                     requests.jsonl",
                ),
            ],
        },
        "demo" => &Extras {
            env: &[Scope::Every, Scope::Display],
            files: "None: the demo reads no config file and no vendor CLI files.",
            success: "every simulated machine was RUNNING, then STOPPED",
            codes: ALL_CODES,
            examples: &[(
                "Start one machine on each cloud's built-in simulator, then stop it:",
                "cloudstart demo",
            )],
        },
        "completions" => &Extras {
            env: &[Scope::Every, Scope::Completions],
            files: "With --install, the one file it writes, where the shell looks for a user's \
                    completions. bash: ~/.local/share/bash-completion/completions/cloudstart, \
                    or the same under $XDG_DATA_HOME, or completions/cloudstart under \
                    $BASH_COMPLETION_USER_DIR, when set (bash-completion 2.8 or newer loads it on \
                    demand). zsh: ~/.zfunc/_cloudstart. fish: \
                    ~/.config/fish/completions/cloudstart.fish, or the same under \
                    $XDG_CONFIG_HOME. The directory is created if missing; the file is written \
                    beside its place and renamed into it, so a symlink there is replaced, not \
                    followed.",
            success: "the script was printed, or installed and its path printed",
            codes: USAGE_CODES,
            examples: &[
                (
                    "Install bash completions (new shells complete cloudstart):",
                    "cloudstart completions bash --install",
                ),
                (
                    "Install zsh completions, then add fpath+=~/.zfunc; autoload -Uz compinit; \
                     compinit to ~/.zshrc:",
                    "cloudstart completions zsh --install",
                ),
                (
                    "Install fish completions:",
                    "cloudstart completions fish --install",
                ),
            ],
        },
        "man" => &Extras {
            env: &[Scope::Every],
            files: "With --out-dir, the pages it writes there: cloudstart.1, cloudstart-start.1 and so on.",
            success: "the page was printed, or every page written",
            codes: USAGE_CODES,
            examples: &[
                ("Read this page:", "cloudstart man man | man -l -"),
                (
                    "Read a nested subcommand's page:",
                    "cloudstart man config check | man -l -",
                ),
                (
                    "Install every page:",
                    "cloudstart man --out-dir /usr/local/share/man/man1",
                ),
            ],
        },
        _ => return None,
    };
    Some(extras)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::tencent;

    #[test]
    fn every_visible_subcommand_has_a_page_with_every_section() {
        let pages = pages();
        let names: Vec<String> = pages.iter().map(Page::name).collect();
        for expected in ["cloudstart", "cloudstart-start", "cloudstart-config-check"] {
            assert!(names.iter().any(|n| n == expected), "{names:?}");
        }
        assert!(!names.iter().any(|n| n.ends_with("-help")), "{names:?}");
        for page in &pages {
            let text = String::from_utf8(page.render().unwrap()).unwrap();
            let title = format!(".TH {} 1", page.name().to_uppercase());
            assert!(text.contains(&title), "{title}");
            for section in [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "OPTIONS",
                "ENVIRONMENT",
                "FILES",
                "\"EXIT STATUS\"",
                "EXAMPLES",
                "\"SEE ALSO\"",
            ] {
                assert!(
                    text.contains(&format!("\n.SH {section}\n")),
                    "{}: {section}",
                    page.name()
                );
            }
        }
    }

    #[test]
    fn every_variable_is_listed_on_the_tool_page() {
        let text = String::from_utf8(pages()[0].render().unwrap()).unwrap();
        for var in crate::provider::every_env_var() {
            assert!(text.contains(var.name), "{}", var.name);
        }
    }

    #[test]
    fn cloud_variables_only_where_a_cloud_is_reached() {
        let page = |name: &str| {
            let page = pages().into_iter().find(|p| p.name() == name).unwrap();
            String::from_utf8(page.render().unwrap()).unwrap()
        };
        assert!(page("cloudstart-start").contains(tencent::TENCENTCLOUD_SECRET_ID));
        assert!(page("cloudstart-config-check").contains(tencent::TENCENTCLOUD_SECRET_ID));
        assert!(!page("cloudstart-completions").contains(tencent::TENCENTCLOUD_SECRET_ID));
        assert!(!page("cloudstart-status").contains(EnvVars::CLOUDSTART_HEARTBEAT));
    }
}

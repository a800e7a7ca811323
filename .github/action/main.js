// cloudstart's GitHub Action (action.yml): one file, Node built-ins only, no npm dependencies.
//
// action.yml runs this file twice: as `runs.main` (install cloudstart, run `start`, `stop` or `wait`
// with `-o json`, set the step outputs) and as `runs.post`, which the runner runs when the job ends —
// passed, failed or cancelled, because `post-if` is `always()` — and which, after `stop-at-end: true`,
// stops the machines the main step started.
//
// Runner conventions this file relies on, from GitHub's docs:
//   https://docs.github.com/en/actions/reference/workflows-and-actions/metadata-syntax
//     (runs.using for JavaScript actions, runs.main, runs.post, runs.post-if: "If not set, then
//     post-if defaults to always()"; status functions there see the job's status, not the step's)
//   https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands
//     (GITHUB_OUTPUT, GITHUB_STATE, `name<<delimiter` values, ::error::, ::warning::, ::add-mask::,
//     and "the currently running action cannot access the updated path variable")
// - An input `wait-port` arrives as the variable INPUT_WAIT-PORT: upper case, spaces as `_`, hyphens kept.
// - An output is a `name<<delimiter` block appended to the file named by GITHUB_OUTPUT.
// - State is appended the same way to GITHUB_STATE; the runner hands it to this action's post step
//   (and to no other step) as STATE_<name>. The runner reads these files when the step ends, even
//   when it ends cancelled, so state written before a long command survives a cancel during it.
// - The post step gets the same inputs and the same `env:` as the main step, so cloud credentials
//   passed to the step through `env:` reach the stop at the end as well.
// - Cancelling a job sends SIGINT to this process (the runner's process, not its group), then
//   SIGTERM, then kills it; each is passed on to cloudstart as SIGINT, which ends its run with a
//   report on the first and at once on the second.
//
// Nothing here prints the environment, and credentials never pass through this file: cloudstart
// reads them from the environment it inherits.
//
// Under `node`, require()d instead of run, it only exports its pure functions (for the tests in
// action-test.js).
'use strict';

const { spawn, spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const installer = require('./install.js');

const COMMANDS = ['start', 'stop', 'wait'];
const WAIT_FOR = ['running', 'stopped'];

// ---- runner conventions ----------------------------------------------------------------------

/** An input's value, trimmed; '' when not given and without default. */
function input(name, env = process.env) {
  return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim();
}

/** A boolean input as YAML 1.2 core schema writes it (what @actions/core accepts); else throws. */
function booleanInput(name, env = process.env) {
  const value = input(name, env);
  if (value === '' || ['false', 'False', 'FALSE'].includes(value)) return false;
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  throw new UsageError(`input ${name} must be true or false, not \`${value}\``);
}

/** A workflow command's message: `%`, CR and LF escaped, as the runner unescapes them. */
function escapeData(text) {
  return String(text).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function error(message) {
  console.log(`::error::${escapeData(message)}`);
}

function warning(message) {
  console.log(`::warning::${escapeData(message)}`);
}

/**
 * Appends `name<<delimiter`, the value and the delimiter to an environment file. The delimiter is
 * random, so no line of the value can end the block early, and a newline in a value (an address
 * a cloud made up: `x\nexit-code=0`) cannot start another output. Every output and every piece of
 * state is written this way; a name or value holding the delimiter is refused, as @actions/core does.
 */
function fileCommand(file, name, value) {
  const delimiter = `ghadelimiter_${crypto.randomUUID()}`;
  if (String(name).includes(delimiter) || String(value).includes(delimiter) || /[\r\n]/.test(name)) {
    throw new Error(`cannot write ${JSON.stringify(String(name).slice(0, 40))} to ${path.basename(file)} safely`);
  }
  fs.appendFileSync(file, `${name}<<${delimiter}${os.EOL}${value}${os.EOL}${delimiter}${os.EOL}`, 'utf8');
}

function setOutput(name, value) {
  if (process.env.GITHUB_OUTPUT) fileCommand(process.env.GITHUB_OUTPUT, name, value);
  else console.log(`${name}=${value}`); // outside Actions, like run.sh before it
}

function saveState(name, value) {
  if (process.env.GITHUB_STATE) fileCommand(process.env.GITHUB_STATE, name, value);
}

class UsageError extends Error {}

// ---- what to run ------------------------------------------------------------------------------

/** Whitespace-separated words (spaces, tabs, newlines), as run.sh split them. */
function words(text) {
  return text.split(/\s+/).filter(Boolean);
}

// The flags of `cloudstart start` that take a value (src/cli.rs), so that splitting `args` can tell
// a flag's value from a target.
const VALUE_FLAGS = new Set([
  '-p', '--provider', '-f', '--targets-file', '--profile', '-r', '--region', '-z', '--zone',
  '--endpoint', '--timeout', '--proxy', '--ca-bundle', '-o', '--output', '--wait-port', '--address',
  '--poll-interval', '--poll-max', '--color',
]);
// Those the stop at the end keeps: what reaches the same machines with the same credentials, polling
// and logging. Left out: start's own (--wait-port, --wait-ssh, --address, --no-wait, --without-gpu),
// and --timeout and -o, which the stop has its own of (stop-timeout, json).
const REACH_FLAGS = new Set([
  '-p', '--provider', '--profile', '-r', '--region', '-z', '--zone', '--endpoint', '--proxy',
  '--ca-bundle', '--poll-interval', '--poll-max', '--color', '-q', '--quiet', '-v', '--verbose',
]);

/**
 * Splits the `args` input: the flags the stop at the end keeps (`reach`, each with its value), the
 * targets written among them (`positionals`), and whether a targets file or --dry-run is there.
 */
function splitArgs(tokens) {
  const result = { reach: [], positionals: [], targetsFile: false, dryRun: false };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '--') {
      result.positionals.push(...tokens.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      result.positionals.push(token);
      continue;
    }
    let name = token;
    let taken = [token];
    if (token.startsWith('--') && token.includes('=')) {
      name = token.slice(0, token.indexOf('='));
    } else if (!token.startsWith('--') && token.length > 2 && VALUE_FLAGS.has(token.slice(0, 2))) {
      name = token.slice(0, 2); // -rap-guangzhou
    } else if (/^-[qv]+$/.test(token)) {
      name = token[token.length - 1] === 'q' ? '-q' : '-v'; // -vv, -vvv
    } else if (VALUE_FLAGS.has(token) && i + 1 < tokens.length) {
      taken = [token, tokens[++i]];
    }
    if (name === '-f' || name === '--targets-file') result.targetsFile = true;
    if (name === '--dry-run') result.dryRun = true;
    if (REACH_FLAGS.has(name)) result.reach.push(...taken);
  }
  return result;
}

/** The flags every command gets from the inputs provider, region, zone (as run.sh passed them). */
function placeFlags(inputs) {
  const flags = [];
  if (inputs.provider) flags.push('--provider', inputs.provider);
  if (inputs.region) flags.push('--region', inputs.region);
  if (inputs.zone) flags.push('--zone', inputs.zone);
  return flags;
}

/** Reads and checks the inputs; throws UsageError for a value the action cannot run with. */
function readInputs(env = process.env) {
  const inputs = {
    command: input('command', env) || 'start',
    targets: words(input('targets', env)),
    targetsFile: input('targets-file', env),
    provider: input('provider', env),
    region: input('region', env),
    zone: input('zone', env),
    timeout: input('timeout', env),
    waitPorts: input('wait-port', env).split(/[\s,]+/).filter(Boolean),
    args: words(input('args', env)),
    for: input('for', env),
    force: booleanInput('force', env),
    stopCharging: booleanInput('stop-charging', env),
    stopAtEnd: booleanInput('stop-at-end', env),
    stopTimeout: input('stop-timeout', env) || '10m',
  };
  if (!COMMANDS.includes(inputs.command)) {
    throw new UsageError(`input command must be one of ${COMMANDS.join(', ')}, not \`${inputs.command}\``);
  }
  if (inputs.targets.length === 0 && !inputs.targetsFile) {
    throw new UsageError('the targets input is empty and no targets-file is given');
  }
  if (inputs.command === 'wait' && !WAIT_FOR.includes(inputs.for)) {
    throw new UsageError(
      inputs.for
        ? `input for must be running or stopped, not \`${inputs.for}\``
        : 'command wait needs the input for: running or stopped',
    );
  }
  return inputs;
}

/** Warnings for inputs the chosen command does not use. */
function unusedInputs(inputs) {
  const unused = [];
  if (inputs.command !== 'wait' && inputs.for) unused.push('for (only command wait uses it)');
  if (inputs.command === 'stop' && inputs.waitPorts.length) unused.push('wait-port (only commands start and wait use it)');
  if (inputs.command !== 'start' && inputs.stopAtEnd) unused.push('stop-at-end (only command start uses it)');
  const stops = inputs.command === 'stop' || (inputs.command === 'start' && inputs.stopAtEnd);
  if (!stops && inputs.force) unused.push('force (only command stop and stop-at-end use it)');
  if (!stops && inputs.stopCharging) unused.push('stop-charging (only command stop and stop-at-end use it)');
  return unused;
}

/** The flags of a stop: `--force` / `--stop-charging` when asked for. */
function stopFlags(inputs) {
  return [...(inputs.force ? ['--force'] : []), ...(inputs.stopCharging ? ['--stop-charging'] : [])];
}

/** `cloudstart` arguments for the main step, as run.sh built them for `start`. */
function commandArgv(inputs) {
  const argv = [inputs.command];
  if (inputs.command === 'wait') argv.push('--for', inputs.for);
  argv.push('-o', 'json', ...placeFlags(inputs));
  if (inputs.timeout) argv.push('--timeout', inputs.timeout);
  if (inputs.command !== 'stop') for (const port of inputs.waitPorts) argv.push('--wait-port', port);
  if (inputs.command === 'stop') argv.push(...stopFlags(inputs));
  if (inputs.targetsFile) argv.push('--targets-file', inputs.targetsFile);
  argv.push(...inputs.args, '--', ...inputs.targets);
  return argv;
}

/**
 * The stop at the end, as first saved — before the start runs, so that a job cancelled during the
 * start still stops what it asked for: every target of the step. `{ skip }` says why there is none.
 */
function planTeardown(inputs) {
  const split = splitArgs(inputs.args);
  if (split.dryRun) return { skip: 'stop-at-end does nothing with --dry-run: nothing is started' };
  if (split.targetsFile || inputs.targetsFile) {
    throw new UsageError(
      'stop-at-end stops the machines of the targets input, and a targets file (targets-file, or -f in args) ' +
        'would start machines it cannot tell apart; list them in targets, or stop them in an `if: always()` step',
    );
  }
  return {
    flags: [
      '-o', 'json', ...placeFlags(inputs), '--timeout', inputs.stopTimeout, ...stopFlags(inputs), ...split.reach,
    ],
    targets: [...inputs.targets, ...split.positionals],
  };
}

/**
 * Whether a record of the start's report may be a machine this step started, and so is stopped at
 * the end. Only what the report shows was not started is left alone: `already_running` (running
 * before the step: someone else's), and failures that never reached a running machine — `usage`
 * (refused before any request) and `auth` (credentials refused), and `api` with no state (the cloud
 * does not know the machine, e.g. not found). Everything else — running, starting, timeout,
 * interrupted, other failures — may be up and billing, so it is stopped.
 */
function startedByStep(record) {
  if (record.outcome === 'already_running') return false;
  if (record.outcome === 'failed') {
    const kind = record.error && record.error.kind;
    if (kind === 'usage' || kind === 'auth') return false;
    if (kind === 'api' && record.state == null) return false;
  }
  return true;
}

/**
 * The targets of the stop at the end once the start's report is known: `provider:id` of each
 * record that may have been started. Without a report the plan stands, except after exit code 2,
 * a usage error that comes before any request.
 */
function refineTargets(plannedTargets, report, exitCode) {
  if (!report) return exitCode === 2 ? [] : plannedTargets;
  const targets = report.instances.filter(startedByStep).map((r) => `${r.provider}:${r.id}`);
  return [...new Set(targets)];
}

/** The report as an object, or null when stdout was not a JSON report. */
function parseReport(text) {
  try {
    const report = JSON.parse(text);
    return report && Array.isArray(report.instances) ? report : null;
  } catch {
    return null;
  }
}

/** The outputs addresses and public-addresses, exactly as run.sh derived them with jq. */
function addressOutputs(report) {
  const records = report ? report.instances : [];
  const list = (value) => (Array.isArray(value) ? value : []);
  const addresses = records.map((r) => ({
    provider: r.provider,
    id: r.id,
    outcome: r.outcome,
    public: (r.addresses || {}).public,
    private: (r.addresses || {}).private,
  }));
  const publicAddresses = records.flatMap((r) => list((r.addresses || {}).public));
  return { addresses: JSON.stringify(addresses), public: publicAddresses.join(' ') };
}

/** The command line for the log, shell-quoted, with a --proxy URL's password hidden. */
function displayCommand(argv) {
  const hide = (value) => value.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
  const shown = argv.map((arg, i) =>
    arg.startsWith('--proxy=') || argv[i - 1] === '--proxy' ? hide(arg) : arg,
  );
  return ['cloudstart', ...shown].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

// ---- running things ---------------------------------------------------------------------------

/**
 * A new private file for `stem`, in a directory of its own that nobody else can enter (mkdtemp:
 * a fresh random name, mode 0700) under RUNNER_TEMP, else the system's temporary directory. The
 * file is created exclusively ('wx': never one planted there, never through a symlink), mode 0600.
 * Returns its path, its open descriptor and `remove()`, which deletes the file and the directory
 * and is called on every way out.
 */
function privateFile(stem) {
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'cloudstart-'));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const file = path.join(dir, `${stem}-${crypto.randomUUID()}`);
    const fd = fs.openSync(file, 'wx', 0o600);
    return { path: file, fd, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/**
 * install.js: a `cloudstart` already on PATH, or the release binary for this runner — the version
 * pinned by the `version` input or by the action's own ref — downloaded and checked against the
 * release's SHA256SUMS. Returns the binary's path.
 */
function install(env = process.env) {
  const options = {
    version: input('version', env),
    repository: input('repository', env),
    downloadBase: input('download-base', env),
  };
  return installer.install(options, env);
}

/** Exit code of a process ended by a signal, as a shell reports it. */
function signalExitCode(signal) {
  return 128 + (os.constants.signals[signal] || 0);
}

// Signals that cancel the job (see the top of the file): counted, and passed on as SIGINT to the
// cloudstart running at the time, if any.
const interrupts = { count: 0, child: null };
function onInterrupt() {
  interrupts.count += 1;
  if (interrupts.child) interrupts.child.kill('SIGINT');
}

/**
 * Runs cloudstart with stdout into a file and stderr into the log. A watchdog interrupts it, then
 * kills it, if it outlives `deadlineMs`. Resolves `{ code, stdout }`; never rejects.
 */
function runCloudstart(bin, argv, { deadlineMs } = {}) {
  return new Promise((resolve) => {
    let outFile;
    try {
      outFile = privateFile('cloudstart-report');
    } catch (err) {
      error(`cannot create a temporary file for the report: ${err.message}`);
      resolve({ code: 1, stdout: '' });
      return;
    }
    let child;
    try {
      child = spawn(bin, argv, { stdio: ['ignore', outFile.fd, 'inherit'] });
    } catch (err) {
      outFile.remove();
      throw err;
    } finally {
      fs.closeSync(outFile.fd);
    }
    interrupts.child = child;
    const timers = [];
    if (deadlineMs) {
      timers.push(setTimeout(() => {
        warning('cloudstart is still running after its timeout; interrupting it');
        child.kill('SIGINT');
        timers.push(setTimeout(() => child.kill('SIGKILL'), 30_000));
      }, deadlineMs));
    }
    let failedToStart = null;
    child.on('error', (err) => {
      failedToStart = err;
    });
    child.on('close', (code, signal) => {
      interrupts.child = null;
      for (const t of timers) clearTimeout(t);
      let stdout = '';
      try {
        stdout = fs.readFileSync(outFile.path, 'utf8');
      } catch {
        // nothing written
      } finally {
        outFile.remove();
      }
      if (failedToStart) {
        error(`cannot run ${bin}: ${failedToStart.message}`);
        resolve({ code: 127, stdout });
      } else {
        resolve({ code: code != null ? code : signalExitCode(signal), stdout });
      }
    });
  });
}

/** Milliseconds in a duration written as cloudstart takes it (90s, 10m, 1h30m, 500ms), or null. */
function durationMs(text) {
  const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(String(text))) return null;
  let total = 0;
  for (const [, n, unit] of String(text).matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(n) * units[unit];
  return total;
}

// ---- the two steps ----------------------------------------------------------------------------

async function main() {
  // Tells the post step it is the post step: it sees STATE_isPost, the main step never does.
  saveState('isPost', 'true');
  const inputs = readInputs();
  for (const unused of unusedInputs(inputs)) warning(`input ignored: ${unused}`);
  const teardown = inputs.command === 'start' && inputs.stopAtEnd ? planTeardown(inputs) : null;
  if (teardown && teardown.skip) warning(teardown.skip);
  const bin = install();
  // A cancel during the install is seen once the loop turns; then nothing is started.
  await new Promise((resolve) => setImmediate(resolve));
  if (interrupts.count) {
    error(`cancelled before cloudstart ${inputs.command} ran`);
    process.exitCode = 130;
    return;
  }

  const saveTeardown = (targets) =>
    saveState('stop', JSON.stringify({ bin, flags: teardown.flags, targets }));
  if (teardown && !teardown.skip) saveTeardown(teardown.targets);

  const argv = commandArgv(inputs);
  console.log(displayCommand(argv));
  const { code, stdout } = await runCloudstart(bin, argv);
  const report = parseReport(stdout);

  if (teardown && !teardown.skip) {
    const targets = refineTargets(teardown.targets, report, code);
    saveTeardown(targets);
    console.log(
      targets.length
        ? `stop-at-end: the post step will stop ${targets.join(' ')}`
        : 'stop-at-end: this step started no machine; the post step has nothing to stop',
    );
  }

  const { addresses, public: publicAddresses } = addressOutputs(report);
  setOutput('exit-code', String(code));
  setOutput('addresses', addresses);
  setOutput('public-addresses', publicAddresses);
  setOutput('report', stdout); // its value is stdout verbatim, final newline included, as from run.sh
  if (stdout) process.stdout.write(stdout.endsWith('\n') ? stdout : `${stdout}\n`);
  if (code !== 0) error(`cloudstart ${inputs.command} exited with ${code}`);
  process.exitCode = code;
}

async function post() {
  const saved = process.env.STATE_stop;
  if (!saved) return; // no stop-at-end in the main step
  const { bin, flags, targets } = JSON.parse(saved);
  if (targets.length === 0) {
    console.log('stop-at-end: the main step started no machine; nothing to stop');
    return;
  }
  const argv = ['stop', ...flags, '--', ...targets];
  console.log(`stop-at-end: ${displayCommand(argv)}`);
  const timeout = durationMs(flags[flags.indexOf('--timeout') + 1]);
  const { code, stdout } = await runCloudstart(bin, argv, { deadlineMs: timeout && timeout + 60_000 });
  const report = parseReport(stdout);
  for (const r of report ? report.instances : []) {
    const why = r.error ? `: ${r.error.message}` : '';
    console.log(`${r.provider}:${r.id}: ${r.outcome}${r.state ? ` (${r.state})` : ''}${why}`);
  }
  if (stdout) process.stdout.write(stdout.endsWith('\n') ? stdout : `${stdout}\n`);
  if (code !== 0) {
    const left = report
      ? report.instances.filter((r) => !['stopped', 'already_stopped'].includes(r.outcome)).map((r) => `${r.provider}:${r.id}`)
      : targets;
    error(`stop-at-end: cloudstart stop exited with ${code}; these machines may still be running: ${left.join(' ')}`);
    process.exitCode = code;
  }
}

async function run() {
  const isPost = process.env.STATE_isPost === 'true';
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onInterrupt);
  try {
    await (isPost ? post() : main());
  } catch (err) {
    // Never an unhandled exception: one ::error:: line, and the step fails (2 for bad inputs).
    const usage = err instanceof UsageError || err instanceof installer.InputError;
    error(usage ? err.message : `${isPost ? 'stop-at-end' : 'cloudstart action'}: ${err.message}`);
    process.exitCode = usage ? 2 : 1;
  }
}

if (require.main === module) {
  run();
} else {
  module.exports = {
    input, booleanInput, escapeData, splitArgs, readInputs, unusedInputs, commandArgv, planTeardown,
    startedByStep, refineTargets, parseReport, addressOutputs, displayCommand, durationMs, UsageError,
    fileCommand, install, runCloudstart, installer,
  };
}

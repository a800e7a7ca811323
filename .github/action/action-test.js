// Tests the Action (main.js) without GitHub: its pure functions, then whole steps run the way the
// runner runs them — INPUT_* variables, fresh GITHUB_OUTPUT / GITHUB_STATE files per step, the main
// step's state handed to the post step as STATE_* — against `cloudstart sim`:
//
//   cargo build && node .github/action/action-test.js
//
// The binary is $CLOUDSTART_BIN, else $CARGO_TARGET_DIR/debug/cloudstart, else target/debug/cloudstart.
// Every simulator it starts is killed when it exits, however it exits.
//
// One suite kept in one file (Node runs it with no test framework): its cases share the step
// runner, the loopback release server and the simulator set-up below.
'use strict';

const assert = require('assert');
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const url = require('url');

const action = require('./main.js');

const root = path.resolve(__dirname, '..', '..');
const exe = process.platform === 'win32' ? 'cloudstart.exe' : 'cloudstart';
const bin = process.env.CLOUDSTART_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(root, 'target'), 'debug', exe);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudstart-action-test-'));
const cargoToml = (fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8').match(/^version = "([^"]+)"/m) || [])[1];

// The simulator's fixed test credentials and region (README.md, "The simulator").
const CREDENTIALS = {
  TENCENTCLOUD_SECRET_ID: 'AKIDcloudstartSIMULATOR0001',
  TENCENTCLOUD_SECRET_KEY: 'cloudstart-simulator-secret-key',
};

let failures = 0;
let passed = 0;
async function test(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (err) {
    failures += 1;
    console.log(`not ok - ${name}\n  ${String(err && err.stack ? err.stack : err).replace(/\n/g, '\n  ')}`);
  }
}

// ---- simulators, killed on every way out ---------------------------------------------------------

const sims = [];
function killSims() {
  for (const sim of sims) if (sim.exitCode == null) sim.kill('SIGKILL');
}
process.on('exit', killSims);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killSims();
    process.exit(130);
  });
}

/** Starts `cloudstart sim`; resolves the Tencent endpoint once it prints it. */
function startSim(bootDelay, seed) {
  const seedFile = path.join(work, `seed-${sims.length}.toml`);
  fs.writeFileSync(seedFile, seed);
  const sim = spawn(bin, ['sim', '--boot-delay', bootDelay, '--stop-delay', '1s', '--state', seedFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  sims.push(sim);
  return new Promise((resolve, reject) => {
    let seen = '';
    sim.on('error', reject);
    sim.on('exit', (code) => reject(new Error(`cloudstart sim exited with ${code}`)));
    sim.stdout.on('data', (chunk) => {
      seen += chunk;
      const line = seen.split('\n').find((l) => l.startsWith('tencent '));
      if (line) resolve(line.split(/\s+/)[1]);
    });
  });
}

// ---- the runner's side -------------------------------------------------------------------------

/** An environment file (GITHUB_OUTPUT, GITHUB_STATE) read as the runner reads it: NAME=VALUE or NAME<<DELIMITER. */
function readEnvFile(file) {
  const values = {};
  // Lines end in os.EOL, CRLF on Windows.
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const eq = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      values[line.slice(0, eq)] = line.slice(eq + 1);
    } else {
      const [name, delimiter] = [line.slice(0, heredoc), line.slice(heredoc + 2)];
      const value = [];
      for (i += 1; lines[i] !== delimiter; i++) {
        if (i >= lines.length) throw new Error(`no delimiter ${delimiter} in ${file}`);
        value.push(lines[i]);
      }
      values[name] = value.join('\n');
    }
  }
  return values;
}

let steps = 0;
/**
 * Runs main.js as one step: `inputs` as INPUT_*, `state` as STATE_*, fresh environment files.
 * `whileRunning(child, stderrSoFar)` may act on it (e.g. cancel it). Resolves what the step left.
 */
function runStep(env, inputs, state = {}, whileRunning, script = path.join(__dirname, 'main.js')) {
  steps += 1;
  const files = {};
  for (const name of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_PATH']) {
    files[name] = path.join(work, `${name.toLowerCase()}-${steps}`);
    fs.writeFileSync(files[name], '');
  }
  const stepEnv = { ...process.env, ...files, RUNNER_TEMP: work };
  // What the runner sets for the workflow's own steps, not for this one unless the test says so.
  for (const name of ['GITHUB_ACTION_REF', 'GITHUB_ACTION_REPOSITORY']) delete stepEnv[name];
  Object.assign(stepEnv, env);
  // The bin directory first on PATH: the install takes the `cloudstart` it finds there (unless the
  // test gives a PATH of its own).
  const pathKey = Object.keys(stepEnv).find((k) => k.toUpperCase() === 'PATH') || 'PATH';
  if (!('PATH' in env)) stepEnv[pathKey] = `${path.dirname(bin)}${path.delimiter}${process.env[pathKey] || process.env.PATH}`;
  else if (pathKey !== 'PATH') stepEnv[pathKey] = env.PATH;
  for (const key of Object.keys(stepEnv)) if (key.startsWith('INPUT_') || key.startsWith('STATE_')) delete stepEnv[key];
  for (const [name, value] of Object.entries(inputs)) stepEnv[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  for (const [name, value] of Object.entries(state)) stepEnv[`STATE_${name}`] = value;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { env: stepEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      if (whileRunning) whileRunning(child, stderr);
    });
    child.on('close', (code) => {
      const log = stdout + stderr;
      if (process.env.ACTION_TEST_VERBOSE) console.log(log.replace(/^/gm, '    | '));
      resolve({
        code,
        log,
        outputs: readEnvFile(files.GITHUB_OUTPUT),
        state: readEnvFile(files.GITHUB_STATE),
        githubPath: fs.readFileSync(files.GITHUB_PATH, 'utf8'),
      });
    });
  });
}

/** The cloud's states of the machines, from `cloudstart status -o json`. */
function states(env, ids) {
  const result = spawnSync(bin, ['status', '-o', 'json', '-p', 'tencent', '-r', 'ap-guangzhou', ...ids], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  const report = JSON.parse(result.stdout);
  return Object.fromEntries(report.instances.map((r) => [r.id, r.state]));
}

// ---- the tests ------------------------------------------------------------------------------------

async function unitTests() {
  await test('inputs: names as the runner makes them; defaults', () => {
    const inputs = action.readInputs({ INPUT_TARGETS: ' ins-a\n ins-b ', 'INPUT_WAIT-PORT': '22, 80 443' });
    assert.deepStrictEqual(inputs.targets, ['ins-a', 'ins-b']);
    assert.deepStrictEqual(inputs.waitPorts, ['22', '80', '443']);
    assert.strictEqual(inputs.command, 'start');
    assert.strictEqual(inputs.stopAtEnd, false);
    assert.strictEqual(inputs.stopTimeout, '10m');
  });

  await test('inputs: unknown command, wait without for, bad booleans, no targets are usage errors', () => {
    const bad = [
      { INPUT_TARGETS: 'ins-a', INPUT_COMMAND: 'restart' },
      { INPUT_TARGETS: 'ins-a', INPUT_COMMAND: 'wait' },
      { INPUT_TARGETS: 'ins-a', INPUT_COMMAND: 'wait', INPUT_FOR: 'up' },
      { INPUT_TARGETS: 'ins-a', 'INPUT_STOP-AT-END': 'yes' },
      { INPUT_TARGETS: ' ' },
    ];
    for (const env of bad) assert.throws(() => action.readInputs(env), action.UsageError, JSON.stringify(env));
  });

  await test('command lines: start as run.sh built it; stop and wait', () => {
    const base = { INPUT_TARGETS: 'ins-a tencent:ins-b', INPUT_PROVIDER: 'tencent', INPUT_REGION: 'ap-guangzhou' };
    const start = action.readInputs({ ...base, INPUT_TIMEOUT: '1m', 'INPUT_WAIT-PORT': '22,80', INPUT_ARGS: '--poll-interval 2s' });
    assert.deepStrictEqual(action.commandArgv(start), [
      'start', '-o', 'json', '--provider', 'tencent', '--region', 'ap-guangzhou', '--timeout', '1m',
      '--wait-port', '22', '--wait-port', '80', '--poll-interval', '2s', '--', 'ins-a', 'tencent:ins-b',
    ]);
    const stop = action.readInputs({ ...base, INPUT_COMMAND: 'stop', INPUT_FORCE: 'true', 'INPUT_STOP-CHARGING': 'TRUE' });
    assert.deepStrictEqual(action.commandArgv(stop), [
      'stop', '-o', 'json', '--provider', 'tencent', '--region', 'ap-guangzhou', '--force', '--stop-charging',
      '--', 'ins-a', 'tencent:ins-b',
    ]);
    const wait = action.readInputs({ ...base, INPUT_COMMAND: 'wait', INPUT_FOR: 'stopped' });
    assert.deepStrictEqual(action.commandArgv(wait).slice(0, 5), ['wait', '--for', 'stopped', '-o', 'json']);
    assert.deepStrictEqual(action.unusedInputs({ ...wait, waitPorts: ['22'], stopAtEnd: true, force: true }).length, 2);
    assert.deepStrictEqual(action.unusedInputs({ ...stop, waitPorts: ['22'], for: 'running' }).length, 2);
  });

  await test('args: the stop at the end keeps the flags that reach the machines, and targets among them', () => {
    const split = action.splitArgs(
      '--poll-interval 2s --profile ci -rap-guangzhou --address private --wait-ssh -vv --proxy=http://u:p@h:1 ins-c -- ins-d'.split(' '),
    );
    assert.deepStrictEqual(split.reach, ['--poll-interval', '2s', '--profile', 'ci', '-rap-guangzhou', '-vv', '--proxy=http://u:p@h:1']);
    assert.deepStrictEqual(split.positionals, ['ins-c', 'ins-d']);
    assert.strictEqual(action.splitArgs(['-f', 'x.toml']).targetsFile, true);
    assert.strictEqual(action.splitArgs(['--targets-file=x.toml']).targetsFile, true);
    assert.strictEqual(action.splitArgs(['--dry-run']).dryRun, true);
  });

  await test('stop-at-end: planned before the start with every target; refused with a targets file', () => {
    const inputs = action.readInputs({
      INPUT_TARGETS: 'ins-a', INPUT_PROVIDER: 'tencent', 'INPUT_STOP-AT-END': 'true', 'INPUT_STOP-TIMEOUT': '5m',
      INPUT_FORCE: 'true', INPUT_ARGS: '--timeout 1m --endpoint http://127.0.0.1:1 ins-b',
    });
    assert.deepStrictEqual(action.planTeardown(inputs), {
      flags: ['-o', 'json', '--provider', 'tencent', '--timeout', '5m', '--force', '--endpoint', 'http://127.0.0.1:1'],
      targets: ['ins-a', 'ins-b'],
    });
    assert.throws(() => action.planTeardown({ ...inputs, args: ['-f', 'farm.toml'] }), action.UsageError);
    assert.ok(action.planTeardown({ ...inputs, args: ['--dry-run'] }).skip);
  });

  await test('stop-at-end: refined by the report — already running and never-reached machines are left alone', () => {
    const record = (id, outcome, state, kind) => ({ provider: 'tencent', id, outcome, state, error: kind ? { kind } : null });
    const report = {
      instances: [
        record('ins-run', 'running', 'RUNNING'),
        record('ins-acc', 'starting', 'STARTING'),
        record('ins-was', 'already_running', 'RUNNING'),
        record('ins-late', 'timeout', 'STARTING', 'timeout'),
        record('ins-int', 'interrupted', 'PENDING', 'interrupted'),
        record('ins-net', 'failed', null, 'transport'),
        record('ins-bad', 'failed', null, 'usage'),
        record('ins-key', 'failed', null, 'auth'),
        record('ins-gone', 'failed', null, 'api'),
        record('ins-port', 'failed', 'RUNNING', 'api'),
        record('ins-dmg', 'failed', 'LAUNCH_FAILED', 'failed_state'),
      ],
    };
    assert.deepStrictEqual(action.refineTargets(['x'], report, 4), [
      'tencent:ins-run', 'tencent:ins-acc', 'tencent:ins-late', 'tencent:ins-int', 'tencent:ins-net',
      'tencent:ins-port', 'tencent:ins-dmg',
    ]);
    assert.deepStrictEqual(action.refineTargets(['ins-a'], null, 2), [], 'a usage error starts nothing');
    assert.deepStrictEqual(action.refineTargets(['ins-a'], null, 1), ['ins-a'], 'no report: the plan stands');
  });

  await test('outputs: addresses and public-addresses as run.sh made them with jq', () => {
    const report = action.parseReport(
      '{"schema_version":1,"elapsed_ms":1,"instances":[' +
        '{"provider":"tencent","region":"r","zone":null,"id":"ins-a","outcome":"running","state":"RUNNING","job_id":null,"addresses":{"public":["1.2.3.4","5.6.7.8"],"private":["10.0.0.1"]},"error":null},' +
        '{"provider":"tencent","region":"r","zone":null,"id":"ins-b","outcome":"failed","state":null,"job_id":null,"addresses":{"public":[],"private":[]},"error":{"kind":"api"}}]}\n',
    );
    assert.deepStrictEqual(action.addressOutputs(report), {
      addresses:
        '[{"provider":"tencent","id":"ins-a","outcome":"running","public":["1.2.3.4","5.6.7.8"],"private":["10.0.0.1"]},' +
        '{"provider":"tencent","id":"ins-b","outcome":"failed","public":[],"private":[]}]',
      public: '1.2.3.4 5.6.7.8',
    });
    assert.deepStrictEqual(action.addressOutputs(action.parseReport('not json')), { addresses: '[]', public: '' });
  });

  await test('outputs: a value with newlines and `exit-code=0` stays one output (random delimiter)', () => {
    const file = path.join(work, 'output-injection');
    fs.writeFileSync(file, '');
    action.fileCommand(file, 'exit-code', '4');
    action.fileCommand(file, 'public-addresses', '127.0.0.1\nexit-code=0\nreport<<EOF\nforged\nEOF');
    assert.deepStrictEqual(readEnvFile(file), {
      'exit-code': '4',
      'public-addresses': '127.0.0.1\nexit-code=0\nreport<<EOF\nforged\nEOF',
    });
    assert.throws(() => action.fileCommand(file, 'a\nb', 'x'));
  });

  await test('log: a proxy password is not shown; workflow command data is escaped', () => {
    const shown = action.displayCommand(['start', '--proxy', 'http://user:secret@proxy:3128', '--proxy=https://u:pw@p:1', 'a b']);
    assert.ok(!shown.includes('secret') && !shown.includes(':pw@'), shown);
    assert.ok(shown.endsWith("'a b'"), shown);
    assert.strictEqual(action.escapeData('50%\r\nnext'), '50%25%0D%0Anext');
  });

  await test('durations as cloudstart writes them', () => {
    assert.strictEqual(action.durationMs('10m'), 600_000);
    assert.strictEqual(action.durationMs('1h30m'), 5_400_000);
    assert.strictEqual(action.durationMs('500ms'), 500);
    assert.strictEqual(action.durationMs('soon'), null);
  });

  await test('wait-port: a glob is a word passed as it is, never file names', () => {
    // No shell anywhere: main.js and install.js spawn with an argv.
    const here = process.cwd();
    process.chdir(work);
    try {
      fs.writeFileSync(path.join(work, 'decoy-file'), '');
      const inputs = action.readInputs({ INPUT_TARGETS: 'tencent:ins-a', 'INPUT_WAIT-PORT': '* 22' });
      assert.deepStrictEqual(inputs.waitPorts, ['*', '22']);
      const argv = action.commandArgv(inputs);
      assert.strictEqual(argv[argv.indexOf('--wait-port') + 1], '*', argv.join(' '));
    } finally {
      process.chdir(here);
    }
    for (const file of ['main.js', 'install.js']) {
      const source = fs.readFileSync(path.join(__dirname, file), 'utf8');
      assert.ok(!/shell\s*:/.test(source) && !/\bexecS?y?n?c?\(/.test(source), `${file} runs a shell`);
    }
  });

  /** Runs `body` with the system's temporary directory (and no RUNNER_TEMP) at a fresh directory. */
  async function withTempDir(body) {
    const dir = fs.mkdtempSync(path.join(work, 'tmp-'));
    const saved = { TMPDIR: process.env.TMPDIR, RUNNER_TEMP: process.env.RUNNER_TEMP };
    process.env.TMPDIR = dir;
    delete process.env.RUNNER_TEMP;
    try {
      await body(dir);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  await test('outside Actions the report goes to a private file, removed on every way out', async () => {
    if (process.platform !== 'linux') return;
    await withTempDir(async (dir) => {
      // The child reports the mode of its stdout's file and of that file's directory.
      const script = 'f="$(readlink /proc/$$/fd/1)"; stat -c %a "$f" "$(dirname "$f")"; echo report';
      const ran = await action.runCloudstart('/bin/sh', ['-c', script]);
      assert.strictEqual(ran.code, 0);
      assert.deepStrictEqual(ran.stdout.split('\n'), ['600', '700', 'report', '']);
      assert.deepStrictEqual(fs.readdirSync(dir), [], 'left behind');
      const failed = await action.runCloudstart('/bin/sh', ['-c', 'echo partial; exit 4']);
      assert.deepStrictEqual([failed.code, failed.stdout], [4, 'partial\n']);
      assert.deepStrictEqual(fs.readdirSync(dir), [], 'left behind after a failure');
      const missing = await action.runCloudstart(path.join(dir, 'no-such-binary'), []);
      assert.strictEqual(missing.code, 127);
      assert.deepStrictEqual(fs.readdirSync(dir), [], 'left behind when it cannot start');
    });
  });

  await test('install: a cloudstart on PATH is used when it reports the version asked for, or for latest', () => {
    if (process.platform === 'win32') return;
    const fakeBin = fs.mkdtempSync(path.join(work, 'bin-'));
    const fake = path.join(fakeBin, 'cloudstart');
    fs.writeFileSync(fake, '#!/bin/sh\necho "cloudstart 1.2.3 (fake)"\n', { mode: 0o755 });
    const env = { PATH: `${fakeBin}:${process.env.PATH}`, GITHUB_PATH: path.join(work, 'gh-path') };
    const quiet = () => {};
    assert.strictEqual(action.installer.install({ version: '1.2.3' }, env, quiet), fake);
    assert.strictEqual(action.installer.install({ version: 'latest' }, env, quiet), fake);
    assert.strictEqual(action.installer.install({}, { ...env, GITHUB_ACTION_REF: 'main' }, quiet), fake);
    // A version that would match only as a glob (`?.?.?`) is no version: refused before any download.
    assert.throws(() => action.installer.install({ version: '?.?.?' }, env, quiet), /input version must be latest or a version/);
    // Another version installs; on a runner with no release that fails before any download.
    assert.throws(
      () => action.installer.install({ version: '1.2.4' }, { ...env, RUNNER_OS: 'Plan9', RUNNER_ARCH: 'X' }, quiet),
      /no cloudstart release for Plan9\/X/,
    );
  });

  await test('install: the version from the input, else the action ref when it is a release tag, else latest', () => {
    const { chooseVersion } = action.installer;
    assert.deepStrictEqual(chooseVersion('v1.2.3', 'v9.9.9', '9.9.9'), { version: '1.2.3', why: 'the version input' });
    assert.deepStrictEqual(chooseVersion('latest', 'v9.9.9', null).version, 'latest');
    assert.deepStrictEqual(chooseVersion('', 'v1.2.3', null), { version: '1.2.3', why: "the action's ref v1.2.3" });
    assert.strictEqual(chooseVersion('', 'v1.2.0-rc.1', null).version, '1.2.0-rc.1');
    // The moving major tag: the release at that commit is the Cargo.toml version beside the action.
    assert.deepStrictEqual(chooseVersion('', 'v0', '0.4.1'), { version: '0.4.1', why: "the action's ref v0, at release 0.4.1" });
    assert.strictEqual(chooseVersion('', 'v0.4', '0.4.1').version, '0.4.1');
    assert.strictEqual(chooseVersion('', 'v1', '0.4.1').version, 'latest', 'v1 never installs a 0.x');
    assert.strictEqual(chooseVersion('', 'v0.3', '0.4.1').version, 'latest');
    assert.deepStrictEqual(chooseVersion('', 'main', '0.4.1'), { version: 'latest', why: "the action's ref main is not a release tag" });
    assert.strictEqual(chooseVersion('', '1.2.3', null).version, 'latest', 'a branch named 1.2.3 is not a tag');
    assert.strictEqual(chooseVersion('', '', '0.4.1').version, 'latest');
    assert.strictEqual(chooseVersion('', 'v1.2.3', null).why, "the action's ref v1.2.3");
    for (const bad of ['1.2', 'v1', 'next', '1.2.3; rm -rf /', '../1.2.3']) {
      assert.throws(() => chooseVersion(bad, '', null), action.installer.InstallError, bad);
    }
    assert.strictEqual(action.installer.cargoVersion(path.join(root, 'Cargo.toml')), cargoToml);
  });

  await test('install: the repository from the input, else the one the action was taken from', () => {
    const { chooseRepository, downloadBase } = action.installer;
    const env = { GITHUB_ACTION_REPOSITORY: 'someone/cloudstart-fork', GITHUB_REPOSITORY: 'me/app' };
    assert.strictEqual(chooseRepository('', env), 'someone/cloudstart-fork');
    assert.strictEqual(chooseRepository('other/mirror', env), 'other/mirror');
    assert.strictEqual(chooseRepository('', { GITHUB_REPOSITORY: 'me/app' }), 'me/app', 'a local `uses: ./`');
    assert.strictEqual(chooseRepository('', {}), 'cloudstart/cloudstart');
    assert.throws(() => chooseRepository('a/b/../c', env), action.installer.InputError);
    assert.strictEqual(downloadBase('', chooseRepository('', env), '1.2.3'), 'https://github.com/someone/cloudstart-fork/releases/download/v1.2.3');
    assert.strictEqual(downloadBase('', 'o/r', 'latest'), 'https://github.com/o/r/releases/latest/download');
  });

  await test('install: download-base is https, file, or http on loopback only', () => {
    const { downloadBase, InstallError } = action.installer;
    assert.strictEqual(downloadBase('https://mirror.example/cloudstart/v1/', 'o/r', '1.0.0'), 'https://mirror.example/cloudstart/v1');
    assert.strictEqual(downloadBase('http://127.0.0.1:8080/dist', 'o/r', '1.0.0'), 'http://127.0.0.1:8080/dist');
    assert.strictEqual(downloadBase('http://[::1]:8080', 'o/r', '1.0.0'), 'http://[::1]:8080');
    assert.strictEqual(downloadBase('file:///C:/a/_temp/dist', 'o/r', '1.0.0'), 'file:///C:/a/_temp/dist');
    for (const bad of ['http://mirror.example/dist', 'ftp://127.0.0.1/', 'dist', 'C:\\a\\dist']) {
      assert.throws(() => downloadBase(bad, 'o/r', '1.0.0'), InstallError, bad);
    }
  });

  await test('install: the release asset for each runner; Windows gets the zip and cloudstart.exe', () => {
    const { releaseAsset, systemTool } = action.installer;
    assert.deepStrictEqual(releaseAsset({ RUNNER_OS: 'Windows', RUNNER_ARCH: 'X64' }), {
      target: 'x86_64-pc-windows-msvc', asset: 'cloudstart-x86_64-pc-windows-msvc.zip', exe: 'cloudstart.exe',
    });
    assert.strictEqual(releaseAsset({ RUNNER_OS: 'macOS', RUNNER_ARCH: 'ARM64' }).asset, 'cloudstart-aarch64-apple-darwin.tar.gz');
    assert.strictEqual(releaseAsset({ RUNNER_OS: 'macOS', RUNNER_ARCH: 'X64' }).target, 'x86_64-apple-darwin');
    assert.strictEqual(releaseAsset({ RUNNER_OS: 'Linux', RUNNER_ARCH: 'ARM64' }).target, 'aarch64-unknown-linux-musl');
    assert.strictEqual(releaseAsset({}, 'win32', 'x64').exe, 'cloudstart.exe', 'outside Actions: from Node');
    assert.strictEqual(releaseAsset({}, 'linux', 'x64').target, 'x86_64-unknown-linux-musl');
    assert.throws(() => releaseAsset({ RUNNER_OS: 'Windows', RUNNER_ARCH: 'ARM64' }), /no cloudstart release for Windows\/ARM64/);
    // On Windows, System32's tar (bsdtar, which reads .zip) and curl, never Git's GNU tar or WSL.
    assert.strictEqual(systemTool('tar', { SystemRoot: 'C:\\Windows' }, 'win32'), 'C:\\Windows\\System32\\tar.exe');
    assert.strictEqual(systemTool('curl', {}, 'win32'), 'C:\\Windows\\System32\\curl.exe');
    assert.strictEqual(systemTool('tar', { SystemRoot: 'C:\\Windows' }, 'linux'), 'tar');
  });

  await test('install: SHA256SUMS lines in text and binary mode, CRLF; an unlisted asset is null', () => {
    const { expectedSha256 } = action.installer;
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    const sums = `${a}  cloudstart-x.tar.gz\r\n${b} *cloudstart-y.zip\n${'c'.repeat(64)}  THIRD-PARTY-LICENSES\n`;
    assert.strictEqual(expectedSha256(sums, 'cloudstart-x.tar.gz'), a);
    assert.strictEqual(expectedSha256(sums, 'cloudstart-y.zip'), 'b'.repeat(64));
    assert.strictEqual(expectedSha256(sums, 'cloudstart-z.tar.gz'), null);
    assert.strictEqual(expectedSha256(`${a}  prefix-cloudstart-x.tar.gz\n`, 'cloudstart-x.tar.gz'), null);
  });

  await test('action.yml: valid plain scalars, and exactly the inputs main.js and install.js read', () => {
    // A Windows checkout may have CRLF line ends (core.autocrlf).
    const yml = fs.readFileSync(path.join(root, 'action.yml'), 'utf8').replace(/\r\n/g, '\n');
    // A plain (unquoted, not folded) scalar may not hold `: ` or ` #`: YAML would refuse the file, or cut it.
    for (const [i, line] of yml.split('\n').entries()) {
      const m = line.match(/^\s*[\w-]+:\s+(.*)$/);
      if (m && !/^(['">|]|$)/.test(m[1])) assert.ok(!/: | #/.test(m[1]), `action.yml:${i + 1}: plain scalar with ': ' or ' #'`);
    }
    const inputsBlock = yml.slice(yml.indexOf('\ninputs:\n'), yml.indexOf('\noutputs:\n'));
    const declared = [...inputsBlock.matchAll(/^ {2}([\w-]+):$/gm)].map((m) => m[1]).sort();
    const source = fs.readFileSync(path.join(__dirname, 'main.js'), 'utf8');
    const read = [...new Set([...source.matchAll(/\b(?:input|booleanInput)\('([\w-]+)'/g)].map((m) => m[1]))].sort();
    assert.deepStrictEqual(declared, read);
  });
}

/**
 * A release for this machine as release.yml packs it: dist/cloudstart-<target>.tar.gz (.zip on
 * Windows) holding cloudstart-<target>/cloudstart(.exe), and SHA256SUMS. Outside Windows the binary is
 * a two-line script that runs the debug build (a small archive); on Windows, the debug build itself.
 */
function fakeRelease({ target, asset, exe }) {
  const dir = fs.mkdtempSync(path.join(work, 'release-'));
  const name = `cloudstart-${target}`;
  fs.mkdirSync(path.join(dir, 'stage', name), { recursive: true });
  const packed = path.join(dir, 'stage', name, exe);
  if (process.platform === 'win32') fs.copyFileSync(bin, packed);
  else fs.writeFileSync(packed, `#!/bin/sh\nexec '${bin.replace(/'/g, `'\\''`)}' "$@"\n`, { mode: 0o755 });
  const dist = path.join(dir, 'dist');
  fs.mkdirSync(dist);
  const tar = action.installer.systemTool('tar', process.env);
  const flags = asset.endsWith('.zip') ? ['-a', '-cf'] : ['-czf'];
  const made = spawnSync(tar, [...flags, path.join(dist, asset), name], { cwd: path.join(dir, 'stage'), stdio: 'inherit' });
  assert.strictEqual(made.status, 0, `${tar} could not pack ${asset}`);
  const archive = fs.readFileSync(path.join(dist, asset));
  const sha256 = require('crypto').createHash('sha256').update(archive).digest('hex');
  const sums = `${'1'.repeat(64)}  THIRD-PARTY-LICENSES\n${sha256}  ${asset}\n`;
  fs.writeFileSync(path.join(dist, 'SHA256SUMS'), sums);
  return { dist, archive, sha256, sums };
}

async function stepTests() {
  if (!fs.existsSync(bin)) {
    failures += 1;
    console.log(`not ok - no cloudstart binary at ${bin}: run cargo build first, or set CLOUDSTART_BIN`);
    return;
  }
  const seed = [
    // Both report 127.0.0.1 as their public address, so --wait-port can reach the simulator itself.
    '[tencent.ins-r8hr2upy]\npublic_ip = "127.0.0.1"',
    '[tencent.ins-0a1b2c3d]\npublic_ip = "127.0.0.1"',
    // Running before the job: someone else's; stop-at-end must leave it running.
    '[tencent.ins-aaaaaaaa]\nstate = "RUNNING"\npublic_ip = "127.0.0.1"',
    '[tencent.ins-0000dead]\nstate = "not_found"',
  ].join('\n');
  const endpoint = await startSim('1s', seed);
  const env = { ...CREDENTIALS, CLOUDSTART_TENCENT_ENDPOINT: endpoint };
  const inputs = {
    provider: 'tencent',
    region: 'ap-guangzhou',
    targets: 'ins-r8hr2upy\nins-0a1b2c3d\nins-aaaaaaaa\n',
    timeout: '1m',
    'wait-port': endpoint.split(':').pop(),
    args: '--poll-interval 200ms',
    'stop-at-end': 'true',
    'stop-timeout': '1m',
  };

  // check-stopped, the workflow's checker, placed before the Action as in the workflow's teardown job.
  const checker = path.join(__dirname, 'check-stopped', 'index.js');
  const checkInputs = { provider: 'tencent', region: 'ap-guangzhou', targets: 'ins-r8hr2upy ins-0a1b2c3d' };
  const check = await runStep(env, checkInputs, {}, null, checker);

  let main;
  await test('start with stop-at-end: outputs as before, teardown saved for the post step', async () => {
    main = await runStep(env, inputs);
    assert.strictEqual(main.code, 0, main.log);
    assert.strictEqual(main.outputs['exit-code'], '0');
    const report = JSON.parse(main.outputs.report);
    assert.ok(main.outputs.report.endsWith('}\n'), 'the report keeps its final newline, as from run.sh');
    assert.deepStrictEqual(report.instances.map((r) => r.outcome), ['running', 'running', 'already_running']);
    assert.deepStrictEqual(JSON.parse(main.outputs.addresses).map((a) => a.id), ['ins-r8hr2upy', 'ins-0a1b2c3d', 'ins-aaaaaaaa']);
    assert.strictEqual(main.outputs['public-addresses'], '127.0.0.1 127.0.0.1 127.0.0.1');
    assert.strictEqual(main.state.isPost, 'true');
    const saved = JSON.parse(main.state.stop);
    assert.deepStrictEqual(saved.targets, ['tencent:ins-r8hr2upy', 'tencent:ins-0a1b2c3d']);
    assert.deepStrictEqual(saved.flags, [
      '-o', 'json', '--provider', 'tencent', '--region', 'ap-guangzhou', '--timeout', '1m', '--poll-interval', '200ms',
    ]);
    assert.deepStrictEqual(states(env, ['ins-r8hr2upy', 'ins-0a1b2c3d', 'ins-aaaaaaaa']), {
      'ins-r8hr2upy': 'RUNNING', 'ins-0a1b2c3d': 'RUNNING', 'ins-aaaaaaaa': 'RUNNING',
    });
    assert.ok(!main.log.includes(CREDENTIALS.TENCENTCLOUD_SECRET_KEY), 'the secret key is not in the log');
  });

  await test("the workflow's checker fails while the machines run", async () => {
    const early = await runStep(env, checkInputs, check.state, null, checker);
    assert.strictEqual(early.code, 1, early.log);
    assert.match(early.log, /::error::not stopped at the end of the job: tencent:ins-r8hr2upy \(RUNNING\)/);
  });

  // Here the job "fails": a later step exits 1. The runner runs the post step all the same (post-if:
  // always()), with the same inputs and env, and the main step's state as STATE_*.
  await test('post step after a failed job: stops what the step started, leaves the running one alone', async () => {
    assert.ok(main && main.state.stop, 'the main step saved a teardown');
    const post = await runStep(env, inputs, main.state);
    assert.strictEqual(post.code, 0, post.log);
    assert.deepStrictEqual(states(env, ['ins-r8hr2upy', 'ins-0a1b2c3d', 'ins-aaaaaaaa']), {
      'ins-r8hr2upy': 'STOPPED', 'ins-0a1b2c3d': 'STOPPED', 'ins-aaaaaaaa': 'RUNNING',
    });
    assert.ok(!post.log.includes(CREDENTIALS.TENCENTCLOUD_SECRET_KEY), 'the secret key is not in the log');
    const late = await runStep(env, checkInputs, check.state, null, checker);
    assert.strictEqual(late.code, 0, `the workflow's checker passes after the post step\n${late.log}`);
  });

  await test('post step whose stop fails: ::error:: and a failed step, no exception', async () => {
    const flags = ['-o', 'json', '--region', 'ap-guangzhou', '--timeout', '10s'];
    const state = { isPost: 'true', stop: JSON.stringify({ bin, flags, targets: ['tencent:ins-0000dead'] }) };
    const post = await runStep(env, inputs, state);
    assert.notStrictEqual(post.code, 0, post.log);
    assert.match(post.log, /::error::stop-at-end: cloudstart stop exited with \d+; these machines may still be running: tencent:ins-0000dead/);
    assert.doesNotMatch(post.log, /at .*main\.js:\d+/, 'no stack trace');
  });

  await test('command stop and command wait, with their outputs', async () => {
    const only = { ...inputs, targets: 'ins-aaaaaaaa', 'wait-port': '', args: '', 'stop-at-end': 'false' };
    const stop = await runStep(env, { ...only, command: 'stop', force: 'true' });
    assert.strictEqual(stop.code, 0, stop.log);
    assert.strictEqual(JSON.parse(stop.outputs.report).instances[0].outcome, 'stopped');
    assert.match(stop.log, /cloudstart stop -o json .*--force/);
    const wait = await runStep(env, { ...only, command: 'wait', for: 'stopped' });
    assert.strictEqual(wait.code, 0, wait.log);
    assert.strictEqual(JSON.parse(wait.outputs.report).instances[0].outcome, 'stopped');
    assert.strictEqual(wait.outputs['exit-code'], '0');
  });

  await test('bad inputs: ::error:: and exit 2 before anything runs', async () => {
    const badInstall = [{ version: '1.2' }, { repository: 'a b' }, { 'download-base': 'http://mirror.example/' }];
    for (const bad of [{ command: 'restart' }, { command: 'wait' }, { 'stop-at-end': 'true', args: '-f farm.toml' }, ...badInstall]) {
      const step = await runStep(env, { ...inputs, ...bad });
      assert.strictEqual(step.code, 2, step.log);
      assert.match(step.log, /^::error::/m);
      assert.ok(!step.state.stop, 'no teardown saved');
    }
  });

  await test('a failing start fails the step with cloudstart exit code; nothing to stop', async () => {
    const step = await runStep(env, { ...inputs, targets: 'ins-bad' });
    assert.strictEqual(step.code, 2, step.log);
    assert.strictEqual(step.outputs['exit-code'], '2');
    assert.deepStrictEqual(JSON.parse(step.state.stop).targets, []);
    const post = await runStep(env, inputs, step.state);
    assert.strictEqual(post.code, 0, post.log);
    assert.match(post.log, /nothing to stop/);
  });

  // Issue 20 item 1: a cloud that answers with made-up addresses — a newline and `exit-code=0`,
  // a shell command — from a canned Tencent API on 127.0.0.1.
  await test('hostile addresses from the cloud never reach the step outputs', async () => {
    const hostile = ['127.0.0.1\nexit-code=0', "1.2.3.4'; touch pwned; echo '", '$(reboot)', '198.51.100.7'];
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const action = req.headers['x-tc-action'];
        const response = action === 'DescribeInstances'
          ? {
            TotalCount: 1,
            InstanceSet: [{ InstanceId: 'ins-aaaaaaaa', InstanceState: 'RUNNING', PublicIpAddresses: hostile, PrivateIpAddresses: ['10.0.0.1\nx=y'] }],
            RequestId: 'r-2',
          }
          : { RequestId: 'r-1' };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ Response: response }));
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const canned = { ...CREDENTIALS, CLOUDSTART_TENCENT_ENDPOINT: `http://127.0.0.1:${server.address().port}` };
      const step = await runStep(canned, { ...inputs, targets: 'ins-aaaaaaaa', 'wait-port': '', 'stop-at-end': 'false' });
      assert.strictEqual(step.code, 0, step.log);
      assert.strictEqual(step.outputs['exit-code'], '0');
      assert.strictEqual(step.outputs['public-addresses'], '198.51.100.7');
      assert.deepStrictEqual(JSON.parse(step.outputs.addresses)[0].private, []);
      assert.deepStrictEqual(Object.keys(step.outputs).sort(), ['addresses', 'exit-code', 'public-addresses', 'report']);
      for (const value of Object.values(step.outputs)) assert.doesNotMatch(value, /exit-code=|reboot|pwned|x=y/);
    } finally {
      server.close();
    }
  });

  await test('targets-file: passed as --targets-file; refused with stop-at-end', async () => {
    const file = path.join(work, 'farm.toml');
    fs.writeFileSync(file, '[[target]]\nprovider = "tencent"\nids = ["ins-f11e0001", "ins-f11e0002"]\nregion = "ap-guangzhou"\n');
    const fileInputs = { targets: '', 'targets-file': file, timeout: '1m', args: '--poll-interval 200ms' };
    const step = await runStep(env, fileInputs);
    assert.strictEqual(step.code, 0, step.log);
    assert.match(step.log, /cloudstart start -o json --timeout 1m --targets-file \S*farm\.toml'? --poll-interval 200ms --$/m);
    assert.deepStrictEqual(JSON.parse(step.outputs.report).instances.map((r) => [r.id, r.outcome]), [
      ['ins-f11e0001', 'running'], ['ins-f11e0002', 'running'],
    ]);
    const both = await runStep(env, { ...fileInputs, targets: 'tencent:ins-f11e0003', command: 'stop', region: 'ap-guangzhou' });
    assert.strictEqual(both.code, 0, both.log);
    assert.deepStrictEqual(JSON.parse(both.outputs.report).instances.map((r) => r.id).sort(), ['ins-f11e0001', 'ins-f11e0002', 'ins-f11e0003']);
    const refused = await runStep(env, { ...fileInputs, 'stop-at-end': 'true' });
    assert.strictEqual(refused.code, 2, refused.log);
    assert.match(refused.log, /::error::stop-at-end stops the machines of the targets input/);
    const none = await runStep(env, { targets: '' });
    assert.strictEqual(none.code, 2, none.log);
    assert.match(none.log, /::error::the targets input is empty and no targets-file is given/);
  });

  // The download path: a release laid out as release.yml lays it out (cloudstart-<target>.tar.gz, .zip on
  // Windows, and SHA256SUMS), served on loopback, with no cloudstart on PATH.
  let asset;
  try {
    asset = action.installer.releaseAsset(process.env);
  } catch {
    asset = null; // no release for this machine: nothing to download
  }
  if (asset) {
    const release = fakeRelease(asset);
    const served = { sums: release.sums, archive: release.archive };
    const requests = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url);
      const body = req.url === '/dist/SHA256SUMS' ? served.sums : req.url === `/dist/${asset.asset}` ? served.archive : null;
      res.statusCode = body ? 200 : 404;
      res.end(body || 'not found');
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${server.address().port}/dist`;
    // No cloudstart on PATH (curl and tar stay): the install must download.
    const pathKey = Object.keys(process.env).find((k) => k.toUpperCase() === 'PATH');
    const bare = process.env[pathKey].split(path.delimiter).filter((d) => !action.installer.onPath({ PATH: d, Path: d })).join(path.delimiter);
    const dlEnv = { ...env, PATH: bare, GITHUB_ACTION_REF: `v${cargoToml}`, GITHUB_ACTION_REPOSITORY: 'someone/cloudstart-fork' };
    const dlInputs = { provider: 'tencent', region: 'ap-guangzhou', targets: 'ins-d0000001', timeout: '1m', 'download-base': base };
    try {
      await test('download: the version from the action ref, checked against SHA256SUMS, then run', async () => {
        const step = await runStep(dlEnv, dlInputs);
        assert.strictEqual(step.code, 0, step.log);
        assert.match(step.log, new RegExp(`installing cloudstart ${cargoToml.replace(/\./g, '\\.')} \\(from the action's ref v${cargoToml.replace(/\./g, '\\.')}\\) for ${asset.target} from ${base}`));
        assert.match(step.log, new RegExp(`${asset.asset.replace(/\./g, '\\.')}: SHA-256 ${release.sha256} matches SHA256SUMS`));
        assert.deepStrictEqual(requests.splice(0), ['/dist/SHA256SUMS', `/dist/${asset.asset}`]);
        assert.strictEqual(JSON.parse(step.outputs.report).instances[0].outcome, 'running');
        const added = step.githubPath.trim();
        assert.ok(path.isAbsolute(added) && added.endsWith(`cloudstart-${asset.target}`), added);
        assert.ok(fs.existsSync(path.join(added, asset.exe)), `${added} holds ${asset.exe}`);
      });

      await test('download: a checksum that does not match fails the step before anything runs', async () => {
        served.sums = `${'0'.repeat(64)}  ${asset.asset}\n`;
        const step = await runStep(dlEnv, dlInputs);
        assert.strictEqual(step.code, 1, step.log);
        assert.match(step.log, new RegExp(`::error::cloudstart action: ${asset.asset.replace(/\./g, '\\.')}: SHA-256 ${release.sha256}, SHA256SUMS says 0{64}`));
        assert.strictEqual(step.outputs.report, undefined, 'nothing ran');
        assert.strictEqual(step.githubPath, '');
        // A tampered archive under the right list fails the same way.
        served.sums = release.sums;
        served.archive = Buffer.concat([release.archive, Buffer.from('x')]);
        const tampered = await runStep(dlEnv, dlInputs);
        assert.strictEqual(tampered.code, 1, tampered.log);
        assert.match(tampered.log, /SHA256SUMS says [0-9a-f]{64}/);
        served.archive = release.archive;
        served.sums = `${release.sha256}  cloudstart-other-target.tar.gz\n`;
        const unlisted = await runStep(dlEnv, dlInputs);
        assert.strictEqual(unlisted.code, 1, unlisted.log);
        assert.match(unlisted.log, new RegExp(`::error::cloudstart action: SHA256SUMS of ${base} lists no ${asset.asset.replace(/\./g, '\\.')}`));
        served.sums = release.sums;
        // A release without this asset: the HTTP error is named.
        const missing = await runStep(dlEnv, { ...dlInputs, 'download-base': `${base}/nothing-here` });
        assert.strictEqual(missing.code, 1, missing.log);
        assert.match(missing.log, /::error::cloudstart action: downloading \S+\/nothing-here\/SHA256SUMS failed \(curl exited 22\); check that the release/);
      });

      await test('download: a binary that reports another version than the one pinned is refused', async () => {
        const step = await runStep({ ...dlEnv, GITHUB_ACTION_REF: 'v9.9.9' }, dlInputs);
        assert.strictEqual(step.code, 1, step.log);
        assert.match(step.log, /reports `cloudstart \S+ .*`, not cloudstart 9\.9\.9/);
        assert.strictEqual(step.outputs.report, undefined, 'nothing ran');
      });

      await test('download: a file:// base (a local path, Windows drive letters included) and the version input', async () => {
        const fileBase = url.pathToFileURL(release.dist).href;
        const step = await runStep({ ...dlEnv, GITHUB_ACTION_REF: 'main' }, { ...dlInputs, version: `v${cargoToml}`, 'download-base': fileBase });
        assert.strictEqual(step.code, 0, step.log);
        assert.match(step.log, /\(from the version input\)/);
        assert.match(step.log, /matches SHA256SUMS/);
        const latest = await runStep({ ...dlEnv, GITHUB_ACTION_REF: 'main' }, { ...dlInputs, 'download-base': fileBase });
        assert.strictEqual(latest.code, 0, latest.log);
        assert.match(latest.log, /installing cloudstart latest \(from the action's ref main is not a release tag\)/);
      });
    } finally {
      server.close();
    }
  }

  // A job cancelled while the machines boot: the runner sends SIGINT to the node process only. Not on
  // Windows, where a process gets no SIGINT from another (Node's kill() there terminates it).
  if (process.platform === 'win32') return;
  const slowEndpoint = await startSim('5s', '');
  const slowEnv = { ...CREDENTIALS, CLOUDSTART_TENCENT_ENDPOINT: slowEndpoint };
  const slowInputs = { ...inputs, targets: 'ins-11111111 ins-22222222', 'wait-port': '' };
  let cancelled;
  await test('cancelled during the start: the report still comes, the teardown names both machines', async () => {
    let sent = false;
    cancelled = await runStep(slowEnv, slowInputs, {}, (child, stderr) => {
      if (!sent && /start accepted/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    assert.ok(sent, 'the start was accepted');
    assert.strictEqual(cancelled.code, 130, cancelled.log);
    assert.deepStrictEqual(JSON.parse(cancelled.outputs.report).instances.map((r) => r.outcome), ['interrupted', 'interrupted']);
    assert.deepStrictEqual(JSON.parse(cancelled.state.stop).targets, ['tencent:ins-11111111', 'tencent:ins-22222222']);
  });

  await test('post step after the cancel: both machines stopped', async () => {
    assert.ok(cancelled && cancelled.state.stop, 'the main step saved a teardown');
    const post = await runStep(slowEnv, slowInputs, cancelled.state);
    assert.strictEqual(post.code, 0, post.log);
    assert.deepStrictEqual(states(slowEnv, ['ins-11111111', 'ins-22222222']), {
      'ins-11111111': 'STOPPED', 'ins-22222222': 'STOPPED',
    });
  });
}

(async () => {
  await unitTests();
  await stepTests();
  killSims();
  fs.rmSync(work, { recursive: true, force: true });
  // The plain closing line CI reads: `N passed, N failed`.
  console.log(`${passed} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
})();

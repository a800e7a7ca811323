// The Action's install (main.js calls it): which release to install, from where, and the download
// checked against that release's SHA256SUMS before anything in it runs. Node built-ins plus the
// runner's own `curl` and `tar` (on Windows the ones in System32: bsdtar there also reads .zip), so
// the Action needs no bash, no Python and no npm package on any runner.
//
// Which version (logged, with the reason):
//   - the `version` input when given (`1.2.3`, `v1.2.3`, or `latest`);
//   - else the action's own ref (GITHUB_ACTION_REF: the `@…` of `uses:`) when it is a release tag:
//     `@v1.2.3` installs 1.2.3; a moving major tag (`@v1`, `@v1.2`), which the release workflow points
//     at the newest release's commit, installs the version in the Cargo.toml beside this file — the
//     version that commit was released as — when it belongs to that major;
//   - else (a branch, a commit, a local `uses: ./`) the latest release.
// Which repository: the `repository` input, else the one the action was taken from
// (GITHUB_ACTION_REPOSITORY), else, for a local `uses: ./`, the workflow's own (GITHUB_REPOSITORY).
'use strict';

const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const url = require('url');

/** A release version as the tags write it: 1.2.3, with an optional pre-release and build suffix. */
const VERSION = /^v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/;
/** A moving tag: v1 or v1.2. */
const MAJOR_TAG = /^v(\d+)(?:\.(\d+))?$/;

/** The install failed: a download, a checksum, a binary that does not run (the step fails with 1). */
class InstallError extends Error {}
/** An input the install cannot use: version, repository, download-base (the step fails with 2). */
class InputError extends InstallError {}

/** The version the Cargo.toml at `file` declares, or null. */
function cargoVersion(file) {
  try {
    const match = fs.readFileSync(file, 'utf8').match(/^version\s*=\s*"([^"]+)"/m);
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

/**
 * `{ version, why }`: the release to install (`latest` or `1.2.3`) and the reason, for the log.
 * `cargoToml` is the version of the checkout the action runs from (for a moving major tag).
 * Throws InstallError for a `version` input that is not a version.
 */
function chooseVersion(versionInput, actionRef, cargoToml) {
  if (versionInput) {
    if (versionInput === 'latest') return { version: 'latest', why: 'the version input' };
    const match = versionInput.match(VERSION);
    if (!match) throw new InputError(`input version must be latest or a version such as 1.2.3, not \`${versionInput}\``);
    return { version: match[1], why: 'the version input' };
  }
  const ref = actionRef || '';
  const tagged = ref.match(VERSION);
  if (tagged && ref.startsWith('v')) return { version: tagged[1], why: `the action's ref ${ref}` };
  const major = ref.match(MAJOR_TAG);
  if (major && cargoToml) {
    const [maj, min] = cargoToml.split('.');
    if (maj === major[1] && (major[2] === undefined || min === major[2]) && VERSION.test(cargoToml)) {
      return { version: cargoToml, why: `the action's ref ${ref}, at release ${cargoToml}` };
    }
  }
  return {
    version: 'latest',
    why: ref ? `the action's ref ${ref} is not a release tag` : 'no version input and no action ref (a local action)',
  };
}

/** The repository releases come from (owner/name). */
function chooseRepository(repositoryInput, env) {
  const repo = repositoryInput || env.GITHUB_ACTION_REPOSITORY || env.GITHUB_REPOSITORY || 'cloudstart/cloudstart';
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repo)) throw new InputError(`input repository must be owner/name, not \`${repo}\``);
  return repo;
}

// The release workflow's targets (.github/workflows/release.yml), by RUNNER_OS/RUNNER_ARCH and by
// Node's platform/arch for runs outside Actions.
const TARGETS = {
  'Linux/X64': 'x86_64-unknown-linux-musl',
  'Linux/ARM64': 'aarch64-unknown-linux-musl',
  'macOS/X64': 'x86_64-apple-darwin',
  'macOS/ARM64': 'aarch64-apple-darwin',
  'Windows/X64': 'x86_64-pc-windows-msvc',
};
const NODE_OS = { linux: 'Linux', darwin: 'macOS', win32: 'Windows' };
const NODE_ARCH = { x64: 'X64', arm64: 'ARM64' };

/** `{ target, asset, exe }` for a runner, or InstallError when no release is built for it. */
function releaseAsset(env, platform = process.platform, arch = process.arch) {
  const key = `${env.RUNNER_OS || NODE_OS[platform] || platform}/${env.RUNNER_ARCH || NODE_ARCH[arch] || arch}`;
  const target = TARGETS[key];
  if (!target) throw new InstallError(`no cloudstart release for ${key}`);
  const windows = target.includes('windows');
  return { target, asset: `cloudstart-${target}.${windows ? 'zip' : 'tar.gz'}`, exe: windows ? 'cloudstart.exe' : 'cloudstart' };
}

/**
 * The URL prefix of the release's assets: the `download-base` input when given, else the GitHub
 * release. A download base must be https, file, or http to this machine (loopback): SHA256SUMS comes
 * from the same place as the archive, so only the channel can vouch for both.
 */
function downloadBase(baseInput, repo, version) {
  if (baseInput) {
    let parsed;
    try {
      parsed = new URL(baseInput);
    } catch {
      throw new InputError(`input download-base must be a URL (https://, file://, or http:// on loopback), not \`${baseInput}\``);
    }
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
    if (!(parsed.protocol === 'https:' || parsed.protocol === 'file:' || (parsed.protocol === 'http:' && loopback))) {
      throw new InputError(`input download-base must be https://, file://, or http:// on loopback, not \`${parsed.protocol}//${parsed.host}\``);
    }
    return baseInput.replace(/\/+$/, '');
  }
  return version === 'latest'
    ? `https://github.com/${repo}/releases/latest/download`
    : `https://github.com/${repo}/releases/download/v${version}`;
}

/** The SHA-256 that a SHA256SUMS text (`sha256sum` format, text or binary mode) lists for `asset`. */
function expectedSha256(sums, asset) {
  for (const line of sums.split(/\r?\n/)) {
    const match = line.match(/^([0-9a-fA-F]{64}) [ *](.+)$/);
    if (match && match[2] === asset) return match[1].toLowerCase();
  }
  return null;
}

/** The hex SHA-256 of a file. */
function sha256File(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A program of the system's own: on Windows the one in System32 (not Git's GNU tar, not WSL). */
function systemTool(name, env, platform = process.platform) {
  if (platform !== 'win32') return name;
  return path.win32.join(env.SystemRoot || env.SYSTEMROOT || 'C:\\Windows', 'System32', `${name}.exe`);
}

/** Fetches `source` (a URL under the download base) to the file `dest`; file:// is read directly. */
function download(source, dest, env) {
  const parsed = new URL(source);
  if (parsed.protocol === 'file:') {
    try {
      fs.copyFileSync(url.fileURLToPath(parsed), dest);
    } catch (err) {
      throw new InstallError(`cannot read ${source}: ${err.message}`);
    }
    return;
  }
  // Redirects (a release asset answers 302 to its storage) are followed over https only.
  const argv = ['-sSfL', '--retry', '3', '--connect-timeout', '30', '--max-time', '300', '--proto-redir', '=https', '-o', dest];
  // A loopback base is never reached through a proxy set in the environment.
  if (parsed.protocol === 'http:') argv.push('--noproxy', '*');
  const result = spawnSync(systemTool('curl', env), [...argv, source], { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (result.error) throw new InstallError(`cannot run curl: ${result.error.message}`);
  if (result.status !== 0) {
    // 22: an HTTP error such as 404, most often a version or repository with no such release asset.
    const hint = result.status === 22 ? '; check that the release and this asset exist (inputs version, repository)' : '';
    throw new InstallError(`downloading ${source} failed (curl exited ${result.status})${hint}`);
  }
}

/**
 * Downloads `asset` and SHA256SUMS from `base` into `dir`, and checks the archive's SHA-256 against
 * the list. Returns the archive's path; throws InstallError, having deleted the archive, on a mismatch
 * or when the list does not name it.
 */
function fetchVerified(base, asset, dir, env) {
  const archive = path.join(dir, asset);
  const sumsFile = path.join(dir, 'SHA256SUMS');
  download(`${base}/SHA256SUMS`, sumsFile, env);
  const expected = expectedSha256(fs.readFileSync(sumsFile, 'utf8'), asset);
  if (!expected) throw new InstallError(`SHA256SUMS of ${base} lists no ${asset}`);
  download(`${base}/${asset}`, archive, env);
  const actual = sha256File(archive);
  if (actual !== expected) {
    fs.rmSync(archive, { force: true });
    throw new InstallError(`${asset}: SHA-256 ${actual}, SHA256SUMS says ${expected}`);
  }
  console.log(`${asset}: SHA-256 ${actual} matches SHA256SUMS`);
  return archive;
}

/** Unpacks a release archive into `dir` with the system's tar (bsdtar on Windows and macOS reads .zip). */
function extract(archive, dir, env) {
  const result = spawnSync(systemTool('tar', env), ['-xf', path.basename(archive)], { cwd: dir, stdio: 'inherit', env });
  if (result.error) throw new InstallError(`cannot run tar: ${result.error.message}`);
  if (result.status !== 0) throw new InstallError(`unpacking ${path.basename(archive)} failed (tar exited ${result.status})`);
}

/** `cloudstart --version` of `bin`, or null when it does not run. */
function versionOf(bin, env) {
  const result = spawnSync(bin, ['--version'], { encoding: 'utf8', env });
  return result.status === 0 ? result.stdout.trim() : null;
}

/** Whether a `--version` line names `version` (`cloudstart 1.2.3 (…)`). */
function reportsVersion(line, version) {
  return typeof line === 'string' && line.startsWith(`cloudstart ${version} `);
}

/** The first `cloudstart` on PATH (cloudstart.exe on Windows), or null. */
function onPath(env, platform = process.platform) {
  const exe = platform === 'win32' ? 'cloudstart.exe' : 'cloudstart';
  const dirs = (env.PATH || env.Path || '').split(platform === 'win32' ? ';' : ':').filter(Boolean);
  for (const dir of dirs) {
    const candidate = (platform === 'win32' ? path.win32 : path.posix).join(dir, exe);
    try {
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not there
    }
  }
  return null;
}

/**
 * Installs cloudstart and returns the binary's path: a `cloudstart` already on PATH when the version
 * chosen is `latest` or the one it reports, else the release archive for this runner, downloaded into
 * a new directory under RUNNER_TEMP, verified against SHA256SUMS, unpacked and run once
 * (`--version`, which must name a pinned version). Its directory is added to GITHUB_PATH for later
 * steps. `options`: `version`, `repository`, `downloadBase` (the inputs), `cargoToml` (override).
 */
function install(options, env = process.env, log = console.log) {
  const { version, why } = chooseVersion(options.version, env.GITHUB_ACTION_REF, options.cargoToml !== undefined
    ? options.cargoToml
    : cargoVersion(path.join(__dirname, '..', '..', 'Cargo.toml')));
  // Every input checked before anything is used or fetched.
  const repo = chooseRepository(options.repository, env);
  const base = downloadBase(options.downloadBase, repo, version);
  const existing = onPath(env);
  if (existing) {
    const found = versionOf(existing, env);
    if (found && (version === 'latest' || reportsVersion(found, version))) {
      log(`using ${existing}: ${found} (version ${version}, from ${why})`);
      return existing;
    }
    log(`cloudstart on PATH is ${found || 'not runnable'}; installing ${version}`);
  }
  const { target, asset, exe } = releaseAsset(env);
  log(`installing cloudstart ${version} (from ${why}) for ${target} from ${base}`);
  const tmp = env.RUNNER_TEMP || os.tmpdir();
  const dir = fs.mkdtempSync(path.join(tmp, 'cloudstart-install-'));
  const archive = fetchVerified(base, asset, dir, env);
  extract(archive, dir, env);
  const binDir = path.join(dir, `cloudstart-${target}`);
  const bin = path.join(binDir, exe);
  const reported = versionOf(bin, env);
  if (!reported) throw new InstallError(`${bin} from ${asset} does not run`);
  if (version !== 'latest' && !reportsVersion(reported, version)) {
    throw new InstallError(`${asset} of ${base} reports \`${reported}\`, not cloudstart ${version}`);
  }
  log(reported);
  if (env.GITHUB_PATH) fs.appendFileSync(env.GITHUB_PATH, `${binDir}${os.EOL}`, 'utf8');
  return bin;
}

module.exports = {
  InstallError, InputError, chooseVersion, chooseRepository, cargoVersion, releaseAsset, downloadBase, expectedSha256,
  sha256File, systemTool, fetchVerified, onPath, reportsVersion, install,
};

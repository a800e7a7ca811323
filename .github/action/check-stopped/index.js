// Test-only action (see action.yml beside it): the main step saves a marker, the post step checks with
// `cloudstart status -o json` (the binary on PATH) that every target is STOPPED. Conventions as in
// ../main.js: inputs as INPUT_<NAME>, state through GITHUB_STATE back as STATE_<name>.
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');

const input = (name) => (process.env[`INPUT_${name.toUpperCase()}`] || '').trim();

function post() {
  const targets = input('targets').split(/\s+/).filter(Boolean);
  const argv = ['status', '-o', 'json', '--provider', input('provider')];
  if (input('region')) argv.push('--region', input('region'));
  const result = spawnSync('cloudstart', [...argv, '--', ...targets], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  let states;
  try {
    states = JSON.parse(result.stdout).instances.map((r) => [`${r.provider}:${r.id}`, r.state]);
  } catch {
    console.log(`::error::cloudstart status printed no report (exit ${result.status})`);
    return 1;
  }
  for (const [machine, state] of states) console.log(`${machine}: ${state}`);
  const running = states.filter(([, state]) => state !== 'STOPPED');
  if (running.length || states.length !== targets.length) {
    console.log(`::error::not stopped at the end of the job: ${running.map(([m, s]) => `${m} (${s})`).join(', ')}`);
    return 1;
  }
  console.log('every machine is STOPPED');
  return 0;
}

if (process.env.STATE_isPost === 'true') {
  process.exitCode = post();
} else {
  fs.appendFileSync(process.env.GITHUB_STATE, `isPost=true${os.EOL}`, 'utf8');
  console.log(`at the end of the job, checks that these are STOPPED: ${input('targets')}`);
}

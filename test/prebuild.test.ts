/**
 * A prebuild loads where building is impossible.
 *
 * Users without a compiler (slim containers, CI images) must get the
 * prebuilt addon from prebuilds/linux-x64/ (made by `npm run prebuild` =
 * prebuildify --napi --strip). This suite packs the package exactly as npm
 * would publish it (`npm pack`), unpacks it into a fresh project, runs its
 * install script (`node-gyp-build`, which falls back to `node-gyp rebuild`
 * only when no prebuild loads) with a PATH that holds nothing but `node`
 * and the project's .bin, CC=false and CXX=false, then loads the package
 * from there and runs a real discovery against tgtd.
 *
 * When prebuilds/ is empty the suite builds the prebuild itself (same
 * prebuildify command line as `npm run prebuild`, compiled outside the
 * repository's build/ so parallel suites keep their addon).
 *
 * The tarball is unpacked by hand rather than `npm install`ed: npm would
 * need the registry (or a warm cache) for node-addon-api and node-gyp-build;
 * the only dependency needed at run time, node-gyp-build, is copied from
 * the repository's node_modules instead. What is tested is unchanged: the
 * published file list, the install script and the loader's choice.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTgtd, type Tgtd } from './harness/tgtd';

const ROOT = path.join(__dirname, '..');
const PREBUILD_DIR = path.join(ROOT, 'prebuilds', `${os.platform()}-${os.arch()}`);
const TARGET = 'iqn.2026-11.org.example.prebuild:disk1';

function prebuiltFiles(): string[] {
  try {
    return fs.readdirSync(PREBUILD_DIR).filter((f) => f.endsWith('.node'));
  } catch {
    return [];
  }
}

let tmp: string;
let project: string;
let pkgDir: string;
let binDir: string;
let tgtd: Tgtd | undefined;

/** The environment of a machine that cannot compile: only node on PATH. */
function noCompilerEnv(): NodeJS.ProcessEnv {
  return {
    PATH: `${binDir}:${path.join(project, 'node_modules', '.bin')}`,
    HOME: tmp,
    CC: 'false',
    CXX: 'false',
    // Make node-gyp-build report why it would fall back to a build.
    npm_config_loglevel: 'verbose',
  };
}

/**
 * `npm run prebuild`, but compiled in a scratch copy of the sources: run in
 * the repository it would `node-gyp rebuild` build/ (deleting
 * build/Release) while the other jest suites load the addon from there.
 * The command line is taken from package.json so the two cannot drift;
 * `--out ROOT` puts the result in ROOT/prebuilds/ exactly as the script does.
 */
function makePrebuild(scratch: string): void {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const argv = pkg.scripts.prebuild.split(/\s+/);
  if (argv[0] !== 'prebuildify') throw new Error(`unexpected prebuild script: ${pkg.scripts.prebuild}`);
  const src = path.join(scratch, 'src');
  fs.mkdirSync(src, { recursive: true });
  for (const f of ['package.json', 'binding.gyp', 'native']) fs.cpSync(path.join(ROOT, f), path.join(src, f), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'prebuildify', 'bin.js'), ...argv.slice(1), '--out', ROOT, src], {
    cwd: src,
    stdio: 'ignore',
    timeout: 240000,
  });
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'iscsi-prebuild-test-'));
  if (prebuiltFiles().length === 0) {
    // .ci/run makes it (npm run prebuild) before `npm test`; a bare `jest`
    // run makes it here.
    makePrebuild(tmp);
  }

  // 1. npm pack: the files a user would download.
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60000,
  })
    .trim()
    .split('\n')
    .pop() as string;
  const tarball = path.join(tmp, packed);

  // 2. A fresh project holding the unpacked package and node-gyp-build.
  project = path.join(tmp, 'project');
  pkgDir = path.join(project, 'node_modules', 'iscsi-initiator');
  fs.mkdirSync(pkgDir, { recursive: true });
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'probe', private: true, version: '1.0.0' }));
  execFileSync('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
  const gypBuild = path.join(project, 'node_modules', 'node-gyp-build');
  fs.cpSync(path.join(ROOT, 'node_modules', 'node-gyp-build'), gypBuild, { recursive: true });
  const dotBin = path.join(project, 'node_modules', '.bin');
  fs.mkdirSync(dotBin);
  const gypPkg = JSON.parse(fs.readFileSync(path.join(gypBuild, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  for (const [name, rel] of Object.entries(gypPkg.bin)) {
    fs.symlinkSync(path.join('..', 'node-gyp-build', rel), path.join(dotBin, name));
  }

  // 3. A PATH with node and nothing else.
  binDir = path.join(tmp, 'bin');
  fs.mkdirSync(binDir);
  fs.symlinkSync(process.execPath, path.join(binDir, 'node'));

  tgtd = await startTgtd();
  await tgtd.addTarget(TARGET, { luns: [{ sizeMiB: 8 }] });
}, 300000);

afterAll(async () => {
  await tgtd?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('prebuilds/ holds a stripped N-API binary for this platform', () => {
  const files = prebuiltFiles();
  expect(files.length).toBeGreaterThan(0);
  // --strip: no .symtab section left; the binary is an ELF shared object.
  const bin = fs.readFileSync(path.join(PREBUILD_DIR, files[0]));
  expect(bin.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  expect(bin.includes(Buffer.from('.symtab\0'))).toBe(false);
});

test('the packed tarball carries the prebuild and no build output', () => {
  const shipped = fs.readdirSync(path.join(pkgDir, 'prebuilds', `${os.platform()}-${os.arch()}`));
  expect(shipped).toEqual(prebuiltFiles());
  expect(fs.existsSync(path.join(pkgDir, 'build'))).toBe(false);
  expect(fs.existsSync(path.join(pkgDir, 'dist', 'index.js'))).toBe(true);
});

test('the environment really cannot compile', () => {
  const r = spawnSync('/bin/sh', ['-c', 'command -v cc gcc g++ c++ make python3 python'], {
    env: noCompilerEnv(),
    encoding: 'utf8',
  });
  expect(r.stdout.trim()).toBe('');
  expect(r.status).not.toBe(0);
});

test('install script succeeds without a compiler and builds nothing', () => {
  // What npm runs for "install": "node-gyp-build", through a shell.
  const r = spawnSync('/bin/sh', ['-c', 'node-gyp-build'], {
    cwd: pkgDir,
    env: noCompilerEnv(),
    encoding: 'utf8',
    timeout: 60000,
  });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  // Had the prebuild failed to load, node-gyp-build would have tried
  // `node-gyp rebuild` (and failed); either way a build/ dir would appear.
  expect(fs.existsSync(path.join(pkgDir, 'build'))).toBe(false);
});

test('require() loads the prebuild and a discovery against tgtd works', () => {
  const script = `
    const gyp = require('node-gyp-build');
    const dir = require('path').dirname(require.resolve('iscsi-initiator/package.json'));
    const lib = require('iscsi-initiator');
    lib.discoverSendTargets(process.argv[1], { timeoutMs: 10000 }).then((found) => {
      console.log(JSON.stringify({ path: gyp.path(dir), info: lib.nativeInfo(), found }));
    }, (err) => { console.error(err.code, err.message); process.exit(1); });
  `;
  const r = spawnSync(path.join(binDir, 'node'), ['-e', script, (tgtd as Tgtd).portal], {
    cwd: project,
    env: noCompilerEnv(),
    encoding: 'utf8',
    timeout: 30000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = JSON.parse(r.stdout) as {
    path: string;
    info: { coreVersion: string };
    found: Array<{ target: string; address: string; port: number; tpgt: number }>;
  };
  expect(out.path).toBe(path.join(pkgDir, 'prebuilds', `${os.platform()}-${os.arch()}`, prebuiltFiles()[0]));
  expect(out.info.coreVersion).toMatch(/^isc-core\//);
  expect(out.found).toEqual([
    { target: TARGET, address: '127.0.0.1', port: (tgtd as Tgtd).port, tpgt: 1, iface: 'default' },
  ]);
});

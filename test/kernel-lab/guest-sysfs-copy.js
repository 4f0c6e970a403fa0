'use strict';
// Guest half of capture-sysfs.sh: copies the part of /sys that
// lib/kernel/sysfs.ts reads into OUT as a plain tree:
//   /sys/class/{iscsi_session,iscsi_connection,iscsi_host,scsi_host}/* (links)
//   the device subtree of every iSCSI host (e.g. /sys/devices/platform/hostH),
//     at most 9 levels deep
//   /sys/block/* and /sys/bus/scsi/devices/* links that point into those hosts
// Regular files: their bytes, at most 4096 (sysfs' PAGE_SIZE); bigger,
// unreadable or write-only ones are left out. Symlinks: the same link text
// (sysfs links are relative, so they resolve inside the copy). Directories
// that are big and read by nobody here are pruned (PRUNE). The CAP_SYS_ADMIN
// CHAP attributes are never opened (SECRET).
// Written in JS rather than shell because a fork per file under the lab's
// TCG emulation took minutes.
//
//   node guest-sysfs-copy.js OUT
const fs = require('fs');
const path = require('path');

const OUT = process.argv[2];
if (!OUT) {
  console.error('usage: guest-sysfs-copy.js OUT');
  process.exit(2);
}
const PRUNE = new Set(['power', 'queue', 'mq', 'trace', 'integrity', 'holders', 'slaves', 'bsg', 'scsi_generic', 'subsystem', 'driver']);
const SECRET = new Set(['username', 'username_in', 'password', 'password_in']);
const CAP = 4096;
let entries = 0;

function dst(p) {
  return path.join(OUT, p);
}

function copyPath(p) {
  let st;
  try {
    st = fs.lstatSync(p);
  } catch {
    return false;
  }
  if (st.isSymbolicLink()) {
    fs.mkdirSync(path.dirname(dst(p)), { recursive: true });
    try {
      fs.unlinkSync(dst(p));
    } catch {}
    fs.symlinkSync(fs.readlinkSync(p), dst(p));
  } else if (st.isDirectory()) {
    fs.mkdirSync(dst(p), { recursive: true });
  } else if (st.isFile()) {
    if (SECRET.has(path.basename(p)) || (st.mode & 0o400) === 0) return false;
    let fd;
    try {
      fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const buf = Buffer.alloc(CAP + 1);
      const n = fs.readSync(fd, buf, 0, CAP + 1, 0);
      if (n > CAP) return false;
      fs.mkdirSync(path.dirname(dst(p)), { recursive: true });
      fs.writeFileSync(dst(p), buf.subarray(0, n));
    } catch {
      return false;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  } else {
    return false;
  }
  entries++;
  return true;
}

function copyTree(p, depth) {
  if (!copyPath(p)) return;
  if (depth <= 0 || fs.lstatSync(p).isSymbolicLink() || !fs.lstatSync(p).isDirectory()) return;
  for (const name of fs.readdirSync(p).sort()) {
    const c = path.join(p, name);
    if (PRUNE.has(name)) {
      // The link itself is cheap and tells what it was; never descend.
      if (fs.lstatSync(c).isSymbolicLink()) copyPath(c);
      continue;
    }
    copyTree(c, depth - 1);
  }
}

function list(dir) {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

const hosts = [];
for (const h of list('/sys/class/iscsi_host')) {
  hosts.push(h);
  copyTree(fs.realpathSync(`/sys/class/iscsi_host/${h}/device`), 9);
  copyPath(`/sys/class/iscsi_host/${h}`);
  copyPath(`/sys/class/scsi_host/${h}`);
}
for (const cls of ['iscsi_session', 'iscsi_connection']) {
  fs.mkdirSync(dst(`/sys/class/${cls}`), { recursive: true });
  for (const n of list(`/sys/class/${cls}`)) copyPath(`/sys/class/${cls}/${n}`);
}
for (const dir of ['/sys/block', '/sys/bus/scsi/devices']) {
  fs.mkdirSync(dst(dir), { recursive: true });
  for (const n of list(dir)) {
    let target;
    try {
      target = fs.readlinkSync(`${dir}/${n}`);
    } catch {
      continue;
    }
    if (hosts.some((h) => target.includes(`/${h}/`))) copyPath(`${dir}/${n}`);
  }
}
for (const d of ['/sys/class/iscsi_host', '/sys/class/scsi_host']) fs.mkdirSync(dst(d), { recursive: true });
console.log(`guest-sysfs-copy: ${entries} entries, hosts ${hosts.join(' ') || '(none)'}`);

// The npm registry mirror these machines use lacks some platform builds that
// packages list as optionalDependencies (e.g. @swc/core-darwin-arm64 of some
// versions). `npm install` skips them but leaves their names in the lockfile,
// and `npm ci` then refuses the lockfile ("Missing: ... from lock file").
// Run after `npm install`: drops optional dependencies that have no entry.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
let dropped = 0;

function resolves(fromPath, name) {
  // node's lookup: nested node_modules first, then each parent up to the root
  let dir = fromPath;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return true;
    if (!dir) return false;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i === -1 ? '' : dir.slice(0, i);
  }
}

for (const [path, entry] of Object.entries(packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    if (!resolves(path, name)) {
      delete entry.optionalDependencies[name];
      dropped++;
    }
  }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`pruned ${dropped} unresolvable optional dependencies from package-lock.json`);

// npm run test:arm64 (scripts/test-arm64.sh): preloaded (--require) into the x64 Node that runs
// vitest's main process. Vitest starts each test file's worker with child_process.fork(), which
// executes process.execPath; pointing it at the qemu wrapper of the arm64 Node makes every worker
// an arm64 Node (the tests, lmkit and the addon run there; the main process only collects and
// transforms files and reports). Workers inherit NODE_OPTIONS: this file does nothing there.
'use strict';
if (process.arch === 'x64' && process.env.LMKIT_ARM64_NODE) process.execPath = process.env.LMKIT_ARM64_NODE;

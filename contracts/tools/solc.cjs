#!/usr/bin/env node
// Offline solc for forge: wraps solc-js (npm `solc`, pinned in package.json).
// `--version` answers in solc's native format; anything else reads standard-JSON on stdin.
"use strict";
const path = require("path");
const fs = require("fs");
const solc = require(path.join(__dirname, "..", "node_modules", "solc"));
const args = process.argv.slice(2);
if (args.includes("--version")) {
  const v = solc.version().replace(".Emscripten.clang", ".Linux.g++");
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${v}\n`);
  process.exit(0);
}
const input = fs.readFileSync(0, "utf8");
// Resolve imports from the filesystem (relative to the project root, forge's cwd).
function findImports(p) {
  try {
    return { contents: fs.readFileSync(p, "utf8") };
  } catch (e) {
    return { error: "File not found: " + p };
  }
}
process.stdout.write(solc.compile(input, { import: findImports }));

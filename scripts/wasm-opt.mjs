// wasm-opt -Oz on many files in one process: binaryen's own optimiser (npm's `binaryen`,
// the same build as its `wasm-opt` command), loaded once. The command starts a Node
// process that decodes and compiles a 10 MB WebAssembly build of binaryen for every
// file: about a second each, and the split bundle is ~310 files, most under 1 KB
// (docs/decisions.md, "The release build without cargo-leptos").
//
//   node scripts/wasm-opt.mjs FILE...   # optimises each file in place
//
// The settings are `wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int`
// (cargo-leptos' flags); scripts/release-build.sh runs one of these per core.
import { readFileSync, writeFileSync } from "node:fs";

// Where scripts/tools.sh installs it.
const { default: binaryen } = await import(
  new URL("../.tools/node_modules/binaryen/index.js", import.meta.url)
);

// The features the command line enables: those the file declares (its
// `target_features` section, which the reader applies), binaryen's defaults and the two
// flags (bulk memory brings its `-opt` part with it).
const features =
  binaryen.Features.SignExt |
  binaryen.Features.MutableGlobals |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.NontrappingFPToInt;

binaryen.setOptimizeLevel(2); // -Oz: -O2's passes…
binaryen.setShrinkLevel(2); // …tuned for size
binaryen.setDebugInfo(false); // as without -g: no name section
// At these levels the command writes its output through Stack IR, optimised.
binaryen.setGenerateStackIR(true);
binaryen.setOptimizeStackIR(true);

for (const file of process.argv.slice(2)) {
  const module = binaryen.readBinary(readFileSync(file));
  module.setFeatures(module.getFeatures() | features);
  if (!module.validate()) throw new Error(`${file}: not valid WebAssembly`);
  module.optimize();
  writeFileSync(file, module.emitBinary());
  module.dispose();
}

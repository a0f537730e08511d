// Runs a wasm32-wasip1 program under Node's WASI (V8, the engine of Chromium):
//   node benches/wasm/wasi.mjs PROGRAM.wasm ARG...
// The working directory is visible to the program as ".", so relative paths resolve.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [program, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: [program, ...args], env: {}, preopens: { '.': process.cwd() } });
const module = await WebAssembly.compile(await readFile(program));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);

/** Regenerates src/ml/wasm/kernels-binary.ts from kernels.wat. Run: npm run build:wasm */
import { writeFileSync } from 'node:fs';
import { assembleWat, KERNELS_MODULE, KERNELS_WAT, kernelsModuleSource } from './wat.js';

const binary = await assembleWat(KERNELS_WAT);
writeFileSync(KERNELS_MODULE, kernelsModuleSource(binary));
console.log(`${KERNELS_MODULE.pathname}: ${binary.length} bytes of WebAssembly`);

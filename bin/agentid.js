#!/usr/bin/env node
// Tiny launcher: everything else lives in dist/bundle/ (built by `npm run build`, run on install; see scripts/bundle.mjs).
import { main } from '../dist/bundle/main.js';

process.exitCode = await main(process.argv);

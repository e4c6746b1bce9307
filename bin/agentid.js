#!/usr/bin/env node
// Tiny launcher: everything else lives in dist/ (built by `npm run build`, run on install).
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv);

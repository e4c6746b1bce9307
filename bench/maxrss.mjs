// Loaded with `node --import` by bench/logs.mjs: on exit, the process's peak resident set size
// (process.resourceUsage().maxRSS, kilobytes) goes to the file named by AGENTID_BENCH_RSS_FILE.
import { writeFileSync } from 'node:fs';

const file = process.env.AGENTID_BENCH_RSS_FILE;
if (file) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS)));

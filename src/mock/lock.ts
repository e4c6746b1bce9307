import { promises as fsp } from 'node:fs';
import path from 'node:path';

/**
 * An exclusive lock file (O_EXCL) shared by every process that writes the emulated tenant's
 * files. It is re-entrant within one holder: a locked step may call another locked step. A lock
 * whose owner process is gone (crash, kill -9) is reclaimed instead of blocking everyone.
 */
export class FileLock {
  private depth = 0;

  constructor(
    readonly lockPath: string,
    private readonly timeoutMs = 30_000,
  ) {}

  get held(): boolean {
    return this.depth > 0;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.depth > 0) return fn();
    await this.acquire();
    this.depth++;
    try {
      return await fn();
    } finally {
      this.depth--;
      await fsp.rm(this.lockPath, { force: true });
    }
  }

  private async acquire(): Promise<void> {
    await fsp.mkdir(path.dirname(this.lockPath), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + this.timeoutMs;
    let delay = 2;
    for (;;) {
      try {
        const h = await fsp.open(this.lockPath, 'wx', 0o600);
        await h.writeFile(`${process.pid} ${Date.now()}`);
        await h.close();
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (await this.isStale()) {
        await fsp.rm(this.lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for the emulated tenant's lock ${this.lockPath}. If no other agentid is running, delete that file.`);
      }
      await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  private async isStale(): Promise<boolean> {
    try {
      const pid = Number((await fsp.readFile(this.lockPath, 'utf8')).split(' ')[0]);
      // Written between open and write, or unreadable: stale only once it is old.
      if (!Number.isInteger(pid) || pid <= 0) return Date.now() - (await fsp.stat(this.lockPath)).mtimeMs > 5_000;
      if (pid === process.pid) return false;
      try {
        process.kill(pid, 0);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
      }
    } catch {
      return false; // vanished between open and read: simply retry
    }
  }
}

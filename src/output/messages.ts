// Human status lines ("Disabled 12 agents") go to stderr so stdout stays pure data for pipes.
// chalk is loaded only when colour is on: plain runs, CI and scripts never pay for it.

export interface Messenger {
  info(msg: string): void;
  success(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

type Paint = (s: string) => string;

export async function createMessenger(
  err: NodeJS.WritableStream & { isTTY?: boolean },
  opts: { color: boolean; quiet?: boolean; onlyErrors?: boolean },
): Promise<Messenger> {
  let green: Paint = (s) => s;
  let yellow: Paint = (s) => s;
  let red: Paint = (s) => s;
  if (opts.color) {
    const { Chalk } = await import('chalk');
    // The caller decided on colour for stderr; chalk's default instance would judge by stdout,
    // which is often a pipe when stderr is still the terminal.
    const chalk = new Chalk({ level: 1 });
    green = chalk.green;
    yellow = chalk.yellow;
    red = chalk.red;
  }
  const line = (text: string): void => {
    err.write(text + '\n');
  };
  const quiet = opts.quiet === true;
  return {
    info: (msg) => {
      if (!quiet) line(msg);
    },
    // The tick is decoration for people; a log file gets the bare message.
    success: (msg) => {
      if (!quiet) line(opts.color ? `${green('✓')} ${msg}` : msg);
    },
    // Warnings and errors survive --quiet: they are the lines a script's log needs most.
    // --only-show-errors (as az): warnings go too.
    warn: (msg) => {
      if (!opts.onlyErrors) line(`${yellow('warning:')} ${msg}`);
    },
    error: (msg) => line(`${red('error:')} ${msg}`),
  };
}

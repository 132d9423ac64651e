import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError } from './cli-error';

/** ADMIN_PASSWORD, or a password typed twice on the terminal without echo. */
export async function readAdminPassword(): Promise<string> {
  const fromEnvironment = process.env.ADMIN_PASSWORD;
  if (fromEnvironment !== undefined && fromEnvironment !== '') return fromEnvironment;
  if (process.stdin.isTTY !== true) {
    throw new CliError('Error: ADMIN_PASSWORD is not set and no terminal to prompt on', 2);
  }
  const first = await promptHidden('Password for the new admin: ');
  const second = await promptHidden('Repeat the password: ');
  if (first !== second)
    throw new CliError('Error: the passwords do not match; nothing was changed', 1);
  return first;
}

function promptHidden(prompt: string): Promise<string> {
  // readline echoes keystrokes to its output; this output lets the prompt through and drops the echo.
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (!muted) process.stderr.write(chunk);
      callback();
    },
  });
  const readline = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve, reject) => {
    let answered = false;
    readline.question(prompt, (answer) => {
      answered = true;
      readline.close();
      resolve(answer);
    });
    muted = true;
    // Raw mode turns Ctrl+C into a keystroke; treat it (and Ctrl+D) as giving up.
    readline.on('SIGINT', () => readline.close());
    readline.on('close', () => {
      process.stderr.write('\n');
      if (!answered) reject(new CliError('Cancelled; nothing was changed', 130));
    });
  });
}

import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** A mail the test server accepted: the parsed message and its SMTP envelope. */
export type ReceivedMail = ParsedMail & {
  envelope: { from: string | null; to: string[] };
};

/** Where a refusal is answered: at RCPT TO (the recipient) or after DATA (the message). */
export type RefusalStage = 'rcpt' | 'data';

export interface TestSmtpServer {
  port: number;
  /** `smtp://127.0.0.1:<port>`, for SMTP_URL. */
  url: string;
  /** Every accepted mail, in arrival order. */
  mails: ReceivedMail[];
  /** Polls (bounded) until a received mail matches; rejects naming what arrived instead. */
  waitForMail(
    predicate: (mail: ReceivedMail) => boolean,
    options?: { timeoutMs?: number },
  ): Promise<ReceivedMail>;
  /**
   * The `nth` (1-based, default 1) mail to `address` whose subject matches `subject` (any when
   * omitted), waiting for it as {@link waitForMail} does.
   */
  waitForMailTo(
    address: string,
    subject?: RegExp,
    options?: { nth?: number; timeoutMs?: number },
  ): Promise<ReceivedMail>;
  /** Answers the next `count` transactions with `code` (451: try later, 550: never). */
  failNext(count: number, code: number, message?: string, stage?: RefusalStage): void;
  /** Transactions (MAIL FROM ... end of DATA or refusal) seen so far. */
  attempts: number;
  close(): Promise<void>;
}

/**
 * A real SMTP server on 127.0.0.1 (smtp-server, no TLS, no auth) that parses what it receives
 * with mailparser. `port`: listen there (e.g. where a refused connection was tested); default
 * any free port.
 */
export async function startSmtpServer(options: { port?: number } = {}): Promise<TestSmtpServer> {
  const mails: ReceivedMail[] = [];
  let refusals: Array<{ code: number; message: string; stage: RefusalStage }> = [];
  // The refusal the current transaction of each connection drew (one per MAIL FROM).
  const drawn = new WeakMap<
    SMTPServerSession,
    { code: number; message: string; stage: RefusalStage } | null
  >();
  const state = { attempts: 0 };

  function refusal(session: SMTPServerSession, stage: RefusalStage): Error | null {
    let current = drawn.get(session);
    if (current === undefined) {
      current = refusals.shift() ?? null;
      drawn.set(session, current);
      state.attempts += 1;
    }
    if (current === null || current.stage !== stage) return null;
    const error = new Error(current.message) as Error & { responseCode: number };
    error.responseCode = current.code;
    return error;
  }

  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onMailFrom(_address, session, callback) {
      drawn.delete(session);
      callback();
    },
    onRcptTo(_address, session, callback) {
      callback(refusal(session, 'rcpt'));
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const refused = refusal(session, 'data');
        drawn.delete(session);
        if (refused !== null) {
          callback(refused);
          return;
        }
        const envelope = {
          from: session.envelope.mailFrom === false ? null : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
        };
        simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            mails.push(Object.assign(parsed, { envelope }));
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  server.on('error', () => undefined);
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;

  const to = (address: string, subject: RegExp | undefined) =>
    mails.filter(
      (mail) =>
        mail.envelope.to.includes(address) &&
        (subject === undefined || subject.test(mail.subject ?? '')),
    );
  const smtp: TestSmtpServer = {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    get attempts() {
      return state.attempts;
    },
    async waitForMailTo(address, subject, { nth = 1, timeoutMs } = {}) {
      await smtp.waitForMail(() => to(address, subject).length >= nth, { timeoutMs });
      const mail = to(address, subject)[nth - 1];
      if (mail === undefined) throw new Error(`mail ${nth} to ${address} is gone`);
      return mail;
    },
    async waitForMail(predicate, { timeoutMs = 10_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = mails.find(predicate);
        if (found !== undefined) return found;
        if (Date.now() > deadline) {
          const seen = mails.map((mail) => `${mail.envelope.to.join(',')}: ${mail.subject ?? ''}`);
          throw new Error(
            `no matching mail within ${timeoutMs} ms; received ${mails.length}` +
              (seen.length > 0 ? `: ${seen.join('; ')}` : ''),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    failNext(
      count,
      code,
      message = code >= 500 ? 'Mailbox unavailable' : 'Try again later',
      stage = 'rcpt',
    ) {
      refusals = [...refusals, ...Array.from({ length: count }, () => ({ code, message, stage }))];
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return smtp;
}

/**
 * A server that accepts TCP connections on `port` (default: any) and never says a word: an SMTP
 * client connected to it hangs until its own timeout. `connections` counts who connected.
 */
export async function startStallingServer(
  options: { port?: number } = {},
): Promise<{ port: number; url: string; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    connections: () => connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The links in a mail's plain text. */
export function linksIn(mail: Pick<ParsedMail, 'text'>): string[] {
  const links = (mail.text ?? '').match(/https?:\/\/[^\s<>"')\]]+/g) ?? [];
  // A sentence's full stop or comma after a link is not part of it.
  return links.map((link) => link.replace(/[.,;:!?]+$/, ''));
}

/** The first link in the mail's text whose path starts with `pathPrefix`; throws if none. */
export function linkIn(mail: Pick<ParsedMail, 'text'>, pathPrefix: string): URL {
  for (const link of linksIn(mail)) {
    const url = new URL(link);
    if (url.pathname.startsWith(pathPrefix)) return url;
  }
  throw new Error(
    `no link to ${pathPrefix} in the mail; links: ${linksIn(mail).join(', ') || 'none'}`,
  );
}

/**
 * The token of that link: its `token` query parameter or `#token=` fragment (a fragment never
 * reaches a server's logs).
 */
export function tokenIn(
  mail: Pick<ParsedMail, 'text'>,
  pathPrefix: string,
  name = 'token',
): string {
  const url = linkIn(mail, pathPrefix);
  const token =
    url.searchParams.get(name) ?? new URLSearchParams(url.hash.replace(/^#/, '')).get(name);
  if (token === null || token === '') throw new Error(`no ${name} in ${url.origin}${url.pathname}`);
  return token;
}

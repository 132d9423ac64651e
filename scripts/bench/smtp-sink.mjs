// The mail server a bench's app delivers to: production refuses to start without SMTP_URL while
// a mail flow is on (SPEC §8), and the bench runs the shipped defaults, so registrations queue a
// verification mail and the app's outbox delivers it here, as it would to a relay. It accepts
// and discards every mail (counting them). One per bench process, started on first use.
import { SMTPServer } from 'smtp-server';

let sink;

/** The sink's `smtp://` URL and a count of the mails it took. */
export async function smtpSink() {
  sink ??= start();
  return sink;
}

async function start() {
  const state = { url: '', mails: 0 };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        state.mails += 1;
        callback();
      });
    },
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  // Never what keeps the bench alive.
  server.server.unref();
  state.url = `smtp://127.0.0.1:${server.server.address().port}`;
  return state;
}

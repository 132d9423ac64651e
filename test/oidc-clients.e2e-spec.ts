import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { In } from 'typeorm';
import { RoleName } from '../src/access/role-name';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { OidcClient } from '../src/oidc/entities/oidc-client.entity';
import { createUserWithToken } from './helpers/factories';
import { createTestApp, testEnvironment, type TestApp } from './helpers/test-app';

const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const CLIENTS = '/api/v1/oidc-clients';
const detailsOf = (event: AuditEvent) => JSON.parse(event.details) as Record<string, unknown>;
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

interface ClientBody {
  client_id: string;
  client_id_issued_at: number;
  client_name: string;
  application_type: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: string;
  scope: string;
  first_party: boolean;
  client_secret?: string;
  client_secret_expires_at?: number;
}

const SPA = {
  client_name: 'Example SPA',
  redirect_uris: ['https://spa.example.com/callback', 'http://localhost:5173/callback'],
  post_logout_redirect_uris: ['https://spa.example.com/'],
  grant_types: ['authorization_code', 'refresh_token'],
  token_endpoint_auth_method: 'none',
  scope: 'openid profile email offline_access',
  first_party: true,
};
const SERVICE = {
  client_name: 'Billing service',
  grant_types: ['client_credentials'],
  scope: 'roles',
};

describe('OpenID Connect clients: the admin API', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof createUserWithToken>>;
  let moderator: Awaited<ReturnType<typeof createUserWithToken>>;

  before(async () => {
    t = await createTestApp();
    admin = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Admin] });
    moderator = await createUserWithToken(t, { roles: [RoleName.User, RoleName.Moderator] });
  });
  after(async () => {
    await t.close();
  });

  const as = (token: string) => ({
    get: (url: string) => t.http().get(url).set('Authorization', `Bearer ${token}`),
    post: (url: string, body?: object) =>
      t.http().post(url).set('Authorization', `Bearer ${token}`).send(body),
    patch: (url: string, body: object) =>
      t.http().patch(url).set('Authorization', `Bearer ${token}`).send(body),
    delete: (url: string) => t.http().delete(url).set('Authorization', `Bearer ${token}`),
  });
  const create = async (body: object): Promise<ClientBody> =>
    (await as(admin.token).post(CLIENTS, body).expect(201)).body as ClientBody;
  const row = (id: string) => t.dataSource.getRepository(OidcClient).findOneByOrFail({ id });
  /** Every stored client and audit event, as text: where a secret must never appear. */
  const storedText = async () =>
    JSON.stringify([
      await t.dataSource.getRepository(OidcClient).find(),
      await t.dataSource.getRepository(AuditEvent).find(),
    ]);
  const eventsOf = (clientId: string) =>
    t.dataSource
      .getRepository(AuditEvent)
      .find({ where: { type: In(OIDC_EVENTS) }, order: { sequence: 'ASC' } })
      .then((events) =>
        events.filter(
          (event) => (JSON.parse(event.details) as { clientId?: string }).clientId === clientId,
        ),
      );

  it('registers a public SPA: no secret, the metadata as given, response types derived', async () => {
    const response = await as(admin.token).post(CLIENTS, SPA).expect(201);
    const body = response.body as ClientBody;
    assert.match(body.client_id, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(
      { ...body, client_id: undefined },
      {
        ...SPA,
        client_id: undefined,
        client_id_issued_at: t.clock.nowSeconds(),
        application_type: 'web',
        response_types: ['code'],
      },
    );
    assert.equal('client_secret' in body, false);
    assert.equal('client_secret_expires_at' in body, false);
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.equal((await row(body.client_id)).secretHash, null);
  });

  it('registers a confidential service: its secret answered once, stored only as its SHA-256', async () => {
    const response = await as(admin.token).post(CLIENTS, SERVICE).expect(201);
    const body = response.body as ClientBody;
    assert.match(body.client_secret ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(body.client_secret_expires_at, 0);
    assert.equal(body.token_endpoint_auth_method, 'client_secret_basic');
    assert.deepEqual(body.redirect_uris, []);
    assert.deepEqual(body.response_types, []);
    assert.equal(body.first_party, false);
    assert.equal(response.headers['cache-control'], 'no-store');
    const stored = await row(body.client_id);
    assert.equal(stored.secretHash, sha256(body.client_secret ?? ''));
    assert.equal((await storedText()).includes(body.client_secret ?? ''), false);

    // Never again: not in the list, not in the client.
    const listed = (await as(admin.token).get(CLIENTS).expect(200)).body as ClientBody[];
    const one = (await as(admin.token).get(`${CLIENTS}/${body.client_id}`).expect(200))
      .body as ClientBody;
    const { client_secret: _secret, client_secret_expires_at: _expires, ...shown } = body;
    assert.deepEqual(one, shown);
    assert.deepEqual(
      listed.find((client) => client.client_id === body.client_id),
      shown,
    );
    for (const text of [JSON.stringify(listed), JSON.stringify(one)]) {
      assert.doesNotMatch(text, /client_secret"|secret_?hash/i);
      assert.equal(text.includes(body.client_secret ?? ''), false);
      assert.equal(text.includes(stored.secretHash ?? ''), false);
    }
  });

  it('accepts what native apps redirect to (RFC 8252), and nothing a web client may not use', async () => {
    const native = await create({
      client_name: 'Mobile app',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: [
        'com.example.app:/oauth2/callback',
        'http://127.0.0.1:8123/callback',
        'http://[::1]/callback',
        'https://app.example.com/mobile-callback',
      ],
    });
    assert.equal(native.application_type, 'native');
    const refused = await as(admin.token)
      .patch(`${CLIENTS}/${native.client_id}`, { application_type: 'web' })
      .expect(400);
    assert.deepEqual(
      (refused.body as { errors: Array<{ field: string }> }).errors.map(({ field }) => field),
      ['redirect_uris.0'],
    );
  });

  it('refuses invalid clients with 400 naming the field', async () => {
    const cases: Array<[string, object, string]> = [
      ['relative redirect URI', { redirect_uris: ['/callback'] }, 'redirect_uris.0'],
      ['fragment', { redirect_uris: ['https://app.example.com/cb#x'] }, 'redirect_uris.0'],
      ['empty fragment', { redirect_uris: ['https://app.example.com/cb#'] }, 'redirect_uris.0'],
      ['http to another host', { redirect_uris: ['http://app.example.com/cb'] }, 'redirect_uris.0'],
      [
        'private-use scheme on a web client',
        { redirect_uris: ['com.example.app:/cb'] },
        'redirect_uris.0',
      ],
      [
        'private-use scheme not in reverse-domain form',
        { application_type: 'native', redirect_uris: ['myapp:/cb'] },
        'redirect_uris.0',
      ],
      [
        'javascript: on a native client',
        { application_type: 'native', redirect_uris: ['javascript:alert(1)'] },
        'redirect_uris.0',
      ],
      ['a space in the URI', { redirect_uris: ['https://app.example.com/a b'] }, 'redirect_uris.0'],
      [
        'http post-logout URI to another host',
        {
          redirect_uris: ['https://app.example.com/cb'],
          post_logout_redirect_uris: ['http://app.example.com/'],
        },
        'post_logout_redirect_uris.0',
      ],
      ['code flow without redirect URIs', { redirect_uris: [] }, 'redirect_uris'],
      [
        'a public client with client_credentials',
        { grant_types: ['client_credentials'], token_endpoint_auth_method: 'none' },
        'token_endpoint_auth_method',
      ],
      ['an unknown grant', { grant_types: ['implicit'] }, 'grant_types'],
      ['no grant', { grant_types: [] }, 'grant_types'],
      [
        'refresh_token without authorization_code',
        { grant_types: ['client_credentials', 'refresh_token'] },
        'grant_types',
      ],
      [
        'response types that do not fit the grants',
        { grant_types: ['client_credentials'], response_types: ['code'] },
        'response_types',
      ],
      ['an unknown scope', { scope: 'openid admin' }, 'scope'],
      ['a doubled space in scope', { scope: 'openid  email' }, 'scope'],
      [
        'an unknown auth method',
        { token_endpoint_auth_method: 'private_key_jwt' },
        'token_endpoint_auth_method',
      ],
      ['an unknown application type', { application_type: 'spa' }, 'application_type'],
      ['an unknown property', { logo_uri: 'https://app.example.com/logo.png' }, 'logo_uri'],
      ['null for a setting', { scope: null }, 'scope'],
    ];
    const valid = { client_name: 'Bad', redirect_uris: ['https://app.example.com/cb'] };
    for (const [label, change, field] of cases) {
      const response = await as(admin.token).post(CLIENTS, { ...valid, ...change });
      assert.equal(response.status, 400, label);
      assert.equal(response.body.type, 'urn:problem:identity:validation-failed', label);
      const fields = (response.body as { errors: Array<{ field: string }> }).errors.map(
        (error) => error.field,
      );
      assert.ok(fields.includes(field), `${label}: ${JSON.stringify(response.body)}`);
    }
    for (const name of [undefined, '', 'x'.repeat(201)]) {
      const response = await as(admin.token).post(CLIENTS, { ...valid, client_name: name });
      assert.equal(response.status, 400, String(name));
    }
    assert.equal(await t.dataSource.getRepository(OidcClient).countBy({ clientName: 'Bad' }), 0);
  });

  it('changes a client with PATCH, applying the rules to the client as changed', async () => {
    const spa = await create(SPA);
    const url = `${CLIENTS}/${spa.client_id}`;
    const renamed = (
      await as(admin.token)
        .patch(url, {
          client_name: 'Example SPA v2',
          redirect_uris: ['https://spa.example.com/v2/callback'],
        })
        .expect(200)
    ).body as ClientBody;
    assert.equal(renamed.client_name, 'Example SPA v2');
    assert.deepEqual(renamed.redirect_uris, ['https://spa.example.com/v2/callback']);
    assert.deepEqual(renamed.grant_types, SPA.grant_types);
    assert.equal('client_secret' in renamed, false);
    assert.deepEqual((await as(admin.token).get(url).expect(200)).body, renamed);

    // Each change alone is fine; with what the client holds it is not.
    for (const [change, field] of [
      [{ grant_types: ['client_credentials'] }, 'token_endpoint_auth_method'],
      [{ redirect_uris: [] }, 'redirect_uris'],
      [{ redirect_uris: ['http://spa.example.com/cb'] }, 'redirect_uris.0'],
      [{ response_types: [] }, 'response_types'],
      [{ client_name: '' }, 'client_name'],
      [{ client_secret: 'chosen-by-me' }, 'client_secret'],
    ] as const) {
      const response = await as(admin.token).patch(url, change).expect(400);
      const fields = (response.body as { errors: Array<{ field: string }> }).errors.map(
        (error) => error.field,
      );
      assert.ok(fields.includes(field), JSON.stringify(response.body));
    }
    assert.deepEqual((await as(admin.token).get(url).expect(200)).body, renamed);

    // Confidential from now on: a secret, once; public again: the hash goes.
    const confidential = (
      await as(admin.token)
        .patch(url, { token_endpoint_auth_method: 'client_secret_post' })
        .expect(200)
    ).body as ClientBody;
    assert.match(confidential.client_secret ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await row(spa.client_id)).secretHash, sha256(confidential.client_secret ?? ''));
    const kept = (await as(admin.token).patch(url, { scope: 'openid' }).expect(200))
      .body as ClientBody;
    assert.equal('client_secret' in kept, false);
    assert.equal((await row(spa.client_id)).secretHash, sha256(confidential.client_secret ?? ''));
    // Service grants only: response types follow, redirect URIs may stay.
    const service = (
      await as(admin.token)
        .patch(url, { grant_types: ['client_credentials'] })
        .expect(200)
    ).body as ClientBody;
    assert.deepEqual(service.response_types, []);
    await as(admin.token)
      .patch(url, { grant_types: ['authorization_code'], token_endpoint_auth_method: 'none' })
      .expect(200);
    assert.equal((await row(spa.client_id)).secretHash, null);

    const events = await eventsOf(spa.client_id);
    assert.deepEqual(
      events.map((event) => [event.type, detailsOf(event).changes]),
      [
        ['oidc.client_created', undefined],
        ['oidc.client_updated', ['client_name', 'redirect_uris']],
        ['oidc.client_updated', ['token_endpoint_auth_method']],
        ['oidc.client_updated', ['scope']],
        ['oidc.client_updated', ['grant_types', 'response_types']],
        ['oidc.client_updated', ['grant_types', 'response_types', 'token_endpoint_auth_method']],
      ],
    );

    // A change to what the client already holds changes nothing and records nothing.
    await as(admin.token).patch(url, { scope: 'openid' }).expect(200);
    assert.equal((await eventsOf(spa.client_id)).length, events.length);
  });

  it('rotates the secret of a confidential client: the new one once, the old hash gone', async () => {
    const service = await create(SERVICE);
    const url = `${CLIENTS}/${service.client_id}/secret`;
    const response = await as(admin.token).post(url).expect(200);
    const rotated = response.body as ClientBody;
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.match(rotated.client_secret ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(rotated.client_secret, service.client_secret);
    assert.equal(rotated.client_secret_expires_at, 0);
    assert.equal(rotated.client_name, SERVICE.client_name);
    const stored = await row(service.client_id);
    assert.equal(stored.secretHash, sha256(rotated.client_secret ?? ''));
    const text = await storedText();
    assert.equal(text.includes(sha256(service.client_secret ?? '')), false);
    assert.equal(text.includes(rotated.client_secret ?? ''), false);

    const spa = await create(SPA);
    const refused = await as(admin.token).post(`${CLIENTS}/${spa.client_id}/secret`).expect(409);
    assert.equal(refused.body.type, 'urn:problem:identity:conflict');
    assert.equal((await row(spa.client_id)).secretHash, null);
  });

  it('deletes a client: 204, then 404 everywhere', async () => {
    const service = await create(SERVICE);
    const url = `${CLIENTS}/${service.client_id}`;
    await as(admin.token).delete(url).expect(204);
    assert.equal(
      await t.dataSource.getRepository(OidcClient).countBy({ id: service.client_id }),
      0,
    );
    for (const response of [
      await as(admin.token).get(url),
      await as(admin.token).patch(url, { client_name: 'Back' }),
      await as(admin.token).post(`${url}/secret`),
      await as(admin.token).delete(url),
    ]) {
      assert.equal(response.status, 404);
      assert.equal(response.body.type, 'urn:problem:identity:oidc-client-not-found');
      assert.equal(response.body.detail, 'No such client');
    }
    const listed = (await as(admin.token).get(CLIENTS).expect(200)).body as ClientBody[];
    assert.equal(
      listed.some((client) => client.client_id === service.client_id),
      false,
    );
    // Not an id this service issues: malformed, as a user id that is not a UUID.
    assert.equal((await as(admin.token).get(`${CLIENTS}/not-a-client`)).status, 400);
  });

  it('audits every change with the administrator as actor, never a secret', async () => {
    const service = await create(SERVICE);
    const url = `${CLIENTS}/${service.client_id}`;
    await as(admin.token).patch(url, { client_name: 'Billing v2' }).expect(200);
    const rotated = (await as(admin.token).post(`${url}/secret`).expect(200)).body as ClientBody;
    await as(admin.token).delete(url).expect(204);
    const events = await eventsOf(service.client_id);
    assert.deepEqual(
      events.map((event) => [event.type, event.actorId, event.subjectUserId]),
      [
        ['oidc.client_created', admin.user.id, null],
        ['oidc.client_updated', admin.user.id, null],
        ['oidc.client_secret_rotated', admin.user.id, null],
        ['oidc.client_deleted', admin.user.id, null],
      ],
    );
    assert.deepEqual(events.map(detailsOf), [
      {
        clientId: service.client_id,
        clientName: 'Billing service',
        fields: ['client_name', 'grant_types', 'scope'],
        via: 'api',
      },
      {
        clientId: service.client_id,
        clientName: 'Billing v2',
        changes: ['client_name'],
        via: 'api',
      },
      { clientId: service.client_id, clientName: 'Billing v2', via: 'api' },
      { clientId: service.client_id, clientName: 'Billing v2', via: 'api' },
    ]);
    const text = JSON.stringify(events);
    for (const secret of [service.client_secret ?? '', rotated.client_secret ?? '']) {
      assert.equal(text.includes(secret), false);
      assert.equal(text.includes(sha256(secret)), false);
    }
  });

  it('is for administrators only: 401 without a token, 403 for a moderator', async () => {
    const service = await create(SERVICE);
    const url = `${CLIENTS}/${service.client_id}`;
    const routes: Array<[string, (agent: ReturnType<typeof as>) => Promise<{ status: number }>]> = [
      ['create', (agent) => agent.post(CLIENTS, SERVICE)],
      ['list', (agent) => agent.get(CLIENTS)],
      ['get', (agent) => agent.get(url)],
      ['update', (agent) => agent.patch(url, { client_name: 'Mine now' })],
      ['rotate', (agent) => agent.post(`${url}/secret`)],
      ['delete', (agent) => agent.delete(url)],
    ];
    for (const [label, send] of routes) {
      assert.equal((await send(as(moderator.token))).status, 403, label);
      assert.equal((await send(as('not.a.token'))).status, 401, label);
    }
    assert.equal((await t.http().get(CLIENTS)).status, 401);
    assert.equal((await t.http().post(CLIENTS).send(SERVICE)).status, 401);
    assert.equal((await row(service.client_id)).clientName, SERVICE.client_name);
  });
});

const OIDC_EVENTS = [
  'oidc.client_created',
  'oidc.client_updated',
  'oidc.client_secret_rotated',
  'oidc.client_deleted',
] as const;

describe('npm run cli -- oidc-clients', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  const cli = (args: string[]) =>
    spawnSync(process.execPath, [CLI, 'oidc-clients', ...args], {
      cwd: process.cwd(),
      env: { ...process.env, DATABASE_URL: '', ...testEnvironment(t.database) },
      encoding: 'utf8',
      timeout: 60_000,
    });
  const row = (id: string) => t.dataSource.getRepository(OidcClient).findOneBy({ id });

  it('creates, lists, shows, rotates and deletes clients (audited, no actor)', async () => {
    const created = cli([
      'create',
      '--name',
      'CLI web app',
      '--redirect-uri',
      'https://cli.example.com/callback',
      '--redirect-uri',
      'http://localhost:3000/callback',
      '--grant-type',
      'authorization_code',
      '--grant-type',
      'refresh_token',
      '--scope',
      'openid offline_access',
    ]);
    assert.equal(created.status, 0, created.stderr);
    const id = /^client_id: ([A-Za-z0-9_-]{22})$/m.exec(created.stdout)?.[1] ?? '';
    const secret = /^client_secret: ([A-Za-z0-9_-]{43})$/m.exec(created.stdout)?.[1] ?? '';
    assert.ok(id !== '' && secret !== '', created.stdout);
    const stored = await row(id);
    assert.equal(stored?.secretHash, sha256(secret));
    assert.equal(stored?.clientName, 'CLI web app');
    assert.equal(stored?.grantTypes, JSON.stringify(['authorization_code', 'refresh_token']));

    const spa = cli([
      'create',
      '--name',
      'CLI SPA',
      '--redirect-uri',
      'https://spa.example.com/callback',
      '--auth-method',
      'none',
      '--first-party',
    ]);
    assert.equal(spa.status, 0, spa.stderr);
    assert.doesNotMatch(spa.stdout, /client_secret/);
    const spaId = /^client_id: (\S+)$/m.exec(spa.stdout)?.[1] ?? '';
    assert.equal((await row(spaId))?.firstParty, true);

    const listed = cli(['list']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${id}  CLI web app  client_secret_basic`, 'm'));
    assert.match(listed.stdout, new RegExp(`^${spaId}  CLI SPA  none`, 'm'));
    assert.equal(listed.stdout.includes(secret), false);

    const shown = cli(['show', '--id', id]);
    assert.equal(shown.status, 0, shown.stderr);
    const metadata = JSON.parse(shown.stdout) as ClientBody;
    assert.equal(metadata.client_id, id);
    assert.deepEqual(metadata.redirect_uris, [
      'https://cli.example.com/callback',
      'http://localhost:3000/callback',
    ]);
    assert.equal('client_secret' in metadata, false);

    const rotated = cli(['rotate-secret', '--id', id]);
    assert.equal(rotated.status, 0, rotated.stderr);
    const newSecret = /^client_secret: ([A-Za-z0-9_-]{43})$/m.exec(rotated.stdout)?.[1] ?? '';
    assert.notEqual(newSecret, secret);
    assert.equal((await row(id))?.secretHash, sha256(newSecret));
    const publicRotation = cli(['rotate-secret', '--id', spaId]);
    assert.equal(publicRotation.status, 1);
    assert.match(publicRotation.stderr, /no secret to rotate; nothing was changed/);

    const deleted = cli(['delete', '--id', id]);
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.match(deleted.stdout, new RegExp(`Deleted client ${id} "CLI web app"`));
    assert.equal(await row(id), null);
    const again = cli(['delete', '--id', id]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, new RegExp(`no client "${id}"; nothing was changed`));

    const events = await t.dataSource
      .getRepository(AuditEvent)
      .find({ where: { type: In(OIDC_EVENTS) }, order: { sequence: 'ASC' } });
    assert.deepEqual(
      events.map((event) => [event.type, event.actorId, detailsOf(event).via]),
      [
        ['oidc.client_created', null, 'cli'],
        ['oidc.client_created', null, 'cli'],
        ['oidc.client_secret_rotated', null, 'cli'],
        ['oidc.client_deleted', null, 'cli'],
      ],
    );
    assert.equal(JSON.stringify(events).includes(newSecret), false);
  });

  it('refuses an invalid client naming each problem, and wrong usage with exit 2', async () => {
    const before = await t.dataSource.getRepository(OidcClient).count();
    const invalid = cli([
      'create',
      '--name',
      'Bad',
      '--redirect-uri',
      'http://bad.example.com/cb',
      '--grant-type',
      'implicit',
    ]);
    assert.equal(invalid.status, 1);
    assert.match(invalid.stderr, /grant_types/);
    assert.match(invalid.stderr, /nothing was changed/);
    const rule = cli(['create', '--name', 'Bad', '--redirect-uri', 'http://bad.example.com/cb']);
    assert.equal(rule.status, 1);
    assert.match(rule.stderr, /redirect_uris\.0: redirect_uris\.0 must use https/);
    assert.equal(await t.dataSource.getRepository(OidcClient).count(), before);
    for (const args of [
      [],
      ['rename'],
      ['create'],
      ['show'],
      ['delete', '--name', 'x'],
      ['list', '--id', 'x'],
      ['show', '--id', 'a', 'b'],
    ]) {
      assert.equal(cli(args).status, 2, args.join(' '));
    }
    assert.match(cli(['show', '--id', 'unknownunknownunknown1']).stderr, /no client/);
  });
});

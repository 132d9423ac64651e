import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate } from 'otplib';
import { acceptedStep, newTotpSecret, TOTP_PERIOD_SECONDS } from './totp-codes';

// RFC 6238 appendix B's SHA-1 seed, "12345678901234567890", in base32.
const RFC_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('TOTP codes', () => {
  it("matches RFC 6238's SHA-1 test vector (its last six digits)", async () => {
    // T = 59 s: 94287082; T = 1111111109: 07081804.
    assert.equal(await generate({ secret: RFC_SECRET, epoch: 59 }), '287082');
    assert.equal(await generate({ secret: RFC_SECRET, epoch: 1111111109 }), '081804');
    assert.equal(await acceptedStep(RFC_SECRET, '287082', 59, null), 1);
  });

  it('accepts one step of drift either way, not two', async () => {
    const now = 1_800_000_015;
    const step = Math.floor(now / TOTP_PERIOD_SECONDS);
    const at = (offset: number) =>
      generate({ secret: RFC_SECRET, epoch: now + offset * TOTP_PERIOD_SECONDS });
    assert.equal(await acceptedStep(RFC_SECRET, await at(-1), now, null), step - 1);
    assert.equal(await acceptedStep(RFC_SECRET, await at(1), now, null), step + 1);
    assert.equal(await acceptedStep(RFC_SECRET, await at(-2), now, null), null);
    assert.equal(await acceptedStep(RFC_SECRET, await at(2), now, null), null);
  });

  it('refuses a code of a step already used, or of an earlier one', async () => {
    const now = 1_800_000_015;
    const step = Math.floor(now / TOTP_PERIOD_SECONDS);
    const code = await generate({ secret: RFC_SECRET, epoch: now });
    assert.equal(await acceptedStep(RFC_SECRET, code, now, step), null);
    const previous = await generate({ secret: RFC_SECRET, epoch: now - TOTP_PERIOD_SECONDS });
    assert.equal(await acceptedStep(RFC_SECRET, previous, now, step - 1), null);
    assert.equal(await acceptedStep(RFC_SECRET, code, now, step - 1), step);
  });

  it('refuses (does not throw) while the last used step is past the window', async () => {
    // Another instance a little ahead, or a clock stepped back: the stored step is later than
    // any this clock accepts. otplib throws for such an afterTimeStep; it is just a wrong code.
    const now = 1_800_000_015;
    const step = Math.floor(now / TOTP_PERIOD_SECONDS);
    const code = await generate({ secret: RFC_SECRET, epoch: now });
    assert.equal(await acceptedStep(RFC_SECRET, code, now, step + 2), null);
  });

  it('refuses what is not six digits without computing anything', async () => {
    for (const code of ['', '12345', '1234567', '12345a', ' 123456']) {
      assert.equal(await acceptedStep(RFC_SECRET, code, 59, null), null);
    }
  });

  it('makes a 160-bit base32 secret, an otpauth URI naming the issuer, and a PNG QR code', async () => {
    const enrolment = await newTotpSecret('Acme ID', 'ada@example.com');
    assert.match(enrolment.secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(enrolment.otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), enrolment.secret);
    assert.equal(uri.searchParams.get('issuer'), 'Acme ID');
    assert.match(enrolment.qrCode, /^data:image\/png;base64,/);
  });
});

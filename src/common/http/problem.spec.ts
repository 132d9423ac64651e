import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { instanceOf, problem, safeJsonStringify } from './problem';

describe('problem details', () => {
  it('uses the path without the query string as the instance', () => {
    assert.equal(instanceOf('/api/v1/users/42?access_token=secret'), '/api/v1/users/42');
  });

  it('percent-encodes what a URI may not hold, and keeps what it may', () => {
    assert.equal(instanceOf('/a/<script>"x"</script>'), '/a/%3Cscript%3E%22x%22%3C/script%3E');
    assert.equal(instanceOf('/a/%3Cb%3E'), '/a/%3Cb%3E');
    assert.equal(instanceOf("/a/b-c_d.e~f!$&'()*+,;=:@"), "/a/b-c_d.e~f!$&'()*+,;=:@");
    assert.equal(instanceOf('/a/\u00e9 \ud83d\ude00'), '/a/%C3%A9%20%F0%9F%98%80');
  });

  it('serialises with markup characters escaped, to the same value', () => {
    const body = { ...problem(400), errors: [{ field: '<b>&\u2028', message: 'm' }] };
    const text = safeJsonStringify(body);
    assert.doesNotMatch(text, /[<>&\u2028]/);
    assert.ok(text.includes('\\u003cb\\u003e\\u0026\\u2028'));
    assert.deepEqual(JSON.parse(text), body);
  });
});

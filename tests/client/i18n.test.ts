import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LANGUAGES, lang, pickLang, t } from '../../client/src/i18n/index.js';

describe('catalogue', () => {
  it('every language has exactly the English keys, none empty, with the same placeholders', () => {
    const en = LANGUAGES.en.messages;
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [code, { messages }] of Object.entries(LANGUAGES)) {
      assert.deepEqual(Object.keys(messages).sort(), Object.keys(en).sort(), `${code} keys`);
      for (const [key, text] of Object.entries(messages)) {
        assert.ok(text.trim() !== '', `${code} ${key} is empty`);
        assert.deepEqual(placeholders(text), placeholders(en[key as keyof typeof en]), `${code} ${key} placeholders`);
      }
    }
  });

  it('picks ?lang=, then the saved choice, then the browser\'s languages, else English', () => {
    assert.equal(pickLang('de', 'en', ['en-US']), 'de');
    assert.equal(pickLang('xx', 'de', ['en-US']), 'de');
    assert.equal(pickLang(null, null, ['fr-FR', 'de-AT']), 'de');
    assert.equal(pickLang(null, null, ['fr-FR']), 'en');
  });

  it('fills placeholders and follows the chosen language', () => {
    lang.value = 'en';
    assert.equal(t('host.other', { name: 'alice' }), 'Host: alice');
    lang.value = 'de';
    assert.equal(t('host.other', { name: 'alice' }), 'Steuerung: alice');
    lang.value = 'en';
  });
});

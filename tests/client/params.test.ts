import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseParams } from '../../client/src/params.js';
import { DEFAULT_PREFS, mergePrefs } from '../../client/src/prefs.js';

const parse = (q: string) => parseParams(new URLSearchParams(q));

describe('embed parameters', () => {
  it('reads every parameter neko\'s viewer takes', () => {
    assert.deepEqual(parse('usr=ann&pwd=s3cret&embed=1&cast=true&volume=25&scroll=40&show_side=0&mute_chat=yes&lang=DE&share=tok'), {
      username: 'ann',
      password: 's3cret',
      embed: true,
      cast: true,
      volume: 25,
      scroll: 40,
      showSide: false,
      muteChat: true,
      lang: 'de',
      share: 'tok',
    });
  });

  it('absent or unreadable values mean "not given"; numbers are clamped', () => {
    const none = parse('');
    assert.equal(none.username, null);
    assert.equal(none.embed, false);
    assert.equal(none.volume, null);
    assert.equal(none.showSide, null);
    assert.equal(parse('volume=abc').volume, null);
    assert.equal(parse('volume=250').volume, 100);
    assert.equal(parse('scroll=0').scroll, 1);
    assert.equal(parse('embed=maybe').embed, false);
    assert.equal(parse('embed').embed, true, 'a bare flag is on');
  });
});

describe('preferences', () => {
  it('takes saved values of the right type and ignores the rest', () => {
    assert.deepEqual(mergePrefs(null), DEFAULT_PREFS);
    assert.deepEqual(mergePrefs({ volume: 'loud', muted: true, scrollSensitivity: 500, lang: 'de', extra: 1 }), {
      ...DEFAULT_PREFS,
      muted: true,
      scrollSensitivity: 100,
      lang: 'de',
    });
  });
});

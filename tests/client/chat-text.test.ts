import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatPieces, EMOJI, EMOJI_PICKS, safeHref, withEmoji } from '../../client/src/chat-text.js';

describe('chat text: links', () => {
  it('plain text stays one text piece, markup included (it is shown, never parsed)', () => {
    assert.deepEqual(chatPieces('<img src=x onerror=alert(1)> hi'), [{ text: '<img src=x onerror=alert(1)> hi' }]);
    assert.deepEqual(chatPieces(''), []);
  });

  it('http and https URLs become links; sentence punctuation after them stays text', () => {
    assert.deepEqual(chatPieces('see https://example.com/a?b=1#c, then http://x.test.'), [
      { text: 'see ' },
      { text: 'https://example.com/a?b=1#c', href: 'https://example.com/a?b=1#c' },
      { text: ', then ' },
      { text: 'http://x.test', href: 'http://x.test/' },
      { text: '.' },
    ]);
  });

  it('a closing parenthesis belongs to the link only when the link opened one', () => {
    assert.deepEqual(chatPieces('(https://en.wikipedia.org/wiki/Foo_(bar))'), [
      { text: '(' },
      { text: 'https://en.wikipedia.org/wiki/Foo_(bar)', href: 'https://en.wikipedia.org/wiki/Foo_(bar)' },
      { text: ')' },
    ]);
  });

  it('other schemes and links hidden in quotes or tags are never links', () => {
    for (const text of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'ftp://host/file', 'xhttps://a.b', 'https://']) {
      assert.ok(chatPieces(text).every((p) => p.href === undefined), text);
    }
    const pieces = chatPieces('<a href="https://evil.test/">x</a>');
    assert.deepEqual(pieces.filter((p) => p.href).map((p) => p.href), ['https://evil.test/']);
    assert.equal(pieces.map((p) => p.text).join(''), '<a href="https://evil.test/">x</a>', 'all of the text is still shown');
  });

  it('safeHref accepts absolute http(s) only', () => {
    assert.equal(safeHref('https://a.test/x y'), 'https://a.test/x%20y');
    assert.equal(safeHref('javascript:alert(1)'), null);
    assert.equal(safeHref('/relative'), null);
  });
});

describe('chat text: emoji', () => {
  it('known :shortcodes: become emoji, unknown ones and links stay as typed', () => {
    assert.equal(withEmoji('nice :thumbsup: :+1: :nope:'), 'nice 👍 👍 :nope:');
    assert.deepEqual(chatPieces(':tada: https://a.test/:smile:/x :smile:'), [
      { text: '🎉 ' },
      { text: 'https://a.test/:smile:/x', href: 'https://a.test/:smile:/x' },
      { text: ' 😄' },
    ]);
  });

  it('every emoji the picker offers has a shortcode', () => {
    for (const name of EMOJI_PICKS) assert.ok(EMOJI[name], name);
  });
});

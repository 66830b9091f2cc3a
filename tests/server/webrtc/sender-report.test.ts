import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RtcpPacketConverter, RtcpSourceDescriptionPacket, RtcpSrPacket } from 'werift';
import { buildSenderReport, compactNtp, refreshSenderReport } from '../../../server/src/webrtc/sender-report.js';
import { startApp } from '../../helpers/app.js';
import { Viewer } from '../../helpers/viewer.js';
import { waitFor } from '../../helpers/x11.js';

const FIELDS = { ssrc: 0xcafebabe, ntp: 0xe5f1_2345_6789_abcdn, rtpTimestamp: 0x89abcdef, packets: 1234, octets: 0x01020304 };

describe('RTCP sender report builder (byte fixtures)', () => {
  test('SR alone: V=2, RC=0, PT=200, length 6, sender info', () => {
    assert.equal(
      buildSenderReport(FIELDS).toString('hex'),
      '80c80006' + 'cafebabe' + 'e5f123456789abcd' + '89abcdef' + '000004d2' + '01020304',
    );
  });

  test('with a CNAME: SDES chunk null-terminated and padded to a word', () => {
    const sr = '80c80006cafebabee5f123456789abcd89abcdef000004d201020304';
    // 'ab': SSRC, 01 02 'a' 'b', then 00 00 00 00 (at least one zero octet, then to the word).
    assert.equal(buildSenderReport({ ...FIELDS, cname: 'ab' }).toString('hex'), sr + '81ca0003' + 'cafebabe' + '01026162' + '00000000');
    // 'abcde': 2 + 5 octets leave one octet of the word for the terminator.
    assert.equal(buildSenderReport({ ...FIELDS, cname: 'abcde' }).toString('hex'), sr + '81ca0003' + 'cafebabe' + '0105616263646500');
    assert.equal(buildSenderReport({ ...FIELDS, cname: '' }).toString('hex'), sr);
  });

  test('werift parses what it builds', () => {
    for (const cname of ['x', 'ab', 'abc', 'abcd', 'stream-1f0c5a', 'é'.repeat(200)]) {
      const packets = RtcpPacketConverter.deSerialize(buildSenderReport({ ...FIELDS, cname }));
      assert.equal(packets.length, 2);
      const sr = packets[0] as RtcpSrPacket;
      assert.ok(sr instanceof RtcpSrPacket);
      assert.equal(sr.ssrc, FIELDS.ssrc);
      assert.equal(sr.senderInfo.ntpTimestamp, FIELDS.ntp);
      assert.equal(sr.senderInfo.rtpTimestamp, FIELDS.rtpTimestamp);
      assert.equal(sr.senderInfo.packetCount, FIELDS.packets);
      assert.equal(sr.senderInfo.octetCount, FIELDS.octets);
      assert.equal(sr.reports.length, 0);
      const sdes = packets[1] as RtcpSourceDescriptionPacket;
      assert.ok(sdes instanceof RtcpSourceDescriptionPacket);
      const item = sdes.chunks[0]!.items[0]!;
      assert.equal(item.type, 1);
      // A CNAME longer than an item holds is cut within 255 octets, between characters.
      assert.equal(item.text, cname.length === 200 ? 'é'.repeat(127) : cname);
    }
  });

  test('a refreshed report is the report built from the new sender info', () => {
    const report = buildSenderReport({ ...FIELDS, cname: 'abc' });
    const next = { ntp: 0xe5f2_0000_0000_0001n, rtpTimestamp: 7, packets: 1300, octets: 5 };
    assert.equal(refreshSenderReport(report, next), report, 'in place');
    assert.deepEqual(report, buildSenderReport({ ...FIELDS, ...next, cname: 'abc' }));
  });

  test('counters wrap at 32 bits instead of throwing', () => {
    const out = buildSenderReport({ ...FIELDS, packets: 2 ** 32 + 5, octets: -1 });
    assert.equal(out.readUInt32BE(20), 5);
    assert.equal(out.readUInt32BE(24), 0xffffffff);
  });

  test('compact NTP is the middle 32 bits (what LSR echoes)', () => {
    assert.equal(compactNtp(0xe5f1_2345_6789_abcdn), 0x23456789);
  });
});

describe('sender reports from the server at a libwebrtc viewer (libsrtp)', () => {
  test('the audio stream\'s reports authenticate and carry its counters', async (t) => {
    const app = await startApp([]);
    t.after(() => app.close());
    const viewer = await Viewer.connect(app.url, 'alice', 'neko');
    t.after(() => viewer.close());
    // libwebrtc keeps remote-outbound-rtp (what the last SR said) for audio only.
    const remote = await waitFor(
      'remote-outbound-rtp for audio',
      async () => ([...(await viewer.pc.getStats()).values()] as any[]).find((s) => s.type === 'remote-outbound-rtp' && s.kind === 'audio' && s.reportsSent >= 2),
      10_000,
    );
    assert.ok(remote.packetsSent > 0, 'packet count');
    assert.ok(Math.abs(remote.remoteTimestamp - Date.now()) < 5000, 'NTP time is now');
  });
});

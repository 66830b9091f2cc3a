import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CODECS, codecByMimeType, getCodec, isKnownCodec } from '../../../server/src/capture/codecs.js';
import { evaluate, evaluateLenient } from '../../../server/src/capture/expr.js';
import {
  buildAudioPipeline,
  buildVideoPipeline,
  i420FrameBytes,
  resolveVideo,
  screenCapturePipeline,
  sharesCapture,
  splitLaunchArgs,
} from '../../../server/src/capture/pipelines.js';

const screen = { width: 1280, height: 720, rate: 30 };
const vp8 = getCodec('vp8', 'video');
const h264 = getCodec('h264', 'video');
const opus = getCodec('opus', 'audio');

describe('codecs', () => {
  it('matches the §9.1 table', () => {
    assert.deepEqual(
      Object.values(CODECS).map((c) => [c.name, c.kind, c.payloadType, c.clockRate]),
      [
        ['vp8', 'video', 96, 90000],
        ['vp9', 'video', 98, 90000],
        ['av1', 'video', 96, 90000],
        ['h264', 'video', 102, 90000],
        ['h265', 'video', 116, 90000],
        ['opus', 'audio', 111, 48000],
        ['g722', 'audio', 9, 8000],
        ['pcmu', 'audio', 0, 8000],
        ['pcma', 'audio', 8, 8000],
      ],
    );
    assert.equal(h264.mimeType, 'video/H264');
    assert.equal(h264.fmtp, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f');
    assert.equal(CODECS.vp9!.fmtp, 'profile-id=0');
    assert.equal(opus.mimeType, 'audio/opus');
    assert.equal(opus.channels, 2);
    assert.equal(opus.fmtp, 'useinbandfec=1;stereo=1');
    assert.equal(vp8.fmtp, undefined);
    assert.deepEqual(
      vp8.rtcpFeedback.map((f) => `${f.type}${f.parameter ? ' ' + f.parameter : ''}`),
      ['transport-cc', 'goog-remb', 'ccm fir', 'nack pli', 'nack'],
    );
    assert.deepEqual(opus.rtcpFeedback, []);
  });
  it('falls back for unknown names and wrong kinds', () => {
    assert.equal(getCodec('H264', 'video').name, 'h264');
    assert.equal(getCodec('theora', 'video').name, 'vp8');
    assert.equal(getCodec('opus', 'video').name, 'vp8');
    assert.equal(getCodec('', 'audio').name, 'opus');
    assert.equal(getCodec('mp3', 'audio').name, 'opus');
    assert.equal(getCodec(' PCMU ', 'audio').name, 'pcmu');
    assert.equal(isKnownCodec('vp9', 'video'), true);
    assert.equal(isKnownCodec('vp9', 'audio'), false);
    assert.equal(codecByMimeType('VIDEO/vp8')?.name, 'vp8');
  });
});

describe('expressions', () => {
  it('evaluates arithmetic over the screen variables', () => {
    const vars = { width: 1280, height: 720, fps: 30 };
    assert.equal(evaluate('width / 2', vars), 640);
    assert.equal(evaluate('(width * 2) / 3', vars), 2560 / 3);
    assert.equal(evaluate('round(3072 * 650)', vars), 1996800);
    assert.equal(evaluate('min(fps, 25) - -1', vars), 26);
    assert.equal(evaluate('"ultrafast"', vars), 'ultrafast');
    assert.throws(() => evaluate('process.exit()', vars));
    assert.throws(() => evaluate('width +', vars));
    assert.equal(evaluateLenient('ultrafast', vars), 'ultrafast');
    assert.equal(evaluateLenient('fps * 2', vars), 60);
    assert.equal(evaluateLenient(true, vars), 'true');
  });
});

describe('video pipelines', () => {
  it('default VP8: ximagesrc → vp8enc realtime → rtpvp8pay → udpsink', () => {
    const p = buildVideoPipeline({ display: ':5', codec: vp8, screen, port: 40000 });
    assert.match(p, /^ximagesrc display-name=:5 use-damage=false show-pointer=false ! /);
    assert.match(p, /video\/x-raw,format=I420,colorimetry=bt601,framerate=30\/1/);
    assert.match(p, /vp8enc [^!]*deadline=1/);
    assert.match(p, /vp8enc [^!]*end-usage=cbr/);
    assert.match(p, /keyframe-max-dist=60/);
    assert.match(p, /rtpvp8pay [^!]*pt=96 mtu=1200/);
    assert.match(p, /! udpsink host=127\.0\.0\.1 port=40000 sync=false async=false$/);
    assert.doesNotMatch(p, /videoscale/);
  });
  it('without an fps the stream follows the screen mode (30 Hz → 30 fps, 60 Hz → 60 fps)', () => {
    assert.equal(resolveVideo({}, screen).fps, 30);
    const at60 = buildVideoPipeline({ display: ':5', codec: vp8, screen: { ...screen, rate: 60 }, port: 1 });
    assert.match(at60, /^ximagesrc [^!]* ! video\/x-raw,framerate=60\/1 ! /);
    assert.match(at60, /format=I420,colorimetry=bt601,framerate=60\/1/);
    assert.match(at60, /keyframe-max-dist=120/);
    assert.equal(resolveVideo({ fps: 'min(fps, 25)' }, { ...screen, rate: 60 }).fps, 25);
  });
  it('libvpx encoders get a second thread only with cores to spare (threads spin-wait)', () => {
    const on = (cores: number) => buildVideoPipeline({ display: ':5', codec: vp8, screen, port: 1, cores });
    assert.match(on(2), /vp8enc [^!]*threads=1 /);
    assert.match(on(1), /vp8enc [^!]*threads=1 /);
    assert.match(on(8), /vp8enc [^!]*threads=2 /);
    assert.match(buildVideoPipeline({ display: ':5', codec: vp8, screen, port: 1, cores: 2, config: { gst_params: { threads: 4 } } }), /vp8enc [^!]*threads=4 /);
  });
  it('default H264: x264enc baseline byte-stream with capped keyframes', () => {
    const p = buildVideoPipeline({ display: ':5', codec: h264, config: { fps: 30 }, screen, port: 1 });
    assert.match(p, /x264enc speed-preset=ultrafast tune=zerolatency byte-stream=true/);
    assert.match(p, /key-int-max=60/);
    assert.match(p, /vbv-buf-capacity=\d+/);
    assert.match(p, /video\/x-h264,profile=constrained-baseline,stream-format=byte-stream/);
    assert.match(p, /rtph264pay config-interval=-1 [^!]*pt=102 mtu=1200/);
  });
  it('per-stream size, fps, bitrate, encoder params, prefix/suffix, pointer', () => {
    const config = {
      width: 'width / 2',
      height: 'height / 2',
      fps: '15',
      bitrate: 500,
      gst_params: { 'cpu-used': 4, 'keyframe-max-dist': 'fps * 3' },
      gst_prefix: 'identity',
      gst_suffix: 'identity silent=true',
      show_pointer: true,
    };
    const r = resolveVideo(config, screen);
    assert.deepEqual(r, { width: 640, height: 360, fps: 15, kbps: 500, scaled: true });
    const p = buildVideoPipeline({ display: ':5', codec: vp8, config, screen, port: 1 });
    assert.match(p, /show-pointer=true/);
    assert.match(p, /video\/x-raw,framerate=15\/1 ! identity ! videoscale ! video\/x-raw,width=640,height=360/);
    assert.match(p, /target-bitrate=500000/);
    assert.match(p, /cpu-used=4/);
    assert.doesNotMatch(p, /cpu-used=16/);
    assert.match(p, /keyframe-max-dist=90/); // gst_params see the screen variables
    assert.match(p, /vp8enc [^!]*! identity silent=true ! rtpvp8pay/);
  });
  it('rounds scaled sizes to even numbers', () => {
    assert.equal(resolveVideo({ width: 'width / 3', height: 'height / 3' }, screen).width, 426);
    assert.equal(resolveVideo({ width: 'width / 3', height: 'height / 3' }, screen).height, 240);
  });
  it('gst_encoder replaces the encoder', () => {
    const p = buildVideoPipeline({
      display: ':5',
      codec: h264,
      config: { gst_encoder: 'openh264enc', gst_params: { 'usage-type': 'camera' } },
      screen,
      port: 1,
    });
    assert.match(p, /openh264enc [^!]*usage-type=camera/);
    assert.doesNotMatch(p, /x264enc/);
  });
  it('custom pipelines: appended RTP tail, appsink replaced, or {port} verbatim', () => {
    const a = buildVideoPipeline({
      display: ':7',
      codec: vp8,
      pipeline: 'ximagesrc display-name={display} ! videoconvert ! vp8enc ! appsink name=appsink',
      screen,
      port: 1234,
    });
    assert.equal(
      a,
      'ximagesrc display-name=:7 ! videoconvert ! vp8enc ! rtpvp8pay picture-id-mode=15-bit pt=96 mtu=1200 ! ' +
        'udpsink host=127.0.0.1 port=1234 sync=false async=false',
    );
    const b = buildVideoPipeline({
      display: ':7',
      codec: vp8,
      config: { gst_pipeline: 'videotestsrc ! video/x-raw,format={ I420 } ! vp8enc ! rtpvp8pay pt={pt} ! udpsink host={host} port={port}' },
      pipeline: 'ignored',
      screen,
      port: 99,
    });
    assert.equal(b, 'videotestsrc ! video/x-raw,format={ I420 } ! vp8enc ! rtpvp8pay pt=96 ! udpsink host=127.0.0.1 port=99');
  });
});

describe('shared screen capture pipelines', () => {
  it('the capture: ximagesrc at the screen rate, I420 once, into shmsink', () => {
    const p = screenCapturePipeline({ display: ':5', screen, socket: '/tmp/neko-capture-x/screen', shmSize: 11059200 });
    assert.equal(
      p,
      'ximagesrc display-name=:5 use-damage=false show-pointer=false ! video/x-raw,framerate=30/1 ! videoconvert ! ' +
        'video/x-raw,format=I420,colorimetry=bt601,framerate=30/1 ! shmsink socket-path=/tmp/neko-capture-x/screen shm-size=11059200 perms=384 ' +
        'wait-for-connection=false sync=false async=false',
    );
    assert.deepEqual(splitLaunchArgs(screenCapturePipeline({ display: ':5', screen, socket: '/tmp/a b/screen', shmSize: 1 })).filter((a) => a.startsWith('socket-path=')), ['socket-path=/tmp/a b/screen']);
    assert.equal(i420FrameBytes(1280, 720), 1382400);
    assert.equal(i420FrameBytes(1281, 721), 1281 * 721 + 2 * 641 * 361);
  });
  it('an encoder on the capture: shmsrc with the capture\'s caps, scaling in I420, then the usual encoder and RTP tail', () => {
    const hd = buildVideoPipeline({ display: ':5', codec: vp8, screen, port: 40000, sharedSocket: '/s/screen' });
    assert.match(
      hd,
      /^shmsrc socket-path=\/s\/screen is-live=true do-timestamp=true ! video\/x-raw,format=I420,colorimetry=bt601,width=1280,height=720,framerate=30\/1 ! queue max-size-buffers=2 [^!]*leaky=downstream ! vp8enc /,
    );
    assert.doesNotMatch(hd, /ximagesrc|videoconvert|videoscale/);
    assert.match(hd, /! udpsink host=127\.0\.0\.1 port=40000 sync=false async=false$/);
    const sd = buildVideoPipeline({ display: ':5', codec: h264, screen, port: 1, sharedSocket: '/s/screen', config: { width: 'width / 2', height: 'height / 2', bitrate: 800, gst_suffix: 'identity' } });
    assert.match(sd, /framerate=30\/1 ! videoscale ! video\/x-raw,width=640,height=360 ! queue /);
    assert.match(sd, /x264enc [^!]*bitrate=800 /);
    assert.match(sd, /stream-format=byte-stream ! identity ! rtph264pay/);
  });
  it('which streams share it: built-in source, no pointer, no prefix, at the screen rate', () => {
    assert.equal(sharesCapture({}, undefined, screen), true);
    assert.equal(sharesCapture({ width: 'width / 2', height: 'height / 2', gst_encoder: 'openh264enc', gst_suffix: 'identity' }, undefined, screen), true);
    assert.equal(sharesCapture({ fps: 30 }, undefined, screen), true);
    assert.equal(sharesCapture({ fps: 25 }, undefined, screen), false);
    assert.equal(sharesCapture({ fps: 'fps' }, undefined, { ...screen, rate: 60 }), true);
    assert.equal(sharesCapture({}, undefined, { ...screen, rate: 59.94 }), true);
    assert.match(screenCapturePipeline({ display: ':5', screen: { ...screen, rate: 59.94 }, socket: '/s', shmSize: 1 }), /framerate=60\/1 ! videoconvert/);
    assert.equal(sharesCapture({ show_pointer: true }, undefined, screen), false);
    assert.equal(sharesCapture({ gst_prefix: 'identity' }, undefined, screen), false);
    assert.equal(sharesCapture({ gst_pipeline: 'videotestsrc ! vp8enc' }, undefined, screen), false);
    assert.equal(sharesCapture({}, 'ximagesrc ! vp8enc', screen), false);
    assert.equal(sharesCapture({ width: 'nonsense +' }, undefined, screen), false);
  });
});

describe('audio pipelines', () => {
  it('opus from the pulse monitor', () => {
    const p = buildAudioPipeline({ codec: opus, device: 'audio_output.monitor', port: 5 });
    assert.match(p, /^pulsesrc device=audio_output\.monitor ! /);
    assert.match(p, /audio\/x-raw,rate=48000,channels=2/);
    assert.match(p, /opusenc [^!]*frame-size=20/);
    assert.match(p, /opusenc [^!]*inband-fec=true/);
    assert.match(p, /opusenc [^!]*dtx=true/);
    assert.match(p, /rtpopuspay dtx=true pt=111 mtu=1200 ! udpsink host=127\.0\.0\.1 port=5 sync=false async=false$/);
  });
  it('pcmu / custom with {device}', () => {
    assert.match(buildAudioPipeline({ codec: getCodec('pcmu', 'audio'), device: 'x', port: 5 }), /mulawenc ! rtppcmupay pt=0/);
    assert.equal(
      buildAudioPipeline({ codec: opus, device: 'mon', pipeline: 'pulsesrc device={device} ! opusenc', port: 7 }),
      'pulsesrc device=mon ! opusenc ! rtpopuspay dtx=true pt=111 mtu=1200 ! udpsink host=127.0.0.1 port=7 sync=false async=false',
    );
  });
});

describe('splitLaunchArgs', () => {
  it('splits like a shell', () => {
    assert.deepEqual(splitLaunchArgs(`a ! x264enc option-string="b=1 c" ! 'video/x-raw, format=I420'  ! s name=a\\ b`), [
      'a',
      '!',
      'x264enc',
      'option-string=b=1 c',
      '!',
      'video/x-raw, format=I420',
      '!',
      's',
      'name=a b',
    ]);
    assert.throws(() => splitLaunchArgs('a "b'));
  });
});

import { render } from 'preact';
import { Controller } from './controller.js';
import { EmbedBridge } from './embed-api.js';
import { lang, pickLang } from './i18n/index.js';
import { parseParams } from './params.js';
import { loadPrefs } from './prefs.js';
import { memberName, roster } from './room.js';
import { createStore } from './store.js';
import { AppView } from './views/app.js';
import { App } from './views/context.js';

function storage(kind: 'localStorage' | 'sessionStorage'): Storage | undefined {
  try {
    return window[kind];
  } catch {
    return undefined;
  }
}

const storages = { local: storage('localStorage'), session: storage('sessionStorage') };
const params = parseParams(new URLSearchParams(location.search));
const prefs = loadPrefs(storages.local);
lang.value = pickLang(params.lang, prefs.lang, navigator.languages ?? [navigator.language]);
const touch = navigator.maxTouchPoints > 0 || matchMedia('(pointer: coarse)').matches;
const store = createStore(params, prefs, touch);
const ctl = new Controller(store, storages);

render(
  <App.Provider value={{ store, ctl }}>
    <AppView />
  </App.Provider>,
  document.getElementById('root')!,
);

const { password: _secret, ...withoutPassword } = store.params;

// Read-only hook for end-to-end tests and embedding pages.
Object.defineProperty(window, '__neko', {
  value: Object.freeze({
    state: () => {
      const r = store.room.value;
      return {
        phase: store.phase.value,
        sessionId: r.sessionId,
        isHost: store.isHost.value,
        hostId: r.hostId,
        isAdmin: store.isAdmin.value,
        controlRequested: r.requested,
        controlRequests: [...r.requests],
        members: roster(r),
        chatEnabled: r.chatEnabled,
        chat: r.chat.flatMap((line) => (line.kind === 'message' ? [{ ...line, name: memberName(r, line.from) }] : [])),
        canSendChat: store.canSendChat.value,
        canReceiveChat: store.canReceiveChat.value,
        settings: r.settings && { ...r.settings },
        connected: store.socket.value === 'open',
        socket: store.socket.value,
        retryAt: store.retryAt.value,
        peerState: store.peer.value,
        dataChannelOpen: store.dataChannelOpen.value,
        lastRttMs: store.rttMs.value,
        screen: { ...store.screen.value },
        screenSizes: store.screenSizes.value.map((s) => ({ ...s })),
        playback: store.playback.value,
        volume: store.volume.value,
        muted: store.muted.value,
        fullscreen: store.fullscreen.value,
        pip: store.pip.value,
        panelOpen: store.panelOpen.value,
        panelTab: store.panelTab.value,
        hint: store.hint.value,
        lang: lang.value,
        touch: store.touch,
        scroll: { sensitivity: store.scrollSensitivity.value, invert: store.scrollInvert.value },
        chatSound: store.chatSound.value,
        keyboardMap: store.keyboardMap.value && { ...store.keyboardMap.value },
        remoteClipboard: store.remoteClipboard.value,
        clipboardAccess: store.clipboardAccess.value,
        files: store.files.value?.files?.map((f) => ({ ...f })) ?? null,
        uploads: store.uploads.value.map((u) => ({ ...u })),
        microphone: store.microphone.value,
        statsOpen: store.statsOpen.value,
        stats: store.stats.value && { ...store.stats.value },
        video: store.video.value && { ...store.video.value },
        broadcast: store.broadcast.value && { ...store.broadcast.value },
        params: withoutPassword,
      };
    },
    framesDecoded: () => ctl.framesDecoded,
  }),
});

EmbedBridge.start(ctl);
ctl.boot();

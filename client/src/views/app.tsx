import { useEffect, useRef } from 'preact/hooks';
import { useApp } from './context.js';
import { FileChooserDialog, Notices } from './dialogs.js';
import { Handover } from './handover.js';
import { Login } from './login.js';
import { SidePanel } from './panel.js';
import { SoftKeyboard, Stage } from './stage.js';
import { TopBar } from './topbar.js';

/**
 * The room: bar on top, the stage filling the rest, the side panel beside it. `?embed=1`
 * and `?cast=1` leave only the stage.
 */
function Room() {
  const { store, ctl } = useApp();
  const root = useRef<HTMLDivElement>(null);
  const chrome = store.controls.value;
  useEffect(() => {
    ctl.setRoot(root.current);
    return () => ctl.setRoot(null);
  }, [ctl]);
  return (
    <div
      id="app-view"
      ref={root}
      class={`app ${chrome ? '' : 'bare'} ${store.panelOpen.value ? 'panel-open' : ''} ${store.touch ? 'touch' : ''}`}
    >
      {chrome && <TopBar />}
      {chrome && <Handover />}
      <div class="body">
        <Stage />
        {chrome && <SidePanel />}
      </div>
      {!store.params.cast && <SoftKeyboard />}
      <Notices />
      {!store.params.cast && <FileChooserDialog />}
    </div>
  );
}

export function AppView() {
  const { store } = useApp();
  return store.phase.value === 'login' ? <Login /> : <Room />;
}

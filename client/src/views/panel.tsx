import { t } from '../i18n/index.js';
import { useApp } from './context.js';
import { X } from './icons.js';
import { TABS } from './tabs/index.js';

/**
 * The side panel: tabs along the top, the chosen tab's content below. Docked beside the
 * video on wide screens; a drawer over it, with a backdrop, on narrow ones.
 */
export function SidePanel() {
  const { store } = useApp();
  if (!store.panelOpen.value) return null;
  const tabs = TABS.filter((tab) => tab.visible?.(store) ?? true);
  const current = tabs.find((tab) => tab.id === store.panelTab.value) ?? tabs[0]!;
  const Content = current.component;
  const close = () => (store.panelOpen.value = false);
  return (
    <>
      <div class="panel-backdrop" onClick={close} />
      <aside id="panel" class="panel" aria-label={t('panel.title')}>
        <div class="tabs" role="tablist">
          {tabs.map((tab) => {
            const badge = tab.badge?.(store) ?? 0;
            const Icon = tab.icon;
            const selected = tab === current;
            return (
              <button
                key={tab.id}
                id={`tab-${tab.id}`}
                type="button"
                role="tab"
                class={`tab ${selected ? 'active' : ''}`}
                aria-selected={selected}
                aria-controls={`tabpanel-${tab.id}`}
                title={t(tab.label)}
                onClick={() => (store.panelTab.value = tab.id)}
              >
                <Icon size={18} aria-hidden="true" />
                <span class="tab-label">{t(tab.label)}</span>
                {badge > 0 && <span class="tab-badge">{badge}</span>}
              </button>
            );
          })}
          <button id="panel-close" type="button" class="icon tab-close" aria-label={t('panel.close')} title={t('panel.close')} onClick={close}>
            <X size={18} />
          </button>
        </div>
        <div id={`tabpanel-${current.id}`} class="tabpanel" role="tabpanel" aria-labelledby={`tab-${current.id}`}>
          <Content />
        </div>
      </aside>
    </>
  );
}

// The side panel's tabs, in display order. To add one: write a component for its content,
// then add an entry here with an id (also its DOM id: `tab-<id>`, panel `tabpanel-<id>`), a
// catalogue key for its label, an icon, and optionally when it shows and a badge count.
import type { LucideIcon } from 'lucide-preact';
import type { ComponentType } from 'preact';
import type { MessageKey } from '../../i18n/index.js';
import type { Store } from '../../store.js';
import { ClipboardPaste, FolderOpen, MessageSquare, Settings, ShieldCheck, Users } from '../icons.js';
import { AdminTab } from './admin.js';
import { ChatTab } from './chat.js';
import { ClipboardTab } from './clipboard.js';
import { FilesTab } from './files.js';
import { PeopleTab } from './people.js';
import { SettingsTab } from './settings.js';

export interface PanelTab {
  id: string;
  label: MessageKey;
  icon: LucideIcon;
  /** Shown only while this holds (default: always). */
  visible?(store: Store): boolean;
  /** A count shown on the tab (e.g. unread messages); 0 shows nothing. */
  badge?(store: Store): number;
  component: ComponentType;
}

export const TABS: PanelTab[] = [
  { id: 'people', label: 'tab.people', icon: Users, component: PeopleTab },
  { id: 'chat', label: 'tab.chat', icon: MessageSquare, badge: (s) => s.unread.value, component: ChatTab },
  { id: 'files', label: 'tab.files', icon: FolderOpen, visible: (s) => s.files.value?.enabled === true, component: FilesTab },
  {
    id: 'clipboard',
    label: 'tab.clipboard',
    icon: ClipboardPaste,
    visible: (s) => s.me.value?.profile.can_access_clipboard === true && !s.params.cast,
    component: ClipboardTab,
  },
  { id: 'settings', label: 'tab.settings', icon: Settings, component: SettingsTab },
  { id: 'admin', label: 'tab.admin', icon: ShieldCheck, visible: (s) => s.isAdmin.value, component: AdminTab },
];

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Controller } from '../controller.js';
import type { Store } from '../store.js';

export interface AppContext {
  store: Store;
  ctl: Controller;
}

export const App = createContext<AppContext | null>(null);

/** The store and controller of the running viewer. */
export function useApp(): AppContext {
  const app = useContext(App);
  if (!app) throw new Error('views must be rendered inside <App.Provider>');
  return app;
}

import { useRef } from 'preact/hooks';
import { LANGUAGES, lang, t, type Lang } from '../i18n/index.js';
import { useApp } from './context.js';

export function Login() {
  const { store, ctl } = useApp();
  const name = useRef<HTMLInputElement>(null);
  const password = useRef<HTMLInputElement>(null);
  const remember = useRef<HTMLInputElement>(null);
  const busy = store.loginBusy.value;
  const error = store.loginError.value;

  const submit = (ev: Event) => {
    ev.preventDefault();
    void ctl.login(name.current!.value, password.current!.value, remember.current!.checked).then(() => {
      if (password.current) password.current.value = '';
    });
  };

  return (
    <section id="login-view" class="login">
      <form id="login-form" class="card" autocomplete="on" onSubmit={submit}>
        <h1>{t('login.title')}</h1>
        <label>
          {t('login.name')}
          <input
            id="username"
            name="username"
            autocomplete="username"
            required
            autoFocus={store.params.username === null}
            defaultValue={store.params.username ?? ''}
            ref={name}
          />
        </label>
        <label>
          {t('login.password')}
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            autoFocus={store.params.username !== null}
            ref={password}
          />
        </label>
        <label class="check">
          <input id="remember" type="checkbox" ref={remember} defaultChecked={store.remember.value} />
          {t('login.remember')}
        </label>
        <button id="login" type="submit" disabled={busy}>
          {busy ? t('login.busy') : t('login.submit')}
        </button>
        <p id="login-error" class="error" role="alert">
          {error}
        </p>
        {store.canResume.value && (
          <button id="resume" type="button" onClick={() => ctl.resume()}>
            {t('login.resume')}
          </button>
        )}
        <label class="lang">
          {t('login.language')}
          <select id="login-lang" value={lang.value} onChange={(ev) => ctl.setLanguage(ev.currentTarget.value as Lang)}>
            {Object.entries(LANGUAGES).map(([code, l]) => (
              <option key={code} value={code}>
                {l.name}
              </option>
            ))}
          </select>
        </label>
      </form>
    </section>
  );
}

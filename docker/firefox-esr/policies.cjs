// Writes Firefox ESR's policies from the NEKO_* settings: the home page (desktop.home_page;
// empty: the room's welcome page), downloads into the file-transfer folder without asking,
// and no first-run, default-browser, update, telemetry or password prompts.
'use strict';

const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');

const POLICIES = '/usr/lib/firefox-esr/distribution/policies.json';
const WELCOME = '/usr/local/share/neko/welcome.html';

const downloads = process.env.NEKO_FILETRANSFER_DIR || '/var/lib/neko/home/Downloads';
let homePage = process.env.NEKO_DESKTOP_HOME_PAGE || '';
if (!homePage) {
  const escaped = downloads.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const page = readFileSync('/opt/neko/server/assets/welcome.html', 'utf8').replaceAll('{{DOWNLOADS}}', escaped);
  mkdirSync('/usr/local/share/neko', { recursive: true });
  writeFileSync(WELCOME, page, { mode: 0o644 });
  homePage = `file://${WELCOME}`;
}

const locked = (Value) => ({ Value, Status: 'locked' });
const policies = {
  DisableAppUpdate: true,
  DisableTelemetry: true,
  DisableFirefoxStudies: true,
  DisablePocket: true,
  DisableProfileImport: true,
  DontCheckDefaultBrowser: true,
  OverrideFirstRunPage: '',
  OverridePostUpdatePage: '',
  // Everyone in the room would see, and could use, a saved password.
  PasswordManagerEnabled: false,
  OfferToSaveLogins: false,
  UserMessaging: {
    WhatsNew: false,
    ExtensionRecommendations: false,
    FeatureRecommendations: false,
    UrlbarInterventions: false,
    SkipOnboarding: true,
    MoreFromMozilla: false,
  },
  FirefoxHome: { SponsoredTopSites: false, SponsoredPocket: false, Pocket: false },
  Homepage: { URL: homePage, StartPage: 'homepage' },
  DownloadDirectory: downloads,
  PromptForDownloadLocation: false,
  Preferences: {
    'browser.aboutwelcome.enabled': locked(false),
    'datareporting.policy.dataSubmissionPolicyBypassNotification': locked(true),
    // A stopped container kills Firefox: it must not offer to restore the last session.
    'browser.sessionstore.resume_from_crash': locked(false),
    'browser.tabs.warnOnClose': locked(false),
  },
};

mkdirSync('/usr/lib/firefox-esr/distribution', { recursive: true });
writeFileSync(POLICIES, `${JSON.stringify({ policies }, null, 2)}\n`, { mode: 0o644 });

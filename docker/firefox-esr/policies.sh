# Start hook of the firefox-esr image, sourced by neko-entrypoint (as root) before the server
# starts: Firefox's enterprise policies, with the home page and download folder taken from
# the same NEKO_* settings the built-in Chromium set-up uses.
node /usr/local/lib/neko/firefox-esr-policies.cjs
